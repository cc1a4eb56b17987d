//! Provenance on a real Prometheus (Debian's): the factory example's smoke stage deploys
//! `product_service` with the run's provenance and leaves it running
//! (`FACTORY_PIPELINE_KEEP_PRODUCT=on`); once the run has ended, traffic to the product, outside
//! the run's trace, is attributed to the run that built it by a PromQL query on the product's
//! own `/metrics`: error ratio by `factory_run_id`, `factory_candidate`, `factory_models` and
//! `vcs_ref_head_revision` (docs/provenance.md).

use crate::factory_obs_json;
use factory_observability::names::{provenance, vcs};
use factory_observability_tests::deploy::kit;
use factory_observability_tests::deploy::prometheus::{free_port, Prometheus};
use factory_observability_tests::otlp_json::read_spans;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The deployed product, stopped (SIGTERM) when the test ends, whatever happens.
struct Deployed {
    url: String,
    pid: u32,
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

/// The Prometheus label of a resource attribute (`factory.run.id` -> `factory_run_id`).
fn label(key: &str) -> String {
    key.replace('.', "_")
}

#[test]
fn later_traffic_to_a_deployed_product_is_attributed_to_the_run_that_built_it() {
    let dir = work_dir("provenance-live");
    let product_metrics = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: product\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{product_metrics}']\n"
    );
    let prometheus = Prometheus::start(&dir, &config);

    // The factory: one run, which deploys the product and leaves it running.
    let mut factory = Command::new(env!("CARGO_BIN_EXE_factory_pipeline"))
        .current_dir(&dir)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("PRODUCT_URL")
        .env("FACTORY_OBS_DIR", dir.join("telemetry"))
        .env("FACTORY_OBS_SUMMARY", "0")
        .env("OTEL_METRICS_EXPORTER", "prometheus")
        .env("OTEL_EXPORTER_PROMETHEUS_PORT", "0")
        .env("FACTORY_PIPELINE_KEEP_PRODUCT", "on")
        .env("PRODUCT_PROMETHEUS_PORT", product_metrics.to_string())
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the factory example");
    let mut deployed = None;
    for line in BufReader::new(factory.stdout.take().expect("piped")).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("deployed ") {
            let (url, pid) = rest.split_once(" pid ").expect("`deployed URL pid N`");
            deployed = Some(Deployed {
                url: url.to_owned(),
                pid: pid.parse().unwrap(),
            });
        }
    }
    let status = factory.wait().unwrap();
    assert!(status.success(), "the factory's run: {status}");
    let deployed = deployed.expect("the factory printed where it deployed the product");

    // The run that built it, from the factory's own telemetry.
    let spans = read_spans(&dir.join("telemetry/traces.jsonl"));
    let run = spans
        .iter()
        .find(|span| span.name == "pipeline.run")
        .expect("the run's span");
    let run_id = run.attributes["run.id"].clone();
    let run_trace = run.trace_id.clone();
    let revision = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());

    // Later traffic, outside the run: 20 answered, 10 failing (`GET /reports/export` is 503).
    // `rate` counts from a series' first sample: the smoke stage's requests are scraped first,
    // then one failure, scraped, before the rest (the panel below rates them).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    let send = |path: &str, n: usize| {
        for _ in 0..n {
            let status = client
                .get(format!("{}{path}", deployed.url))
                .send()
                .unwrap()
                .status();
            if path == "/health" {
                assert_eq!(status, 200);
            } else {
                assert!(status.is_server_error(), "{status}");
            }
        }
    };
    let scraped = |expr: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while prometheus.query(expr).unwrap_or_default().is_empty() {
            assert!(Instant::now() < deadline, "never scraped: {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    scraped(
        "sum(http_server_request_duration_seconds_count) == 3",
        "the smoke stage's 3 requests",
    );
    send("/reports/export", 1);
    scraped(
        r#"sum(http_server_request_duration_seconds_count{http_response_status_code=~"5.."}) == 1"#,
        "the first failure",
    );
    send("/health", 20);
    send("/reports/export", 9);

    let by = [
        provenance::FACTORY_RUN_ID,
        provenance::FACTORY_CANDIDATE,
        provenance::FACTORY_MODELS,
        vcs::VCS_REF_HEAD_REVISION,
    ]
    .map(label)
    .join(", ");
    let errors = format!(
        "sum by ({by}) (http_server_request_duration_seconds_count{{http_response_status_code=~\"5..\"}})"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let series = loop {
        let result = prometheus.query(&errors).unwrap_or_default();
        if result.first().is_some_and(|s| s["value"][1] == "10") {
            break result;
        }
        assert!(
            Instant::now() < deadline,
            "no 10 errors by build: {result:?}\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(series.len(), 1, "one build served them: {series:?}");
    let labels = &series[0]["metric"];
    assert_eq!(labels[label(provenance::FACTORY_RUN_ID)], run_id.as_str());
    // The example's adjudication picks claude (codex's code fails a test); the run called both
    // models.
    assert_eq!(labels[label(provenance::FACTORY_CANDIDATE)], "claude");
    assert_eq!(
        labels[label(provenance::FACTORY_MODELS)],
        "claude-opus-4-5,gpt-5.3-codex"
    );
    if let Some(revision) = &revision {
        assert_eq!(labels[label(vcs::VCS_REF_HEAD_REVISION)], revision.as_str());
    }

    // The error ratio by build, as the product dashboard's panel asks it.
    let ratio = format!(
        "sum by ({by}) (http_server_request_duration_seconds_count{{http_response_status_code=~\"5..\"}}) / sum by ({by}) (http_server_request_duration_seconds_count)"
    );
    let ratio = prometheus.query(&ratio).unwrap();
    assert_eq!(ratio.len(), 1, "{ratio:?}");
    // 10 errors of 33 requests: the smoke stage's 3 during the run, then 30.
    let value: f64 = ratio[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!((value - 10.0 / 33.0).abs() < 1e-9, "{value}");

    // The deploy kit's panel itself ("5xx ratio by the build that served it", the product
    // dashboard), its variables as Grafana's "All": the one build, its ratio of rates
    // (`rate` extrapolates each series apart: near 10/33, strictly between 0 and 1).
    let panel = kit::dashboard_expressions()
        .into_iter()
        .find(|e| e.origin == "product-service.json: 5xx ratio by the build that served it (A)")
        .expect("the product dashboard's panel");
    // `rate` needs two samples of the 5xx series: polled until a second scrape has it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let by_build = loop {
        let result = prometheus
            .query(&kit::substitute_variables(&panel.expr))
            .unwrap_or_default();
        let rated = result
            .first()
            .and_then(|s| s["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|v| v > 0.0 && v.is_finite());
        if rated {
            break result;
        }
        assert!(Instant::now() < deadline, "no ratio by build: {result:?}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(by_build.len(), 1, "{by_build:?}");
    let labels = &by_build[0]["metric"];
    assert_eq!(labels[label(provenance::FACTORY_RUN_ID)], run_id.as_str());
    assert_eq!(labels[label(provenance::FACTORY_CANDIDATE)], "claude");
    assert_eq!(
        labels[label(provenance::FACTORY_MODELS)],
        "claude-opus-4-5,gpt-5.3-codex"
    );
    if let Some(revision) = &revision {
        assert_eq!(labels[label(vcs::VCS_REF_HEAD_REVISION)], revision.as_str());
    }
    let value: f64 = by_build[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(value > 0.0 && value < 1.0, "{value}");

    // The later requests are in traces of their own, not the run's.
    drop(deployed);
    let deadline = Instant::now() + Duration::from_secs(20);
    let product_spans = loop {
        let spans = read_spans(&dir.join("telemetry/traces.jsonl"));
        let exports: Vec<_> = spans
            .into_iter()
            .filter(|span| span.name == "GET /reports/export")
            .collect();
        if exports.len() == 10 || Instant::now() > deadline {
            break exports;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(product_spans.len(), 10);
    for span in &product_spans {
        assert_ne!(span.trace_id, run_trace);
        assert_eq!(span.resource[provenance::FACTORY_RUN_ID], run_id.as_str());
    }

    // `factory-obs builds` over the same files: the run, commit, candidate and models behind
    // each route of the product, its later traffic included (docs/provenance.md).
    let (code, out, err) = factory_obs_json(&["builds", "--json"], &dir.join("telemetry"));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let row = |route: &str| {
        rows.iter()
            .find(|row| row["route"] == route)
            .unwrap_or_else(|| panic!("no build row for {route}: {out}"))
    };
    let export = row("GET /reports/export");
    assert_eq!(export["run_id"], run_id.as_str());
    assert_eq!(export["run_read"], true);
    assert_eq!(export["candidate"], "claude");
    assert_eq!(export["models"], "claude-opus-4-5,gpt-5.3-codex");
    assert_eq!(export["service"], "product-api");
    assert_eq!(
        (export["requests"].as_u64(), export["errors"].as_u64()),
        (Some(10), Some(10))
    );
    if let Some(revision) = &revision {
        assert_eq!(export["revision"], revision.as_str());
    }
    // The smoke stage's call during the run, and the 20 after it.
    let health = row("GET /health");
    assert_eq!(
        (health["requests"].as_u64(), health["errors"].as_u64()),
        (Some(21), Some(0))
    );
    // Most errors first.
    assert_eq!(rows[0]["route"], "GET /reports/export");
    assert!(
        rows.iter().all(|row| row["run_id"] == run_id.as_str()),
        "{out}"
    );

    // From there, the run's own trace.
    let (code, out, err) = factory_obs_json(&["trace", &run_id], &dir.join("telemetry"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("run {run_id} new_product")),
        "{out}"
    );
}

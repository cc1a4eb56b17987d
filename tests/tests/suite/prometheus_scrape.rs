//! Prometheus pull, proven with the real Prometheus (Debian's 2.42, installed by
//! `scripts/install-prometheus.sh`): it scrapes this test program's `/metrics`
//! (`OTEL_METRICS_EXPORTER=prometheus`), and its HTTP API returns, by name, the series
//! docs/backends.md promises: pipeline runs, stage duration buckets, LLM tokens, the `otel.sdk.*` health series.
//! With the trace collector down (a refused port), the failed-span counter rises at Prometheus
//! while the program runs. One test: `init` is process-wide.

use factory_observability::names::prometheus::{prometheus_name, series, Kind, CATALOGUE};
use factory_observability::{llm_call, pipeline_run, pipeline_stage, Usage};
use factory_observability_tests::collector::closed_port;
use factory_observability_tests::deploy::series;
use factory_observability_tests::isolated::run_in_own_process;
use serde_json::Value;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the `prometheus` binary (default: Debian's).
const PROMETHEUS_ENV: &str = "PROMETHEUS";

#[llm_call(provider = "openai", model = "gpt-test")]
fn plan_with_llm(n: u64) -> Usage {
    Usage::new(100 + n, 20)
}

#[pipeline_stage]
fn plan(n: u64) -> Result<u64, String> {
    plan_with_llm(n);
    Ok(n)
}

#[pipeline_stage]
fn build(n: u64) -> Result<u64, String> {
    Ok(n + 1)
}

#[pipeline_run(name = "scraped")]
fn run(n: u64) -> Result<u64, String> {
    build(plan(n)?)
}

/// A Prometheus server of our own, killed when dropped.
struct Prometheus {
    child: Child,
    address: SocketAddr,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second; waits (at most 30 s) until ready.
    fn start(target: SocketAddr) -> Prometheus {
        let binary = std::env::var(PROMETHEUS_ENV).unwrap_or_else(|_| "/usr/bin/prometheus".into());
        assert!(
            std::path::Path::new(&binary).exists(),
            "{binary} is missing: run scripts/install-prometheus.sh (scripts/test.sh does)"
        );
        let dir = std::env::temp_dir().join(format!("fo-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: factory\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
        let prometheus = Prometheus {
            child,
            address,
            _dir: TempDir(dir),
        };
        let give_up = Instant::now() + Duration::from_secs(30);
        while Instant::now() < give_up {
            if get(address, "/-/ready").is_some_and(|(status, _)| status == 200) {
                return prometheus;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log =
            std::fs::read_to_string(prometheus._dir.0.join("prometheus.log")).unwrap_or_default();
        panic!("Prometheus did not become ready:\n{log}");
    }

    /// The samples of an instant query: (labels, value).
    fn query(&self, promql: &str) -> Vec<(serde_json::Map<String, Value>, f64)> {
        let (status, body) = get(
            self.address,
            &format!("/api/v1/query?query={}", encode(promql)),
        )
        .expect("Prometheus answers");
        assert_eq!(status, 200, "{promql}: {body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        answer["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sample| {
                let labels = sample["metric"].as_object().unwrap().clone();
                let value = sample["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    /// Polls `promql` every 250 ms, at most 30 s, until `done` holds for its samples.
    fn wait_for(
        &self,
        promql: &str,
        done: impl Fn(&[(serde_json::Map<String, Value>, f64)]) -> bool,
    ) -> Vec<(serde_json::Map<String, Value>, f64)> {
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            let samples = self.query(promql);
            if done(&samples) {
                return samples;
            }
            assert!(Instant::now() < give_up, "{promql} never held: {samples:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// A plain HTTP/1.0 GET: (status, body).
fn get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn name_of(otel_name: &str) -> String {
    let entry = CATALOGUE.iter().find(|e| e.name == otel_name).unwrap();
    prometheus_name(entry.name, entry.unit, entry.kind == Kind::Counter)
}

#[test]
fn prometheus_scrapes_the_series_the_docs_promise_and_sees_loss_while_it_happens() {
    if run_in_own_process(
        module_path!(),
        "prometheus_scrapes_the_series_the_docs_promise_and_sees_loss_while_it_happens",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("fo-prometheus-files-{}", std::process::id()));
    let _cleanup = TempDir(dir.clone());
    // Before `init` and before this test starts any thread.
    std::env::set_var("OTEL_METRICS_EXPORTER", "prometheus");
    std::env::set_var("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1");
    std::env::set_var("OTEL_EXPORTER_PROMETHEUS_PORT", "0");
    std::env::set_var("OTEL_TRACES_EXPORTER", "otlp");
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        format!("http://127.0.0.1:{}/v1/traces", closed_port()),
    );
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "50");
    let telemetry = factory_observability::Telemetry::builder("prometheus-test")
        .embedded_dir(&dir)
        .summary(false)
        .init()
        .expect("init");
    let target = telemetry.prometheus_address().expect("/metrics is served");

    for n in 0..5 {
        assert_eq!(run(n), Ok(n + 1));
    }
    let prometheus = Prometheus::start(target);

    // The series the docs promise, by name, once scraped.
    let runs = name_of("pipeline.runs.total");
    assert_eq!(runs, "pipeline_runs_total");
    let samples = prometheus.wait_for(&runs, |s| !s.is_empty());
    assert_eq!(samples.len(), 1, "{samples:?}");
    assert_eq!(samples[0].0["pipeline_name"], "scraped");
    assert_eq!(samples[0].0["outcome"], "success");
    assert_eq!(samples[0].0["job"], "factory");
    assert_eq!(samples[0].1, 5.0);
    let stage_buckets = format!("{}_bucket", name_of("pipeline.stage.duration"));
    assert_eq!(stage_buckets, "pipeline_stage_duration_seconds_bucket");
    let buckets = prometheus.query(&format!(
        "{stage_buckets}{{stage_name=\"build\",le=\"+Inf\"}}"
    ));
    assert_eq!(buckets.len(), 1, "{buckets:?}");
    assert_eq!(buckets[0].1, 5.0);
    let tokens = prometheus.query(&format!("{}_sum", name_of("gen_ai.client.token.usage")));
    let input: f64 = tokens
        .iter()
        .filter(|(labels, _)| labels["gen_ai_token_type"] == "input")
        .map(|(_, value)| value)
        .sum();
    assert_eq!(input, (100..105).sum::<u64>() as f64, "{tokens:?}");
    let llm_tokens = prometheus.query(&format!("{}_count", name_of("llm.tokens.total")));
    assert!(!llm_tokens.is_empty(), "llm_tokens_total_count");
    // Every health series that has a value here (spans exported over OTLP, logs to a file,
    // metrics pulled): present by the catalogue's name.
    for otel_name in [
        "otel.sdk.processor.span.processed",
        "otel.sdk.processor.span.queue.size",
        "otel.sdk.processor.span.queue.capacity",
        "otel.sdk.exporter.span.exported",
        "otel.sdk.exporter.span.inflight",
        "otel.sdk.exporter.operation.duration",
        "otel.sdk.processor.log.queue.capacity",
    ] {
        let entry = CATALOGUE.iter().find(|e| e.name == otel_name).unwrap();
        let first = &series(entry)[0];
        assert!(
            !prometheus.query(first).is_empty(),
            "{first} ({otel_name}) not in Prometheus"
        );
    }
    // Every name stored from this program is the collector exporter's name for its instrument
    // (`deploy::series`), and none ends in `_total_total`: no scrape-time rename is needed.
    let collector_names = series::known_series();
    let stored = prometheus.query(r#"count by (__name__) ({job="factory"})"#);
    let stored: Vec<&str> = stored
        .iter()
        .map(|(labels, _)| labels["__name__"].as_str().unwrap())
        .collect();
    assert!(stored.contains(&"pipeline_runs_total"), "{stored:?}");
    assert!(
        stored.contains(&"otel_sdk_processor_span_processed_total"),
        "{stored:?}"
    );
    for name in &stored {
        assert!(!name.ends_with("_total_total"), "{name} in {stored:?}");
        let prometheus_own = name.starts_with("scrape_") || ["up", "target_info"].contains(name);
        assert!(
            prometheus_own || collector_names.contains_key(*name),
            "{name} is not the collector's name of any catalogued instrument"
        );
    }
    let capacity = prometheus.query(&name_of("otel.sdk.processor.span.queue.capacity"));
    assert_eq!(capacity[0].1, 32_768.0, "{capacity:?}");
    assert_eq!(
        capacity[0].0["otel_component_type"],
        "batching_span_processor"
    );

    // The trace collector is down: the failed-span counter rises while the program runs.
    let failed = format!(
        "sum({}{{error_type=\"transport\"}})",
        name_of("otel.sdk.exporter.span.exported")
    );
    let before = prometheus.wait_for(&failed, |s| s.first().is_some_and(|(_, v)| *v > 0.0))[0].1;
    for n in 0..20 {
        assert_eq!(run(n), Ok(n + 1));
    }
    let after = prometheus.wait_for(&failed, |s| s.first().is_some_and(|(_, v)| *v > before))[0].1;
    assert!(after > before);
    assert!(telemetry.prometheus_address().is_some());

    let report = telemetry.shutdown();
    let traces = &report.signals[0];
    assert_eq!(traces.submitted, 25 * 4, "{report}");
    assert_eq!(traces.delivered, 0, "{report}");
    // The report agrees with what Prometheus last saw, or counts more (exports failed after
    // its last scrape).
    assert!(traces.failed as f64 >= after, "{report}");
    drop(prometheus);
}

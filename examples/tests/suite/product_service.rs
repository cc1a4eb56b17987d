//! The product example as a real process: started on a free port as a factory would start it,
//! called over loopback with a caller's `traceparent`, stopped with SIGTERM; its telemetry, read
//! back from the embedded default's OTLP/JSON files, holds one SERVER span per request in the
//! caller's trace.

use factory_observability_tests::otlp_json::{read_last_metrics, read_logs, read_spans};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the product example in `dir` on a free port, with the embedded default and no OTLP
/// endpoint or process parent of this test's environment, plus `env`; returns it and its base URL
/// (read from its first line, `listening on http://...`).
fn start_product(dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_product_service"))
        .current_dir(dir)
        .env("PRODUCT_ADDR", "127.0.0.1:0")
        .env("FACTORY_OBS_SUMMARY", "0")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("FACTORY_OBS_DIR")
        .env_remove("TRACEPARENT")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the product starts");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let base = ready
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {ready:?}"))
        .to_owned();
    (child, base)
}

/// Stops the product with SIGTERM and waits until it has exited, which must be cleanly (it
/// flushes its telemetry first).
fn stop_with_sigterm(child: Child) {
    // SAFETY: `kill` on the pid of a child this test started and has not waited for.
    let signalled = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(signalled, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
}

#[test]
fn the_product_joins_the_callers_trace_and_flushes_on_sigterm() {
    let dir = temp_dir("product-service");
    let (child, base) = start_product(&dir, &[]);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses = runtime.block_on(async {
        // The workspace builds reqwest with rustls and no crypto provider of its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let traceparent = format!("00-{TRACE}-{PARENT}-01");
        let send = |request: reqwest::RequestBuilder| {
            let traceparent = traceparent.clone();
            async move {
                let response = request
                    .header("traceparent", traceparent)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.text().await.unwrap())
            }
        };
        let json = |title: &str| format!("{{\"title\": \"{title}\"}}");
        vec![
            send(client.get(format!("{base}/health"))).await,
            send(
                client
                    .post(format!("{base}/tasks"))
                    .header("content-type", "application/json")
                    .body(json("write docs")),
            )
            .await,
            send(
                client
                    .post(format!("{base}/tasks"))
                    .header("content-type", "application/json")
                    .body(json("")),
            )
            .await,
            send(client.get(format!("{base}/tasks/1"))).await,
            send(client.get(format!("{base}/tasks/99"))).await,
            send(client.get(format!("{base}/tasks"))).await,
            send(client.get(format!("{base}/reports/export"))).await,
        ]
    });
    let codes: Vec<u16> = statuses.iter().map(|(status, _)| *status).collect();
    assert_eq!(codes, [200, 201, 422, 200, 404, 200, 500]);
    assert_eq!(statuses[1].1, r#"{"id":1,"title":"write docs"}"#);
    assert_eq!(statuses[5].1, r#"[{"id":1,"title":"write docs"}]"#);

    stop_with_sigterm(child);

    let spans = read_spans(&dir.join("telemetry/traces.jsonl"));
    let mut names: Vec<(String, String, String)> = spans
        .iter()
        .map(|span| {
            (
                span.name.clone(),
                span.attributes["http.response.status_code"].clone(),
                span.status_code.to_string(),
            )
        })
        .collect();
    names.sort();
    let expected = [
        ("GET /health", "200", "0"),
        ("GET /reports/export", "500", "2"),
        ("GET /tasks", "200", "0"),
        ("GET /tasks/{id}", "200", "0"),
        ("GET /tasks/{id}", "404", "0"),
        ("POST /tasks", "201", "0"),
        ("POST /tasks", "422", "0"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(names, expected);
    for span in &spans {
        assert_eq!(span.trace_id, TRACE, "{}", span.name);
        assert_eq!(span.parent_span_id, PARENT, "{}", span.name);
        assert_eq!(span.resource["service.name"], "product-api");
    }
    let export = spans
        .iter()
        .find(|span| span.name == "GET /reports/export")
        .unwrap();
    assert_eq!(export.attributes["error.type"], "product_service::ApiError");
    assert_eq!(
        export.attributes["code.function.name"],
        "product_service::export_report"
    );
    assert_eq!(
        export.status_message,
        "the export backend is not configured"
    );
    let created = spans
        .iter()
        .find(|span| {
            span.name == "POST /tasks" && span.attributes["http.response.status_code"] == "201"
        })
        .unwrap();
    assert_eq!(created.attributes["task.title_length"], "10");

    let durations: u64 = read_last_metrics(&dir.join("telemetry/metrics.jsonl"))
        .iter()
        .filter(|point| point.name == "http.server.request.duration")
        .map(|point| point.value.parse::<u64>().unwrap())
        .sum();
    assert_eq!(durations, 7);
}

/// `PRODUCT_URL`: the factory example's smoke stage calls a product that is already running
/// (here, this example started by the test, writing to its own directory) instead of starting
/// one; the product's SERVER spans are children of the factory's CLIENT spans.
#[test]
fn the_factory_calls_a_running_product_at_product_url() {
    let dir = temp_dir("product-url");
    let product_dir = dir.join("product");
    let factory_dir = dir.join("factory");
    let (product, base) =
        start_product(&dir, &[("FACTORY_OBS_DIR", product_dir.to_str().unwrap())]);

    let factory = Command::new(env!("CARGO_BIN_EXE_factory_pipeline"))
        .current_dir(&dir)
        .env("PRODUCT_URL", format!("{base}/"))
        .env("FACTORY_OBS_DIR", &factory_dir)
        .env("FACTORY_OBS_SUMMARY", "0")
        .env_remove("FACTORY_PIPELINE_SMOKE")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("TRACEPARENT")
        .output()
        .unwrap();
    let factory_stderr = String::from_utf8_lossy(&factory.stderr);
    assert_eq!(factory.status.code(), Some(0), "{factory_stderr}");

    stop_with_sigterm(product);

    // The factory: no product of its own started, three CLIENT spans to `PRODUCT_URL`; beside
    // its 44 spans, its coding agent's MCP linter wrote its 4 to the same directory.
    let (factory_spans, linter_spans): (Vec<_>, Vec<_>) =
        read_spans(&factory_dir.join("traces.jsonl"))
            .into_iter()
            .partition(|s| s.resource["service.name"] == "sf-factory");
    assert_eq!(factory_spans.len(), 44, "{factory_spans:#?}");
    assert!(
        linter_spans.len() == 4
            && linter_spans
                .iter()
                .all(|s| s.resource["service.name"] == "sf-mcp-linter"),
        "{linter_spans:#?}"
    );
    let smoke = factory_spans
        .iter()
        .find(|s| s.attributes.get("stage.name").map(String::as_str) == Some("smoke"))
        .expect("the smoke stage");
    let clients: Vec<_> = factory_spans
        .iter()
        .filter(|s| s.parent_span_id == smoke.span_id)
        .collect();
    let mut urls: Vec<&str> = clients
        .iter()
        .map(|s| s.attributes["url.full"].as_str())
        .collect();
    urls.sort();
    let expected = [
        format!("{base}/health"),
        format!("{base}/tasks"),
        format!("{base}/tasks/1"),
    ];
    assert_eq!(urls, expected);

    // The product: its three SERVER spans, each a child of one of them, in the run's trace.
    let product_spans = read_spans(&product_dir.join("traces.jsonl"));
    assert_eq!(product_spans.len(), 3, "{product_spans:#?}");
    for server in &product_spans {
        assert_eq!(server.trace_id, smoke.trace_id, "{}", server.name);
        let client = clients
            .iter()
            .find(|c| c.span_id == server.parent_span_id)
            .unwrap_or_else(|| panic!("{} is not under a CLIENT span", server.name));
        assert_eq!(
            client.attributes["http.response.status_code"],
            server.attributes["http.response.status_code"]
        );
        assert_eq!(server.resource["service.name"], "product-api");
    }
}

/// The background job (`PRODUCT_RECOUNT_INTERVAL_MS`): off HTTP, each run of `recount_tasks` is
/// an INTERNAL root span of its own with `handler.name` and `handler.outcome`, counted by
/// `handler.duration`; the requests still have one SERVER span each and no job span under them.
#[test]
fn the_recount_job_runs_off_http_as_a_handler_of_its_own() {
    let dir = temp_dir("product-recount");
    let (child, base) = start_product(&dir, &[("PRODUCT_RECOUNT_INTERVAL_MS", "50")]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::new();
    let created = client
        .post(format!("{base}/tasks"))
        .header("content-type", "application/json")
        .body(r#"{"title": "recount me"}"#)
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    // Twenty periods of the job: it runs several times (counted below, not timed).
    std::thread::sleep(std::time::Duration::from_millis(1000));

    stop_with_sigterm(child);

    let spans = read_spans(&dir.join("telemetry/traces.jsonl"));
    let (jobs, requests): (Vec<_>, Vec<_>) =
        spans.iter().partition(|span| span.name == "recount_tasks");
    assert_eq!(
        requests.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["POST /tasks"]
    );
    assert!(jobs.len() >= 2, "{} runs of the job", jobs.len());
    for job in &jobs {
        assert_eq!(job.parent_span_id, "", "a root span: {job:?}");
        assert_ne!(job.trace_id, requests[0].trace_id);
        assert_eq!(job.attributes["handler.name"], "recount_tasks");
        assert_eq!(job.attributes["handler.outcome"], "success");
        assert_eq!(
            job.attributes["code.function.name"],
            "product_service::recount_tasks"
        );
        assert_eq!(job.status_code, 1, "status OK, as a stage that succeeded");
        assert_eq!(job.resource["service.name"], "product-api");
    }
    // Each run logs its count, correlated with its own span.
    let mut logged: Vec<String> = read_logs(&dir.join("telemetry/logs.jsonl"))
        .into_iter()
        .filter(|log| log.body == "tasks recounted")
        .map(|log| log.span_id)
        .collect();
    let mut job_ids: Vec<String> = jobs.iter().map(|job| job.span_id.clone()).collect();
    logged.sort();
    job_ids.sort();
    assert_eq!(logged, job_ids);
    let durations: Vec<_> = read_last_metrics(&dir.join("telemetry/metrics.jsonl"))
        .into_iter()
        .filter(|point| point.name == "handler.duration")
        .collect();
    assert_eq!(durations.len(), 1, "{durations:#?}");
    assert_eq!(durations[0].unit, "s");
    assert_eq!(durations[0].attributes["handler.name"], "recount_tasks");
    assert_eq!(durations[0].attributes["outcome"], "success");
    assert_eq!(durations[0].value, jobs.len().to_string());
}

/// A bad `PRODUCT_RECOUNT_INTERVAL_MS` is an error naming the variable and what it accepts.
#[test]
fn a_bad_recount_interval_is_refused_with_its_name() {
    for value in ["soon", "0", "-5", "86400001", "18446744073709551615"] {
        let output = Command::new(env!("CARGO_BIN_EXE_product_service"))
            .env("PRODUCT_ADDR", "127.0.0.1:0")
            .env("PRODUCT_RECOUNT_INTERVAL_MS", value)
            .env("OTEL_SDK_DISABLED", "true")
            .env("FACTORY_OBS_SUMMARY", "0")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{value}");
        assert_eq!(output.stdout, b"", "{value}: it never listened");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr).trim(),
            format!(
                "product_service: PRODUCT_RECOUNT_INTERVAL_MS={value:?}: expected a whole number of milliseconds from 1 to 86400000 (default 60000)"
            )
        );
    }
}

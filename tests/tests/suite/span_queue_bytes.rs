//! The span queue's bound in bytes (issue 24): 500 requests with 300,000-character headers once
//! made a 190 MB trace file, and the queued spans held ~330 MB, because the queue was bounded in
//! spans only. Here a real axum server with `HttpServerLayer` gets 200 such requests while the
//! exporter is held (the collector is down, as far as the queue can tell), with
//! `FACTORY_OBS_SPAN_QUEUE_MAX_BYTES` at its least, 64 KiB: the queue takes spans until its
//! bytes reach the bound and sheds the rest, and what it shed is counted the way spans shed by a
//! full queue are, in the shutdown report and in `otel.sdk.processor.span.processed`
//! (`error.type=queue_full`). One test: `init` is process-wide. Nothing here is timed.

use factory_observability::names::health;
use factory_observability::HttpServerLayer;
use factory_observability_tests::isolated::run_in_own_process;
use factory_observability_tests::otlp_json::{read_last_metrics, JsonPoint};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const REQUESTS: u64 = 200;
const MAX_BYTES: u64 = 65_536;

/// An exporter that holds its first export until released; it keeps every span it got.
#[derive(Clone, Debug, Default)]
struct Gate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Debug, Default)]
struct GateState {
    entered: bool,
    released: bool,
    spans: Vec<SpanData>,
}

impl Gate {
    fn wait_entered(&self) {
        let (state, changed) = &*self.0;
        let mut state = state.lock().unwrap();
        while !state.entered {
            state = changed.wait(state).unwrap();
        }
    }

    fn release(&self) {
        let (state, changed) = &*self.0;
        state.lock().unwrap().released = true;
        changed.notify_all();
    }

    fn spans(&self) -> Vec<SpanData> {
        self.0 .0.lock().unwrap().spans.clone()
    }
}

impl SpanExporter for Gate {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let (state, changed) = &*self.0;
        let mut state = state.lock().unwrap();
        state.entered = true;
        changed.notify_all();
        while !state.released {
            state = changed.wait(state).unwrap();
        }
        state.spans.extend(batch);
        Ok(())
    }
}

#[factory_observability::handler]
async fn task() -> &'static str {
    "ok"
}

/// The `queue_full` count of `otel.sdk.processor.span.processed` in the last metrics export,
/// once it reaches `at_least` (polled for at most 30 s, for a file still being written).
fn queue_full(file: &Path, at_least: u64) -> u64 {
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut last: Vec<JsonPoint> = Vec::new();
    while Instant::now() < give_up {
        if std::fs::read_to_string(file).is_ok_and(|text| text.ends_with('\n')) {
            last = read_last_metrics(file);
            let count = last
                .iter()
                .filter(|p| p.name == health::PROCESSOR_SPAN_PROCESSED.name)
                .filter(|p| {
                    p.attributes.get("error.type").map(String::as_str)
                        == Some(health::ERROR_QUEUE_FULL)
                })
                .map(|p| p.value.parse::<u64>().unwrap())
                .sum();
            if count >= at_least {
                return count;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("queue_full never reached {at_least}; last export: {last:#?}");
}

#[test]
fn big_spans_past_the_queue_bytes_are_shed_and_counted_as_a_full_queue_does() {
    if run_in_own_process(
        module_path!(),
        "big_spans_past_the_queue_bytes_are_shed_and_counted_as_a_full_queue_does",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("fo-queue-bytes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Before `init` and before this test starts any thread.
    std::env::set_var("FACTORY_OBS_SPAN_QUEUE_MAX_BYTES", MAX_BYTES.to_string());
    // Each span is exported as it is collected: the first one holds the exporter.
    std::env::set_var("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1");
    std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "100");
    let gate = Gate::default();
    let telemetry = factory_observability::Telemetry::builder("queue-bytes-test")
        .embedded_dir(&dir)
        .span_exporter(gate.clone())
        .summary(false)
        .init_without_subscriber()
        .expect("init");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/tasks/{id}", axum::routing::get(task))
            .layer(HttpServerLayer::new());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let first = client
            .get(format!("http://{addr}/tasks/0"))
            .send()
            .await
            .unwrap();
        assert_eq!(first.text().await.unwrap(), "ok");
        gate.wait_entered();
        // Each span holds a path and a user agent cut to 1,024 characters: over 2 KiB.
        let path = format!("/tasks/{}", "7".repeat(10_000));
        let agent = "A".repeat(300_000);
        for _ in 0..REQUESTS {
            let response = client
                .get(format!("http://{addr}{path}"))
                .header("user-agent", &agent)
                .send()
                .await
                .unwrap();
            assert_eq!(response.text().await.unwrap(), "ok");
        }
    });

    gate.release();
    let report = telemetry.shutdown();
    eprintln!("{report}");
    let traces = &report.signals[0];
    assert_eq!(traces.signal, "traces");
    assert_eq!(traces.submitted, 1 + REQUESTS, "{report}");
    assert_eq!(traces.failed, 0, "{report}");
    assert_eq!(
        traces.delivered + traces.dropped,
        traces.submitted,
        "{report}"
    );
    // What the queue took: the first span, then big spans until their bytes reached seven
    // eighths of the bound (each holds more than 2 KiB of strings), give or take a span
    // still running when the bytes got there (queued without its attributes: `trimmed`).
    let kept_whole = traces.delivered - 1 - traces.trimmed;
    assert!(kept_whole * 2048 <= MAX_BYTES, "{report}");
    assert!(kept_whole >= 10, "{report}");
    assert!(
        traces.dropped >= REQUESTS - MAX_BYTES / 2048 - traces.trimmed,
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains(&format!("{} dropped by the full queue", traces.dropped)),
        "{report}"
    );
    // The health metric counts them too (its last export, at shutdown).
    assert_eq!(
        queue_full(&dir.join("metrics.jsonl"), traces.dropped),
        traces.dropped,
        "{report}"
    );

    let spans = gate.spans();
    assert_eq!(spans.len() as u64, traces.delivered);
    for span in &spans[1..] {
        let agent = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "user_agent.original");
        match agent {
            Some(agent) => assert_eq!(agent.value.as_str().chars().count(), 1024),
            None => assert!(span.dropped_attributes_count > 0, "trimmed: {span:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

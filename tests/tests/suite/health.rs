//! The exporter's own health metrics (`otel.sdk.*`) while the trace collector is down: spans
//! dropped by the full queue and spans whose export failed are counted by reason, log records
//! and metric data points by their exporters, and the shutdown report agrees with the counters.
//! Metrics and logs go to the embedded default's files, traces to a refused port. Before any
//! work, every failure reason is a series at 0. One test: `init` is process-wide.

use factory_observability::names::health;
use factory_observability_tests::collector::closed_port;
use factory_observability_tests::isolated::run_in_own_process;
use factory_observability_tests::otlp_json::{read_last_metrics, JsonPoint};
use std::path::Path;
use std::time::{Duration, Instant};

const STAGES: u64 = 200;
const LOGS: u64 = 5;

#[factory_observability::pipeline_stage]
fn step(n: u64) -> u64 {
    n + 1
}

/// The value of the point of `metric` whose attributes include `with` (and no `error.type`
/// unless asked), 0 when there is none.
fn value(points: &[JsonPoint], metric: &str, with: &[(&str, &str)]) -> u64 {
    points
        .iter()
        .filter(|p| p.name == metric)
        .filter(|p| {
            with.iter()
                .all(|(k, v)| p.attributes.get(*k).map(String::as_str) == Some(*v))
        })
        .filter(|p| {
            with.iter().any(|(k, _)| *k == "error.type") || !p.attributes.contains_key("error.type")
        })
        .map(|p| p.value.parse::<u64>().unwrap())
        .sum()
}

/// The last metrics export once `settled` holds for it, polled every 50 ms for at most 30 s.
fn metrics_once(file: &Path, settled: impl Fn(&[JsonPoint]) -> bool) -> Vec<JsonPoint> {
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut last = Vec::new();
    while Instant::now() < give_up {
        if std::fs::read_to_string(file).is_ok_and(|text| text.ends_with('\n')) {
            last = read_last_metrics(file);
            if settled(&last) {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the health metrics never settled; last export: {last:#?}");
}

#[test]
fn health_metrics_count_drops_and_failures_and_agree_with_the_report() {
    if run_in_own_process(
        module_path!(),
        "health_metrics_count_drops_and_failures_and_agree_with_the_report",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("fo-health-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Before `init` and before this test starts any thread.
    std::env::set_var("OTEL_TRACES_EXPORTER", "otlp");
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        format!("http://127.0.0.1:{}/v1/traces", closed_port()),
    );
    std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "16");
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "20");
    std::env::set_var("OTEL_BLRP_SCHEDULE_DELAY", "20");
    std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "100");
    let telemetry = factory_observability::Telemetry::builder("health-test")
        .embedded_dir(&dir)
        .summary(false)
        .init()
        .expect("init");

    // Before any work: every exporter's failure series exists at 0, one per reason, so that a
    // `rate`/`increase` alert (deploy/prometheus/rules/telemetry.yml) sees the first burst of
    // failures as a rise from 0 rather than as a series that starts at its final value.
    let first = metrics_once(&dir.join("metrics.jsonl"), |_| true);
    let reasons = [
        health::ERROR_TIMEOUT,
        health::ERROR_TRANSPORT,
        health::ERROR_REJECTED,
        health::ERROR_OTHER,
    ];
    for metric in [
        health::EXPORTER_SPAN_EXPORTED.name,
        health::EXPORTER_LOG_EXPORTED.name,
        health::EXPORTER_METRIC_DATA_POINT_EXPORTED.name,
    ] {
        let failures: std::collections::BTreeSet<(&str, &str)> = first
            .iter()
            .filter(|p| p.name == metric)
            .filter_map(|p| Some((p.attributes.get("error.type")?.as_str(), p.value.as_str())))
            .collect();
        assert_eq!(
            failures,
            reasons.map(|reason| (reason, "0")).into_iter().collect(),
            "{metric} in the first export: {first:#?}"
        );
    }
    assert_eq!(
        value(
            &first,
            health::PROCESSOR_SPAN_PROCESSED.name,
            &[("error.type", health::ERROR_QUEUE_FULL)]
        ),
        0
    );
    assert!(first
        .iter()
        .any(|p| p.name == health::PROCESSOR_SPAN_PROCESSED.name
            && p.attributes.get("error.type").map(String::as_str)
                == Some(health::ERROR_QUEUE_FULL)));

    let total: u64 = (0..STAGES).map(step).sum();
    assert_eq!(total, STAGES * (STAGES + 1) / 2);
    for n in 0..LOGS {
        tracing::warn!(n, "a log record");
    }

    let spans = health::PROCESSOR_SPAN_PROCESSED.name;
    let exported = health::EXPORTER_SPAN_EXPORTED.name;
    let metrics_file = dir.join("metrics.jsonl");
    let points = metrics_once(&metrics_file, |points| {
        value(points, spans, &[("error.type", "queue_full")])
            + value(points, exported, &[("error.type", "transport")])
            == STAGES
            && value(points, health::EXPORTER_LOG_EXPORTED.name, &[]) == LOGS
    });
    let processor = [
        ("otel.component.type", "batching_span_processor"),
        ("otel.component.name", "batching_span_processor/0"),
    ];
    let dropped = value(&points, spans, &[("error.type", "queue_full")]);
    let failed = value(&points, exported, &[("error.type", "transport")]);
    // The queue of 16 (14 for stages, an eighth kept for runs) cannot hold the burst while the
    // exports fail; what it held was handed to the exporter and failed.
    assert!(dropped > 0 && failed > 0, "{points:#?}");
    assert_eq!(value(&points, spans, &processor), failed);
    assert_eq!(
        value(
            &points,
            exported,
            &[("otel.component.type", "otlp_http_span_exporter")]
        ),
        0
    );
    assert_eq!(
        value(
            &points,
            health::PROCESSOR_SPAN_QUEUE_CAPACITY.name,
            &processor
        ),
        16
    );
    assert_eq!(
        value(&points, health::PROCESSOR_SPAN_QUEUE_SIZE.name, &processor),
        0
    );
    assert_eq!(value(&points, health::EXPORTER_SPAN_INFLIGHT.name, &[]), 0);
    assert_eq!(value(&points, health::LOG_CREATED.name, &[]), LOGS);
    assert!(
        value(
            &points,
            health::EXPORTER_METRIC_DATA_POINT_EXPORTED.name,
            &[]
        ) > 0
    );
    // One duration point per failed span export, with its reason.
    assert!(
        value(
            &points,
            health::EXPORTER_OPERATION_DURATION.name,
            &[("error.type", "transport")]
        ) > 0
    );
    // The SDK's batch log processor records its own, on the global meter provider.
    assert_eq!(
        value(&points, health::PROCESSOR_LOG_QUEUE_CAPACITY.name, &[]),
        2048
    );
    assert_eq!(
        value(&points, health::PROCESSOR_LOG_PROCESSED.name, &[]),
        LOGS
    );
    // The log queue's bound drops before the SDK's queue can overflow, and says so: a series
    // of its own, at 0 from the start (so that a rate over it sees the first drop).
    let log_queue_full = points
        .iter()
        .find(|p| {
            p.name == health::PROCESSOR_LOG_PROCESSED.name
                && p.attributes.get("error.type").map(String::as_str) == Some("queue_full")
        })
        .unwrap_or_else(|| panic!("no queue_full series of log records: {points:#?}"));
    assert_eq!(
        (
            log_queue_full.attributes["otel.component.type"].as_str(),
            log_queue_full.value.as_str()
        ),
        ("batching_log_processor", "0")
    );

    let report = telemetry.shutdown();
    let [traces, _, logs] = [&report.signals[0], &report.signals[1], &report.signals[2]];
    assert_eq!(traces.submitted, STAGES, "{report}");
    assert_eq!(traces.dropped, dropped, "{report}");
    assert_eq!(traces.failed, failed, "{report}");
    assert_eq!(traces.delivered, 0, "{report}");
    assert_eq!((logs.submitted, logs.delivered), (LOGS, LOGS), "{report}");
    let text = report.to_string();
    assert!(
        text.starts_with(&format!(
            "traces 0/{STAGES} delivered ({STAGES} lost: {dropped} dropped by the full queue, {failed} failed to export; last error: "
        )),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

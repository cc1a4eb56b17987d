//! OTLP/gRPC (the `grpc` feature): the real collector's gRPC receiver gets all three signals,
//! with and without gzip, with headers as metadata, resource attributes intact. The example is
//! a plain (non-async) program: the exporter's own runtime carries the exports.
//!
//! `cargo test -p factory-observability-examples --features grpc --test export_grpc`

use factory_observability_tests::collector::{parse_logs, parse_metrics, parse_spans, Collector};
use factory_observability_tests::program::{run, Run};
use std::path::PathBuf;
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(15);
const ALL_DELIVERED: &str =
    "traces 19/19 delivered; metrics 1/1 exports delivered; logs 3/3 delivered";
const SECRET: &str = "sk-grpc-secret-3";

fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_grpc-{name}"));
    run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &dir,
        envs,
        RUN_TIMEOUT,
    )
}

fn delivered_over_grpc(name: &str, compression: &str) {
    let collector = Collector::start();
    let run = run_pipeline(
        name,
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", compression.into()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("authorization=Bearer%20{SECRET},x-team=factory"),
            ),
            ("OTEL_SERVICE_NAME", format!("factory-grpc-{compression}")),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=grpc-e2e".into(),
            ),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.describe());
    assert!(run.stderr.contains(ALL_DELIVERED), "{}", run.describe());
    assert!(!run.stderr.contains(SECRET), "{}", run.describe());
    collector.expect(
        "19 spans, the run metric and 3 log records",
        |output| {
            parse_spans(output).len() == 19
                && parse_metrics(output)
                    .iter()
                    .any(|point| point.name == "pipeline.runs.total")
                && parse_logs(output).len() == 3
        },
        RECEIVE_TIMEOUT,
    );
    let output = collector.output();
    assert!(
        output.contains(&format!("service.name: Str(factory-grpc-{compression})")),
        "{output}"
    );
    assert!(
        output.contains("deployment.environment: Str(grpc-e2e)"),
        "{output}"
    );
}

#[test]
fn all_signals_arrive_over_grpc() {
    delivered_over_grpc("plain", "none");
}

#[test]
fn all_signals_arrive_over_grpc_with_gzip() {
    delivered_over_grpc("gzip", "gzip");
}

#[test]
fn an_unreachable_grpc_collector_is_counted_as_lost() {
    let port = factory_observability_tests::collector::closed_port();
    let run = run_pipeline(
        "unreachable",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".into()),
        ],
    );
    assert_eq!(run.status.code(), Some(3), "{}", run.describe());
    assert!(
        run.stderr.contains("traces 0/19 delivered (19 lost"),
        "{}",
        run.describe()
    );
}

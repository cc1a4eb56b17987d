//! `TRACEPARENT=... factory_pipeline`: the factory run continues the trace of whoever started
//! it (a CI job, another factory), read back from the embedded default's `traces.jsonl`.

use factory_observability_tests::otlp_json::read_spans;
use std::process::Command;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[test]
fn the_run_is_a_child_of_the_traceparent_it_was_started_with() {
    let dir = std::env::temp_dir().join(format!("fo-example-traceparent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_factory_pipeline"))
        .current_dir(&dir)
        .env("TRACEPARENT", format!("00-{TRACE}-{PARENT}-01"))
        .env("TRACESTATE", "congo=t61rcWkgMzE")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_SAMPLER")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("FACTORY_OBS_DIR")
        .output()
        .expect("the example runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("ignoring TRACEPARENT"), "{stderr}");

    let spans = read_spans(&dir.join("telemetry/traces.jsonl"));
    let runs: Vec<_> = spans.iter().filter(|s| s.name == "pipeline.run").collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trace_id, TRACE);
    assert_eq!(runs[0].parent_span_id, PARENT);
    assert_eq!(
        runs[0].flags, 0x301,
        "sampled as its parent; the parent is remote"
    );
    // The whole run is in that trace, every span a descendant of the run.
    assert!(spans.len() > 10, "{}", spans.len());
    assert!(spans.iter().all(|s| s.trace_id == TRACE));
    let roots: Vec<_> = spans
        .iter()
        .filter(|s| !spans.iter().any(|p| p.span_id == s.parent_span_id))
        .collect();
    assert_eq!(roots.len(), 1, "only the run hangs off the remote parent");
}

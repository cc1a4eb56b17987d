//! `init` in-process: `tracing` spans nest with the macros' spans in both directions, and
//! `tracing` events become log records carrying the current trace and span ids. Read back from
//! the embedded default's files. One test: `init` installs process-wide state.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::otlp_json::{read_logs, read_spans};

#[tracing::instrument]
fn user_helper(n: u32) -> u32 {
    tracing::info!(n, "inside the user's tracing span");
    n + 1
}

#[pipeline_stage]
fn stage_calling_tracing() -> u32 {
    tracing::info!("stage started");
    user_helper(1)
}

#[pipeline_stage]
fn stage_inside_tracing() -> u32 {
    7
}

#[pipeline_run(name = "bridge")]
fn run() -> u32 {
    let outer = tracing::info_span!("user.outer");
    let inside = outer.in_scope(stage_inside_tracing);
    stage_calling_tracing() + inside
}

#[test]
fn tracing_spans_and_events_join_the_macros_traces() {
    let dir = std::env::temp_dir().join(format!("fo-bridge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telemetry = factory_observability::Telemetry::builder("bridge-test")
        .embedded_dir(&dir)
        .summary(false)
        .init()
        .expect("init");
    assert!(telemetry.is_enabled());
    assert_eq!(run(), 9);

    let second = factory_observability::init("again").unwrap_err();
    assert_eq!(
        second.to_string(),
        "factory_observability::init was already called in this process; keep the first Telemetry guard alive instead"
    );

    let report = telemetry.shutdown();
    assert_eq!(report.undelivered(), 0, "{report}");
    assert!(report.completed_in_time);

    let spans = read_spans(&dir.join("traces.jsonl"));
    let by_name = |name: &str| {
        spans
            .iter()
            .find(|s| {
                s.name == name || s.attributes.get("stage.name").map(String::as_str) == Some(name)
            })
            .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
    };
    let run = by_name("pipeline.run");
    let outer = by_name("user.outer");
    let inside = by_name("stage_inside_tracing");
    let calling = by_name("stage_calling_tracing");
    let helper = by_name("user_helper");

    assert_eq!(
        outer.parent_span_id, run.span_id,
        "tracing span under our run"
    );
    assert_eq!(
        inside.parent_span_id, outer.span_id,
        "our stage under a tracing span"
    );
    assert_eq!(calling.parent_span_id, run.span_id);
    assert_eq!(
        helper.parent_span_id, calling.span_id,
        "#[tracing::instrument] under our stage"
    );
    assert!(spans.iter().all(|s| s.trace_id == run.trace_id));
    assert_eq!(helper.attributes["n"], "1");

    let logs = read_logs(&dir.join("logs.jsonl"));
    let bodies: Vec<&str> = logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies, ["stage started", "inside the user's tracing span"]);
    assert_eq!(logs[0].span_id, calling.span_id);
    assert_eq!(logs[1].span_id, helper.span_id);
    assert!(logs.iter().all(|l| l.trace_id == run.trace_id));
}

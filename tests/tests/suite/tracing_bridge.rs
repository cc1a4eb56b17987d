//! `init` in-process: `tracing` spans nest with the macros' spans in both directions, and
//! `tracing` events become log records carrying the current trace and span ids. Read back from
//! the embedded default's files. One test: `init` installs process-wide state.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::isolated::run_in_own_process;
use factory_observability_tests::otlp_json::{read_logs, read_spans};
use opentelemetry::trace::Tracer as _;
use std::collections::HashMap;

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

/// The `traceparent` a propagator sends from the current context.
fn traceparent_sent_from_here() -> String {
    let mut headers = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&opentelemetry::Context::current(), &mut headers)
    });
    headers.remove("traceparent").unwrap_or_default()
}

/// A `tracing` root outside any macro's span, with a child that sends its context on.
fn tracing_root() -> String {
    let root = tracing::info_span!("user.root");
    let _in_root = root.enter();
    let child = tracing::info_span!("user.child");
    let _in_child = child.enter();
    traceparent_sent_from_here()
}

/// A root of the global OpenTelemetry tracer, which sends its context on.
fn global_tracer_root() -> String {
    opentelemetry::global::tracer("user")
        .in_span("user.global_root", |_| traceparent_sent_from_here())
}

#[test]
fn tracing_spans_and_events_join_the_macros_traces() {
    if run_in_own_process(
        module_path!(),
        "tracing_spans_and_events_join_the_macros_traces",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("fo-bridge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telemetry = factory_observability::Telemetry::builder("bridge-test")
        .embedded_dir(&dir)
        .summary(false)
        .init()
        .expect("init");
    assert!(telemetry.is_enabled());
    assert_eq!(run(), 9);
    let from_tracing_root = tracing_root();
    let from_global_root = global_tracer_root();

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
    let in_run = [&run, &outer, &inside, &calling, &helper];
    assert!(in_run.iter().all(|s| s.trace_id == run.trace_id));

    // Roots of `tracing` and of the global tracer carry W3C Level 2's `random` flag (0x02)
    // as the macros' roots do: exported, kept by children, and sent on (0x100: the exporter
    // says the parent is not remote).
    let user_root = by_name("user.root");
    let user_child = by_name("user.child");
    let global_root = by_name("user.global_root");
    assert_eq!(user_root.parent_span_id, "");
    assert_eq!(user_child.parent_span_id, user_root.span_id);
    for span in [&run, &user_root, &user_child, &global_root] {
        assert_eq!(span.flags, 0x103, "sampled and random: {span:#?}");
    }
    assert_eq!(
        from_tracing_root,
        format!("00-{}-{}-03", user_child.trace_id, user_child.span_id)
    );
    assert_eq!(
        from_global_root,
        format!("00-{}-{}-03", global_root.trace_id, global_root.span_id)
    );
    assert_eq!(helper.attributes["n"], "1");

    let logs = read_logs(&dir.join("logs.jsonl"));
    let bodies: Vec<&str> = logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies, ["stage started", "inside the user's tracing span"]);
    assert_eq!(logs[0].span_id, calling.span_id);
    assert_eq!(logs[1].span_id, helper.span_id);
    assert!(logs.iter().all(|l| l.trace_id == run.trace_id));
}

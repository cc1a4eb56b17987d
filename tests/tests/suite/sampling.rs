//! What is recorded. Sampling: the macros decide it themselves with the sampler
//! `OTEL_TRACES_SAMPLER` selects, as the SDK tracer would, and their children (the macros' and
//! `tracing` spans alike) follow the decision. Signals: `OTEL_{TRACES,METRICS}_EXPORTER=none`.
//! Each scenario runs `init` in a child process of this test binary (the `child` test, ignored
//! unless run by name) and is read back from the embedded default's files.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::isolated::{test_command, test_name};
use factory_observability_tests::otlp_json::{
    read_last_metrics, read_logs, read_spans_in, JsonSpan,
};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SCENARIO: &str = "FO_SAMPLING_SCENARIO";
const REMOTE_TRACE: u128 = 0x4bf92f3577b34da6a3ce929d0e0e4736;
const REMOTE_SPAN: u64 = 0x00f067aa0ba902b7;

#[tracing::instrument]
fn user_helper() -> u32 {
    tracing::info!("inside the user's tracing span");
    1
}

#[pipeline_stage]
fn inner_stage() -> u32 {
    user_helper()
}

#[pipeline_stage]
fn outer_stage() -> u32 {
    inner_stage() + 1
}

#[pipeline_run(name = "sampled")]
fn run() -> u32 {
    outer_stage()
}

/// Runs `run` under a remote parent, as a handler does with an incoming `traceparent`.
fn run_under_remote_parent(flags: TraceFlags) -> u32 {
    let remote = SpanContext::new(
        TraceId::from(REMOTE_TRACE),
        SpanId::from(REMOTE_SPAN),
        flags,
        true,
        TraceState::default(),
    );
    let _attached = opentelemetry::Context::new()
        .with_remote_span_context(remote)
        .attach();
    run()
}

#[test]
#[ignore = "a scenario run in a child process by the other tests of this file"]
fn child() {
    let scenario = std::env::var(SCENARIO).expect("run by the tests of this file");
    let telemetry = factory_observability::Telemetry::builder("sampling-test")
        .summary(false)
        .init()
        .expect("init");
    match scenario.as_str() {
        "runs:200" => (0..200).for_each(|_| assert_eq!(run(), 2)),
        "remote" => {
            assert_eq!(run(), 2);
            assert_eq!(run_under_remote_parent(TraceFlags::SAMPLED), 2);
            assert_eq!(run_under_remote_parent(TraceFlags::default()), 2);
        }
        "burst:20000" => (0..20_000).for_each(|_| assert_eq!(inner_stage(), 1)),
        other => panic!("unknown scenario {other}"),
    }
    let report = telemetry.shutdown();
    let traces = &report.signals[0];
    println!(
        "traces submitted={} delivered={} failed={}",
        traces.submitted, traces.delivered, traces.failed
    );
}

/// Runs `scenario` in a child process with `env`; returns its telemetry directory and the
/// child's trace counts (submitted, delivered).
fn run_child(scenario: &str, env: &[(&str, &str)]) -> (PathBuf, u64, u64) {
    let settings: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let dir = std::env::temp_dir().join(format!(
        "fo-sampling-{}-{}-{}",
        scenario.replace(':', "-"),
        settings.join("-").to_lowercase(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let output = test_command(&test_name(module_path!(), "child"))
        .env(SCENARIO, scenario)
        .env("FACTORY_OBS_DIR", &dir)
        .envs(env.iter().copied())
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child {scenario} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let counts = stdout
        .lines()
        .find_map(|line| line.strip_prefix("traces "))
        .unwrap_or_else(|| panic!("no counts in:\n{stdout}"));
    let count = |key: &str| -> u64 {
        counts
            .split(' ')
            .find_map(|part| part.strip_prefix(key))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {counts}"))
    };
    (dir, count("submitted="), count("delivered="))
}

/// The stage or span name: `stage.name` for the macros' stages.
fn label(span: &JsonSpan) -> &str {
    span.attributes
        .get("stage.name")
        .map_or(span.name.as_str(), String::as_str)
}

fn metric_count(dir: &Path, name: &str, attribute: (&str, &str)) -> u64 {
    read_last_metrics(&dir.join("metrics.jsonl"))
        .iter()
        .filter(|p| p.name == name)
        .filter(|p| p.attributes.get(attribute.0).map(String::as_str) == Some(attribute.1))
        .map(|p| p.value.parse::<u64>().expect("a count"))
        .sum()
}

#[test]
fn always_off_exports_no_span_and_still_counts_every_call() {
    let (dir, submitted, delivered) =
        run_child("runs:200", &[("OTEL_TRACES_SAMPLER", "always_off")]);
    assert_eq!((submitted, delivered), (0, 0));
    assert!(read_spans_in(&dir).is_empty(), "{:#?}", read_spans_in(&dir));
    // Metrics do not depend on trace sampling.
    assert_eq!(
        metric_count(&dir, "pipeline.runs.total", ("pipeline.name", "sampled")),
        200
    );
    for stage in ["outer_stage", "inner_stage"] {
        assert_eq!(
            metric_count(&dir, "pipeline.stage.duration", ("stage.name", stage)),
            200
        );
    }
    assert_eq!(read_logs(&dir.join("logs.jsonl")).len(), 200);
}

#[test]
fn traces_exporter_none_records_metrics_only() {
    let (dir, submitted, delivered) = run_child("runs:200", &[("OTEL_TRACES_EXPORTER", "none")]);
    assert_eq!((submitted, delivered), (0, 0));
    assert!(!dir.join("traces.jsonl").exists());
    assert_eq!(
        metric_count(
            &dir,
            "pipeline.stage.duration",
            ("stage.name", "inner_stage")
        ),
        200
    );
    assert_eq!(read_logs(&dir.join("logs.jsonl")).len(), 200);
}

#[test]
fn with_neither_traces_nor_metrics_the_macros_record_nothing() {
    let (dir, submitted, delivered) = run_child(
        "runs:200",
        &[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ],
    );
    assert_eq!((submitted, delivered), (0, 0));
    assert!(!dir.join("traces.jsonl").exists());
    assert!(!dir.join("metrics.jsonl").exists());
    // Logs are still bridged: the user's `tracing` events are not the macros'.
    let logs = read_logs(&dir.join("logs.jsonl"));
    assert_eq!(logs.len(), 200);
    assert!(logs.iter().all(|log| log.trace_id.is_empty()), "{logs:#?}");
}

#[test]
fn parent_based_ratio_keeps_whole_traces() {
    let (dir, submitted, delivered) = run_child(
        "runs:200",
        &[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ],
    );
    let spans = read_spans_in(&dir);
    let mut traces: BTreeMap<&str, Vec<&JsonSpan>> = BTreeMap::new();
    for span in &spans {
        traces.entry(span.trace_id.as_str()).or_default().push(span);
    }
    // 200 traces at 0.5: 100 expected, 50..150 is more than 7 standard deviations wide.
    assert!(
        (50..=150).contains(&traces.len()),
        "{} of 200 traces sampled",
        traces.len()
    );
    assert_eq!(submitted, delivered);
    // The macros' spans are submitted by the macros, the user's `tracing` span by the SDK.
    assert_eq!(delivered as usize, spans.len());
    for (trace_id, trace) in &traces {
        let names: BTreeSet<&str> = trace.iter().map(|s| label(s)).collect();
        assert_eq!(
            names,
            BTreeSet::from(["pipeline.run", "outer_stage", "inner_stage", "user_helper"]),
            "trace {trace_id} is not whole"
        );
        let id_of = |name: &str| {
            trace
                .iter()
                .find(|s| label(s) == name)
                .map(|s| s.span_id.as_str())
                .unwrap()
        };
        for (child, parent) in [
            ("outer_stage", "pipeline.run"),
            ("inner_stage", "outer_stage"),
            ("user_helper", "inner_stage"),
        ] {
            let span = trace.iter().find(|s| label(s) == child).unwrap();
            assert_eq!(span.parent_span_id, id_of(parent), "{child} in {trace_id}");
            // Sampled (0x01), in a trace whose id is random (0x02, W3C Trace Context Level 2).
            assert_eq!(span.flags & 0xff, 0x03, "{child} is sampled");
        }
    }
}

#[test]
fn a_remote_parent_decides_for_parent_based_samplers() {
    let (dir, submitted, delivered) = run_child(
        "remote",
        &[("OTEL_TRACES_SAMPLER", "parentbased_always_off")],
    );
    let spans = read_spans_in(&dir);
    // Only the run under the sampled remote parent is exported, with its whole tree.
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert_eq!((submitted, delivered), (4, 4));
    let remote_trace = format!("{REMOTE_TRACE:032x}");
    assert!(spans.iter().all(|s| s.trace_id == remote_trace));
    let run = spans.iter().find(|s| s.name == "pipeline.run").unwrap();
    assert_eq!(run.parent_span_id, format!("{REMOTE_SPAN:016x}"));
    assert_eq!(
        run.flags, 0x301,
        "sampled, with a parent known to be remote"
    );
    let outer = spans.iter().find(|s| label(s) == "outer_stage").unwrap();
    assert_eq!(outer.parent_span_id, run.span_id);
    assert_eq!(outer.flags, 0x101, "sampled, with a local parent");
}

#[test]
fn what_the_queue_cannot_hold_is_counted_as_lost() {
    // A queue of 8 spans in front of the batch processor and 8 in it, 20,000 stages (each with
    // the user's `tracing` span inside) in a burst: whatever is dropped is counted, and what is
    // counted as delivered is in the file.
    let (dir, submitted, delivered) = run_child("burst:20000", &[("OTEL_BSP_MAX_QUEUE_SIZE", "8")]);
    let spans = read_spans_in(&dir);
    assert_eq!(spans.len() as u64, delivered);
    // A stage that finds the queue full at its start is shed with its subtree: it is counted
    // (submitted, dropped), its `tracing` span is not sampled, so not counted. A stage that got
    // a slot is always delivered by the file exporter, and its `tracing` span may still be
    // dropped by the full queue of `tracing` spans, counted.
    let stages: std::collections::BTreeSet<&str> = spans
        .iter()
        .filter(|s| label(s) == "inner_stage")
        .map(|s| s.span_id.as_str())
        .collect();
    let shed_stages = 20_000 - stages.len() as u64;
    assert_eq!(submitted, 40_000 - shed_stages);
    for helper in spans.iter().filter(|s| label(s) == "user_helper") {
        assert!(
            stages.contains(helper.parent_span_id.as_str()),
            "a delivered span's parent is delivered"
        );
    }
    assert_eq!(
        metric_count(
            &dir,
            "pipeline.stage.duration",
            ("stage.name", "inner_stage")
        ),
        20_000
    );
}

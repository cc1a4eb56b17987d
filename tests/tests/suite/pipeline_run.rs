//! `#[pipeline_run]`: the root span, its attributes, status, exception event and run metrics.

use factory_observability::testing::{Capture, PointValue};
use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::labels;
use opentelemetry::trace::{SpanId, Status};

#[derive(Debug)]
struct BuildError(&'static str);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "build broke: {}", self.0)
    }
}

#[pipeline_stage]
fn plan() -> Result<u32, BuildError> {
    Ok(2)
}

#[pipeline_run]
fn nightly() -> Result<u32, BuildError> {
    plan()
}

#[pipeline_run(name = "new_product")]
fn new_product(fail: bool) -> Result<u32, BuildError> {
    let tasks = plan()?;
    if fail {
        return Err(BuildError("linker"));
    }
    Ok(tasks)
}

#[pipeline_run(name = "fixed", run_id = format!("run-{}", 7))]
fn with_run_id() {}

#[test]
fn root_span_has_the_seed_attributes_and_a_child_stage() {
    let capture = Capture::new();
    assert_eq!(capture.run(|| new_product(false)).unwrap(), 2);

    let runs = capture.spans_named("pipeline.run");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.parent_span_id, SpanId::INVALID);
    assert_eq!(run.attr("pipeline.name").as_deref(), Some("new_product"));
    assert_eq!(run.attr("run.outcome").as_deref(), Some("success"));
    assert_eq!(
        run.attr("code.function.name").as_deref(),
        Some(concat!(module_path!(), "::new_product"))
    );
    assert_eq!(run.status, Status::Ok);
    assert!(run.events.is_empty());

    let run_id = run.attr("run.id").unwrap();
    assert_eq!(run_id.len(), 36, "a UUID: {run_id}");
    let timestamp = run.attr("run.timestamp").unwrap();
    assert!(
        humantime_like_rfc3339(&timestamp),
        "RFC 3339 timestamp: {timestamp}"
    );

    let stages = capture.spans_named("pipeline.stage");
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].parent_span_id, run.span_id);
    assert_eq!(stages[0].trace_id, run.trace_id);
    assert_eq!(stages[0].attr("run.id"), Some(run_id));
}

fn humantime_like_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.len() == 24
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[19] == b'.'
        && text.ends_with('Z')
}

#[test]
fn default_name_is_the_function_name_and_run_ids_are_unique() {
    let capture = Capture::new();
    capture.run(|| {
        nightly().unwrap();
        nightly().unwrap();
    });
    let runs = capture.spans_named("pipeline.run");
    assert_eq!(runs.len(), 2);
    assert!(runs
        .iter()
        .all(|r| r.attr("pipeline.name").as_deref() == Some("nightly")));
    assert_ne!(runs[0].attr("run.id"), runs[1].attr("run.id"));
    assert_ne!(runs[0].trace_id, runs[1].trace_id);
}

#[test]
fn run_id_can_be_given() {
    let capture = Capture::new();
    capture.run(with_run_id);
    let run = &capture.spans_named("pipeline.run")[0];
    assert_eq!(run.attr("run.id").as_deref(), Some("run-7"));
    assert_eq!(run.attr("pipeline.name").as_deref(), Some("fixed"));
}

#[test]
fn an_error_sets_status_error_and_records_an_exception_event() {
    let capture = Capture::new();
    let error = capture.run(|| new_product(true)).unwrap_err();
    assert_eq!(error.to_string(), "build broke: linker");

    let run = &capture.spans_named("pipeline.run")[0];
    assert_eq!(run.status, Status::error("build broke: linker"));
    assert_eq!(run.attr("run.outcome").as_deref(), Some("failure"));
    assert_eq!(
        run.attr("error.type").as_deref(),
        Some(concat!(module_path!(), "::BuildError"))
    );
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event.name, "exception");
    assert_eq!(
        event
            .attributes
            .get("exception.type")
            .map(|v| v.to_string()),
        Some(concat!(module_path!(), "::BuildError").into())
    );
    assert_eq!(
        event
            .attributes
            .get("exception.message")
            .map(|v| v.to_string()),
        Some("build broke: linker".into())
    );
}

#[test]
fn runs_feed_the_run_counter_and_duration_histogram() {
    let capture = Capture::new();
    capture.run(|| {
        let _ = new_product(false);
        let _ = new_product(false);
        let _ = new_product(true);
    });

    let runs = capture.metric("pipeline.runs.total");
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[0].attributes,
        labels(&[("outcome", "failure"), ("pipeline.name", "new_product")])
    );
    assert_eq!(runs[0].value, PointValue::Sum(1.0));
    assert_eq!(
        runs[1].attributes,
        labels(&[("outcome", "success"), ("pipeline.name", "new_product")])
    );
    assert_eq!(runs[1].value, PointValue::Sum(2.0));

    let durations = capture.metric("pipeline.run.duration");
    assert_eq!(durations.len(), 2);
    assert_eq!(durations[1].unit, "s");
    match &durations[1].value {
        PointValue::Histogram {
            count,
            bounds,
            bucket_counts,
            ..
        } => {
            assert_eq!(*count, 2);
            assert_eq!(bounds[0], 0.005);
            assert_eq!(bounds.len() + 1, bucket_counts.len());
            assert_eq!(bucket_counts.iter().sum::<u64>(), 2);
        }
        other => panic!("expected a histogram, got {other:?}"),
    }
}

#[test]
fn without_a_capture_or_init_nothing_is_recorded_and_the_body_still_runs() {
    let capture = Capture::new();
    // Called outside `capture.run`: no pipeline is installed for this call.
    assert_eq!(new_product(false).unwrap(), 2);
    assert!(capture.spans().is_empty());
}

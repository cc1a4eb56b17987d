//! `#[handler]` off HTTP (a product's background job, a CLI command): an INTERNAL span named
//! after the handler, with its outcome, errors and duration histogram, as a stage has them.

use factory_observability::handler;
use factory_observability::testing::{Capture, PointValue};
use opentelemetry::trace::{SpanKind, Status};
use std::fmt::Display;

#[derive(Debug)]
struct JobError(String);

impl Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[handler(name = "purge_tasks", fields(job.batch = batch))]
fn purge(batch: i64) -> Result<usize, JobError> {
    if batch <= 0 {
        return Err(JobError(format!("batch {batch} is empty")));
    }
    Ok(batch as usize)
}

#[handler]
async fn export_report(rows: usize) -> String {
    tokio::task::yield_now().await;
    format!("{rows} rows")
}

#[test]
fn a_sync_handler_is_an_internal_span_with_its_outcome_and_histogram() {
    let capture = Capture::new();
    assert_eq!(capture.run(|| purge(3)).unwrap(), 3);
    let error = capture.run(|| purge(0)).unwrap_err();
    assert_eq!(error.0, "batch 0 is empty");

    let spans = capture.spans_named("purge_tasks");
    assert_eq!(spans.len(), 2);
    let (ok, failed) = (&spans[0], &spans[1]);
    assert_eq!(ok.kind, SpanKind::Internal);
    assert_eq!(ok.attr("handler.name").as_deref(), Some("purge_tasks"));
    assert_eq!(ok.attr("handler.outcome").as_deref(), Some("success"));
    assert_eq!(ok.attr("job.batch").as_deref(), Some("3"));
    assert_eq!(
        ok.attr("code.function.name").as_deref(),
        Some(concat!(module_path!(), "::purge"))
    );
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(failed.attr("handler.outcome").as_deref(), Some("failure"));
    assert_eq!(
        failed.attr("error.type").as_deref(),
        Some(concat!(module_path!(), "::JobError"))
    );
    assert_eq!(failed.status, Status::error("batch 0 is empty"));
    assert_eq!(failed.events[0].name, "exception");

    let mut points = capture.metric("handler.duration");
    points.sort_by(|a, b| a.attributes["outcome"].cmp(&b.attributes["outcome"]));
    assert_eq!(points.len(), 2);
    for (point, outcome) in points.iter().zip(["failure", "success"]) {
        assert_eq!(point.unit, "s");
        assert_eq!(point.attributes["handler.name"], "purge_tasks");
        assert_eq!(point.attributes["outcome"], outcome);
        assert!(matches!(
            point.value,
            PointValue::Histogram { count: 1, .. }
        ));
    }
}

#[tokio::test]
async fn an_async_handler_is_named_after_its_function() {
    let capture = Capture::new();
    let text = capture.run_async(export_report(7)).await;
    assert_eq!(text, "7 rows");
    let spans = capture.spans_named("export_report");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].kind, SpanKind::Internal);
    assert_eq!(spans[0].attr("handler.outcome").as_deref(), Some("success"));
}

//! `#[pipeline_stage]` on every supported function shape: outcomes, `?` and early `return`,
//! panics, dropped futures, `Send` futures, methods, generics, `impl Trait`, traits.

use factory_observability::testing::{Capture, PointValue};
use factory_observability::{pipeline_run, pipeline_stage, Outcome, OutcomeKind};
use opentelemetry::trace::Status;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

#[derive(Debug, PartialEq)]
struct StageError(String);

impl Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_number(text: &str) -> Result<u32, StageError> {
    text.parse()
        .map_err(|_| StageError(format!("not a number: {text}")))
}

#[pipeline_stage(name = "typecheck", fields(file_count = files.len(), stage.strict = true))]
fn typecheck(files: &[&str]) -> Result<usize, StageError> {
    let mut total = 0;
    for file in files {
        if file.is_empty() {
            return Err(StageError("empty file name".into()));
        }
        total += parse_number(file)? as usize;
    }
    Ok(total)
}

#[pipeline_stage]
async fn implement(ticket: u32) -> Result<String, StageError> {
    let parsed = parse_number(&ticket.to_string())?;
    tokio::task::yield_now().await;
    if parsed == 0 {
        return Err(StageError("ticket zero".into()));
    }
    Ok(format!("code for #{parsed}"))
}

#[pipeline_stage]
fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

enum Verdict {
    Shipped,
    NothingToDo,
    TimedOut,
}

impl Outcome for Verdict {
    fn outcome(&self) -> OutcomeKind {
        match self {
            Verdict::Shipped => OutcomeKind::Success,
            Verdict::NothingToDo => OutcomeKind::Skip,
            Verdict::TimedOut => OutcomeKind::Timeout,
        }
    }
}

#[pipeline_stage]
fn deploy(which: u8) -> Verdict {
    match which {
        0 => Verdict::Shipped,
        1 => Verdict::NothingToDo,
        _ => Verdict::TimedOut,
    }
}

#[pipeline_stage]
fn explode() -> u32 {
    panic!("stage exploded: {}", 42)
}

#[pipeline_stage]
async fn wait_forever() {
    std::future::pending::<()>().await
}

#[pipeline_stage]
fn generic_len<T: AsRef<str>>(value: T) -> usize {
    value.as_ref().len()
}

#[pipeline_stage]
fn digits(limit: u32) -> impl Iterator<Item = u32> {
    0..limit
}

type StageResult<T> = Result<T, StageError>;

#[pipeline_stage]
fn aliased(ok: bool) -> StageResult<()> {
    if ok {
        Ok(())
    } else {
        Err(StageError("aliased failure".into()))
    }
}

struct Workspace {
    files: Vec<String>,
}

impl Workspace {
    #[pipeline_stage]
    fn lint(&self) -> Result<usize, StageError> {
        Ok(self.files.len())
    }

    #[pipeline_stage(name = "write_file")]
    fn write(&mut self, name: &str) -> &str {
        self.files.push(name.to_owned());
        self.files.last().unwrap()
    }

    #[pipeline_stage]
    async fn fetch(&self, index: usize) -> Option<&String> {
        tokio::task::yield_now().await;
        self.files.get(index)
    }

    #[pipeline_stage]
    fn into_files(self) -> Vec<String> {
        self.files
    }
}

trait Stage {
    async fn execute(&self, input: u32) -> Result<u32, StageError>;
    fn describe(&self) -> String;
}

struct Doubler;

impl Stage for Doubler {
    #[pipeline_stage]
    async fn execute(&self, input: u32) -> Result<u32, StageError> {
        tokio::task::yield_now().await;
        Ok(input * 2)
    }

    #[pipeline_stage]
    fn describe(&self) -> String {
        "doubler".into()
    }
}

#[async_trait::async_trait]
trait BoxedStage {
    async fn run(&self, input: u32) -> Result<u32, StageError>;
}

struct Tripler {
    factor: u32,
}

#[async_trait::async_trait]
impl BoxedStage for Tripler {
    #[pipeline_stage(fields(stage.factor = self.factor))]
    async fn run(&self, input: u32) -> Result<u32, StageError> {
        tokio::task::yield_now().await;
        Ok(input * self.factor)
    }
}

fn outcome_of(capture: &Capture, stage: &str) -> Vec<String> {
    capture
        .spans_named("pipeline.stage")
        .into_iter()
        .filter(|s| s.attr("stage.name").as_deref() == Some(stage))
        .map(|s| s.attr("stage.outcome").unwrap())
        .collect()
}

#[test]
fn ok_err_early_return_and_question_mark_keep_their_meaning() {
    let capture = Capture::new();
    capture.run(|| {
        assert_eq!(typecheck(&["1", "2"]), Ok(3));
        assert_eq!(
            typecheck(&["1", "x"]),
            Err(StageError("not a number: x".into()))
        );
        assert_eq!(
            typecheck(&["", "x"]),
            Err(StageError("empty file name".into()))
        );
    });
    assert_eq!(
        outcome_of(&capture, "typecheck"),
        ["success", "failure", "failure"]
    );
    let spans = capture.spans_named("pipeline.stage");
    assert_eq!(spans[0].attr("file_count").as_deref(), Some("2"));
    assert_eq!(spans[0].attr("stage.strict").as_deref(), Some("true"));
    assert_eq!(spans[0].attr("stage.attempt").as_deref(), Some("1"));
    assert_eq!(spans[0].status, Status::Ok);
    assert!(spans[0].attr("stage.duration_ms").is_some());
    assert_eq!(spans[1].status, Status::error("not a number: x"));
    assert_eq!(
        spans[1].attr("error.type").as_deref(),
        Some(concat!(module_path!(), "::StageError"))
    );
    assert_eq!(spans[1].events[0].name, "exception");
    assert_eq!(spans[2].status, Status::error("empty file name"));
}

#[test]
fn stage_duration_histogram_is_labelled_by_stage_and_outcome() {
    let capture = Capture::new();
    capture.run(|| {
        let _ = typecheck(&["1"]);
        let _ = typecheck(&["x"]);
        let _ = typecheck(&["2"]);
    });
    let points = capture.metric("pipeline.stage.duration");
    let summary: Vec<(BTreeMap<String, String>, u64)> = points
        .iter()
        .map(|p| match &p.value {
            PointValue::Histogram { count, .. } => (p.attributes.clone(), *count),
            other => panic!("not a histogram: {other:?}"),
        })
        .collect();
    let labels = |outcome: &str| {
        BTreeMap::from([
            ("outcome".to_string(), outcome.to_string()),
            ("stage.name".to_string(), "typecheck".to_string()),
        ])
    };
    assert_eq!(
        summary,
        vec![(labels("failure"), 1), (labels("success"), 2)]
    );
    assert!(points.iter().all(|p| p.unit == "s"));
    assert!(capture.metric("pipeline.stage.retries.total").is_empty());
}

#[test]
fn non_result_returns_are_success_unless_they_implement_outcome() {
    let capture = Capture::new();
    capture.run(|| {
        assert_eq!(count_words("plan the work"), 3);
        deploy(0);
        deploy(1);
        deploy(2);
        assert_eq!(generic_len("abc"), 3);
        assert_eq!(generic_len(String::from("abcd")), 4);
        assert_eq!(digits(3).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(aliased(true).is_ok());
        assert!(aliased(false).is_err());
    });
    assert_eq!(outcome_of(&capture, "count_words"), ["success"]);
    assert_eq!(
        outcome_of(&capture, "deploy"),
        ["success", "skip", "timeout"]
    );
    assert_eq!(outcome_of(&capture, "generic_len"), ["success", "success"]);
    assert_eq!(outcome_of(&capture, "digits"), ["success"]);
    assert_eq!(outcome_of(&capture, "aliased"), ["success", "failure"]);
    let deploys: Vec<Status> = capture
        .spans_named("pipeline.stage")
        .into_iter()
        .filter(|s| s.attr("stage.name").as_deref() == Some("deploy"))
        .map(|s| s.status)
        .collect();
    assert_eq!(
        deploys,
        [Status::Ok, Status::Unset, Status::error("timeout")]
    );
}

#[test]
fn a_panic_ends_the_span_as_error_and_keeps_unwinding() {
    let capture = Capture::new();
    let unwound = capture.run(|| std::panic::catch_unwind(explode));
    let payload = unwound.expect_err("the panic must reach the caller");
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    assert_eq!(message, Some("stage exploded: 42"));
    let span = &capture.spans_named("pipeline.stage")[0];
    assert_eq!(span.attr("stage.outcome").as_deref(), Some("error"));
    assert_eq!(span.status, Status::error("stage exploded: 42"));
    assert_eq!(span.attr("error.type").as_deref(), Some("panic"));
    assert_eq!(
        span.events[0]
            .attributes
            .get("exception.message")
            .map(|v| v.to_string())
            .as_deref(),
        Some("stage exploded: 42")
    );
}

#[tokio::test]
async fn async_stages_record_outcomes() {
    let capture = Capture::new();
    let results = capture
        .run_async(async { (implement(7).await, implement(0).await) })
        .await;
    assert_eq!(results.0, Ok("code for #7".into()));
    assert_eq!(results.1, Err(StageError("ticket zero".into())));
    assert_eq!(outcome_of(&capture, "implement"), ["success", "failure"]);
}

#[tokio::test]
async fn a_dropped_future_is_a_cancellation() {
    let capture = Capture::new();
    let timed_out = capture
        .run_async(async {
            tokio::time::timeout(std::time::Duration::from_millis(5), wait_forever()).await
        })
        .await;
    assert!(timed_out.is_err());
    let span = &capture.spans_named("pipeline.stage")[0];
    assert_eq!(span.attr("stage.outcome").as_deref(), Some("cancellation"));
    assert_eq!(span.status, Status::Unset);
}

#[pipeline_run]
async fn concurrent_run(count: u32) -> u32 {
    let mut handles = Vec::new();
    for ticket in 1..=count {
        let cx = opentelemetry::Context::current();
        handles.push(tokio::spawn(
            opentelemetry::context::FutureExt::with_context(implement(ticket), cx),
        ));
    }
    let mut done = 0;
    for handle in handles {
        if handle.await.unwrap().is_ok() {
            done += 1;
        }
    }
    done
}

fn assert_send<F: Future + Send>(future: F) -> F {
    future
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_stay_send_and_children_keep_their_parent_across_threads() {
    let capture = Capture::new();
    let done = tokio::spawn(capture.run_async(assert_send(concurrent_run(20))))
        .await
        .unwrap();
    assert_eq!(done, 20);
    let run = &capture.spans_named("pipeline.run")[0];
    let stages = capture.spans_named("pipeline.stage");
    assert_eq!(stages.len(), 20);
    assert!(stages
        .iter()
        .all(|s| s.parent_span_id == run.span_id && s.trace_id == run.trace_id));
}

#[tokio::test]
async fn methods_native_async_traits_and_async_trait_are_instrumented() {
    let capture = Capture::new();
    capture
        .run_async(async {
            let mut workspace = Workspace { files: Vec::new() };
            assert_eq!(workspace.write("a.rs"), "a.rs");
            assert_eq!(workspace.lint(), Ok(1));
            assert_eq!(workspace.fetch(0).await.map(String::as_str), Some("a.rs"));
            assert_eq!(workspace.into_files(), ["a.rs"]);
            assert_eq!(Doubler.execute(4).await, Ok(8));
            assert_eq!(Doubler.describe(), "doubler");
            let boxed: Box<dyn BoxedStage + Send + Sync> = Box::new(Tripler { factor: 3 });
            assert_eq!(boxed.run(5).await, Ok(15));
        })
        .await;
    let names: Vec<String> = capture
        .spans_named("pipeline.stage")
        .iter()
        .map(|s| s.attr("stage.name").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "write_file",
            "lint",
            "fetch",
            "into_files",
            "execute",
            "describe",
            "run"
        ]
    );
    let run = &capture.spans_named("pipeline.stage")[6];
    assert_eq!(run.attr("stage.factor").as_deref(), Some("3"));
    assert_eq!(
        run.attr("code.function.name").as_deref(),
        Some(concat!(module_path!(), "::run"))
    );
}

#[test]
fn retry_stage_shows_each_attempt_and_counts_retries() {
    let attempts = AtomicU32::new(0);
    #[pipeline_stage(name = "flaky")]
    fn flaky(attempts: &AtomicU32) -> Result<u32, StageError> {
        let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if n < 3 {
            Err(StageError(format!("attempt {n} failed")))
        } else {
            Ok(n)
        }
    }
    #[pipeline_run]
    fn retrying(attempts: &AtomicU32) -> Result<u32, StageError> {
        factory_observability::retry_stage(std::num::NonZeroU32::new(5).unwrap(), || {
            flaky(attempts)
        })
    }
    let capture = Capture::new();
    assert_eq!(capture.run(|| retrying(&attempts)), Ok(3));
    assert_eq!(
        capture.tree(&["stage.name", "stage.attempt", "stage.outcome"]),
        "pipeline.run OK\n\
         \x20 pipeline.stage ERROR stage.name=flaky stage.attempt=1 stage.outcome=failure\n\
         \x20 pipeline.stage ERROR stage.name=flaky stage.attempt=2 stage.outcome=failure\n\
         \x20 pipeline.stage OK stage.name=flaky stage.attempt=3 stage.outcome=success\n"
    );
    let retries = capture.metric("pipeline.stage.retries.total");
    assert_eq!(retries.len(), 1);
    assert_eq!(
        retries[0].attributes,
        BTreeMap::from([("stage.name".to_string(), "flaky".to_string())])
    );
    assert_eq!(retries[0].value, PointValue::Sum(2.0));
}

#[test]
fn retry_stage_gives_up_after_max_attempts() {
    #[pipeline_stage]
    fn always_fails() -> Result<(), StageError> {
        Err(StageError("no".into()))
    }
    let capture = Capture::new();
    let result = capture.run(|| {
        factory_observability::retry_stage(std::num::NonZeroU32::new(2).unwrap(), always_fails)
    });
    assert_eq!(result, Err(StageError("no".into())));
    assert_eq!(outcome_of(&capture, "always_fails"), ["failure", "failure"]);
    assert_eq!(
        capture.metric("pipeline.stage.retries.total")[0].value,
        PointValue::Sum(1.0)
    );
}

#[tokio::test]
async fn async_retry_marks_attempts_but_not_nested_stages() {
    #[pipeline_stage]
    async fn inner() -> u32 {
        1
    }
    #[pipeline_stage]
    async fn outer(attempts: Arc<AtomicU32>) -> Result<u32, StageError> {
        inner().await;
        if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(StageError("first try".into()))
        } else {
            Ok(2)
        }
    }
    let capture = Capture::new();
    let attempts = Arc::new(AtomicU32::new(0));
    let result = capture
        .run_async(factory_observability::retry_stage_async(
            std::num::NonZeroU32::new(3).unwrap(),
            || outer(Arc::clone(&attempts)),
        ))
        .await;
    assert_eq!(result, Ok(2));
    assert_eq!(
        capture.tree(&["stage.name", "stage.attempt"]),
        "pipeline.stage ERROR stage.name=outer stage.attempt=1\n\
         \x20 pipeline.stage OK stage.name=inner stage.attempt=1\n\
         pipeline.stage OK stage.name=outer stage.attempt=2\n\
         \x20 pipeline.stage OK stage.name=inner stage.attempt=1\n"
    );
}

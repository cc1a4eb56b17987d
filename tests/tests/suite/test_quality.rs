//! Test-quality signals of a stage returning a `TestReport`: pass rate, and flaky tests, which are
//! the runner's own count plus the named tests that failed in one attempt of a `retry_stage`
//! loop and pass in a later attempt of the same loop (never across candidates, unrelated calls,
//! nested or concurrent loops).

use factory_observability::testing::{Capture, CapturedSpan, PointValue};
use factory_observability::{
    pipeline_run, pipeline_stage, retry_stage, retry_stage_async, TestReport,
};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

#[pipeline_stage(name = "test")]
fn run_tests(attempt: &AtomicU32) -> Result<TestReport, String> {
    let n = attempt.fetch_add(1, Ordering::SeqCst) + 1;
    let report = TestReport::default()
        .passed_test("creates a task")
        .passed_test("lists tasks");
    Ok(if n == 1 {
        report.failed_test("completes a task")
    } else {
        report.passed_test("completes a task").with_flaky(1)
    })
}

#[pipeline_run]
fn tested_run(attempt: &AtomicU32) -> Result<TestReport, String> {
    retry_stage(NonZeroU32::new(2).unwrap(), || {
        let report = run_tests(attempt)?;
        if report.failed > 0 {
            Err(format!("{} tests failed", report.failed))
        } else {
            Ok(report)
        }
    })
}

#[test]
fn test_reports_record_pass_rate_and_flaky_tests_across_retries() {
    let capture = Capture::new();
    let attempt = AtomicU32::new(0);
    let report = capture.run(|| tested_run(&attempt)).unwrap();
    assert_eq!(report.passed, 3);

    let stages = capture.spans_named("pipeline.stage");
    assert_eq!(stages.len(), 2);
    let first = &stages[0];
    assert_eq!(first.attr("stage.outcome").as_deref(), Some("failure"));
    assert_eq!(first.attr("test.passed").as_deref(), Some("2"));
    assert_eq!(first.attr("test.failed").as_deref(), Some("1"));
    assert_eq!(first.attr("test.flaky").as_deref(), Some("0"));
    let rate: f64 = first.attr("test.pass_rate").unwrap().parse().unwrap();
    assert!((rate - 2.0 / 3.0).abs() < 1e-9);
    let second = &stages[1];
    assert_eq!(second.attr("stage.attempt").as_deref(), Some("2"));
    assert_eq!(second.attr("stage.outcome").as_deref(), Some("success"));
    assert_eq!(second.attr("test.pass_rate").as_deref(), Some("1"));
    // "completes a task" failed on attempt 1 and passed on attempt 2, plus the runner's own one.
    assert_eq!(second.attr("test.flaky").as_deref(), Some("2"));

    let flaky = capture.metric("test.flaky.total");
    assert_eq!(flaky.len(), 1);
    assert_eq!(flaky[0].attributes["stage.name"], "test");
    assert_eq!(flaky[0].value, PointValue::Sum(2.0));
    match &capture.metric("test.pass_rate")[0].value {
        PointValue::Histogram {
            count, sum, bounds, ..
        } => {
            assert_eq!(*count, 2);
            assert!((sum - (2.0 / 3.0 + 1.0)).abs() < 1e-9);
            assert_eq!(*bounds.last().unwrap(), 1.0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_flaky_test_is_counted_once_per_run_and_not_across_runs() {
    let capture = Capture::new();
    capture.run(|| {
        let attempt = AtomicU32::new(0);
        tested_run(&attempt).unwrap();
        // A fresh run: the earlier run's failures do not make this run's passes flaky.
        let attempt = AtomicU32::new(1);
        tested_run(&attempt).unwrap();
    });
    let stages = capture.spans_named("pipeline.stage");
    let flaky: Vec<String> = stages
        .iter()
        .map(|s| s.attr("test.flaky").unwrap())
        .collect();
    assert_eq!(flaky, ["0", "2", "1"]);
}

fn flaky_of(stages: &[CapturedSpan]) -> Vec<String> {
    stages
        .iter()
        .map(|s| {
            s.attr("test.flaky")
                .expect("test.flaky on every test stage")
        })
        .collect()
}

/// Runs the suite of one candidate: every test in `failing` fails, the others pass.
#[pipeline_stage(name = "test", fields(candidate = candidate))]
fn test_candidate(candidate: &str, failing: &[&str]) -> Result<TestReport, String> {
    Ok(["create task", "complete task: undo"].into_iter().fold(
        TestReport::default(),
        |report, name| {
            if failing.contains(&name) {
                report.failed_test(name)
            } else {
                report.passed_test(name)
            }
        },
    ))
}

#[pipeline_run]
fn two_candidates() -> (TestReport, TestReport) {
    let codex = test_candidate("codex", &["complete task: undo"]).unwrap();
    let claude = test_candidate("claude", &[]).unwrap();
    (codex, claude)
}

#[test]
fn a_test_one_candidate_fails_and_another_passes_is_not_flaky() {
    let capture = Capture::new();
    let (codex, claude) = capture.run(two_candidates);
    assert_eq!((codex.failed, claude.failed), (1, 0));
    let stages = capture.spans_named("pipeline.stage");
    let candidates: Vec<String> = stages
        .iter()
        .map(|s| s.attr("candidate").unwrap())
        .collect();
    assert_eq!(candidates, ["codex", "claude"]);
    assert_eq!(stages[0].attr("stage.outcome").as_deref(), Some("failure"));
    assert_eq!(stages[1].attr("stage.outcome").as_deref(), Some("success"));
    // Two calls of `test` outside a retry loop: neither retries the other.
    assert_eq!(flaky_of(&stages), ["0", "0"]);
    assert!(capture.metric("test.flaky.total").is_empty());
}

/// Attempt 1 fails a and b, attempt 2 passes a and fails b, attempt 3 passes both.
#[pipeline_stage(name = "test")]
fn suite_recovering(attempt: &AtomicU32) -> Result<TestReport, String> {
    let n = attempt.fetch_add(1, Ordering::SeqCst) + 1;
    let report = TestReport::default().passed_test("c");
    Ok(match n {
        1 => report.failed_test("a").failed_test("b"),
        2 => report.passed_test("a").failed_test("b"),
        _ => report.passed_test("a").passed_test("b"),
    })
}

fn failing_as_err(report: TestReport) -> Result<TestReport, String> {
    if report.failed > 0 {
        Err(format!("{} tests failed", report.failed))
    } else {
        Ok(report)
    }
}

#[pipeline_run]
fn retried_suite(attempt: &AtomicU32) -> Result<TestReport, String> {
    retry_stage(NonZeroU32::new(3).unwrap(), || {
        failing_as_err(suite_recovering(attempt)?)
    })
}

#[test]
fn each_test_recovered_in_a_later_attempt_counts_once() {
    let capture = Capture::new();
    let attempt = AtomicU32::new(0);
    let report = capture.run(|| retried_suite(&attempt)).unwrap();
    assert_eq!((report.passed, report.failed), (3, 0));
    let stages = capture.spans_named("pipeline.stage");
    let attempts: Vec<String> = stages
        .iter()
        .map(|s| s.attr("stage.attempt").unwrap())
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    // a recovers in attempt 2, b in attempt 3; a passing again in attempt 3 is not counted twice.
    assert_eq!(flaky_of(&stages), ["0", "1", "1"]);
    let flaky = capture.metric("test.flaky.total");
    assert_eq!(flaky.len(), 1);
    assert_eq!(flaky[0].attributes["stage.name"], "test");
    assert_eq!(flaky[0].value, PointValue::Sum(2.0));
}

/// Fails `a` in the first call, passes it after.
#[pipeline_stage(name = "test")]
fn suite_failing_once(calls: &AtomicU32) -> Result<TestReport, String> {
    let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
    let report = TestReport::default();
    Ok(if first {
        report.failed_test("a")
    } else {
        report.passed_test("a")
    })
}

/// Each attempt of `build` runs the suite in a loop of its own.
#[pipeline_stage(name = "build")]
fn build(calls: &AtomicU32) -> Result<TestReport, String> {
    retry_stage(NonZeroU32::new(1).unwrap(), || {
        failing_as_err(suite_failing_once(calls)?)
    })
}

#[pipeline_run]
fn rebuilt(calls: &AtomicU32) -> Result<TestReport, String> {
    retry_stage(NonZeroU32::new(2).unwrap(), || build(calls))
}

#[test]
fn a_nested_loop_does_not_share_the_outer_loops_memory() {
    let capture = Capture::new();
    let calls = AtomicU32::new(0);
    assert!(capture.run(|| rebuilt(&calls)).is_ok());
    let suites: Vec<CapturedSpan> = capture
        .spans_named("pipeline.stage")
        .into_iter()
        .filter(|s| s.attr("stage.name").as_deref() == Some("test"))
        .collect();
    assert_eq!(suites.len(), 2);
    let outcomes: Vec<String> = suites
        .iter()
        .map(|s| s.attr("stage.outcome").unwrap())
        .collect();
    assert_eq!(outcomes, ["failure", "success"]);
    // The second suite is the first attempt of another loop (a new build), not a retry of the
    // first suite.
    assert_eq!(flaky_of(&suites), ["0", "0"]);
    assert!(capture.metric("test.flaky.total").is_empty());
}

#[pipeline_stage(name = "test", fields(candidate = candidate))]
async fn suite_async(candidate: &'static str, fail_a: bool) -> Result<TestReport, String> {
    let report = TestReport::default().passed_test("b");
    Ok(if fail_a {
        report.failed_test("a")
    } else {
        report.passed_test("a")
    })
}

/// Two loops of the same stage at once, interleaved: codex fails `a`, then claude passes `a`,
/// then codex's retry passes `a`.
#[pipeline_run]
async fn concurrent_loops() -> (Result<TestReport, String>, Result<TestReport, String>) {
    let codex_failed = Arc::new(Notify::new());
    let claude_passed = Arc::new(Notify::new());
    let codex_attempts = AtomicU32::new(0);
    let codex = retry_stage_async(NonZeroU32::new(2).unwrap(), || {
        let n = codex_attempts.fetch_add(1, Ordering::SeqCst) + 1;
        let (codex_failed, claude_passed) = (codex_failed.clone(), claude_passed.clone());
        async move {
            if n == 1 {
                let report = suite_async("codex", true).await?;
                codex_failed.notify_one();
                failing_as_err(report)
            } else {
                claude_passed.notified().await;
                failing_as_err(suite_async("codex", false).await?)
            }
        }
    });
    let claude = retry_stage_async(NonZeroU32::new(2).unwrap(), || {
        let (codex_failed, claude_passed) = (codex_failed.clone(), claude_passed.clone());
        async move {
            codex_failed.notified().await;
            let report = suite_async("claude", false).await?;
            claude_passed.notify_one();
            failing_as_err(report)
        }
    });
    tokio::join!(codex, claude)
}

#[tokio::test]
async fn concurrent_loops_of_one_stage_keep_their_own_memory() {
    let capture = Capture::new();
    let (codex, claude) = capture.run_async(concurrent_loops()).await;
    assert!(codex.is_ok() && claude.is_ok());
    let stages = capture.spans_named("pipeline.stage");
    let seen: Vec<(String, String, String)> = stages
        .iter()
        .map(|s| {
            (
                s.attr("candidate").unwrap(),
                s.attr("stage.attempt").unwrap(),
                s.attr("test.flaky").unwrap(),
            )
        })
        .collect();
    let expected = [
        ("codex", "1", "0"),
        ("claude", "1", "0"),
        ("codex", "2", "1"),
    ]
    .map(|(c, a, f)| (c.to_string(), a.to_string(), f.to_string()));
    assert_eq!(seen, expected);
    assert_eq!(
        capture.metric("test.flaky.total")[0].value,
        PointValue::Sum(1.0)
    );
}

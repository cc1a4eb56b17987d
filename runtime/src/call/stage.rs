//! `#[pipeline_stage]`: the stage's name and attempt at the start; its outcome, duration and
//! stage metrics at the end.

use super::span::CallSpan;
use super::{saturating_i64, Active, KindState, Opening};
use crate::names::attr;
use crate::outcome::OutcomeKind;
use crate::test_report::TestReport;
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Set by [`crate::retry_stage`]: the attempt number of the stage called directly under `parent`,
/// and the memory of failing tests that the loop's attempts share.
#[derive(Clone, Debug)]
pub(crate) struct StageAttempt {
    pub number: u32,
    pub parent: SpanId,
    pub failing: FailingTests,
}

/// The tests that failed in an attempt of one retry loop and have not passed since, per stage
/// name. One per `retry_stage` loop, shared by its attempts: a test is flaky when it fails and
/// then passes on a retry of the same thing, never because another candidate or an unrelated
/// call of a same-named stage passes it.
#[derive(Clone, Debug, Default)]
pub(crate) struct FailingTests(Arc<Mutex<HashMap<&'static str, HashSet<String>>>>);

impl FailingTests {
    /// Counts the tests of `report` that failed in an earlier attempt of `stage` and pass now
    /// (each counted once), and remembers the ones that fail now.
    pub fn recovered(&self, stage: &'static str, report: &TestReport) -> u64 {
        let mut failing = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let failing = failing.entry(stage).or_default();
        let recovered = report
            .passed_names()
            .iter()
            .filter(|name| failing.remove(name.as_str()))
            .count();
        failing.extend(report.failed_names().iter().cloned());
        recovered as u64
    }
}

/// `stage.name` and `stage.attempt` are derived from the call site and the attempt when the span
/// is exported.
pub(crate) fn open(parent: &Context) -> Opening {
    // A retry marks the attempt for the stage it calls directly, not for stages nested in it.
    let parent_span = parent.span().span_context().span_id();
    let attempt = parent
        .get::<StageAttempt>()
        .filter(|retry| retry.parent == parent_span)
        .map_or(1, |retry| retry.number);
    Opening {
        name: Cow::Borrowed(crate::names::span::PIPELINE_STAGE),
        span_kind: SpanKind::Internal,
        state: KindState::Stage { attempt },
        context_value: None,
        opens_span: true,
    }
}

pub(crate) fn end(
    active: &Active,
    span: &mut CallSpan,
    outcome: OutcomeKind,
    elapsed: Duration,
    attempt: u32,
    tests: Option<TestReport>,
) {
    if let Some(tests) = tests {
        record_tests(active, span, &tests, attempt);
    }
    let instruments = &active.dispatch.instruments;
    super::record_duration(
        active,
        &instruments.stage_duration,
        outcome,
        elapsed.as_secs_f64(),
        || {
            [
                KeyValue::new(attr::STAGE_NAME, active.site.name),
                KeyValue::new(attr::OUTCOME, outcome.as_str()),
            ]
        },
    );
    if attempt > 1 {
        instruments
            .stage_retries_total
            .add(1, &[KeyValue::new(attr::STAGE_NAME, active.site.name)]);
    }
}

/// Test counts and pass rate of a stage that returned a `TestReport`, and its flaky tests: those
/// the runner reported, plus those that failed in an earlier attempt of the same retry loop and
/// pass now. A stage called outside `retry_stage` has no earlier attempts: only the runner's
/// count applies.
fn record_tests(active: &Active, span: &mut CallSpan, tests: &TestReport, attempt: u32) {
    span.set_attribute(KeyValue::new(
        attr::TEST_PASSED,
        saturating_i64(tests.passed),
    ));
    span.set_attribute(KeyValue::new(
        attr::TEST_FAILED,
        saturating_i64(tests.failed),
    ));
    span.set_attribute(KeyValue::new(
        attr::TEST_SKIPPED,
        saturating_i64(tests.skipped),
    ));
    // The stage's context holds the loop of its caller. The stage is that loop's attempt when
    // `open` gave it the loop's number; a stage nested in an attempt gets 1 there (its own loop,
    // if any, is the one it sees), so from the second attempt on a nested stage never reads or
    // writes the loop's memory. In the first attempt the two cannot be told apart here, so a
    // nested stage may remember its failures under its own name, which only a direct attempt
    // of the same name would read.
    let recovered = match active.cx.get::<StageAttempt>() {
        Some(retry) if retry.number == attempt => retry.failing.recovered(active.site.name, tests),
        _ => 0,
    };
    let flaky = tests.flaky + recovered;
    span.set_attribute(KeyValue::new(attr::TEST_FLAKY, saturating_i64(flaky)));
    let stage = [KeyValue::new(attr::STAGE_NAME, active.site.name)];
    let instruments = &active.dispatch.instruments;
    if let Some(rate) = tests.pass_rate() {
        span.set_attribute(KeyValue::new(attr::TEST_PASS_RATE, rate));
        instruments.test_pass_rate.record(rate, &stage);
    }
    if flaky > 0 {
        instruments.test_flaky.add(flaky, &stage);
    }
}

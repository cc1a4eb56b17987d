//! `#[pipeline_stage]`: the stage's name and attempt at the start; its outcome, duration and
//! stage metrics at the end.

use super::run::RunState;
use super::span::CallSpan;
use super::{saturating_i64, Active, KindState, Opening};
use crate::names::attr;
use crate::outcome::OutcomeKind;
use crate::test_report::TestReport;
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use std::borrow::Cow;
use std::time::Duration;

/// Set by [`crate::retry_stage`]: the attempt number of the stage called directly under `parent`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StageAttempt {
    pub number: u32,
    pub parent: SpanId,
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
        record_tests(active, span, &tests);
    }
    let instruments = &active.pipeline.instruments;
    super::record_duration(
        active,
        &instruments.stage_duration,
        outcome,
        elapsed.as_secs_f64(),
        &[
            KeyValue::new(attr::STAGE_NAME, active.site.name),
            KeyValue::new(attr::OUTCOME, outcome.as_str()),
        ],
    );
    if attempt > 1 {
        instruments
            .stage_retries_total
            .add(1, &[KeyValue::new(attr::STAGE_NAME, active.site.name)]);
    }
}

/// Test counts and pass rate of a stage that returned a `TestReport`, and its flaky tests: those
/// the runner reported, plus those that failed in an earlier attempt of this stage in this run
/// and passed now.
fn record_tests(active: &Active, span: &mut CallSpan, tests: &TestReport) {
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
    let recovered = match active.cx.get::<RunState>() {
        Some(run) => run.flaky_tests(active.site.name, tests),
        None => 0,
    };
    let flaky = tests.flaky + recovered;
    span.set_attribute(KeyValue::new(attr::TEST_FLAKY, saturating_i64(flaky)));
    let stage = [KeyValue::new(attr::STAGE_NAME, active.site.name)];
    let instruments = &active.pipeline.instruments;
    if let Some(rate) = tests.pass_rate() {
        span.set_attribute(KeyValue::new(attr::TEST_PASS_RATE, rate));
        instruments.test_pass_rate.record(rate, &stage);
    }
    if flaky > 0 {
        instruments.test_flaky.add(flaky, &stage);
    }
}

//! Retrying a stage, with every attempt visible in the trace.

use crate::call::stage::{FailingTests, StageAttempt};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use std::future::Future;
use std::num::NonZeroU32;

/// Calls `attempt` until it returns `Ok` or `max_attempts` attempts have failed, and returns the
/// last result.
///
/// `attempt` should call one `#[pipeline_stage]` function. Each call is its own `pipeline.stage`
/// span with `stage.attempt` = 1, 2, …, and every attempt after the first adds one to
/// `pipeline.stage.retries.total` {`stage.name`}.
///
/// When the stage returns a [`TestReport`](crate::TestReport) with named tests, the loop remembers
/// the tests that failed: a test that failed in one attempt and passes in a later attempt of this
/// loop is counted flaky once (`test.flaky` on that attempt's span). The memory belongs to this
/// loop alone: other loops, nested or concurrent, and calls of a same-named stage outside it do
/// not see it.
///
/// ```
/// use factory_observability::{pipeline_stage, retry_stage};
/// use std::num::NonZeroU32;
///
/// #[pipeline_stage]
/// fn typecheck(attempt: &mut u32) -> Result<(), String> {
///     *attempt += 1;
///     if *attempt < 2 { Err("type error".into()) } else { Ok(()) }
/// }
///
/// let mut attempts = 0;
/// let result = retry_stage(NonZeroU32::new(3).unwrap(), || typecheck(&mut attempts));
/// assert_eq!(result, Ok(()));
/// assert_eq!(attempts, 2);
/// ```
pub fn retry_stage<T, E>(
    max_attempts: NonZeroU32,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let failing = FailingTests::default();
    let mut number = 1;
    loop {
        let result = {
            let _attached = attempt_context(number, &failing).attach();
            attempt()
        };
        match result {
            Err(_) if number < max_attempts.get() => number += 1,
            done => return done,
        }
    }
}

/// The async form of [`retry_stage`]: `attempt` returns the future of one stage call.
pub async fn retry_stage_async<T, E, Fut>(
    max_attempts: NonZeroU32,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    use opentelemetry::context::FutureExt as _;
    let failing = FailingTests::default();
    let mut number = 1;
    loop {
        let cx = attempt_context(number, &failing);
        let future = {
            let _attached = cx.clone().attach();
            attempt()
        };
        match future.with_context(cx).await {
            Err(_) if number < max_attempts.get() => number += 1,
            done => return done,
        }
    }
}

/// The context of one attempt: its number, and the loop's memory of failing tests shared by all
/// its attempts.
fn attempt_context(number: u32, failing: &FailingTests) -> Context {
    let current = Context::current();
    let parent = current.span().span_context().span_id();
    current.with_value(StageAttempt {
        number,
        parent,
        failing: failing.clone(),
    })
}

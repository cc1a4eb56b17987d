//! Sync calls with their state off the stack.
//!
//! A call's state ([`Active`]: its `Context`, span, pipeline and kind) is a few hundred bytes,
//! and the ending built from the returned value as much again. Kept in the frames alive while
//! the body runs, they made a recursing stage take ~1.2 KB of stack a level (release; ~5.7 KB
//! in debug), so that 2,000 levels overflowed the 2 MiB stack of a `std::thread` (issue 10,
//! docs/reliability.md, "Stack"). So a sync call keeps its state in a thread-local stack of the
//! sync calls running on the thread ([`RUNNING`]: a sync call starts and ends on the same
//! thread, and calls nest, so the innermost is the last), and the frames alive during the body
//! hold a [`SyncCall`]: the index of that state, the context guard and a flag. The call starts
//! in [`SyncCall::start`] and ends in [`SyncCall::complete`] (generic: it classifies the value)
//! and [`SyncCall::end`] (not generic), all out of line, so that none of their frames is alive
//! while the body runs.
//!
//! The stack is a vector that grows to the deepest nesting seen on the thread and stays
//! allocated (up to [`KEPT_WHEN_EMPTY`] entries): no allocation per call. A call that starts
//! while the thread's locals are being destroyed keeps its state in a box instead.
//!
//! Only the program's code runs while the stack is borrowed never: `fields(...)` and the
//! call's start run before its state is pushed, the classification of the returned value before
//! it ends.
//!
//! Async bodies and streams keep their state in their future or stream ([`super::Call`]).

use super::ending::classify_guarded;
use super::{Active, CallSite, Ending, Fields};
use crate::dispatch;
use crate::outcome::Report;
use opentelemetry::ContextGuard;
use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

thread_local! {
    /// The state of the sync calls running on this thread, the innermost last. An entry is
    /// `None` once its call ended while calls above it still ran (see [`end_running`]).
    static RUNNING: RefCell<Vec<Option<Active>>> = const { RefCell::new(Vec::new()) };
}

/// Entries the stack keeps allocated once no call runs on the thread: a deep recursion does not
/// keep its ~300 bytes a level for the thread's life.
const KEPT_WHEN_EMPTY: usize = 64;

/// A sync call from its start to its end: what the instrumented function holds while its body
/// runs (24 bytes).
#[doc(hidden)]
#[must_use = "a call records nothing unless its body is run through it"]
pub struct SyncCall {
    state: State,
    /// The call's context, current while the body runs (when the call has one of its own).
    guard: Option<ContextGuard>,
    /// Whether the call captures its completion, read while its value is classified.
    captures_output: bool,
}

/// Where a sync call's state is.
enum State {
    /// Nothing records the call.
    Inert,
    /// In [`RUNNING`], at this index.
    Running(usize),
    /// In a box: the thread's locals were being destroyed when the call started, or the stack
    /// was borrowed (see [`end_running`]).
    Boxed(Box<Active>),
}

impl SyncCall {
    /// Starts a call of `site`; `fields` runs only when the call records.
    #[inline]
    pub fn start(site: &'static CallSite, fields: impl FnOnce(&mut Fields)) -> SyncCall {
        if !dispatch::enabled() {
            return SyncCall::INERT;
        }
        SyncCall::start_recording(site, fields)
    }

    const INERT: SyncCall = SyncCall {
        state: State::Inert,
        guard: None,
        captures_output: false,
    };

    // Out of line: the 500-byte `Fields` and the `Active` being built live in this frame, which
    // is gone when the body runs.
    #[inline(never)]
    fn start_recording(site: &'static CallSite, fields: impl FnOnce(&mut Fields)) -> SyncCall {
        // Built where it is pushed from: the state is large, and each move of it is a copy.
        let mut active = Active::start(site, None, fields);
        let Some(started) = &active else {
            return SyncCall::INERT;
        };
        let captures_output = started.captures_output();
        let guard = started.enter_sync();
        let pushed = RUNNING
            .try_with(|running| {
                let mut running = running.try_borrow_mut().ok()?;
                running.push(active.take());
                Some(running.len() - 1)
            })
            .ok()
            .flatten();
        let state = match (pushed, active) {
            (Some(index), _) => State::Running(index),
            (None, Some(active)) => State::Boxed(Box::new(active)),
            (None, None) => State::Inert,
        };
        SyncCall {
            state,
            guard,
            captures_output,
        }
    }

    /// Whether the call captures its output: an LLM call's completion, a `#[tool]`'s result
    /// (read by the expansion before the body runs).
    pub fn captures_output(&self) -> bool {
        self.captures_output
    }

    /// Runs `body` inside the call and ends the call with what `classify` reads from the value.
    /// A panic in the body ends the call as `error` and keeps unwinding.
    #[inline]
    pub fn run<R, C, E>(mut self, body: impl FnOnce() -> R, classify: C) -> R
    where
        C: FnOnce(&R) -> E,
        E: Into<Ending>,
    {
        if let State::Inert = self.state {
            // Nothing to drop: forgotten, so that the disabled path calls no drop glue.
            std::mem::forget(self);
            return body();
        }
        let guard = self.guard.take();
        let result = catch_unwind(AssertUnwindSafe(body));
        drop(guard);
        match result {
            Ok(value) => {
                self.complete(&value, classify);
                value
            }
            Err(payload) => self.panicked(payload),
        }
    }

    /// Classifies the returned value (generic: it runs the macro's closure) and ends the call.
    #[inline(never)]
    fn complete<R, C, E>(self, value: &R, classify: C)
    where
        C: FnOnce(&R) -> E,
        E: Into<Ending>,
    {
        let ending = classify_guarded(self.captures_output, value, classify);
        self.end(ending);
    }

    #[cold]
    #[inline(never)]
    fn panicked(self, payload: Box<dyn Any + Send>) -> ! {
        self.end(Report::panic(&*payload).into());
        resume_unwind(payload)
    }

    /// Ends the call: it records the ending, and its state leaves the stack. (Inlined into
    /// `complete` and `panicked`: the non-generic work is in `end_running` and `Active::end`.)
    #[inline]
    fn end(self, mut ending: Ending) {
        match self.state {
            State::Inert => {}
            State::Running(index) => end_running(index, &mut ending),
            State::Boxed(mut active) => active.end(&mut ending),
        }
    }
}

/// Ends the call whose state is at `index` of the thread's stack, where it lies (it is large:
/// moving it costs more than the rest of the ending), and takes it off.
///
/// The stack stays borrowed while the call ends, which runs none of the program's code (its
/// classification ran before); a call started meanwhile all the same (by an exporter of the
/// program's) finds the stack borrowed and keeps its state in a box.
#[inline(never)]
fn end_running(index: usize, ending: &mut Ending) {
    let _ = RUNNING.try_with(|running| {
        let Ok(mut running) = running.try_borrow_mut() else {
            return;
        };
        let Some(slot) = running.get_mut(index) else {
            return;
        };
        if let Some(active) = slot {
            active.end(ending);
        }
        *slot = None;
        // Calls nest, so this one is the last; but a stackful coroutine switched within a sync
        // body may end a call below others: its entry is emptied and removed with them.
        while let Some(None) = running.last() {
            running.pop();
        }
        if running.is_empty() && running.capacity() > KEPT_WHEN_EMPTY {
            running.shrink_to(KEPT_WHEN_EMPTY);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{CallKind, SiteCache};
    use crate::outcome::OutcomeKind;
    use crate::testing::Capture;
    use opentelemetry::trace::{SpanId, Status};

    static SITE: CallSite = CallSite {
        kind: CallKind::Stage,
        name: "nested",
        function: "sync_call::tests::nested",
        cache: SiteCache::new(),
    };

    /// Sync calls running on this thread in its stack (0 while it is borrowed).
    fn running() -> usize {
        RUNNING.with(|running| running.try_borrow().map_or(0, |running| running.len()))
    }

    /// `levels` nested calls; each records how many calls run on the thread inside it. The
    /// innermost panics when `panics` is set.
    fn nested(levels: usize, panics: bool, seen: &mut Vec<usize>) -> usize {
        SyncCall::start(&SITE, |_| {}).run(
            || {
                seen.push(running());
                match levels {
                    1 if panics => panic!("the innermost call failed"),
                    1 => 1,
                    _ => nested(levels - 1, panics, seen) + 1,
                }
            },
            |_| Report::of(OutcomeKind::Success),
        )
    }

    #[test]
    fn nested_calls_stack_up_on_the_thread_and_leave_it_empty() {
        let capture = Capture::new();
        let mut seen = Vec::new();
        assert_eq!(capture.run(|| nested(200, false, &mut seen)), 200);
        assert_eq!(seen, (1..=200).collect::<Vec<_>>());
        assert_eq!(running(), 0);
        // A deep nesting does not keep its entries allocated.
        let capacity = RUNNING.with(|running| running.borrow().capacity());
        assert!(capacity <= KEPT_WHEN_EMPTY, "{capacity}");
        // Every level ended under the level above it.
        let spans = capture.spans_named("pipeline.stage");
        assert_eq!(spans.len(), 200);
        let roots = spans
            .iter()
            .filter(|span| !spans.iter().any(|s| s.span_id == span.parent_span_id))
            .count();
        assert_eq!(roots, 1);
        assert!(spans.iter().all(|span| span.status == Status::Ok));
    }

    #[test]
    fn a_panic_ends_every_call_it_unwinds_through_and_leaves_the_stack_empty() {
        let capture = Capture::new();
        let mut seen = Vec::new();
        let unwound = capture.run(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| nested(3, true, &mut seen)))
        });
        assert!(unwound.is_err());
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(running(), 0);
        let spans = capture.spans_named("pipeline.stage");
        assert_eq!(spans.len(), 3);
        assert!(spans
            .iter()
            .all(|span| span.status == Status::error("the innermost call failed")));
        // The stack is usable again.
        assert_eq!(capture.run(|| nested(1, false, &mut seen)), 1);
        assert_eq!(running(), 0);
        assert_eq!(capture.spans_named("pipeline.stage").len(), 4);
    }

    #[test]
    fn a_call_that_finds_the_stack_unavailable_keeps_its_state_in_a_box() {
        let capture = Capture::new();
        let mut seen = Vec::new();
        // As while a call ends (the stack borrowed) or while the thread's locals are destroyed.
        let levels = RUNNING.with(|stack| {
            let _borrowed = stack.borrow_mut();
            capture.run(|| nested(2, false, &mut seen))
        });
        assert_eq!(levels, 2);
        assert_eq!(seen, [0, 0], "neither call was on the stack");
        let spans = capture.spans_named("pipeline.stage");
        assert_eq!(spans.len(), 2);
        assert!(spans.iter().all(|span| span.status == Status::Ok));
        let outer = spans
            .iter()
            .find(|span| span.parent_span_id == SpanId::INVALID)
            .expect("the outer call is a root");
        assert!(spans
            .iter()
            .any(|span| span.parent_span_id == outer.span_id));
    }

    #[test]
    fn a_call_ending_below_a_running_one_leaves_that_one_in_place() {
        // As when a stackful coroutine switches stacks within a sync body: the outer call
        // ends while the inner one still runs.
        let capture = Capture::new();
        capture.run(|| {
            let outer = SyncCall::start(&SITE, |_| {});
            let inner = SyncCall::start(&SITE, |_| {});
            assert_eq!(running(), 2);
            outer.run(|| (), |_| Report::of(OutcomeKind::Success));
            assert_eq!(running(), 2, "the inner call's entry stays where it is");
            inner.run(|| (), |_| Report::of(OutcomeKind::Failure));
            assert_eq!(running(), 0);
        });
        let spans = capture.spans_named("pipeline.stage");
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].status, Status::Ok);
        assert_eq!(spans[1].status, Status::error("failure"));
    }
}

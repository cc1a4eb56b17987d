//! How a body runs inside a [`Call`] whose state it carries: async bodies as an [`Instrumented`]
//! future whose every poll attaches the call's context, sync bodies returning a stream under
//! `catch_unwind`, and how the call ends with the returned value ([`Completion`]). Other sync
//! bodies keep their call's state off the stack ([`super::sync_call`]).

use super::{Active, Call, Ending};
use crate::outcome::Report;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

impl Call {
    /// Wraps an async body so that every poll runs inside the call, ending it with what
    /// `classify` reads from the value. (The closure is a direct argument so that the compiler
    /// knows its parameter's type when it resolves the autoref specialisation inside.)
    #[inline]
    pub fn instrument<F, C, E>(self, body: F, classify: C) -> Instrumented<F, Classified<C>>
    where
        F: Future,
        C: FnOnce(&F::Output) -> E,
        E: Into<Ending>,
    {
        self.instrument_completing(body, Classified(classify))
    }

    /// Runs a sync body that returns a stream (or a `Result` of one) and hands the call and the
    /// value to `hand`, which decides from the value's type how the stream takes the call (see
    /// [`stream::StreamShape`]).
    pub fn run_sync_stream<R, O, D>(self, body: impl FnOnce() -> R, hand: D) -> O
    where
        D: FnOnce(Call, R) -> O,
    {
        self.run_completing(body, Handed(hand))
    }

    /// Wraps an async body that returns a stream (or a `Result` of one); see
    /// [`Call::run_sync_stream`].
    pub fn instrument_stream<F, O, D>(self, body: F, hand: D) -> Instrumented<F, Handed<D>>
    where
        F: Future,
        D: FnOnce(Call, F::Output) -> O,
    {
        self.instrument_completing(body, Handed(hand))
    }

    /// Runs a sync body inside the call; `completion` ends the call with what it returns.
    #[inline(always)]
    fn run_completing<R, K: Completion<R>>(
        self,
        body: impl FnOnce() -> R,
        completion: K,
    ) -> K::Output {
        if self.active.is_none() {
            // Nothing installed: run the body and hand on a fresh inert call rather than moving
            // this one (a large value) around; it holds nothing to drop.
            std::mem::forget(self);
            return completion.complete(Call { active: None }, body());
        }
        self.run_recording(body, completion)
    }

    fn run_recording<R, K: Completion<R>>(
        self,
        body: impl FnOnce() -> R,
        completion: K,
    ) -> K::Output {
        let guard = self.active.as_ref().and_then(Active::enter_sync);
        let result = catch_unwind(AssertUnwindSafe(body));
        drop(guard);
        match result {
            Ok(value) => completion.complete(self, value),
            Err(payload) => {
                self.finish(Report::panic(&*payload).into());
                resume_unwind(payload)
            }
        }
    }

    /// Wraps an async body so that every poll runs inside the call; `completion` ends the call
    /// with what the body returns.
    #[inline]
    pub(crate) fn instrument_completing<F: Future, K: Completion<F::Output>>(
        self,
        body: F,
        completion: K,
    ) -> Instrumented<F, K> {
        Instrumented {
            body,
            call: self,
            completion: Some(completion),
        }
    }
}

/// How a call ends once its body returned a value: most calls classify the value and end at
/// once ([`Classified`]); streaming LLM calls hand the call to the stream ([`stream`]).
#[doc(hidden)]
pub trait Completion<T> {
    /// What the instrumented function returns.
    type Output;
    /// Ends (or hands on) `call` with the body's `value`.
    fn complete(self, call: Call, value: T) -> Self::Output;
}

/// Hands the call and the returned value to its closure (a streaming call's: the stream takes
/// the call).
#[doc(hidden)]
pub struct Handed<D>(pub D);

impl<T, O, D> Completion<T> for Handed<D>
where
    D: FnOnce(Call, T) -> O,
{
    type Output = O;

    fn complete(self, call: Call, value: T) -> O {
        (self.0)(call, value)
    }
}

/// Ends the call with the ending its closure reads from the returned value.
#[doc(hidden)]
pub struct Classified<C>(pub C);

impl<T, C, E> Completion<T> for Classified<C>
where
    C: FnOnce(&T) -> E,
    E: Into<Ending>,
{
    type Output = T;

    #[inline(always)]
    fn complete(self, call: Call, value: T) -> T {
        if call.is_recording() {
            // Read through `classify`: a panic while reading the value ends the call as an
            // error without reaching the caller (see `faults`).
            let ending = call.classify(&value, self.0);
            call.finish(ending);
        } else {
            // An inert call holds nothing: forgotten rather than dropped, so that the disabled
            // path makes no out-of-line call to the drop glue of the call's state.
            std::mem::forget(call);
        }
        value
    }
}

pin_project_lite::pin_project! {
    /// An async body running inside a [`Call`]: each poll attaches the call's context, and the
    /// call ends (or is handed on) when the body completes, ends when it panics, and is a
    /// `cancellation` when it is dropped first.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, K> {
        #[pin]
        body: F,
        call: Call,
        completion: Option<K>,
    }
}

impl<F, K> Future for Instrumented<F, K>
where
    F: Future,
    K: Completion<F::Output>,
{
    type Output = K::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<K::Output> {
        let this = self.project();
        let polled = match &this.call.active {
            None => Ok(this.body.poll(task)),
            Some(active) => {
                let _guard = active.enter_poll();
                let body = this.body;
                catch_unwind(AssertUnwindSafe(|| body.poll(task)))
            }
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => {
                let completion = this
                    .completion
                    .take()
                    .expect("an instrumented future is not polled after it completed");
                Poll::Ready(completion.complete(this.call.take(), value))
            }
            Err(payload) => {
                this.call.take().finish(Report::panic(&*payload).into());
                resume_unwind(payload)
            }
        }
    }
}

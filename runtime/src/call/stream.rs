//! Streaming LLM calls (`#[llm_call(..., stream)]`): the call stays open until the returned stream
//! ends or is dropped; usage and finish reason come from the chunks that carry them; the time to
//! the first chunk is recorded; each poll of the stream runs inside the call's context, so spans
//! the stream opens while producing a chunk are children of the call.

use super::{Call, Ending, Extra};
use crate::outcome::{OutcomeKind, Report};
use crate::usage::{LlmResponse, TokenUsage, Usage};
use futures_core::Stream;
use quanta::Instant;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// A streaming call's returned value, asked for its shape: what the function returns decides
/// how the stream takes the call, not how its return type is spelled (`type LlmResult<T> =
/// Result<T, MyError>` returning `LlmResult<impl Stream>` is a `Result`). The expansion asks
/// `(&&StreamShape(&value)).__fo_stream_shape()`; autoref specialisation picks the impl with the
/// most references that applies ([`ViaStreamInResult`], then [`ViaPlainStream`]).
#[doc(hidden)]
pub struct StreamShape<'a, T>(pub &'a T);

/// `Result<impl Stream, E>`: an `Err` ends the call at once, an `Ok` stream takes the call.
#[doc(hidden)]
pub struct StreamInResult;

/// `impl Stream`: the stream takes the call.
#[doc(hidden)]
pub struct PlainStream;

#[doc(hidden)]
pub trait ViaStreamInResult {
    fn __fo_stream_shape(&self) -> StreamInResult;
}

impl<S: Stream, E> ViaStreamInResult for &StreamShape<'_, Result<S, E>> {
    fn __fo_stream_shape(&self) -> StreamInResult {
        StreamInResult
    }
}

#[doc(hidden)]
pub trait ViaPlainStream {
    fn __fo_stream_shape(&self) -> PlainStream;
}

impl<S: Stream> ViaPlainStream for StreamShape<'_, S> {
    fn __fo_stream_shape(&self) -> PlainStream {
        PlainStream
    }
}

impl StreamInResult {
    /// Ends the call with `classify_result` on an `Err`; an `Ok` stream takes the call, and
    /// `classify_chunk` classifies each of its chunks (a failed chunk fails the call).
    pub fn complete<S, E, C, R>(
        self,
        call: Call,
        value: Result<S, E>,
        classify_chunk: C,
        classify_result: R,
    ) -> Result<LlmStream<S, C>, E>
    where
        S: Stream,
        S::Item: TokenUsage,
        C: FnMut(&S::Item) -> Report,
        R: FnOnce(&Result<S, E>) -> Report,
    {
        if value.is_err() && call.is_recording() {
            let ending = call.classify(&value, classify_result);
            call.finish(ending);
            return value.map(|_| unreachable!("checked to be an error"));
        }
        value.map(|stream| LlmStream::new(stream, call, classify_chunk))
    }
}

impl PlainStream {
    /// The stream takes the call; `classify_chunk` classifies each of its chunks.
    /// (`_classify_result` is the expansion's, which does not know the shape.)
    pub fn complete<S, C, R>(
        self,
        call: Call,
        stream: S,
        classify_chunk: C,
        _classify_result: R,
    ) -> LlmStream<S, C>
    where
        S: Stream,
        S::Item: TokenUsage,
        C: FnMut(&S::Item) -> Report,
        R: FnOnce(&S) -> Report,
    {
        LlmStream::new(stream, call, classify_chunk)
    }
}

pin_project_lite::pin_project! {
    /// A stream returned by a streaming `#[llm_call]`, recording the call until it ends.
    #[must_use = "streams do nothing unless polled"]
    pub struct LlmStream<S, C> {
        #[pin]
        inner: S,
        call: Call,
        classify: C,
        state: StreamState,
    }

    impl<S, C> PinnedDrop for LlmStream<S, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let call = this.call.take();
            if call.is_recording() && !std::thread::panicking() {
                // Dropped before its end: a cancellation, with what it consumed so far.
                let state = std::mem::take(this.state);
                call.finish(state.ending(Report::of(OutcomeKind::Cancellation)));
            }
        }
    }
}

/// What the chunks said so far.
#[derive(Default)]
struct StreamState {
    started: Option<Instant>,
    response: LlmResponse,
    failure: Option<Report>,
    /// Whether the chunks' text is collected for `gen_ai.output.messages`.
    capture_output: bool,
}

/// Most bytes of a streamed completion collected for capture: beyond the longest cut.
const MAX_CAPTURED_OUTPUT: usize = 4 * *crate::content::MAX_CHARS_RANGE.end();

impl StreamState {
    fn observe<T: TokenUsage>(&mut self, chunk: &T) {
        if self.response.time_to_first_chunk.is_none() {
            self.response.time_to_first_chunk = self.started.map(|started| started.elapsed());
        }
        // Providers report usage on some chunks only (OpenAI on the last, Anthropic cumulatively
        // on start and delta events): keep the largest count of each kind seen.
        if let Some(usage) = chunk.usage() {
            let merged = self.response.usage.get_or_insert(Usage::default());
            merged.input_tokens = merged.input_tokens.max(usage.input_tokens);
            merged.output_tokens = merged.output_tokens.max(usage.output_tokens);
            merged.cached_input_tokens = merged.cached_input_tokens.max(usage.cached_input_tokens);
            merged.reasoning_output_tokens = merged
                .reasoning_output_tokens
                .max(usage.reasoning_output_tokens);
        }
        let response = &mut self.response;
        if let Some(reason) = chunk.finish_reason() {
            response.finish_reason = Some(reason.to_owned());
        }
        if response.response_model.is_none() {
            response.response_model = chunk.response_model().map(str::to_owned);
        }
        if response.response_id.is_none() {
            response.response_id = chunk.response_id().map(str::to_owned);
        }
        if self.capture_output {
            if let Some(text) = chunk.output_text() {
                let collected = response.output_text.get_or_insert_with(String::new);
                if collected.len() + text.len() <= MAX_CAPTURED_OUTPUT {
                    collected.push_str(text);
                }
            }
        }
    }

    fn ending(self, report: Report) -> Ending {
        Ending {
            report: self.failure.unwrap_or(report),
            extra: Extra::Llm(self.response),
        }
    }
}

impl<S, C> LlmStream<S, C> {
    fn new(inner: S, call: Call, classify: C) -> Self {
        LlmStream {
            inner,
            state: StreamState {
                started: call.active.as_ref().map(|active| active.start),
                capture_output: call.captures_output(),
                ..StreamState::default()
            },
            call,
            classify,
        }
    }
}

impl<S, C> Stream for LlmStream<S, C>
where
    S: Stream,
    S::Item: TokenUsage,
    C: FnMut(&S::Item) -> Report,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(active) = &this.call.active else {
            return this.inner.poll_next(task);
        };
        let guard = active.enter_poll();
        let inner = this.inner;
        let polled = catch_unwind(AssertUnwindSafe(|| inner.poll_next(task)));
        drop(guard);
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Some(chunk))) => {
                let (state, classify) = (&mut *this.state, &mut *this.classify);
                // The chunk's `TokenUsage` and `Display` are the program's code: a panic in them
                // fails the call, never the stream's consumer.
                let report = catch_unwind(AssertUnwindSafe(|| {
                    state.observe(&chunk);
                    classify(&chunk)
                }))
                .unwrap_or_else(|payload| crate::faults::unreadable(&*payload));
                if report.outcome.is_error() && this.state.failure.is_none() {
                    this.state.failure = Some(report);
                }
                Poll::Ready(Some(chunk))
            }
            Ok(Poll::Ready(None)) => {
                let state = std::mem::take(this.state);
                this.call
                    .take()
                    .finish(state.ending(Report::of(OutcomeKind::Success)));
                Poll::Ready(None)
            }
            Err(payload) => {
                // A panic wins over an earlier failed chunk, and keeps the usage consumed.
                let state = std::mem::take(this.state);
                this.call.take().finish(Ending {
                    report: Report::panic(&*payload),
                    extra: Extra::Llm(state.response),
                });
                resume_unwind(payload)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

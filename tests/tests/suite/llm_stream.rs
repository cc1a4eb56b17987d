//! Streaming `#[llm_call(..., stream)]`: the call lasts until the stream ends or is dropped,
//! usage comes from the chunks, the time to first chunk is recorded, and spans opened while a
//! chunk is produced are children of the call.

use factory_observability::testing::{Capture, PointValue};
use factory_observability::{llm_call, pipeline_stage, ModelPrice, Pricing, TokenUsage, Usage};
use futures::stream::{self, Stream, StreamExt};
use opentelemetry::trace::Status;
use std::task::Poll;

#[derive(Clone, Debug)]
struct Chunk {
    text: &'static str,
    usage: Option<Usage>,
    finish: Option<&'static str>,
}

impl TokenUsage for Chunk {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
    fn finish_reason(&self) -> Option<&str> {
        self.finish
    }
}

fn chunks() -> Vec<Chunk> {
    vec![
        // Anthropic-style: input tokens on the first event...
        Chunk {
            text: "fn ",
            usage: Some(Usage::new(120, 1)),
            finish: None,
        },
        Chunk {
            text: "main() ",
            usage: None,
            finish: None,
        },
        // ...and the cumulative output count on the last.
        Chunk {
            text: "{}",
            usage: Some(Usage::new(0, 30)),
            finish: Some("end_turn"),
        },
    ]
}

#[llm_call(provider = "anthropic", model = "claude-stream", stream)]
fn stream_code() -> impl Stream<Item = Chunk> {
    stream::iter(chunks())
}

#[llm_call(provider = "anthropic", model = "claude-stream", stream)]
async fn stream_code_async(
    fail: bool,
) -> Result<impl Stream<Item = Result<Chunk, String>>, String> {
    if fail {
        return Err("connection refused".into());
    }
    Ok(stream::iter(chunks().into_iter().map(Ok)))
}

#[pipeline_stage]
fn decode_chunk(n: usize) -> usize {
    n
}

/// A stream whose producer opens a span for every chunk it produces.
#[llm_call(provider = "anthropic", model = "claude-stream", stream)]
fn stream_with_work() -> impl Stream<Item = Chunk> {
    let mut produced = 0;
    stream::poll_fn(move |_| {
        produced += 1;
        decode_chunk(produced);
        Poll::Ready((produced <= 2).then(|| chunks()[produced - 1].clone()))
    })
}

fn pricing() -> Pricing {
    Pricing::empty().with_model("claude-stream", ModelPrice::new(0.01, 0.1))
}

#[tokio::test]
async fn the_call_lasts_until_the_stream_ends_and_reads_usage_from_chunks() {
    let capture = Capture::new().with_pricing(pricing());
    let text: String = capture
        .run_async(async {
            let stream = stream_code();
            // Nothing has ended yet: the call is open while the stream is.
            assert!(capture.spans_named("llm.call").is_empty());
            stream.map(|chunk| chunk.text).collect::<String>().await
        })
        .await;
    assert_eq!(text, "fn main() {}");

    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(call.status, Status::Ok);
    assert_eq!(
        call.attr("gen_ai.usage.input_tokens").as_deref(),
        Some("120")
    );
    assert_eq!(
        call.attr("gen_ai.usage.output_tokens").as_deref(),
        Some("30")
    );
    assert_eq!(call.attr("llm.finish_reason").as_deref(), Some("end_turn"));
    assert_eq!(call.attr("llm.cost_usd").as_deref(), Some("0.0042"));
    assert!(call.attributes.contains_key("llm.time_to_first_chunk_ms"));
    let first = capture.metric("gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].unit, "s");
    match &first[0].value {
        PointValue::Histogram { count, .. } => assert_eq!(*count, 1),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_dropped_stream_is_a_cancellation_with_what_it_consumed() {
    let capture = Capture::new().with_pricing(pricing());
    capture
        .run_async(async {
            let mut stream = Box::pin(stream_code());
            assert_eq!(stream.next().await.unwrap().text, "fn ");
        })
        .await;
    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(call.status, Status::Unset);
    assert_eq!(
        call.attr("gen_ai.usage.input_tokens").as_deref(),
        Some("120")
    );
    assert_eq!(
        call.attr("gen_ai.usage.output_tokens").as_deref(),
        Some("1")
    );
    assert_eq!(call.attr("llm.finish_reason"), None);
    assert_eq!(
        capture.metric("gen_ai.client.operation.duration")[0]
            .attributes
            .get("error.type"),
        None
    );
}

#[tokio::test]
async fn a_stream_behind_a_result_and_an_async_fn() {
    let capture = Capture::new().with_pricing(pricing());
    let chunks: Vec<Result<Chunk, String>> = capture
        .run_async(async { stream_code_async(false).await.unwrap().collect().await })
        .await;
    assert_eq!(chunks.len(), 3);
    assert!(capture.run_async(stream_code_async(true)).await.is_err());

    let calls = capture.spans_named("llm.call");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, Status::Ok);
    assert_eq!(calls[0].attr("llm.total_tokens").as_deref(), Some("150"));
    assert_eq!(calls[1].status, Status::error("connection refused"));
    assert_eq!(
        calls[1].attr("error.type").as_deref(),
        Some("alloc::string::String")
    );
}

#[tokio::test]
async fn spans_opened_while_producing_a_chunk_are_children_of_the_call() {
    let capture = Capture::new().with_pricing(pricing());
    let count = capture
        .run_async(async { stream_with_work().count().await })
        .await;
    assert_eq!(count, 2);
    let call = &capture.spans_named("llm.call")[0];
    let work = capture.spans_named("pipeline.stage");
    assert_eq!(work.len(), 3, "two chunks and the poll that found the end");
    assert!(work.iter().all(|s| s.parent_span_id == call.span_id));
}

/// Regression: a stream that panics used to end its call without the usage it had consumed.
#[tokio::test]
async fn a_panicking_stream_ends_the_call_as_error_with_the_usage_consumed() {
    #[llm_call(provider = "anthropic", model = "claude-stream", stream)]
    fn breaks_after_one_chunk() -> impl Stream<Item = Chunk> {
        let mut polled = 0;
        stream::poll_fn(move |_| {
            polled += 1;
            if polled > 1 {
                panic!("connection reset mid-stream");
            }
            Poll::Ready(Some(chunks()[0].clone()))
        })
    }
    let capture = Capture::new().with_pricing(pricing());
    let outcome = capture
        .run_async(async {
            let mut stream = Box::pin(breaks_after_one_chunk());
            assert_eq!(stream.next().await.unwrap().text, "fn ");
            futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(stream.next())).await
        })
        .await;
    assert!(outcome.is_err(), "the panic reaches the consumer");
    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(call.status, Status::error("connection reset mid-stream"));
    assert_eq!(call.attr("error.type").as_deref(), Some("panic"));
    assert_eq!(
        call.attr("gen_ai.usage.input_tokens").as_deref(),
        Some("120")
    );
}

/// An alias of `Result`, as a provider client would declare it.
#[derive(Debug)]
struct LlmError(&'static str);

impl std::fmt::Display for LlmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

type LlmResult<T> = Result<T, LlmError>;

/// Regression: the shape of a streaming call's return was read from the spelling of its type
/// (a last path segment named `Result`), so an alias of `Result` was taken for a stream.
#[llm_call(provider = "anthropic", model = "claude-stream", stream)]
fn stream_behind_an_alias(fail: bool) -> LlmResult<impl Stream<Item = Chunk>> {
    if fail {
        return Err(LlmError("rate limited"));
    }
    Ok(stream::iter(chunks()))
}

#[tokio::test]
async fn a_stream_behind_an_alias_of_result_ends_with_the_stream() {
    let capture = Capture::new().with_pricing(pricing());
    let text: String = capture
        .run_async(async {
            let stream = stream_behind_an_alias(false).expect("a stream");
            // The call is open while the stream is: it ends with the stream, not with the `Ok`.
            assert!(capture.spans_named("llm.call").is_empty());
            stream.map(|chunk| chunk.text).collect::<String>().await
        })
        .await;
    assert_eq!(text, "fn main() {}");
    let calls = capture.spans_named("llm.call");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, Status::Ok);
    assert_eq!(
        calls[0].attr("gen_ai.usage.input_tokens").as_deref(),
        Some("120")
    );
    assert_eq!(
        calls[0].attr("gen_ai.usage.output_tokens").as_deref(),
        Some("30")
    );
    assert_eq!(
        calls[0].attr("llm.finish_reason").as_deref(),
        Some("end_turn")
    );
    assert!(calls[0]
        .attributes
        .contains_key("llm.time_to_first_chunk_ms"));

    // An `Err` ends the call at once, as a failure with the error's message and type.
    let failed = capture.run(|| stream_behind_an_alias(true));
    assert!(failed.is_err());
    let calls = capture.spans_named("llm.call");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].status, Status::error("rate limited"));
    assert_eq!(
        calls[1].attr("error.type").as_deref(),
        Some(concat!(module_path!(), "::LlmError"))
    );
}

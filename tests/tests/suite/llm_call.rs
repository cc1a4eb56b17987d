//! `#[llm_call]`: seed and GenAI attributes, token and cost metrics, estimated tokens, run totals.

use factory_observability::testing::{Capture, CapturedSpan, PointValue};
use factory_observability::{
    llm_call, pipeline_run, pipeline_stage, ModelPrice, Pricing, TokenUsage, Usage,
};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct ChatResponse {
    text: String,
    usage: Option<Usage>,
}

impl TokenUsage for ChatResponse {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
    fn finish_reason(&self) -> Option<&str> {
        Some("stop")
    }
    fn response_model(&self) -> Option<&str> {
        Some("gpt-test-2026-01")
    }
    fn response_id(&self) -> Option<&str> {
        Some("chatcmpl-42")
    }
}

#[derive(Debug)]
struct RateLimited;

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("429 rate limited")
    }
}

#[llm_call(provider = "openai", model = "gpt-test", prompt = prompt)]
fn complete(prompt: &str, fail: bool) -> Result<ChatResponse, RateLimited> {
    if fail {
        return Err(RateLimited);
    }
    Ok(ChatResponse {
        text: prompt.to_uppercase(),
        usage: Some(Usage::new(1500, 500)),
    })
}

#[llm_call(provider = "openai", model = "gpt-test", prompt = prompt)]
fn complete_without_usage(prompt: String) -> ChatResponse {
    ChatResponse {
        text: prompt,
        usage: None,
    }
}

struct Client {
    provider: &'static str,
    model: String,
}

impl Client {
    #[llm_call(provider = self.provider, model = self.model.as_str(), operation = "text_completion")]
    async fn ask(&self, tokens: u64) -> Option<ChatResponse> {
        tokio::task::yield_now().await;
        Some(ChatResponse {
            text: String::new(),
            usage: Some(
                Usage::new(tokens, tokens / 2)
                    .with_cached_input(tokens / 4)
                    .with_reasoning_output(tokens / 10),
            ),
        })
    }
}

/// A response type without `TokenUsage`: the usage is read by a function given to the macro.
struct RawJson(u64, u64);

#[llm_call(provider = "anthropic", model = "claude-test", usage = |raw: &RawJson| Usage::new(raw.0, raw.1))]
fn raw_call() -> RawJson {
    RawJson(10, 20)
}

#[pipeline_stage]
fn implement() -> Result<String, RateLimited> {
    Ok(complete("write the code", false)?.text)
}

fn pricing() -> Pricing {
    Pricing::empty()
        .with_model("gpt-test", ModelPrice::new(0.03, 0.06))
        .with_model(
            "gpt-cached",
            ModelPrice::new(0.01, 0.04)
                .with_cached_input(0.001)
                .with_reasoning_output(0.08),
        )
        .with_model("embed-test", ModelPrice::input_only(0.0001))
}

fn attrs(span: &CapturedSpan) -> BTreeMap<String, String> {
    span.attributes
        .iter()
        .filter(|(key, _)| !key.ends_with("duration_ms") && *key != "run.id")
        .map(|(key, value)| (key.clone(), value.to_string()))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_call_records_seed_and_genai_attributes_under_its_stage() {
    let capture = Capture::new().with_pricing(pricing());
    assert_eq!(capture.run(implement).unwrap(), "WRITE THE CODE");

    let stage = &capture.spans_named("pipeline.stage")[0];
    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(call.parent_span_id, stage.span_id);
    assert_eq!(call.kind, SpanKind::Client);
    assert_eq!(call.status, Status::Ok);
    let expected: BTreeMap<String, String> = [
        ("code.function.name", concat!(module_path!(), "::complete")),
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-test"),
        ("gen_ai.response.finish_reasons", "[\"stop\"]"),
        ("gen_ai.response.id", "chatcmpl-42"),
        ("gen_ai.response.model", "gpt-test-2026-01"),
        ("gen_ai.usage.input_tokens", "1500"),
        ("gen_ai.usage.output_tokens", "500"),
        ("llm.completion_tokens", "500"),
        ("llm.cost_usd", "0.075"),
        ("llm.finish_reason", "stop"),
        ("llm.model", "gpt-test"),
        ("llm.prompt_length", "14"),
        ("llm.prompt_tokens", "1500"),
        ("llm.provider", "openai"),
        ("llm.total_tokens", "2000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(attrs(call), expected);
    assert!(call.attributes.contains_key("llm.duration_ms"));
    assert_eq!(
        call.attributes["gen_ai.response.finish_reasons"],
        Value::Array(vec![opentelemetry::StringValue::from("stop")].into())
    );
}

#[test]
fn token_cost_and_duration_metrics_carry_their_labels() {
    let capture = Capture::new().with_pricing(pricing());
    capture.run(|| {
        complete("a", false).unwrap();
        complete("b", false).unwrap();
    });

    let tokens = capture.metric("llm.tokens.total");
    let by_type: Vec<(String, u64, f64)> = tokens
        .iter()
        .map(|p| match &p.value {
            PointValue::Histogram { count, sum, .. } => {
                assert_eq!(p.attributes["llm.provider"], "openai");
                assert_eq!(p.attributes["llm.model"], "gpt-test");
                (p.attributes["llm.token_type"].clone(), *count, *sum)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        by_type,
        [
            ("input".to_string(), 2, 3000.0),
            ("output".to_string(), 2, 1000.0),
            ("total".to_string(), 2, 4000.0)
        ]
    );

    let usage = capture.metric("gen_ai.client.token.usage");
    assert_eq!(usage.len(), 2);
    assert_eq!(usage[0].unit, "{token}");
    assert_eq!(
        usage[0].attributes,
        BTreeMap::from(
            [
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.provider.name", "openai"),
                ("gen_ai.request.model", "gpt-test"),
                ("gen_ai.response.model", "gpt-test-2026-01"),
                ("gen_ai.token.type", "input"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        )
    );
    match &usage[0].value {
        PointValue::Histogram { bounds, sum, .. } => {
            assert_eq!(bounds[..4], [1.0, 4.0, 16.0, 64.0]);
            assert_eq!(*bounds.last().unwrap(), 67108864.0);
            assert_eq!(*sum, 3000.0);
        }
        other => panic!("{other:?}"),
    }

    let duration = capture.metric("gen_ai.client.operation.duration");
    assert_eq!(duration.len(), 1);
    assert_eq!(duration[0].unit, "s");
    match &duration[0].value {
        PointValue::Histogram { bounds, count, .. } => {
            assert_eq!(bounds[0], 0.01);
            assert_eq!(*bounds.last().unwrap(), 81.92);
            assert_eq!(*count, 2);
        }
        other => panic!("{other:?}"),
    }

    let cost = capture.metric("llm.cost.usd");
    assert_eq!(cost.len(), 1);
    assert_eq!(
        cost[0].attributes,
        BTreeMap::from([
            ("llm.model".to_string(), "gpt-test".to_string()),
            ("llm.provider".to_string(), "openai".to_string())
        ])
    );
    match cost[0].value {
        PointValue::Sum(usd) => assert!(close(usd, 0.15), "{usd}"),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn errors_are_recorded_like_every_macro_and_label_the_duration() {
    let capture = Capture::new().with_pricing(pricing());
    assert!(capture.run(|| complete("x", true)).is_err());
    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(call.status, Status::error("429 rate limited"));
    assert_eq!(
        call.attr("error.type").as_deref(),
        Some(concat!(module_path!(), "::RateLimited"))
    );
    assert_eq!(call.events[0].name, "exception");
    // No usage in an Err: the input is estimated from the prompt (1 char → 1 token).
    assert_eq!(call.attr("llm.tokens_estimated").as_deref(), Some("true"));
    let duration = &capture.metric("gen_ai.client.operation.duration")[0];
    assert_eq!(
        duration.attributes["error.type"],
        concat!(module_path!(), "::RateLimited")
    );
}

#[test]
fn without_reported_usage_input_tokens_are_estimated_and_marked() {
    let capture = Capture::new().with_pricing(pricing());
    capture.run(|| complete_without_usage("x".repeat(4001)));
    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(call.attr("llm.tokens_estimated").as_deref(), Some("true"));
    assert_eq!(call.attr("llm.prompt_length").as_deref(), Some("4001"));
    assert_eq!(call.attr("llm.prompt_tokens").as_deref(), Some("1001"));
    assert_eq!(
        call.attr("gen_ai.usage.input_tokens").as_deref(),
        Some("1001")
    );
    assert_eq!(call.attr("llm.completion_tokens"), None);
    assert_eq!(call.attr("gen_ai.usage.output_tokens"), None);
    let cost: f64 = call.attr("llm.cost_usd").unwrap().parse().unwrap();
    assert!(close(cost, 1.001 * 0.03), "{cost}");
    // Estimates stay out of the GenAI usage metric, and are labelled in the seed one.
    assert!(capture.metric("gen_ai.client.token.usage").is_empty());
    let tokens = capture.metric("llm.tokens.total");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].attributes["llm.tokens_estimated"], "true");
    assert_eq!(tokens[0].attributes["llm.token_type"], "input");
}

#[tokio::test]
async fn dynamic_provider_and_model_cached_and_reasoning_tokens() {
    let capture = Capture::new().with_pricing(pricing());
    let client = Client {
        provider: "openai",
        model: "gpt-cached".into(),
    };
    capture.run_async(client.ask(4000)).await.unwrap();
    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(call.attr("llm.model").as_deref(), Some("gpt-cached"));
    assert_eq!(
        call.attr("gen_ai.operation.name").as_deref(),
        Some("text_completion")
    );
    assert_eq!(
        call.attr("gen_ai.usage.cache_read.input_tokens").as_deref(),
        Some("1000")
    );
    assert_eq!(
        call.attr("gen_ai.usage.reasoning.output_tokens").as_deref(),
        Some("400")
    );
    // 3000 uncached * 0.01 + 1000 cached * 0.001 + 1600 output * 0.04 + 400 reasoning * 0.08
    let cost: f64 = call.attr("llm.cost_usd").unwrap().parse().unwrap();
    assert!(close(cost, 0.03 + 0.001 + 0.064 + 0.032), "{cost}");
}

#[test]
fn usage_can_be_read_by_a_function_given_to_the_macro() {
    let capture = Capture::new().with_pricing(pricing());
    capture.run(raw_call);
    let call = &capture.spans_named("llm.call")[0];
    assert_eq!(
        call.attr("gen_ai.provider.name").as_deref(),
        Some("anthropic")
    );
    assert_eq!(call.attr("llm.total_tokens").as_deref(), Some("30"));
    // claude-test is in no price table: no cost, never a wrong one.
    assert_eq!(call.attr("llm.cost_usd"), None);
    assert!(capture.metric("llm.cost.usd").is_empty());
}

#[test]
fn input_only_models_are_priced_and_unpriced_output_records_no_cost() {
    #[llm_call(provider = "openai", model = "embed-test", operation = "embeddings")]
    fn embed(output_tokens: u64) -> Usage {
        Usage::new(10_000, output_tokens)
    }
    let capture = Capture::new().with_pricing(pricing());
    capture.run(|| {
        embed(0);
        embed(3);
    });
    let calls = capture.spans_named("llm.call");
    assert_eq!(calls[0].attr("llm.cost_usd").as_deref(), Some("0.001"));
    assert_eq!(calls[1].attr("llm.cost_usd"), None);
}

#[test]
fn genai_span_names_can_be_switched_on() {
    let capture = Capture::new()
        .with_pricing(pricing())
        .with_genai_span_names();
    capture.run(|| complete("x", false).unwrap());
    let spans = capture.spans();
    assert_eq!(spans[0].name, "chat gpt-test");
}

#[pipeline_run(name = "llm_totals")]
async fn concurrent_calls(count: u64) -> u64 {
    let client = std::sync::Arc::new(Client {
        provider: "openai",
        model: "gpt-test".into(),
    });
    let mut tasks = Vec::new();
    for i in 1..=count {
        let client = std::sync::Arc::clone(&client);
        let cx = opentelemetry::Context::current();
        tasks.push(tokio::spawn(
            opentelemetry::context::FutureExt::with_context(
                async move { client.ask(i * 100).await },
                cx,
            ),
        ));
    }
    let mut calls = 0;
    for task in tasks {
        task.await.unwrap().unwrap();
        calls += 1;
    }
    // One more, unpriced.
    raw_call();
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_totals_add_up_concurrent_calls_across_threads() {
    let capture = Capture::new().with_pricing(pricing());
    assert_eq!(capture.run_async(concurrent_calls(10)).await, 10);
    let run = &capture.spans_named("pipeline.run")[0];
    // Inputs 100..=1000 step 100 = 5500, outputs half = 2750; plus raw_call's 10 in / 20 out.
    assert_eq!(run.attr("run.llm.calls").as_deref(), Some("11"));
    assert_eq!(run.attr("run.tokens.input").as_deref(), Some("5510"));
    assert_eq!(run.attr("run.tokens.output").as_deref(), Some("2770"));
    assert_eq!(run.attr("run.llm.unpriced_calls").as_deref(), Some("1"));
    let expected: f64 = capture
        .spans_named("llm.call")
        .iter()
        .filter_map(|s| s.attr("llm.cost_usd"))
        .map(|c| c.parse::<f64>().unwrap())
        .sum();
    let total: f64 = run.attr("run.cost_usd").unwrap().parse().unwrap();
    assert!(close(total, expected), "{total} vs {expected}");
    // 5500 input * 0.03/1K + 2750 output * 0.06/1K
    assert!(close(total, 0.165 + 0.165), "{total}");
    assert!(capture
        .spans_named("llm.call")
        .iter()
        .all(|s| s.parent_span_id == run.span_id && s.attr("run.id") == run.attr("run.id")));
}

#[test]
fn calls_without_usage_or_prompt_are_counted_but_not_as_unpriced() {
    #[llm_call(provider = "openai", model = "gpt-test")]
    fn refused() -> Result<Usage, String> {
        Err("429 rate limited".into())
    }
    #[pipeline_run]
    fn one_refusal() {
        let _ = refused();
    }
    let capture = Capture::new().with_pricing(pricing());
    capture.run(one_refusal);
    let run = &capture.spans_named("pipeline.run")[0];
    assert_eq!(run.attr("run.llm.calls").as_deref(), Some("1"));
    assert_eq!(run.attr("run.tokens.input").as_deref(), Some("0"));
    assert_eq!(run.attr("run.llm.unpriced_calls"), None);
}

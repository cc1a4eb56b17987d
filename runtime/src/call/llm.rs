//! `#[llm_call]`: provider, model and prompt length at the start (seed `llm.*` and GenAI
//! `gen_ai.*` attributes, span kind CLIENT), and the conversation it belongs to; usage, finish
//! reason, cost and the token and duration metrics at the end, added to the run's totals and to
//! those of the agents it runs under.

use super::agent::{conversation_of, AgentScope};
use super::span::CallSpan;
use super::{millis, saturating_i64, Active, CallSite, KindState, Opening};
use crate::dispatch::DispatchRef;
use crate::names::attr;
use crate::pricing::Cost;
use crate::usage::{estimate_tokens, LlmResponse, Usage};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use std::borrow::Cow;
use std::time::Duration;

/// The provider and model of a call, evaluated when it starts.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub provider: StringValue,
    pub model: StringValue,
    pub prompt_chars: Option<usize>,
    /// Whether the completion is captured (`gen_ai.output.messages`), see `crate::content`.
    pub capture_output: bool,
}

pub(crate) fn open(
    site: &'static CallSite,
    dispatch: &DispatchRef,
    parent: &Context,
    target: Option<Target>,
    attributes: &mut Vec<KeyValue>,
) -> Opening {
    let target = target.unwrap_or_else(|| Target {
        provider: StringValue::from("unknown"),
        model: StringValue::from("unknown"),
        prompt_chars: None,
        capture_output: false,
    });
    let operation = site.name;
    let name = if dispatch.genai_span_names {
        Cow::Owned(format!("{operation} {}", target.model.as_str()))
    } else {
        Cow::Borrowed(crate::names::span::LLM_CALL)
    };
    attributes.extend([
        KeyValue::new(attr::LLM_PROVIDER, target.provider.clone()),
        KeyValue::new(attr::LLM_MODEL, target.model.clone()),
        KeyValue::new(attr::GEN_AI_OPERATION_NAME, operation),
        KeyValue::new(attr::GEN_AI_PROVIDER_NAME, target.provider.clone()),
        KeyValue::new(attr::GEN_AI_REQUEST_MODEL, target.model.clone()),
    ]);
    if let Some(chars) = target.prompt_chars {
        attributes.push(KeyValue::new(
            attr::LLM_PROMPT_LENGTH,
            saturating_i64(chars),
        ));
    }
    if let Some(conversation) = conversation_of(parent) {
        attributes.push(KeyValue::new(
            crate::names::agent::GEN_AI_CONVERSATION_ID,
            conversation,
        ));
    }
    Opening {
        name,
        span_kind: SpanKind::Client,
        state: KindState::Llm(target),
        context_value: None,
        opens_span: true,
    }
}

/// Ends an LLM call: what the response reported on the span, its cost, the token, cost and
/// duration metrics, and the enclosing run's totals.
pub(crate) fn end(
    active: &Active,
    span: &mut CallSpan,
    target: &Target,
    response: LlmResponse,
    error_type: Option<Cow<'static, str>>,
    elapsed: Duration,
) {
    let (usage, estimated) = usage_or_estimate(response.usage, target.prompt_chars);
    if let Some(usage) = &usage {
        record_usage(span, usage, estimated);
    }
    record_response(span, active, target, &response);
    let cost = usage
        .as_ref()
        .and_then(|usage| cost_of(active, target, usage));
    if let Some(usd) = cost {
        span.set_attribute(KeyValue::new(attr::LLM_COST_USD, usd));
    }
    let tokens = Tokens { usage, estimated };
    record_metrics(
        active, target, &response, &tokens, cost, error_type, elapsed,
    );
    let usage = tokens.usage.as_ref();
    if let Some(run) = active.cx.get::<super::run::RunState>() {
        run.totals.add_llm_call(usage, tokens.estimated, cost);
        let mut produced = run.produced();
        if !produced.marked {
            produced.models.insert(target.model.as_str().to_owned());
        }
    }
    if let Some(agent) = active.cx.get::<AgentScope>() {
        agent.add_llm_call(usage, tokens.estimated, cost, &target.provider);
    }
}

/// The usage a response reported, or else an estimate of the input from the prompt (marked
/// estimated: the second value).
fn usage_or_estimate(
    reported: Option<Usage>,
    prompt_chars: Option<usize>,
) -> (Option<Usage>, bool) {
    match (reported, prompt_chars) {
        (Some(usage), _) => (Some(usage), false),
        (None, Some(chars)) => (Some(Usage::new(estimate_tokens(chars), 0)), true),
        (None, None) => (None, false),
    }
}

/// The token counts, seed and GenAI names; an estimate records only the input, marked.
fn record_usage(span: &mut CallSpan, usage: &Usage, estimated: bool) {
    let count = |key: &'static str, tokens: u64| KeyValue::new(key, saturating_i64(tokens));
    span.set_attribute(count(attr::LLM_PROMPT_TOKENS, usage.input_tokens));
    span.set_attribute(count(attr::GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens));
    if estimated {
        span.set_attribute(KeyValue::new(attr::LLM_TOKENS_ESTIMATED, true));
        return;
    }
    span.set_attribute(count(attr::LLM_COMPLETION_TOKENS, usage.output_tokens));
    span.set_attribute(count(attr::LLM_TOTAL_TOKENS, usage.total_tokens()));
    span.set_attribute(count(attr::GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens));
    if let Some(cached) = usage.cached_input_tokens {
        span.set_attribute(count(attr::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached));
    }
    if let Some(reasoning) = usage.reasoning_output_tokens {
        span.set_attribute(count(attr::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning));
    }
}

/// Finish reason, response model and id, the captured completion, the time to the first chunk.
fn record_response(span: &mut CallSpan, active: &Active, target: &Target, response: &LlmResponse) {
    if let Some(reason) = &response.finish_reason {
        span.set_attribute(KeyValue::new(attr::LLM_FINISH_REASON, reason.clone()));
        span.set_attribute(KeyValue::new(
            attr::GEN_AI_RESPONSE_FINISH_REASONS,
            Value::Array(Array::String(vec![StringValue::from(reason.clone())])),
        ));
    }
    if let Some(model) = &response.response_model {
        span.set_attribute(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, model.clone()));
    }
    if let Some(id) = &response.response_id {
        span.set_attribute(KeyValue::new(attr::GEN_AI_RESPONSE_ID, id.clone()));
    }
    if target.capture_output {
        if let Some(text) = &response.output_text {
            let messages = active
                .dispatch
                .content
                .output_messages(text, response.finish_reason.as_deref());
            span.set_attribute(KeyValue::new(attr::GEN_AI_OUTPUT_MESSAGES, messages));
        }
    }
    if let Some(first) = response.time_to_first_chunk {
        span.set_attribute(KeyValue::new(
            attr::LLM_TIME_TO_FIRST_CHUNK_MS,
            millis(first),
        ));
    }
}

/// What the call cost in US dollars, when its model and every kind of its tokens have a price;
/// the first call of a model without one warns once.
fn cost_of(active: &Active, target: &Target, usage: &Usage) -> Option<f64> {
    let (provider, model) = (target.provider.as_str(), target.model.as_str());
    let pricing = &active.dispatch.pricing;
    match pricing.cost(provider, model, usage) {
        Cost::Usd(usd) => Some(usd),
        Cost::UnknownModel => {
            if pricing.first_warning(provider, model) {
                tracing::warn!(
                    target: "factory_observability",
                    "no price for model {model} of {provider}: its calls record no cost \
                     (add it to the file named by FACTORY_OBS_PRICING)"
                );
            }
            None
        }
        Cost::Unpriced(kind) => {
            if pricing.first_warning(provider, model) {
                tracing::warn!(
                    target: "factory_observability",
                    "model {model} of {provider} has no price for {kind} tokens: \
                     its calls with such tokens record no cost"
                );
            }
            None
        }
    }
}

/// The tokens a call used, and whether they are an estimate of the input only.
struct Tokens {
    usage: Option<Usage>,
    estimated: bool,
}

/// The seed's token and cost metrics and the GenAI token, duration and first-chunk metrics.
fn record_metrics(
    active: &Active,
    target: &Target,
    response: &LlmResponse,
    tokens: &Tokens,
    cost: Option<f64>,
    error_type: Option<Cow<'static, str>>,
    elapsed: Duration,
) {
    let instruments = &active.dispatch.instruments;
    let seed_labels = |token_type: &'static str| {
        let mut labels = vec![
            KeyValue::new(attr::LLM_PROVIDER, target.provider.clone()),
            KeyValue::new(attr::LLM_MODEL, target.model.clone()),
            KeyValue::new(attr::LLM_TOKEN_TYPE, token_type),
        ];
        if tokens.estimated {
            labels.push(KeyValue::new(attr::LLM_TOKENS_ESTIMATED, true));
        }
        labels
    };
    let mut genai_labels = vec![
        KeyValue::new(attr::GEN_AI_OPERATION_NAME, active.site.name),
        KeyValue::new(attr::GEN_AI_PROVIDER_NAME, target.provider.clone()),
        KeyValue::new(attr::GEN_AI_REQUEST_MODEL, target.model.clone()),
    ];
    if let Some(model) = &response.response_model {
        genai_labels.push(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, model.clone()));
    }
    if let Some(usage) = &tokens.usage {
        let tokens_metric = &instruments.llm_tokens;
        tokens_metric.record(usage.input_tokens, &seed_labels("input"));
        if !tokens.estimated {
            tokens_metric.record(usage.output_tokens, &seed_labels("output"));
            tokens_metric.record(usage.total_tokens(), &seed_labels("total"));
            for (count, token_type) in [
                (usage.input_tokens, "input"),
                (usage.output_tokens, "output"),
            ] {
                let mut labels = genai_labels.clone();
                labels.push(KeyValue::new(attr::GEN_AI_TOKEN_TYPE, token_type));
                instruments.genai_token_usage.record(count, &labels);
            }
        }
    }
    if let Some(usd) = cost {
        instruments.llm_cost.add(
            usd,
            &[
                KeyValue::new(attr::LLM_PROVIDER, target.provider.clone()),
                KeyValue::new(attr::LLM_MODEL, target.model.clone()),
            ],
        );
    }
    if let Some(error_type) = error_type {
        genai_labels.push(KeyValue::new(
            attr::ERROR_TYPE,
            super::cow_value(error_type),
        ));
    }
    if let Some(first) = response.time_to_first_chunk {
        instruments
            .genai_time_to_first_chunk
            .record(first.as_secs_f64(), &genai_labels);
    }
    instruments
        .genai_duration
        .record(elapsed.as_secs_f64(), &genai_labels);
}

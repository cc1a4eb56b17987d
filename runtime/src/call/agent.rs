//! `#[agent]`: one invocation of an agent, span `invoke_agent {gen_ai.agent.name}` (GenAI
//! conventions, `gen-ai-agent-spans.md`, "Invoke agent internal span"; "Invoke agent client
//! span" for a `remote` agent). Its identity at the start; at its end the totals of the LLM and
//! tool calls made under it (nested agents included), its outcome and the histogram
//! `gen_ai.invoke_agent.duration`.
//!
//! The agent puts an [`AgentScope`] into its context: the calls under it, on every thread and
//! task that keeps the trace, add to its totals and to those of the agents it runs under. A
//! conversation id it names goes into the context's W3C Baggage, so that the calls under it
//! record it and the propagators carry it to other processes.

use super::span::CallSpan;
use super::totals::Totals;
use super::{saturating_i64, site_span_name, Active, ContextValue, KindState, Opening};
use crate::call_site::CallSite;
use crate::names::{agent, attr};
use crate::outcome::OutcomeKind;
use crate::usage::Usage;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue, StringValue};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What `#[agent(...)]` records at the start, from its arguments and the fn's doc comment.
#[derive(Debug, Default)]
pub(crate) struct Target {
    pub description: &'static str,
    pub version: Option<&'static str>,
    pub remote: bool,
    pub provider: Option<StringValue>,
    pub model: Option<StringValue>,
    pub id: Option<StringValue>,
    pub conversation: Option<StringValue>,
}

/// A running agent, as the calls under it reach it through the context.
#[derive(Debug)]
pub(crate) struct AgentNode {
    pub name: &'static str,
    pub totals: Totals,
    /// The provider of the first LLM call under the agent: its `gen_ai.provider.name` when
    /// `#[agent]` names none.
    first_provider: OnceLock<StringValue>,
    /// The agent this one runs under, if any.
    enclosing: Option<Arc<AgentNode>>,
}

/// The innermost agent of a context.
#[derive(Clone, Debug)]
pub(crate) struct AgentScope(pub Arc<AgentNode>);

impl AgentScope {
    /// The agent and every agent it runs under, innermost first.
    fn chain(&self) -> impl Iterator<Item = &AgentNode> {
        std::iter::successors(Some(&*self.0), |node| node.enclosing.as_deref())
    }

    /// `gen_ai.agent.name` of the innermost agent.
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Adds an LLM call under the agent to it and to every agent it runs under.
    pub fn add_llm_call(
        &self,
        usage: Option<&Usage>,
        estimated: bool,
        cost_usd: Option<f64>,
        provider: &StringValue,
    ) {
        for node in self.chain() {
            node.totals.add_llm_call(usage, estimated, cost_usd);
            let _ = node.first_provider.get_or_init(|| provider.clone());
        }
    }

    /// Adds a tool call under the agent to it and to every agent it runs under.
    pub fn add_tool_call(&self, failed: bool) {
        for node in self.chain() {
            node.totals.add_tool_call(failed);
        }
    }
}

/// `gen_ai.conversation.id` of the calls under `cx`: the one its W3C Baggage carries (put there
/// by an agent that names it, or received from another process).
pub(crate) fn conversation_of(cx: &Context) -> Option<StringValue> {
    cx.baggage()
        .get(agent::CONVERSATION_BAGGAGE_KEY)
        .filter(|id| !id.as_str().is_empty())
        .cloned()
}

/// What an agent's end needs of its start.
#[derive(Debug)]
pub(crate) struct Invocation {
    provider: Option<StringValue>,
    model: Option<StringValue>,
}

pub(crate) fn open(
    site: &'static CallSite,
    parent: &Context,
    target: Option<Box<Target>>,
    attributes: &mut Vec<KeyValue>,
) -> Opening {
    let target = target.map(|target| *target).unwrap_or_default();
    if let Some(provider) = &target.provider {
        attributes.push(KeyValue::new(attr::GEN_AI_PROVIDER_NAME, provider.clone()));
    }
    if let Some(model) = &target.model {
        attributes.push(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, model.clone()));
    }
    if let Some(id) = target.id {
        attributes.push(KeyValue::new(agent::GEN_AI_AGENT_ID, id));
    }
    if let Some(version) = target.version {
        attributes.push(KeyValue::new(agent::GEN_AI_AGENT_VERSION, version));
    }
    if !target.description.is_empty() {
        attributes.push(KeyValue::new(
            agent::GEN_AI_AGENT_DESCRIPTION,
            target.description,
        ));
    }
    // A conversation the agent names is carried to everything under it as baggage; otherwise
    // the agent belongs to the conversation it was called in, if any.
    let baggage = match &target.conversation {
        Some(conversation) if !conversation.as_str().is_empty() => {
            // `Baggage` is not `Clone`: the caller's entries are copied over.
            let mut baggage: Baggage = parent
                .baggage()
                .iter()
                .map(|(key, (value, metadata))| (key.clone(), (value.clone(), metadata.clone())))
                .collect();
            let _ = baggage.insert(agent::CONVERSATION_BAGGAGE_KEY, conversation.clone());
            Some(baggage)
        }
        _ => None,
    };
    let conversation = match &baggage {
        Some(_) => target.conversation.clone(),
        None => conversation_of(parent),
    };
    if let Some(conversation) = conversation {
        attributes.push(KeyValue::new(agent::GEN_AI_CONVERSATION_ID, conversation));
    }
    let node = AgentNode {
        name: site.name,
        totals: Totals::default(),
        first_provider: OnceLock::new(),
        enclosing: parent.get::<AgentScope>().map(|scope| Arc::clone(&scope.0)),
    };
    Opening {
        name: site_span_name(site, agent::INVOKE_AGENT),
        span_kind: if target.remote {
            SpanKind::Client
        } else {
            SpanKind::Internal
        },
        state: KindState::Agent(Box::new(Invocation {
            provider: target.provider,
            model: target.model,
        })),
        context_value: Some(ContextValue::Agent(AgentScope(Arc::new(node)), baggage)),
        opens_span: true,
    }
}

/// The agent's totals and provider on its span, and its duration histogram.
pub(crate) fn end(
    active: &Active,
    span: &mut CallSpan,
    invocation: &Invocation,
    outcome: OutcomeKind,
    error_type: Option<Cow<'static, str>>,
    elapsed: Duration,
) {
    let scope = active.cx.get::<AgentScope>();
    let provider = invocation.provider.clone().or_else(|| {
        let first = scope.and_then(|scope| scope.0.first_provider.get().cloned());
        if let Some(first) = &first {
            span.set_attribute(KeyValue::new(attr::GEN_AI_PROVIDER_NAME, first.clone()));
        }
        first
    });
    if let Some(scope) = scope {
        record_totals(span, &scope.0.totals);
    }
    let mut labels = vec![
        KeyValue::new(attr::GEN_AI_OPERATION_NAME, agent::INVOKE_AGENT),
        KeyValue::new(agent::GEN_AI_AGENT_NAME, active.site.name),
        KeyValue::new(attr::OUTCOME, outcome.as_str()),
    ];
    if let Some(provider) = provider {
        labels.push(KeyValue::new(attr::GEN_AI_PROVIDER_NAME, provider));
    }
    if let Some(model) = &invocation.model {
        labels.push(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, model.clone()));
    }
    if let Some(error_type) = error_type {
        labels.push(KeyValue::new(
            attr::ERROR_TYPE,
            super::cow_value(error_type),
        ));
    }
    active
        .dispatch
        .instruments
        .invoke_agent_duration
        .record(elapsed.as_secs_f64(), &labels);
}

/// The usage of the LLM calls under the agent in the conventions' names (`gen_ai.usage.*`, an
/// agent's "Recommended" attributes), and our counts of calls, cost and tool calls.
fn record_totals(span: &mut CallSpan, totals: &Totals) {
    let totals = totals.read();
    let count = |key: &'static str, n: u64| KeyValue::new(key, saturating_i64(n));
    span.set_attribute(count(attr::GEN_AI_USAGE_INPUT_TOKENS, totals.input_tokens));
    span.set_attribute(count(
        attr::GEN_AI_USAGE_OUTPUT_TOKENS,
        totals.output_tokens,
    ));
    if totals.cache_read_input_tokens > 0 {
        span.set_attribute(count(
            attr::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
            totals.cache_read_input_tokens,
        ));
    }
    if totals.reasoning_output_tokens > 0 {
        span.set_attribute(count(
            attr::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
            totals.reasoning_output_tokens,
        ));
    }
    span.set_attribute(count(agent::AGENT_LLM_CALLS, totals.llm_calls));
    if totals.unpriced_calls > 0 {
        span.set_attribute(count(
            agent::AGENT_LLM_UNPRICED_CALLS,
            totals.unpriced_calls,
        ));
    }
    span.set_attribute(KeyValue::new(agent::AGENT_COST_USD, totals.cost_usd));
    span.set_attribute(count(agent::AGENT_TOOL_CALLS, totals.tool_calls));
    span.set_attribute(count(agent::AGENT_TOOL_FAILURES, totals.tool_failures));
}

//! `#[tool]`: one tool call, span `execute_tool {gen_ai.tool.name}` (GenAI conventions,
//! `gen-ai-spans.md`, "Execute tool span"). Its type, call id, description and conversation at
//! the start, with its arguments when it captures content; its result (when it captures content
//! and succeeded), outcome, the histogram `gen_ai.execute_tool.duration` and the totals of the
//! enclosing agents and run at the end.

use super::agent::{conversation_of, AgentScope};
use super::run::RunState;
use super::span::CallSpan;
use super::{site_span_name, Active, KindState, Opening};
use crate::call_site::{CallSite, ToolSite};
use crate::names::{agent, attr};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue, StringValue};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What `#[tool(...)]` records at the start, from its arguments and the fn's doc comment.
#[derive(Debug, Default)]
pub(crate) struct Target {
    pub description: &'static str,
    pub kind: &'static str,
    pub call_id: Option<StringValue>,
}

/// What a tool call's end needs of its start.
#[derive(Debug)]
pub(crate) struct ToolState {
    /// The site's type, description and bound histograms.
    site: &'static ToolSite,
    /// Whether the result is captured (`gen_ai.tool.call.result`).
    pub capture_output: bool,
}

/// `gen_ai.tool.type` and `gen_ai.tool.description` are the site's, kept at its first call and
/// derived from the call site when the span is exported: the call pushes only its call id and
/// conversation (nothing allocated without them).
pub(crate) fn open(
    site: &'static CallSite,
    parent: &Context,
    starts_a_trace: bool,
    target: Option<Target>,
    attributes: &mut Vec<KeyValue>,
) -> Opening {
    let target = target.unwrap_or_default();
    let tool_site: &'static ToolSite = site.cache.tool.get_or_init(|| {
        let kind = if target.kind.is_empty() {
            agent::DEFAULT_TOOL_TYPE
        } else {
            target.kind
        };
        Box::new(ToolSite::new(kind, target.description))
    });
    if let Some(call_id) = target.call_id {
        attributes.push(KeyValue::new(agent::GEN_AI_TOOL_CALL_ID, call_id));
    }
    if let Some(conversation) = conversation_of(parent) {
        attributes.push(KeyValue::new(agent::GEN_AI_CONVERSATION_ID, conversation));
    }
    if starts_a_trace && !site.cache.warned_orphan.load(Ordering::Relaxed) {
        warn_orphan(site);
    }
    Opening {
        name: site_span_name(site, agent::EXECUTE_TOOL),
        span_kind: SpanKind::Internal,
        state: KindState::Tool(ToolState {
            site: tool_site,
            capture_output: false,
        }),
        context_value: None,
        opens_span: true,
    }
}

/// Whether a call under `parent` starts a trace of its own: no span above it, in this process
/// or in the one that started it.
pub(crate) fn starts_a_trace(parent: &Context, has_process_parent: bool) -> bool {
    !has_process_parent && !parent.span().span_context().is_valid()
}

/// The easy mistake made visible: a tool that starts a trace of its own was most likely run on a
/// task or thread that did not take the caller's context along. Once per tool.
#[cold]
#[inline(never)]
fn warn_orphan(site: &'static CallSite) {
    if site.cache.warned_orphan.swap(true, Ordering::Relaxed) {
        return;
    }
    tracing::warn!(
        target: "factory_observability",
        "tool {} started outside any trace: if an agent runs it on another task or thread, \
         carry the context along (factory_observability::task::spawn, \
         `.in_current_trace()` on the future, or task::in_current_trace(|| ...) for a thread \
         or rayon), or its span is a trace of its own",
        site.name
    );
}

/// The tool's result, its outcome in the metric, and the totals of the agents and run above it.
pub(crate) fn end(
    active: &Active,
    span: &mut CallSpan,
    state: &ToolState,
    result: Option<Value>,
    outcome: OutcomeKind,
    error_type: Option<Cow<'static, str>>,
    elapsed: Duration,
) {
    // The conventions record a result "if any and if execution was successful".
    if let Some(result) = result.filter(|_| outcome == OutcomeKind::Success && state.capture_output)
    {
        if span.is_recorded() {
            let text = active.dispatch.content.prepare_json(result);
            span.set_attribute(KeyValue::new(agent::GEN_AI_TOOL_CALL_RESULT, text));
        }
    }
    let agent = active.cx.get::<AgentScope>();
    record_duration(active, state.site, agent, outcome, error_type, elapsed);
    let failed = outcome.is_error();
    if let Some(agent) = agent {
        agent.add_tool_call(failed);
    }
    if let Some(run) = active.cx.get::<RunState>() {
        run.totals.add_tool_call(failed);
    }
}

/// `gen_ai.execute_tool.duration`, labelled with the operation, the tool's name and type, the
/// outcome, the enclosing agent's name and the error's type. Without an error type, through the
/// histogram bound to the site, agent and outcome (the labels built once, at binding): a lookup
/// of five labels costs ~2,000 instructions a call, a bound record a tenth of that.
fn record_duration(
    active: &Active,
    tool: &'static ToolSite,
    scope: Option<&AgentScope>,
    outcome: OutcomeKind,
    error_type: Option<Cow<'static, str>>,
    elapsed: Duration,
) {
    let histogram = &active.dispatch.instruments.execute_tool_duration;
    let seconds = elapsed.as_secs_f64();
    let labels = || {
        [
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, agent::EXECUTE_TOOL),
            KeyValue::new(agent::GEN_AI_TOOL_NAME, active.site.name),
            KeyValue::new(agent::GEN_AI_TOOL_TYPE, tool.kind),
            KeyValue::new(attr::OUTCOME, outcome.as_str()),
        ]
    };
    let agent_name = scope.map(AgentScope::name);
    match (error_type, agent_name) {
        (None, None) => super::record_duration(active, histogram, outcome, seconds, labels),
        (None, Some(name)) => super::record_duration_in(
            active,
            tool.durations_under(name),
            histogram,
            outcome,
            seconds,
            || {
                let [operation, tool_name, kind, outcome] = labels();
                let agent_name = KeyValue::new(agent::GEN_AI_AGENT_NAME, name);
                [operation, tool_name, kind, outcome, agent_name]
            },
        ),
        (Some(error_type), agent_name) => {
            let mut labels = Vec::from(labels());
            if let Some(name) = agent_name {
                labels.push(KeyValue::new(agent::GEN_AI_AGENT_NAME, name));
            }
            labels.push(KeyValue::new(
                attr::ERROR_TYPE,
                super::cow_value(error_type),
            ));
            histogram.record(seconds, &labels);
        }
    }
}

/// What `#[tool(capture_content)]` reads from the returned value: the value, or a `Result`'s
/// `Ok` value, as JSON, when the call captures content.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct ToolOutput(pub(crate) Option<Value>);

/// The returned value and whether the call captures it, for autoref specialisation: a `Result`
/// whose `Ok` type is `Serialize` ([`ViaResultSerialize`]), a `Serialize` value
/// ([`ViaSerialize`]), anything else ([`ViaNotSerialize`]: nothing recorded).
#[doc(hidden)]
pub struct ToolResultOf<'a, T: ?Sized>(pub &'a T, pub bool);

#[doc(hidden)]
pub trait ViaResultSerialize {
    fn __fo_tool_result(&self) -> ToolOutput;
}

impl<T: serde::Serialize, E> ViaResultSerialize for &&ToolResultOf<'_, Result<T, E>> {
    fn __fo_tool_result(&self) -> ToolOutput {
        match (self.1, self.0) {
            (true, Ok(value)) => ToolOutput(crate::content::to_json(value)),
            _ => ToolOutput(None),
        }
    }
}

#[doc(hidden)]
pub trait ViaSerialize {
    fn __fo_tool_result(&self) -> ToolOutput;
}

impl<T: serde::Serialize + ?Sized> ViaSerialize for &ToolResultOf<'_, T> {
    fn __fo_tool_result(&self) -> ToolOutput {
        ToolOutput(self.1.then(|| crate::content::to_json(self.0)).flatten())
    }
}

#[doc(hidden)]
pub trait ViaNotSerialize {
    fn __fo_tool_result(&self) -> ToolOutput;
}

impl<T: ?Sized> ViaNotSerialize for ToolResultOf<'_, T> {
    fn __fo_tool_result(&self) -> ToolOutput {
        ToolOutput(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Report {
        passed: u32,
    }
    struct Opaque;

    // As the expansion writes it, whatever the type: the references are the specialisation.
    #[allow(clippy::needless_borrow)]
    #[test]
    fn the_result_is_read_by_its_type_and_only_when_captured() {
        #[allow(unused_imports)]
        use super::{ViaNotSerialize as _, ViaResultSerialize as _, ViaSerialize as _};
        let ok: Result<Report, String> = Ok(Report { passed: 3 });
        let err: Result<Report, String> = Err("no".into());
        assert_eq!(
            (&&&ToolResultOf(&ok, true)).__fo_tool_result().0,
            Some(serde_json::json!({"passed": 3}))
        );
        assert_eq!((&&&ToolResultOf(&err, true)).__fo_tool_result().0, None);
        assert_eq!((&&&ToolResultOf(&ok, false)).__fo_tool_result().0, None);
        assert_eq!(
            (&&&ToolResultOf(&"text", true)).__fo_tool_result().0,
            Some(serde_json::json!("text"))
        );
        assert_eq!((&&&ToolResultOf(&Opaque, true)).__fo_tool_result().0, None);
        let opaque: Result<Opaque, String> = Ok(Opaque);
        assert_eq!((&&&ToolResultOf(&opaque, true)).__fo_tool_result().0, None);
    }
}

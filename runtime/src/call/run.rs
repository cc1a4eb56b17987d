//! `#[pipeline_run]`: the run's id and timestamp at the start; its outcome, duration, LLM and
//! tool totals and run metrics at the end.

use super::span::CallSpan;
use super::totals::Totals;
use super::{saturating_i64, Active, ContextValue, KindState, Opening};
use crate::names::{agent, attr};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::SpanKind;
use opentelemetry::{KeyValue, StringValue};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What every call of a run reaches through the context: the run's id and its running totals.
#[derive(Clone, Debug)]
pub(crate) struct RunState {
    pub run_id: StringValue,
    pub totals: Arc<Totals>,
}

/// `pipeline.name` is derived from the call site when the span is exported.
pub(crate) fn open(run_id: Option<StringValue>, attributes: &mut Vec<KeyValue>) -> Opening {
    let run_id = run_id.unwrap_or_else(|| StringValue::from(uuid::Uuid::now_v7().to_string()));
    attributes.push(KeyValue::new(attr::RUN_ID, run_id.clone()));
    attributes.push(KeyValue::new(
        attr::RUN_TIMESTAMP,
        humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
    ));
    Opening {
        name: Cow::Borrowed(crate::names::span::PIPELINE_RUN),
        span_kind: SpanKind::Internal,
        state: KindState::Run,
        context_value: Some(ContextValue::Run(RunState {
            run_id,
            totals: Arc::default(),
        })),
        opens_span: true,
    }
}

pub(crate) fn end(active: &Active, span: &mut CallSpan, outcome: OutcomeKind, elapsed: Duration) {
    if let Some(run) = active.cx.get::<RunState>() {
        let totals = run.totals.read();
        let count = |n: u64| saturating_i64(n);
        span.set_attribute(KeyValue::new(attr::RUN_LLM_CALLS, count(totals.llm_calls)));
        span.set_attribute(KeyValue::new(
            attr::RUN_TOKENS_INPUT,
            count(totals.input_tokens),
        ));
        span.set_attribute(KeyValue::new(
            attr::RUN_TOKENS_OUTPUT,
            count(totals.output_tokens),
        ));
        span.set_attribute(KeyValue::new(attr::RUN_COST_USD, totals.cost_usd));
        if totals.unpriced_calls > 0 {
            span.set_attribute(KeyValue::new(
                attr::RUN_LLM_UNPRICED_CALLS,
                count(totals.unpriced_calls),
            ));
        }
        // A run without tools says nothing of them.
        if totals.tool_calls > 0 {
            span.set_attribute(KeyValue::new(
                agent::RUN_TOOL_CALLS,
                count(totals.tool_calls),
            ));
            span.set_attribute(KeyValue::new(
                agent::RUN_TOOL_FAILURES,
                count(totals.tool_failures),
            ));
        }
    }
    let labels = [
        KeyValue::new(attr::PIPELINE_NAME, active.site.name),
        KeyValue::new(attr::OUTCOME, outcome.as_str()),
    ];
    let instruments = &active.dispatch.instruments;
    instruments.runs_total.add(1, &labels);
    super::record_duration(
        active,
        &instruments.run_duration,
        outcome,
        elapsed.as_secs_f64(),
        || labels,
    );
}

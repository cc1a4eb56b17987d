//! `#[pipeline_run]`: the run's id and timestamp at the start; its outcome, duration, LLM totals
//! and run metrics at the end.

use super::span::CallSpan;
use super::{saturating_i64, Active, ContextValue, KindState, Opening};
use crate::names::attr;
use crate::outcome::OutcomeKind;
use opentelemetry::trace::SpanKind;
use opentelemetry::{KeyValue, StringValue};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What every call of a run reaches through the context: the run's id and its running totals.
#[derive(Clone, Debug)]
pub(crate) struct RunState {
    pub run_id: StringValue,
    pub totals: Arc<RunTotals>,
}

/// LLM totals of one run, added to from every thread and task of the run.
#[derive(Debug, Default)]
pub(crate) struct RunTotals {
    calls: AtomicU64,
    unpriced_calls: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    /// Cost in billionths of a dollar, so that it can be added atomically.
    cost_nano_usd: AtomicU64,
}

impl RunTotals {
    /// Adds one call: its tokens (none when it reported no usage and had no prompt to estimate
    /// from), and its cost, `None` when tokens were counted but could not be priced.
    pub fn add_llm_call(&self, tokens: Option<(u64, u64)>, cost_usd: Option<f64>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let Some((input_tokens, output_tokens)) = tokens else {
            return;
        };
        self.input_tokens.fetch_add(input_tokens, Ordering::Relaxed);
        self.output_tokens
            .fetch_add(output_tokens, Ordering::Relaxed);
        match cost_usd {
            Some(usd) => {
                self.cost_nano_usd
                    .fetch_add((usd * 1e9).round() as u64, Ordering::Relaxed);
            }
            None => {
                self.unpriced_calls.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
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
        let totals = &run.totals;
        let count = |counter: &AtomicU64| saturating_i64(counter.load(Ordering::Relaxed));
        span.set_attribute(KeyValue::new(attr::RUN_LLM_CALLS, count(&totals.calls)));
        span.set_attribute(KeyValue::new(
            attr::RUN_TOKENS_INPUT,
            count(&totals.input_tokens),
        ));
        span.set_attribute(KeyValue::new(
            attr::RUN_TOKENS_OUTPUT,
            count(&totals.output_tokens),
        ));
        span.set_attribute(KeyValue::new(
            attr::RUN_COST_USD,
            totals.cost_nano_usd.load(Ordering::Relaxed) as f64 / 1e9,
        ));
        let unpriced = count(&totals.unpriced_calls);
        if unpriced > 0 {
            span.set_attribute(KeyValue::new(attr::RUN_LLM_UNPRICED_CALLS, unpriced));
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

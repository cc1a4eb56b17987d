//! `#[pipeline_run]`: the run's id and timestamp at the start; its outcome, duration, LLM and
//! tool totals and run metrics at the end.

use super::span::CallSpan;
use super::totals::Totals;
use super::{saturating_i64, Active, ContextValue, KindState, Opening};
use crate::call_site::CallSite;
use crate::dispatch::DispatchRef;
use crate::names::{agent, attr, cicd, provenance};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::SpanKind;
use opentelemetry::{KeyValue, StringValue};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// What every call of a run reaches through the context: the run's id and its running totals.
#[derive(Clone, Debug)]
pub(crate) struct RunState {
    pub run_id: StringValue,
    pub totals: Arc<Totals>,
    /// The run's pipeline (`pipeline.name`).
    pub pipeline: &'static str,
    /// What the run produced, for the provenance it gives what it deploys.
    pub produced: Arc<Mutex<Produced>>,
}

/// What a run's calls say of what it produced: the last adjudication's winner and the models
/// called, unless a stage marked them itself (`crate::provenance::mark_produced`).
#[derive(Debug, Default, Clone)]
pub struct Produced {
    /// The winning candidate.
    pub candidate: Option<String>,
    /// The models that wrote it.
    pub models: std::collections::BTreeSet<String>,
    /// Whether a stage marked candidate and models itself (then calls no longer change them).
    pub marked: bool,
}

impl RunState {
    /// The run's produced record, whatever a panic elsewhere left in it.
    pub fn produced(&self) -> std::sync::MutexGuard<'_, Produced> {
        self.produced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `pipeline.name` is derived from the call site when the span is exported.
pub(crate) fn open(
    dispatch: &DispatchRef,
    site: &CallSite,
    run_id: Option<StringValue>,
    attributes: &mut Vec<KeyValue>,
) -> Opening {
    if crate::config::vcs::process_origin().semconv.cicd {
        dispatch
            .instruments
            .cicd
            .run_active
            .add(1, &cicd_labels(site.name));
    }
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
            pipeline: site.name,
            produced: Arc::default(),
        })),
        opens_span: true,
    }
}

/// `cicd.pipeline.run.active`'s labels: the run executes its stages from start to end.
fn cicd_labels(pipeline: &'static str) -> [KeyValue; 2] {
    [
        KeyValue::new(cicd::CICD_PIPELINE_NAME, pipeline),
        KeyValue::new(cicd::CICD_PIPELINE_RUN_STATE, cicd::RUN_STATE_EXECUTING),
    ]
}

pub(crate) fn end(
    active: &Active,
    span: &mut CallSpan,
    outcome: OutcomeKind,
    elapsed: Duration,
    error_type: Option<Cow<'static, str>>,
) {
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
        // What the run produced, as the provenance it gives what it deploys names it: the
        // join from a product's `factory.run.id` back to its candidate and models.
        if span.is_recorded() {
            let produced = run.produced();
            if let Some(candidate) = &produced.candidate {
                span.set_attribute(KeyValue::new(
                    provenance::FACTORY_CANDIDATE,
                    candidate.clone(),
                ));
            }
            if !produced.models.is_empty() {
                let models: Vec<&str> = produced.models.iter().map(String::as_str).collect();
                span.set_attribute(KeyValue::new(provenance::FACTORY_MODELS, models.join(",")));
            }
        }
    }
    let semconv = crate::config::vcs::process_origin().semconv;
    let instruments = &active.dispatch.instruments;
    if semconv.seed {
        let labels = [
            KeyValue::new(attr::PIPELINE_NAME, active.site.name),
            KeyValue::new(attr::OUTCOME, outcome.as_str()),
        ];
        instruments.runs_total.add(1, &labels);
        super::record_duration(
            active,
            &instruments.run_duration,
            outcome,
            elapsed.as_secs_f64(),
            || labels,
        );
    }
    if semconv.cicd {
        record_cicd(
            active.site.name,
            &instruments.cicd,
            outcome,
            elapsed,
            error_type,
        );
    }
}

/// `cicd.pipeline.run.*` ("CICD Metrics"): the run leaves the `executing` state; its duration
/// with its result, and `error.type` "if and only if the pipeline run failed"; one error counted
/// when it did.
fn record_cicd(
    pipeline: &'static str,
    instruments: &crate::dispatch::CicdInstruments,
    outcome: OutcomeKind,
    elapsed: Duration,
    error_type: Option<Cow<'static, str>>,
) {
    let [name, state] = cicd_labels(pipeline);
    instruments
        .run_active
        .add(-1, &[name.clone(), state.clone()]);
    let result = KeyValue::new(cicd::CICD_PIPELINE_RESULT, outcome.as_str());
    if !matches!(
        outcome,
        OutcomeKind::Failure | OutcomeKind::Error | OutcomeKind::Timeout
    ) {
        instruments
            .run_duration
            .record(elapsed.as_secs_f64(), &[name, state, result]);
        return;
    }
    let error_type = KeyValue::new(
        attr::ERROR_TYPE,
        error_type.unwrap_or(Cow::Borrowed(crate::names::health::ERROR_OTHER)),
    );
    instruments.run_duration.record(
        elapsed.as_secs_f64(),
        &[name.clone(), state, result, error_type.clone()],
    );
    instruments.run_errors.add(1, &[name, error_type]);
}

//! The human summary printed at shutdown: each run with its stages (duration, outcome, attempt,
//! error) and its LLM usage and cost per model.

use crate::names::{attr, span as span_name};
use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// At most this many spans are kept for the summary; later ones are counted, not kept.
const MAX_RECORDS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Run,
    Stage,
    Llm,
    Adjudicate,
}

#[derive(Clone, Debug)]
struct Record {
    kind: Kind,
    /// Pipeline or stage name, or `provider/model`.
    name: String,
    run_id: String,
    outcome: String,
    attempt: i64,
    start: SystemTime,
    duration: Duration,
    error: Option<String>,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: Option<f64>,
}

/// A span exporter wrapper that shows every exported batch to the summary, on the export thread.
#[derive(Debug)]
pub(crate) struct SummaryFeed<E> {
    pub inner: E,
    pub summary: Arc<Summary>,
}

impl<E: SpanExporter> SpanExporter for SummaryFeed<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        for span in &batch {
            self.summary.observe(span);
        }
        self.inner.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Keeps the run, stage and LLM spans that were exported, for the summary.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    records: Mutex<(Vec<Record>, usize)>,
}

fn find<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

impl Summary {
    /// Called for every exported span; returns at once for spans of no interest.
    pub fn observe(&self, span: &SpanData) {
        let kind = if span.name == span_name::PIPELINE_RUN {
            Kind::Run
        } else if span.name == span_name::PIPELINE_STAGE {
            Kind::Stage
        } else if span.name == span_name::PIPELINE_ADJUDICATE {
            Kind::Adjudicate
        } else if find(span, attr::LLM_PROVIDER).is_some() {
            Kind::Llm
        } else {
            return;
        };
        let text = |key: &str| find(span, key).map(Value::to_string).unwrap_or_default();
        let int = |key: &str| match find(span, key) {
            Some(Value::I64(n)) => *n,
            _ => 0,
        };
        let (name, outcome) = match kind {
            Kind::Run => (text(attr::PIPELINE_NAME), text(attr::RUN_OUTCOME)),
            Kind::Stage => (text(attr::STAGE_NAME), text(attr::STAGE_OUTCOME)),
            Kind::Llm => (
                format!("{}/{}", text(attr::LLM_PROVIDER), text(attr::LLM_MODEL)),
                String::new(),
            ),
            // For an adjudication, the outcome column holds the selected candidate.
            Kind::Adjudicate => (
                text(attr::ADJUDICATION_NAME),
                text(attr::ADJUDICATION_SELECTED),
            ),
        };
        let (input_tokens, output_tokens) = match kind {
            Kind::Run => (int(attr::RUN_TOKENS_INPUT), int(attr::RUN_TOKENS_OUTPUT)),
            Kind::Adjudicate => (int(attr::ADJUDICATION_CANDIDATES), 0),
            _ => (
                int(attr::LLM_PROMPT_TOKENS),
                int(attr::LLM_COMPLETION_TOKENS),
            ),
        };
        let cost_key = match kind {
            Kind::Run => attr::RUN_COST_USD,
            Kind::Adjudicate => attr::ADJUDICATION_MARGIN,
            _ => attr::LLM_COST_USD,
        };
        let record = Record {
            kind,
            name,
            run_id: text(attr::RUN_ID),
            outcome,
            attempt: int(attr::STAGE_ATTEMPT).max(1),
            start: span.start_time,
            duration: span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or_default(),
            error: match &span.status {
                Status::Error { description } if !description.is_empty() => {
                    Some(description.to_string())
                }
                _ => None,
            },
            input_tokens,
            output_tokens,
            cost_usd: match find(span, cost_key) {
                Some(Value::F64(usd)) => Some(*usd),
                _ => None,
            },
        };
        // A panic elsewhere while the lock was held leaves the records whole: keep using them.
        {
            let mut guard = self.records.lock().unwrap_or_else(PoisonError::into_inner);
            let (records, overflow) = &mut *guard;
            // A run ends after its stages: keep it whatever the cap, or its kept stages would
            // never be shown.
            if records.len() < MAX_RECORDS || kind == Kind::Run {
                records.push(record);
            } else {
                *overflow += 1;
            }
        }
    }

    /// The summary text: one block per run, stages in start order, then LLM usage per model.
    pub fn render(&self) -> String {
        let guard = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let (records, overflow) = &*guard;
        let mut runs: Vec<&Record> = records.iter().filter(|r| r.kind == Kind::Run).collect();
        runs.sort_by_key(|r| r.start);
        let mut out = String::new();
        for run in runs {
            let _ = writeln!(
                out,
                "run {} {}: {} in {}",
                run.run_id,
                run.name,
                run.outcome,
                format_duration(run.duration)
            );
            let of_run = |kind: Kind| {
                let mut found: Vec<&Record> = records
                    .iter()
                    .filter(|r| r.kind == kind && r.run_id == run.run_id)
                    .collect();
                found.sort_by_key(|r| r.start);
                found
            };
            let stages = of_run(Kind::Stage);
            let width = stages.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for stage in stages {
                let mut line = format!(
                    "  {:width$}  {:8} {:>8}",
                    stage.name,
                    stage.outcome,
                    format_duration(stage.duration)
                );
                if stage.attempt > 1 {
                    let _ = write!(line, "  attempt {}", stage.attempt);
                }
                if let Some(error) = &stage.error {
                    let _ = write!(line, "  {error}");
                }
                let _ = writeln!(out, "{}", line.trim_end());
            }
            for decision in of_run(Kind::Adjudicate) {
                let mut line = format!(
                    "  adjudicate {}: {} selected among {} candidates",
                    decision.name, decision.outcome, decision.input_tokens
                );
                if let Some(margin) = decision.cost_usd {
                    let _ = write!(line, ", margin {margin:.4}");
                }
                if let Some(error) = &decision.error {
                    let _ = write!(line, "  {error}");
                }
                let _ = writeln!(out, "{line}");
            }
            let calls = of_run(Kind::Llm);
            if !calls.is_empty() {
                let _ = writeln!(
                    out,
                    "  LLM: {} calls, {} input + {} output tokens, {}",
                    calls.len(),
                    run.input_tokens,
                    run.output_tokens,
                    format_cost(run.cost_usd, calls.iter().any(|c| c.cost_usd.is_none()))
                );
                let mut per_model: BTreeMap<&str, (usize, i64, i64, Option<f64>, bool)> =
                    BTreeMap::new();
                for call in &calls {
                    let entry = per_model.entry(&call.name).or_default();
                    entry.0 += 1;
                    entry.1 += call.input_tokens;
                    entry.2 += call.output_tokens;
                    if let Some(usd) = call.cost_usd {
                        entry.3 = Some(entry.3.unwrap_or(0.0) + usd);
                    } else {
                        entry.4 = true;
                    }
                }
                let width = per_model.keys().map(|k| k.len()).max().unwrap_or(0);
                for (model, (count, input, output, cost, unpriced)) in per_model {
                    let _ = writeln!(
                        out,
                        "    {model:width$}  {count} {}  {input:>7} in  {output:>7} out  {}",
                        if count == 1 { "call" } else { "calls" },
                        format_cost(cost, unpriced)
                    );
                }
            }
        }
        if *overflow > 0 {
            let _ = writeln!(out, "({overflow} more spans not summarised)");
        }
        out
    }
}

fn format_cost(cost: Option<f64>, unpriced: bool) -> String {
    match (cost, unpriced) {
        (Some(usd), false) => format!("${usd:.4}"),
        (Some(usd), true) => format!("${usd:.4} + unpriced calls"),
        (None, _) => "cost unknown (unpriced model)".to_owned(),
    }
}

fn format_duration(duration: Duration) -> String {
    if duration >= Duration::from_secs(1) {
        format!("{:.2} s", duration.as_secs_f64())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::UNIX_EPOCH;

    fn span(name: &'static str, attributes: Vec<KeyValue>, start_ms: u64) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(start_ms + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.into(),
            start_time: UNIX_EPOCH + Duration::from_millis(start_ms),
            end_time: UNIX_EPOCH + Duration::from_millis(start_ms + 2),
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Ok,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    /// Regression (issue 10): a panic while the lock was held poisoned it, and every later span
    /// was silently left out of the summary (and the summary was empty).
    #[test]
    fn a_poisoned_lock_loses_nothing() {
        let summary = std::sync::Arc::new(Summary::default());
        let poisoner = std::sync::Arc::clone(&summary);
        let poisoned = std::thread::spawn(move || {
            let _guard = poisoner.records.lock().unwrap();
            panic!("a panic while the summary's lock is held");
        })
        .join();
        assert!(poisoned.is_err());
        assert!(summary.records.is_poisoned());
        summary.observe(&span(
            span_name::PIPELINE_RUN,
            vec![
                KeyValue::new(attr::PIPELINE_NAME, "after"),
                KeyValue::new(attr::RUN_ID, "run-2"),
                KeyValue::new(attr::RUN_OUTCOME, "success"),
            ],
            0,
        ));
        assert_eq!(
            summary.render(),
            "run run-2 after: success in 2 ms
"
        );
    }

    /// Regression: past the cap, the run (which ends after its stages) used to be the record
    /// dropped, and with it every stage kept.
    #[test]
    fn a_run_past_the_cap_is_still_summarised() {
        let summary = Summary::default();
        for n in 0..=MAX_RECORDS as u64 {
            summary.observe(&span(
                span_name::PIPELINE_STAGE,
                vec![
                    KeyValue::new(attr::STAGE_NAME, "lint"),
                    KeyValue::new(attr::STAGE_OUTCOME, "success"),
                    KeyValue::new(attr::RUN_ID, "run-1"),
                ],
                n,
            ));
        }
        summary.observe(&span(
            span_name::PIPELINE_RUN,
            vec![
                KeyValue::new(attr::PIPELINE_NAME, "big"),
                KeyValue::new(attr::RUN_ID, "run-1"),
                KeyValue::new(attr::RUN_OUTCOME, "success"),
            ],
            0,
        ));
        let text = summary.render();
        assert!(
            text.starts_with("run run-1 big: success in 2 ms\n"),
            "{}",
            &text[..80]
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("  lint")).count(),
            MAX_RECORDS
        );
        assert!(text.ends_with("(1 more spans not summarised)\n"));
    }
}

//! The human summary printed at shutdown: each run with its stages (duration, outcome, attempt,
//! error) and its LLM usage and cost per model.
//!
//! Exported spans feed the same [`crate::model`] the `factory-obs` tool builds from files.

use crate::model::{
    escape_for_terminal as esc, Attributes, Event, ModelBuilder, Role, Span, SpanKind, StatusCode,
    Value,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// At most this many spans are kept for the summary; later ones are counted, not kept.
const MAX_RECORDS: usize = 10_000;

/// Stage and model names are padded to the longest, up to this many bytes (a longer one is
/// written whole, unpadded: a format width must stay below 65,536).
const MAX_NAME_WIDTH: usize = 64;

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

/// The spans kept so far, how many, and how many were past the cap.
#[derive(Default)]
struct Kept {
    model: ModelBuilder,
    count: usize,
    overflow: usize,
}

/// Keeps the run, stage, adjudication and LLM spans that were exported, for the summary.
#[derive(Default)]
pub(crate) struct Summary {
    kept: Mutex<Kept>,
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summary").finish_non_exhaustive()
    }
}

impl Summary {
    /// Called for every exported span; returns at once for spans of no interest.
    pub fn observe(&self, span: &SpanData) {
        let kind = match span.span_kind {
            opentelemetry::trace::SpanKind::Server => SpanKind::Server,
            _ => SpanKind::Internal,
        };
        let role = Role::classify(&span.name, kind, |key| {
            span.attributes.iter().any(|kv| kv.key.as_str() == key)
        });
        if matches!(role, Role::Other | Role::Request) {
            return;
        }
        // A panic elsewhere while the lock was held leaves what was kept whole: keep using it.
        {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            // A run ends after its stages: keep it whatever the cap, or its kept stages would
            // never be shown.
            if kept.count < MAX_RECORDS || role == Role::Run {
                kept.count += 1;
                kept.model.observe(&span_from_sdk(span));
            } else {
                kept.overflow += 1;
            }
        }
    }

    /// The summary text: one block per run, stages in start order, then LLM usage per model.
    pub fn render(&self) -> String {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let model = kept.model.clone().finish();
        let mut out = String::new();
        for run in &model.runs {
            let _ = writeln!(
                out,
                "run {} {}: {} in {}",
                esc(&run.run_id),
                esc(&run.pipeline),
                esc(&run.outcome),
                format_duration(Duration::from_nanos(run.duration_nanos))
            );
            let width = run.stages.iter().map(|s| esc(&s.name).len()).max();
            let width = width.unwrap_or(0).min(MAX_NAME_WIDTH);
            for stage in &run.stages {
                let mut line = format!(
                    "  {:width$}  {:8} {:>8}",
                    esc(&stage.name),
                    esc(&stage.outcome),
                    format_duration(Duration::from_nanos(stage.duration_nanos))
                );
                if stage.attempt > 1 {
                    let _ = write!(line, "  attempt {}", stage.attempt);
                }
                if let Some(error) = &stage.error {
                    let _ = write!(line, "  {}", esc(error));
                }
                let _ = writeln!(out, "{}", line.trim_end());
            }
            for decision in &run.adjudications {
                let mut line = format!(
                    "  adjudicate {}: {} selected among {} candidates",
                    esc(&decision.name),
                    esc(&decision.selected),
                    decision.candidates
                );
                if let Some(margin) = decision.margin {
                    let _ = write!(line, ", margin {margin:.4}");
                }
                if let Some(error) = &decision.error {
                    let _ = write!(line, "  {}", esc(error));
                }
                let _ = writeln!(out, "{line}");
            }
            let calls = &run.calls;
            if !calls.is_empty() {
                let _ = writeln!(
                    out,
                    "  LLM: {} calls, {} input + {} output tokens, {}",
                    calls.len(),
                    run.input_tokens,
                    run.output_tokens,
                    format_cost(run.cost_usd, calls.iter().any(|c| c.cost_usd.is_none()))
                );
                let mut per_model: BTreeMap<String, (usize, i64, i64, Option<f64>, bool)> =
                    BTreeMap::new();
                for call in calls {
                    let key = esc(&call.provider_model()).into_owned();
                    let entry = per_model.entry(key).or_default();
                    entry.0 += 1;
                    entry.1 += call.input_tokens;
                    entry.2 += call.output_tokens;
                    if let Some(usd) = call.cost_usd {
                        entry.3 = Some(entry.3.unwrap_or(0.0) + usd);
                    } else {
                        entry.4 = true;
                    }
                }
                let width = per_model.keys().map(|k| k.len()).max();
                let width = width.unwrap_or(0).min(MAX_NAME_WIDTH);
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
        if kept.overflow > 0 {
            let _ = writeln!(out, "({} more spans not summarised)", kept.overflow);
        }
        out
    }
}

/// A span of an SDK export batch as the model's [`Span`]: the summary sees spans before any
/// file does.
fn span_from_sdk(span: &SpanData) -> Span {
    use opentelemetry::trace::{SpanKind as Kind, Status};
    let nanos = |time: std::time::SystemTime| {
        time.duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    };
    let convert = |list: &[opentelemetry::KeyValue]| -> Attributes {
        list.iter()
            .map(|kv| (kv.key.to_string(), value_from_sdk(&kv.value)))
            .collect()
    };
    let parent = span.parent_span_id;
    let (status_code, status_message) = match &span.status {
        Status::Unset => (StatusCode::Unset, String::new()),
        Status::Ok => (StatusCode::Ok, String::new()),
        Status::Error { description } => (StatusCode::Error, description.to_string()),
    };
    // OTLP's span flags: the W3C trace flags, "has remote parent" known (0x100), and remote (0x200).
    let mut flags = u32::from(span.span_context.trace_flags().to_u8()) | 0x100;
    if span.parent_span_is_remote {
        flags |= 0x200;
    }
    Span {
        trace_id: span.span_context.trace_id().to_bytes(),
        span_id: span.span_context.span_id().to_bytes(),
        parent_span_id: (parent != opentelemetry::trace::SpanId::INVALID)
            .then(|| parent.to_bytes()),
        flags,
        name: span.name.to_string(),
        kind: match span.span_kind {
            Kind::Internal => SpanKind::Internal,
            Kind::Server => SpanKind::Server,
            Kind::Client => SpanKind::Client,
            Kind::Producer => SpanKind::Producer,
            Kind::Consumer => SpanKind::Consumer,
        },
        start_unix_nano: nanos(span.start_time),
        end_unix_nano: nanos(span.end_time),
        attributes: convert(&span.attributes),
        events: span
            .events
            .iter()
            .map(|event| Event {
                name: event.name.to_string(),
                time_unix_nano: nanos(event.timestamp),
                attributes: convert(&event.attributes),
            })
            .collect(),
        status_code,
        status_message,
        scope: span.instrumentation_scope.name().to_owned(),
        service: String::new(),
        resource: Vec::new(),
    }
}

fn value_from_sdk(value: &opentelemetry::Value) -> Value {
    match value {
        opentelemetry::Value::String(text) => Value::Str(text.to_string()),
        opentelemetry::Value::I64(n) => Value::Int(*n),
        opentelemetry::Value::F64(d) => Value::Double(*d),
        opentelemetry::Value::Bool(b) => Value::Bool(*b),
        other => Value::Other(other.to_string()),
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
    use crate::names::{attr, span as span_name};
    use opentelemetry::trace::Status;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::{Duration, UNIX_EPOCH};

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
            let _guard = poisoner.kept.lock().unwrap();
            panic!("a panic while the summary's lock is held");
        })
        .join();
        assert!(poisoned.is_err());
        assert!(summary.kept.is_poisoned());
        summary.observe(&span(
            span_name::PIPELINE_RUN,
            vec![
                KeyValue::new(attr::PIPELINE_NAME, "after"),
                KeyValue::new(attr::RUN_ID, "run-2"),
                KeyValue::new(attr::RUN_OUTCOME, "success"),
            ],
            0,
        ));
        assert!(
            summary
                .render()
                .starts_with("run run-2 after: success in 2 ms"),
            "{}",
            summary.render()
        );
    }

    /// Issue 24: control characters in names and error messages (ESC, CR, LF, BEL) reached the
    /// terminal raw, so a hostile message could recolour or forge a line of the summary.
    #[test]
    fn control_characters_are_escaped_in_the_summary() {
        let summary = Summary::default();
        let mut stage = span(
            span_name::PIPELINE_STAGE,
            vec![
                KeyValue::new(attr::STAGE_NAME, "lint\u{1b}[2K"),
                KeyValue::new(attr::STAGE_OUTCOME, "failure"),
                KeyValue::new(attr::RUN_ID, "run-1"),
            ],
            0,
        );
        stage.status = Status::error("boom\r\ntraces 99/99 delivered\u{7}");
        summary.observe(&stage);
        summary.observe(&span(
            span_name::PIPELINE_RUN,
            vec![
                KeyValue::new(attr::PIPELINE_NAME, "p\u{202e}"),
                KeyValue::new(attr::RUN_ID, "run-1"),
                KeyValue::new(attr::RUN_OUTCOME, "failure"),
            ],
            0,
        ));
        assert_eq!(
            summary.render(),
            "run run-1 p\\u{202e}: failure in 2 ms\n  \
             lint\\u{1b}[2K  failure      2 ms  boom\\r\\ntraces 99/99 delivered\\u{7}\n"
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

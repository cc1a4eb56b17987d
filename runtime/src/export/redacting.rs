//! The opt-in redaction of everything else (`FACTORY_OBS_REDACT_ATTRIBUTES=true`,
//! `TelemetryBuilder::redact_attributes`): every string attribute of every span, span event
//! and log record, spans' status descriptions, log bodies, and the `tracing` events printed on
//! stderr. It runs on the export threads (spans) and in the log processor chain, never in the
//! instrumented calls: what the calls record themselves (captured content, error messages) is
//! redacted already, and `fields(...)` and `tracing` are the program's own data, scanned only
//! when asked.

use crate::content::Redaction;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::Status;
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::borrow::Cow;
use std::io::Write;
use std::time::Duration;

/// `value` redacted in place (strings, and arrays of strings); whether it changed.
fn redact_value(redaction: &Redaction, value: &mut Value) -> bool {
    let redacted = |text: &StringValue| match redaction.redact(text.as_str()) {
        Cow::Borrowed(_) => None,
        Cow::Owned(text) => Some(StringValue::from(text)),
    };
    match value {
        Value::String(text) => match redacted(text) {
            Some(new) => {
                *text = new;
                true
            }
            None => false,
        },
        Value::Array(Array::String(texts)) => {
            let mut changed = false;
            for text in texts {
                if let Some(new) = redacted(text) {
                    *text = new;
                    changed = true;
                }
            }
            changed
        }
        _ => false,
    }
}

fn redact_attributes(redaction: &Redaction, attributes: &mut [KeyValue]) {
    for attribute in attributes {
        redact_value(redaction, &mut attribute.value);
    }
}

fn redact_cow(redaction: &Redaction, text: &mut Cow<'static, str>) {
    if let Cow::Owned(redacted) = redaction.redact(text) {
        *text = Cow::Owned(redacted);
    }
}

/// Every string a span carries: its name, attributes, events, links and status description.
pub(crate) fn redact_span(redaction: &Redaction, span: &mut SpanData) {
    redact_cow(redaction, &mut span.name);
    redact_attributes(redaction, &mut span.attributes);
    for event in &mut span.events.events {
        redact_cow(redaction, &mut event.name);
        redact_attributes(redaction, &mut event.attributes);
    }
    for link in &mut span.links.links {
        redact_attributes(redaction, &mut link.attributes);
    }
    if let Status::Error { description } = &mut span.status {
        redact_cow(redaction, description);
    }
}

/// A span exporter that redacts every span of a batch before its inner exporter sees it.
#[derive(Debug)]
pub(crate) struct RedactingSpans<E> {
    pub inner: E,
    pub redaction: Redaction,
}

impl<E: SpanExporter> SpanExporter for RedactingSpans<E> {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        for span in &mut batch {
            redact_span(&self.redaction, span);
        }
        self.inner.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A log processor that hands its inner processor redacted records.
///
/// The SDK lets a processor change a record's body but not remove or replace its attributes:
/// a record with an attribute to redact is copied into a fresh one (made by a logger of a
/// provider of its own, which exports nothing), with every field and the redacted values.
#[derive(Debug)]
pub(crate) struct RedactingLogs<P> {
    inner: P,
    redaction: Redaction,
    /// Where fresh records come from; its provider is kept alive with it.
    records: SdkLogger,
    _records_provider: SdkLoggerProvider,
}

impl<P> RedactingLogs<P> {
    pub(crate) fn new(inner: P, redaction: Redaction) -> Self {
        let provider = SdkLoggerProvider::builder().build();
        RedactingLogs {
            inner,
            redaction,
            records: provider.logger("factory-observability-redaction"),
            _records_provider: provider,
        }
    }
}

/// `value` redacted, if it holds a string that changes.
fn redacted_any(redaction: &Redaction, value: &AnyValue) -> Option<AnyValue> {
    match value {
        AnyValue::String(text) => match redaction.redact(text.as_str()) {
            Cow::Borrowed(_) => None,
            Cow::Owned(text) => Some(AnyValue::from(text)),
        },
        _ => None,
    }
}

impl<P: LogProcessor> LogProcessor for RedactingLogs<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if let Some(body) = record
            .body()
            .and_then(|body| redacted_any(&self.redaction, body))
        {
            record.set_body(body);
        }
        let attributes: Vec<Option<AnyValue>> = record
            .attributes_iter()
            .map(|(_, value)| redacted_any(&self.redaction, value))
            .collect();
        if attributes.iter().all(Option::is_none) {
            self.inner.emit(record, scope);
            return;
        }
        let mut fresh = self.records.create_log_record();
        if let Some(name) = record.event_name() {
            fresh.set_event_name(name);
        }
        if let Some(target) = record.target() {
            fresh.set_target(target.clone());
        }
        if let Some(timestamp) = record.timestamp() {
            fresh.set_timestamp(timestamp);
        }
        if let Some(observed) = record.observed_timestamp() {
            fresh.set_observed_timestamp(observed);
        }
        if let Some(text) = record.severity_text() {
            fresh.set_severity_text(text);
        }
        if let Some(number) = record.severity_number() {
            fresh.set_severity_number(number);
        }
        if let Some(body) = record.body() {
            fresh.set_body(body.clone());
        }
        if let Some(context) = record.trace_context() {
            fresh.set_trace_context(context.trace_id, context.span_id, context.trace_flags);
        }
        for ((key, value), redacted) in record.attributes_iter().zip(attributes) {
            fresh.add_attribute(key.clone(), redacted.unwrap_or_else(|| value.clone()));
        }
        self.inner.emit(&mut fresh, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// stderr for the `tracing` fmt layer, each event redacted before it is written (the layer
/// formats an event whole, then writes it through one writer).
#[derive(Clone, Debug)]
pub(crate) struct RedactingStderr(pub Redaction);

/// One event's text, written to stderr redacted when dropped.
pub(crate) struct RedactingLine {
    redaction: Redaction,
    text: Vec<u8>,
}

impl Write for RedactingLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        let _ = std::io::stderr().write_all(self.redaction.printable(&text).as_bytes());
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> RedactingLine {
        RedactingLine {
            redaction: self.0.clone(),
            text: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::sync::{Arc, Mutex};
    use std::time::UNIX_EPOCH;

    const KEY: &str = "glpat-Zx9Yw8Vu7Ts6Rq5Po4Nm";

    #[test]
    fn every_string_of_a_span_is_redacted() {
        let mut events = SpanEvents::default();
        events.events.push(opentelemetry::trace::Event::new(
            "retry",
            UNIX_EPOCH,
            vec![KeyValue::new("note", format!("with {KEY}"))],
            0,
        ));
        let mut span = SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "deploy".into(),
            start_time: UNIX_EPOCH,
            end_time: UNIX_EPOCH,
            attributes: vec![
                KeyValue::new("input", format!("token {KEY}")),
                KeyValue::new("shard", "eu-1"),
                KeyValue::new("count", 3),
                KeyValue::new(
                    "list",
                    Value::Array(Array::String(vec![StringValue::from(KEY)])),
                ),
            ],
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status: Status::error(format!("failed with {KEY}")),
            instrumentation_scope: InstrumentationScope::builder("t").build(),
        };
        redact_span(&Redaction::default(), &mut span);
        let shown = format!("{span:?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert_eq!(
            span.attributes[0].value.as_str(),
            "token [REDACTED:gitlab_token]"
        );
        assert_eq!(span.attributes[1].value.as_str(), "eu-1");
        assert_eq!(
            span.status,
            Status::error("failed with [REDACTED:gitlab_token]")
        );
    }

    /// What reached the processor after the redacting one.
    #[derive(Debug, Default)]
    struct Seen(Arc<Mutex<Vec<SdkLogRecord>>>);

    impl LogProcessor for Seen {
        fn emit(&self, record: &mut SdkLogRecord, _: &InstrumentationScope) {
            self.0.lock().unwrap().push(record.clone());
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn log_bodies_and_attributes_are_redacted_the_rest_kept() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let processor = RedactingLogs::new(Seen(Arc::clone(&seen)), Redaction::default());
        let provider = SdkLoggerProvider::builder().build();
        let mut record = provider.logger("t").create_log_record();
        record.set_body(AnyValue::from(format!("using {KEY}")));
        record.set_severity_text("WARN");
        record.set_trace_context(TraceId::from(7), SpanId::from(9), None);
        record.add_attribute("user", "ann");
        record.add_attribute("token", format!("Bearer {KEY}"));
        processor.emit(&mut record, &InstrumentationScope::builder("t").build());
        let seen = seen.lock().unwrap();
        let out = &seen[0];
        assert_eq!(
            out.body(),
            Some(&AnyValue::from("using [REDACTED:gitlab_token]".to_owned()))
        );
        let attributes: Vec<String> = out
            .attributes_iter()
            .map(|(key, value)| format!("{key}={value:?}"))
            .collect();
        assert_eq!(attributes.len(), 2, "{attributes:?}");
        assert!(attributes[0].starts_with("user="), "{attributes:?}");
        assert!(!format!("{out:?}").contains(KEY), "{out:?}");
        assert_eq!(out.severity_text(), Some("WARN"));
        assert_eq!(out.trace_context().unwrap().span_id, SpanId::from(9));
    }
}

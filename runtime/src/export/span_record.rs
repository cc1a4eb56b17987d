//! The record of a sampled call's span, and how it becomes OpenTelemetry `SpanData`.
//!
//! A sampled call keeps what its start knows in an [`OpenSpan`] while it runs; when it ends, a
//! [`SpanRecord`] with its outcome and times is handed to its pipeline's sink and becomes
//! `SpanData` off the caller's thread, on the export thread ([`super::records`]). The caller's
//! thread builds no SDK span, takes no span mutex and, for static names and attributes,
//! allocates nothing but the `Context`. How a call's span starts and what its end adds is the
//! call's business (`call::span`); this module knows calls only by their [`CallSite`].

use crate::call_site::{CallKind, CallSite};
use crate::names::{attr, handler};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents};
use quanta::Instant;
use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Attributes and events a span may hold, as the SDK's default span limits; more are dropped
/// and counted.
const MAX_ATTRIBUTES: usize = 128;
const MAX_EVENTS: usize = 128;

/// A sampled call's span while the call runs. Kept small: the call carries it through every
/// `await`, and moves it with itself. Its span context is in the call's `Context`.
#[derive(Debug)]
pub(crate) struct OpenSpan {
    pub name: Cow<'static, str>,
    pub span_kind: SpanKind,
    pub parent_span_is_remote: bool,
    pub parent_span_id: SpanId,
    /// `fields(...)`, what the call's kind records of its own, `error.type`: empty (and not
    /// allocated) for a stage without fields that succeeds.
    pub attributes: Vec<KeyValue>,
}

/// A sampled call's span as the call ends, when what the call's kind reads from the returned
/// value is added to it.
#[derive(Debug)]
pub(crate) struct EndingSpan {
    pub open: OpenSpan,
    pub span_context: SpanContext,
    pub events: Vec<Event>,
    pub status: Status,
}

/// A sampled call's span once the call ended: everything `SpanData` needs, in the cheapest form
/// to record. What a kind always records (`stage.name`, `stage.outcome`, `code.function.name`,
/// ...) is derived from the call site when the record is converted, not stored.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub span: EndingSpan,
    pub site: &'static CallSite,
    pub start: Instant,
    pub end: Instant,
    pub outcome: OutcomeKind,
    /// A stage's attempt number (1 for the first).
    pub attempt: u32,
    /// The run a call other than the run itself belongs to.
    pub run_id: Option<StringValue>,
}

impl SpanRecord {
    /// The record as the SDK's exporters take it, with the attributes its kind always has.
    pub fn into_span_data(self, scope: &InstrumentationScope) -> SpanData {
        let site = self.site;
        let EndingSpan {
            open: span,
            span_context,
            events: span_events,
            status,
        } = self.span;
        let elapsed = self.end.saturating_duration_since(self.start);
        let mut attributes = match self.run_id {
            // The call's own vector, not copied into another.
            None if derives_nothing(site) => span.attributes,
            run_id => derived_then(
                site,
                self.outcome,
                self.attempt,
                run_id,
                elapsed,
                span.attributes,
            ),
        };
        let dropped_attributes_count = attributes.len().saturating_sub(MAX_ATTRIBUTES);
        attributes.truncate(MAX_ATTRIBUTES);
        let mut events = SpanEvents::default();
        events.dropped_count = saturating_u32(span_events.len().saturating_sub(MAX_EVENTS));
        events.events = span_events;
        events.events.truncate(MAX_EVENTS);
        let start_time = wall_clock(self.start);
        SpanData {
            span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_span_is_remote,
            span_kind: span.span_kind,
            name: span.name,
            start_time,
            end_time: start_time + elapsed,
            attributes,
            dropped_attributes_count: saturating_u32(dropped_attributes_count),
            events,
            links: Default::default(),
            status,
            instrumentation_scope: scope.clone(),
        }
    }
}

/// Whether a call's span has no attribute derived from its call site when converted: an HTTP
/// request's, whose attributes are all recorded by the call (`call::http_server`).
fn derives_nothing(site: &CallSite) -> bool {
    site.kind == CallKind::HttpServer
}

/// What a kind always records, derived from the call site (`stage.name`, `stage.outcome`,
/// `code.function.name`, ...), then the call's `own` attributes.
fn derived_then(
    site: &CallSite,
    outcome: OutcomeKind,
    attempt: u32,
    run_id: Option<StringValue>,
    elapsed: Duration,
    own: Vec<KeyValue>,
) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(6 + own.len());
    match site.kind {
        CallKind::Run => {
            attributes.push(KeyValue::new(attr::PIPELINE_NAME, site.name));
            attributes.push(KeyValue::new(attr::RUN_OUTCOME, outcome.as_str()));
            attributes.push(KeyValue::new(attr::RUN_DURATION_MS, millis(elapsed)));
        }
        CallKind::Stage => {
            attributes.push(KeyValue::new(attr::STAGE_NAME, site.name));
            attributes.push(KeyValue::new(attr::STAGE_ATTEMPT, i64::from(attempt)));
            attributes.push(KeyValue::new(attr::STAGE_OUTCOME, outcome.as_str()));
            attributes.push(KeyValue::new(attr::STAGE_DURATION_MS, millis(elapsed)));
        }
        CallKind::LlmCall => {
            attributes.push(KeyValue::new(attr::LLM_DURATION_MS, millis(elapsed)));
        }
        CallKind::Adjudicate => {
            attributes.push(KeyValue::new(attr::ADJUDICATION_NAME, site.name));
        }
        // Its `http.*` attributes are set by `call/http_client.rs`.
        CallKind::HttpClient => {}
        CallKind::Handler => {
            attributes.push(KeyValue::new(handler::HANDLER_NAME, site.name));
            attributes.push(KeyValue::new(handler::HANDLER_OUTCOME, outcome.as_str()));
        }
        // Its handler's `code.function.name`, when it has one, is among its attributes.
        CallKind::HttpServer => {}
    }
    if let Some(run_id) = run_id {
        attributes.push(KeyValue::new(attr::RUN_ID, run_id));
    }
    if site.kind != CallKind::HttpServer && !site.function.is_empty() {
        attributes.push(KeyValue::new(attr::CODE_FUNCTION_NAME, site.function));
    }
    attributes.extend(own);
    attributes
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The wall-clock time of `instant`, from one pair of readings taken when first asked. Spans
/// then cost one clock read at each end instead of two, as in fastrace; the price is that a
/// wall-clock step (an NTP correction) after that first reading does not move span timestamps.
pub(crate) fn wall_clock(instant: Instant) -> SystemTime {
    static ANCHOR: OnceLock<(Instant, SystemTime)> = OnceLock::new();
    let (anchor_instant, anchor_time) = *ANCHOR.get_or_init(|| (Instant::now(), SystemTime::now()));
    match instant.checked_duration_since(anchor_instant) {
        Some(since) => anchor_time + since,
        None => anchor_time - anchor_instant.duration_since(instant),
    }
}

/// A duration in whole milliseconds, as an OpenTelemetry integer.
fn millis(elapsed: Duration) -> i64 {
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}

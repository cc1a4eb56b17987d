//! The record of a sampled call's span, and how it becomes OpenTelemetry `SpanData`.
//!
//! A sampled call keeps what its start knows in an [`OpenSpan`] while it runs; when it ends, a
//! [`SpanRecord`] with its outcome and times is handed to its pipeline's sink and becomes
//! `SpanData` off the caller's thread, on the export thread ([`super::records`]). The caller's
//! thread builds no SDK span, takes no span mutex and, for static names and attributes,
//! allocates nothing but the `Context`. How a call's span starts and what its end adds is the
//! call's business (`call::span`); this module knows calls only by their [`CallSite`].

use crate::call_site::{CallKind, CallSite};
use crate::config::SpanLimits;
use crate::names::{agent, attr, handler};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents};
use quanta::Instant;
use std::borrow::Cow;
use std::mem::size_of;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

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
    /// Attributes and events the span lost to the span queue's bound in bytes (see
    /// [`SpanRecord::trim`]); 0 for nearly every span.
    pub trimmed_attributes: u32,
    pub trimmed_events: u32,
    /// The bytes the span queue counts for the record while it waits (its estimate when it was
    /// queued), given back when the export thread collects it.
    pub queued_bytes: usize,
}

impl SpanRecord {
    /// The record as the SDK's exporters take it, with the attributes its kind always has,
    /// within `limits`.
    pub fn into_span_data(self, scope: &InstrumentationScope, limits: &SpanLimits) -> SpanData {
        let site = self.site;
        let EndingSpan {
            open: span,
            span_context,
            events: span_events,
            status,
        } = self.span;
        let elapsed = self.end.saturating_duration_since(self.start);
        let mut name = span.name;
        let mut span_kind = span.span_kind;
        let mut attributes = match self.run_id {
            // The call's own vector, not copied into another.
            None if derives_nothing(site) => span.attributes,
            run_id => {
                let (attributes, conventions) = derived_then(
                    site,
                    Derived {
                        outcome: self.outcome,
                        attempt: self.attempt,
                        run_id,
                        elapsed,
                        span_context: &span_context,
                    },
                    span.attributes,
                );
                if let Some((cicd_name, cicd_kind)) = conventions {
                    name = cicd_name;
                    span_kind = cicd_kind;
                }
                attributes
            }
        };
        // "Attribute Limits": attributes past the count are discarded, the later ones first
        // (as the SDK's spans do), and counted.
        let dropped_attributes_count = attributes.len().saturating_sub(limits.attribute_count)
            + self.trimmed_attributes as usize;
        attributes.truncate(limits.attribute_count);
        let mut events = SpanEvents::default();
        events.dropped_count = saturating_u32(
            span_events.len().saturating_sub(limits.event_count) + self.trimmed_events as usize,
        );
        events.events = span_events;
        events.events.truncate(limits.event_count);
        for event in &mut events.events {
            let dropped = event
                .attributes
                .len()
                .saturating_sub(limits.event_attribute_count);
            if dropped > 0 {
                event.attributes.truncate(limits.event_attribute_count);
                event.dropped_attributes_count = event
                    .dropped_attributes_count
                    .saturating_add(saturating_u32(dropped));
            }
        }
        if let Some(max_chars) = limits.attribute_value_length {
            cut_values(&mut attributes, max_chars);
            for event in &mut events.events {
                cut_values(&mut event.attributes, max_chars);
            }
        }
        let start_time = wall_clock(self.start);
        SpanData {
            span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_span_is_remote,
            span_kind,
            name,
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

impl SpanRecord {
    /// The bytes the record holds, estimated without serialising it: a fixed overhead for the
    /// record, each attribute and each event, plus the length of every string it owns or
    /// shares (an owned name, string values, event names, the status's description, the run
    /// id). Attribute keys are in the fixed overhead: the macros' are static. What the
    /// conversion derives from the call site is not in the record, and not counted. About 100
    /// instructions for an HTTP request's span (nine attributes).
    #[inline]
    pub fn estimated_bytes(&self) -> usize {
        let span = &self.span;
        // Each part tested before it is summed: a stage without fields (the common call) costs
        // a few tests, not a call.
        let mut bytes = RECORD_BYTES;
        if !span.open.attributes.is_empty() {
            bytes += attributes_bytes(&span.open.attributes);
        }
        if !span.events.is_empty() {
            bytes += events_bytes(&span.events);
        }
        if let Cow::Owned(name) = &span.open.name {
            bytes += name.len();
        }
        if let Status::Error { description } = &span.status {
            bytes += description.len();
        }
        if let Some(run_id) = &self.run_id {
            bytes += run_id.as_str().len();
        }
        // A caller's `tracestate` (W3C: up to 32 members of 256 + 256 characters), kept by
        // every span of the trace in this process.
        // (Compared first: the derived comparison inlines, the iterator is a call.)
        let trace_state = span.span_context.trace_state();
        if trace_state != &TraceState::NONE {
            bytes += trace_state_bytes(trace_state);
        }
        bytes
    }

    /// Drops the record's attributes, events and trace state, counting the attributes and
    /// events: what the span queue does to a span that ends when the queue's bytes are at their
    /// bound. The span keeps its place in its trace (ids, name, times, status) and what its kind
    /// derives from the call site.
    pub fn trim(&mut self) {
        let attributes = std::mem::take(&mut self.span.open.attributes);
        let events = std::mem::take(&mut self.span.events);
        let context = &self.span.span_context;
        if context.trace_state() != &TraceState::NONE {
            self.span.span_context = SpanContext::new(
                context.trace_id(),
                context.span_id(),
                context.trace_flags(),
                context.is_remote(),
                TraceState::NONE,
            );
        }
        self.trimmed_attributes = self
            .trimmed_attributes
            .saturating_add(saturating_u32(attributes.len()));
        self.trimmed_events = self
            .trimmed_events
            .saturating_add(saturating_u32(events.len()));
    }
}

/// The fixed part of a record's estimate: the record itself and the `SpanData` it becomes.
const RECORD_BYTES: usize = size_of::<SpanRecord>() + size_of::<SpanData>();
/// The fixed part of an attribute's and an event's estimate.
const ATTRIBUTE_BYTES: usize = size_of::<KeyValue>();
const EVENT_BYTES: usize = size_of::<Event>();
/// The fixed part of a `tracestate` member's: its two `String`s.
const TRACE_STATE_MEMBER_BYTES: usize = 2 * size_of::<String>();

#[inline(never)]
fn attributes_bytes(attributes: &[KeyValue]) -> usize {
    attributes.len() * ATTRIBUTE_BYTES
        + attributes
            .iter()
            .map(|kv| value_bytes(&kv.value))
            .sum::<usize>()
}

#[inline]
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.as_str().len(),
        Value::I64(_) | Value::F64(_) | Value::Bool(_) => 0,
        Value::Array(Array::String(texts)) => texts
            .iter()
            .map(|text| size_of::<StringValue>() + text.as_str().len())
            .sum(),
        Value::Array(Array::I64(values)) => values.len() * size_of::<i64>(),
        Value::Array(Array::F64(values)) => values.len() * size_of::<f64>(),
        Value::Array(Array::Bool(values)) => values.len(),
        _ => 0,
    }
}

#[inline(never)]
fn trace_state_bytes(trace_state: &TraceState) -> usize {
    trace_state
        .into_iter()
        .map(|(key, value)| key.len() + value.len() + TRACE_STATE_MEMBER_BYTES)
        .sum()
}

#[inline(never)]
fn events_bytes(events: &[Event]) -> usize {
    events
        .iter()
        .map(|event| EVENT_BYTES + event.name.len() + attributes_bytes(&event.attributes))
        .sum()
}

fn status_bytes(status: &Status) -> usize {
    match status {
        Status::Error { description } => description.len(),
        _ => 0,
    }
}

/// The bytes an SDK span (a `tracing` span) holds, estimated as [`SpanRecord::estimated_bytes`]
/// estimates a record's.
pub(crate) fn estimated_span_data_bytes(span: &SpanData) -> usize {
    let links: usize = span
        .links
        .iter()
        .map(|link| size_of::<opentelemetry::trace::Link>() + attributes_bytes(&link.attributes))
        .sum();
    size_of::<SpanData>()
        + span.name.len()
        + attributes_bytes(&span.attributes)
        + events_bytes(&span.events)
        + links
        + status_bytes(&span.status)
}

/// The value length limit on an SDK span (a `tracing` span): its attributes, its events' and
/// its links' (the SDK applies the count limits itself, see `SpanLimits::sdk_counts`).
pub(crate) fn cut_span_data_values(span: &mut SpanData, limits: &SpanLimits) {
    let Some(max_chars) = limits.attribute_value_length else {
        return;
    };
    cut_values(&mut span.attributes, max_chars);
    for event in span.events.events.iter_mut() {
        cut_values(&mut event.attributes, max_chars);
    }
    for link in span.links.links.iter_mut() {
        cut_values(&mut link.attributes, max_chars);
    }
}

/// "Attribute Limits" (specification `common/README.md`): a string value longer than the limit,
/// "counting any character in it as 1", is truncated to it; in an array of strings, each string
/// apart; other values are not truncated.
fn cut_values(attributes: &mut [KeyValue], max_chars: usize) {
    for attribute in attributes {
        match &mut attribute.value {
            Value::String(text) => cut_string(text, max_chars),
            Value::Array(Array::String(texts)) => {
                for text in texts {
                    cut_string(text, max_chars);
                }
            }
            _ => {}
        }
    }
}

fn cut_string(text: &mut StringValue, max_chars: usize) {
    if let Some(end) = char_boundary_after(text.as_str(), max_chars) {
        let mut owned = String::from(std::mem::replace(text, StringValue::from("")));
        owned.truncate(end);
        *text = StringValue::from(owned);
    }
}

/// The byte index just past the first `max_chars` characters of `text`, when it has more; a
/// text no longer in bytes than the limit is not counted (a character is at least a byte).
#[inline]
pub(crate) fn char_boundary_after(text: &str, max_chars: usize) -> Option<usize> {
    if text.len() <= max_chars {
        return None;
    }
    nth_char_index(text, max_chars)
}

#[inline(never)]
fn nth_char_index(text: &str, n: usize) -> Option<usize> {
    text.char_indices().nth(n).map(|(index, _)| index)
}

/// Whether a call's span has no attribute derived from its call site when converted: an HTTP
/// request's, whose attributes are all recorded by the call (`call::http_server`).
fn derives_nothing(site: &CallSite) -> bool {
    site.kind == CallKind::HttpServer
}

/// What a conversion derives besides the call site.
struct Derived<'a> {
    outcome: OutcomeKind,
    attempt: u32,
    run_id: Option<StringValue>,
    elapsed: Duration,
    span_context: &'a SpanContext,
}

/// What a kind always records, derived from the call site (`stage.name`, `stage.outcome`,
/// `code.function.name`, a tool's `gen_ai.tool.type`, ...), and a run's or stage's CI/CD attributes (`super::cicd`), then
/// the call's `own` attributes: the derived first, so that attribute limits drop the call's
/// own before them. With the span's name and kind when the CI/CD conventions change them.
fn derived_then(
    site: &CallSite,
    derived: Derived<'_>,
    own: Vec<KeyValue>,
) -> (Vec<KeyValue>, Option<(Cow<'static, str>, SpanKind)>) {
    let Derived {
        outcome,
        attempt,
        run_id,
        elapsed,
        span_context,
    } = derived;
    // A tool's 7 at most: operation, name, outcome, type, description, run id, function.
    let mut attributes = Vec::with_capacity(7 + own.len());
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
        CallKind::Agent => {
            attributes.push(KeyValue::new(
                attr::GEN_AI_OPERATION_NAME,
                agent::INVOKE_AGENT,
            ));
            attributes.push(KeyValue::new(agent::GEN_AI_AGENT_NAME, site.name));
            attributes.push(KeyValue::new(agent::AGENT_OUTCOME, outcome.as_str()));
        }
        CallKind::Tool => {
            attributes.push(KeyValue::new(
                attr::GEN_AI_OPERATION_NAME,
                agent::EXECUTE_TOOL,
            ));
            attributes.push(KeyValue::new(agent::GEN_AI_TOOL_NAME, site.name));
            attributes.push(KeyValue::new(agent::TOOL_OUTCOME, outcome.as_str()));
            // Kept by the site at its first call, before any of its spans ended.
            if let Some(tool) = site.cache.tool.get() {
                attributes.push(KeyValue::new(agent::GEN_AI_TOOL_TYPE, tool.kind));
                if !tool.description.is_empty() {
                    attributes.push(KeyValue::new(
                        agent::GEN_AI_TOOL_DESCRIPTION,
                        tool.description,
                    ));
                }
            }
        }
        // Its `mcp.*` attributes are set by `call/mcp_client.rs`.
        CallKind::McpClient | CallKind::McpServer => {}
    }
    if let Some(run_id) = run_id {
        attributes.push(KeyValue::new(attr::RUN_ID, run_id));
    }
    if site.kind != CallKind::HttpServer && !site.function.is_empty() {
        attributes.push(KeyValue::new(attr::CODE_FUNCTION_NAME, site.function));
    }
    let conventions = match site.kind {
        CallKind::Run | CallKind::Stage => super::cicd::pipeline_conventions(
            site,
            outcome,
            span_context,
            &crate::config::vcs::process_origin(),
            &own,
            &mut attributes,
        ),
        _ => None,
    };
    attributes.extend(own);
    if let Some(conventions) = conventions {
        if !conventions.replaced.is_empty() {
            attributes.retain(|kv| !conventions.replaced.contains(&kv.key.as_str()));
        }
        return (attributes, conventions.renamed);
    }
    (attributes, None)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, TraceFlags, TraceId, TraceState};

    pub(crate) static STAGE: CallSite = CallSite {
        kind: CallKind::Stage,
        name: "plan",
        function: "factory::plan",
        cache: crate::call_site::SiteCache::new(),
    };

    /// A stage's record with `attributes` and `events`.
    pub(crate) fn record(attributes: Vec<KeyValue>, events: Vec<Event>) -> SpanRecord {
        let start = Instant::now();
        SpanRecord {
            span: EndingSpan {
                open: OpenSpan {
                    name: Cow::Borrowed("pipeline.stage"),
                    span_kind: SpanKind::Internal,
                    parent_span_is_remote: false,
                    parent_span_id: SpanId::INVALID,
                    attributes,
                },
                span_context: SpanContext::new(
                    TraceId::from(7u128),
                    SpanId::from(9u64),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::NONE,
                ),
                events,
                status: Status::Unset,
            },
            site: &STAGE,
            start,
            end: start,
            outcome: OutcomeKind::Success,
            attempt: 1,
            run_id: None,
            trimmed_attributes: 0,
            trimmed_events: 0,
            queued_bytes: 0,
        }
    }

    fn scope() -> InstrumentationScope {
        InstrumentationScope::builder("test").build()
    }

    fn text(span: &SpanData, key: &str) -> String {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
            .unwrap_or_else(|| panic!("no {key}"))
    }

    /// Specification `common/README.md`, "Attribute Limits": a string value that "exceeds
    /// that limit (counting any character in it as 1)" is truncated "so that its length is at
    /// most equal to the limit"; "if it is an array of strings, then apply the limit to each
    /// value within the array separately"; "otherwise a value MUST NOT be truncated".
    #[test]
    fn string_values_are_cut_in_characters_each_string_of_an_array_apart() {
        let limits = SpanLimits {
            attribute_value_length: Some(4),
            ..SpanLimits::default()
        };
        let span = record(
            vec![
                KeyValue::new("ascii", "abcdefgh"),
                KeyValue::new("accents", "héhéhé"),
                KeyValue::new("cjk", "日本語テキスト"),
                KeyValue::new("short", "abc"),
                KeyValue::new("exact", "abcd"),
                KeyValue::new(
                    "array",
                    Value::Array(Array::String(vec!["123456".into(), "ab".into()])),
                ),
                KeyValue::new("int", 123_456_789_i64),
                KeyValue::new("float", 1.234_567_f64),
                KeyValue::new("bool", true),
            ],
            Vec::new(),
        )
        .into_span_data(&scope(), &limits);
        assert_eq!(text(&span, "ascii"), "abcd");
        assert_eq!(text(&span, "accents"), "héhé");
        assert_eq!(text(&span, "cjk"), "日本語テ");
        assert_eq!(text(&span, "short"), "abc");
        assert_eq!(text(&span, "exact"), "abcd");
        assert_eq!(text(&span, "array"), "[\"1234\",\"ab\"]");
        assert_eq!(text(&span, "int"), "123456789");
        assert_eq!(text(&span, "float"), "1.234567");
        assert_eq!(text(&span, "bool"), "true");
        // Derived from the call site, and cut like any other (none is longer here).
        assert_eq!(text(&span, "stage.name"), "plan");
        assert_eq!(span.dropped_attributes_count, 0, "cut, not dropped");
    }

    /// "Attribute Limits": "if adding an attribute to an attribute collection would result in
    /// exceeding the limit (counting each attribute in the collection as 1), the SDK MUST
    /// discard that attribute"; `trace/sdk.md` "Span Limits": `EventCountLimit`,
    /// `AttributePerEventCountLimit`. What is discarded is counted in the exported span.
    #[test]
    fn attributes_and_events_past_their_counts_are_dropped_and_counted() {
        let limits = SpanLimits {
            attribute_count: 6,
            event_count: 2,
            event_attribute_count: 1,
            ..SpanLimits::default()
        };
        let own: Vec<KeyValue> = (0..5)
            .map(|n| KeyValue::new(format!("field.{n}"), n))
            .collect();
        let events: Vec<Event> = (0..3)
            .map(|n| {
                Event::new(
                    format!("event.{n}"),
                    SystemTime::UNIX_EPOCH,
                    vec![KeyValue::new("a", 1), KeyValue::new("b", 2)],
                    0,
                )
            })
            .collect();
        let span = record(own, events).into_span_data(&scope(), &limits);
        // A stage derives 8 (stage.name, stage.attempt, stage.outcome, stage.duration_ms,
        // code.function.name, and by default the CI/CD task's name, run id and result) and has
        // 5 of its own: the 6 first are kept, the call's own dropped before what is derived.
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "stage.name",
                "stage.attempt",
                "stage.outcome",
                "stage.duration_ms",
                "code.function.name",
                "cicd.pipeline.task.name",
            ]
        );
        assert_eq!(span.dropped_attributes_count, 7);
        assert_eq!(span.events.len(), 2);
        assert_eq!(span.events.dropped_count, 1);
        for event in span.events.iter() {
            assert_eq!(event.attributes.len(), 1);
            assert_eq!(event.dropped_attributes_count, 1);
        }
        // A limit of 0 keeps none.
        let none = SpanLimits {
            attribute_count: 0,
            event_count: 0,
            ..SpanLimits::default()
        };
        let span =
            record(vec![KeyValue::new("k", "v")], Vec::new()).into_span_data(&scope(), &none);
        assert!(span.attributes.is_empty());
        assert_eq!(span.dropped_attributes_count, 9);
    }

    /// A tool's type and description are its site's, derived at export (`gen-ai-spans.md`,
    /// "Execute tool span"): each once, before what the call recorded.
    #[test]
    fn a_tools_type_and_description_are_derived_from_its_site() {
        static TOOL: CallSite = CallSite {
            kind: CallKind::Tool,
            name: "read_file",
            function: "agent::read_file",
            cache: crate::call_site::SiteCache::new(),
        };
        let _ = TOOL.cache.tool.get_or_init(|| {
            Box::new(crate::call_site::ToolSite::new(
                "extension",
                "Reads a file.",
            ))
        });
        let mut tool = record(
            vec![KeyValue::new(agent::GEN_AI_TOOL_CALL_ID, "call_1")],
            Vec::new(),
        );
        tool.site = &TOOL;
        tool.run_id = Some("run-1".into());
        let span = tool.into_span_data(&scope(), &SpanLimits::default());
        let attributes: Vec<String> = span
            .attributes
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        assert_eq!(
            attributes,
            [
                "gen_ai.operation.name=execute_tool",
                "gen_ai.tool.name=read_file",
                "tool.outcome=success",
                "gen_ai.tool.type=extension",
                "gen_ai.tool.description=Reads a file.",
                "run.id=run-1",
                "code.function.name=agent::read_file",
                "gen_ai.tool.call.id=call_1",
            ]
        );
    }

    #[test]
    fn event_attributes_are_cut_too() {
        let limits = SpanLimits {
            attribute_value_length: Some(3),
            ..SpanLimits::default()
        };
        let event = Event::new(
            "exception",
            SystemTime::UNIX_EPOCH,
            vec![KeyValue::new("exception.message", "a long message")],
            0,
        );
        let span = record(Vec::new(), vec![event]).into_span_data(&scope(), &limits);
        assert_eq!(span.events[0].attributes[0].value.to_string(), "a l");
    }

    /// Without a length limit (the default) and within the counts, nothing changes.
    #[test]
    fn the_defaults_change_nothing_of_a_usual_span() {
        let long = "x".repeat(100_000);
        let span = record(vec![KeyValue::new("big", long.clone())], Vec::new())
            .into_span_data(&scope(), &SpanLimits::default());
        assert_eq!(text(&span, "big"), long);
        assert_eq!(span.dropped_attributes_count, 0);
    }

    #[test]
    fn the_estimate_counts_every_string_and_a_fixed_part() {
        let empty = record(Vec::new(), Vec::new()).estimated_bytes();
        assert_eq!(empty, RECORD_BYTES);
        let with = record(
            vec![
                KeyValue::new("user_agent.original", "x".repeat(1000)),
                KeyValue::new("n", 5),
            ],
            vec![Event::new(
                "exception",
                SystemTime::UNIX_EPOCH,
                vec![KeyValue::new("m", "yyyy")],
                0,
            )],
        );
        assert_eq!(
            with.estimated_bytes(),
            RECORD_BYTES
                + (ATTRIBUTE_BYTES + 1000)
                + ATTRIBUTE_BYTES
                + (EVENT_BYTES + "exception".len() + ATTRIBUTE_BYTES + 4)
        );
    }

    #[test]
    fn a_callers_trace_state_is_counted_and_trimmed_away() {
        let mut with_state = record(Vec::new(), Vec::new());
        let context = &with_state.span.span_context;
        with_state.span.span_context = SpanContext::new(
            context.trace_id(),
            context.span_id(),
            context.trace_flags(),
            false,
            TraceState::from_key_value([("vendor", "x".repeat(200))]).unwrap(),
        );
        assert_eq!(
            with_state.estimated_bytes(),
            RECORD_BYTES + "vendor".len() + 200 + TRACE_STATE_MEMBER_BYTES
        );
        with_state.trim();
        assert_eq!(with_state.estimated_bytes(), RECORD_BYTES);
        assert_eq!(with_state.span.span_context.span_id(), SpanId::from(9u64));
    }

    #[test]
    fn a_trimmed_record_keeps_its_place_and_counts_what_it_lost() {
        let mut trimmed = record(
            vec![
                KeyValue::new("a", "x".repeat(10_000)),
                KeyValue::new("b", 2),
            ],
            vec![Event::new("e", SystemTime::UNIX_EPOCH, Vec::new(), 0)],
        );
        trimmed.trim();
        assert_eq!(trimmed.estimated_bytes(), RECORD_BYTES);
        let span = trimmed.into_span_data(&scope(), &SpanLimits::default());
        assert_eq!(span.span_context.span_id(), SpanId::from(9u64));
        assert_eq!(text(&span, "stage.name"), "plan");
        // The seed's 5 and the CI/CD task's 3.
        assert_eq!(span.attributes.len(), 8, "only what the stage derives");
        assert_eq!(span.dropped_attributes_count, 2);
        assert_eq!(span.events.dropped_count, 1);
    }
}

//! The span of one call, recorded without the SDK's span object.
//!
//! A sampled call keeps what its start knows in an [`OpenSpan`] while it runs; when it ends, a
//! [`SpanRecord`] with its outcome and times is handed to the pipeline's [`SpanSink`] and becomes
//! OpenTelemetry `SpanData` off the caller's thread (see `export::records`). The caller's thread
//! builds no SDK span, takes no span mutex and, for static names and attributes, allocates
//! nothing but the `Context`.
//!
//! The call's `SpanContext` is put into the OpenTelemetry [`Context`] the body runs in, as an SDK
//! span's would be: `tracing` spans, log records, propagators and tasks spawned with
//! `Context::current()` see the call as their parent. What they cannot do is add attributes to
//! the call's span through `Context::current().span()`.

use super::{millis, CallKind, CallSite};
use crate::export::records::{RecordQueue, Slots};
use crate::names::{attr, handler};
use crate::outcome::OutcomeKind;
use crate::propagation::trace_context::RANDOM_TRACE_ID;
use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceId,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue, StringValue};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample, SpanData, SpanEvents,
    SpanProcessor,
};
use quanta::Instant;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

/// Attributes and events a span may hold, as the SDK's default span limits; more are dropped
/// and counted.
const MAX_ATTRIBUTES: usize = 128;
const MAX_EVENTS: usize = 128;

/// A sampled call's span while the call runs. Kept small: the call carries it through every
/// `await`, and moves it with itself. Its span context is in the call's `Context`.
#[derive(Debug)]
pub(crate) struct OpenSpan {
    name: Cow<'static, str>,
    span_kind: SpanKind,
    parent_span_is_remote: bool,
    parent_span_id: SpanId,
    /// `fields(...)`, what the call's kind records of its own, `error.type`: empty (and not
    /// allocated) for a stage without fields that succeeds.
    attributes: Vec<KeyValue>,
}

/// A sampled call's span as the call ends, when what the call's kind reads from the returned
/// value is added to it.
#[derive(Debug)]
pub(crate) struct EndingSpan {
    open: OpenSpan,
    span_context: SpanContext,
    events: Vec<Event>,
    status: Status,
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

/// How a call's span starts.
pub(crate) struct SpanStart<'a> {
    pub name: Cow<'static, str>,
    pub span_kind: SpanKind,
    pub parent: &'a Context,
    /// What the call's kind and `fields(...)` record at the start.
    pub attributes: Vec<KeyValue>,
    /// A `#[pipeline_run]`: may take the room of the span queue kept for runs.
    pub is_run: bool,
}

/// The span of an ending call: `None` when the call is not sampled, so that writing to it costs
/// a test of the option.
#[derive(Debug, Default)]
pub(crate) struct CallSpan(Option<EndingSpan>);

/// Whether a call's context must carry a span context of its own.
pub(crate) enum Placement {
    /// Children need this span context: the call's (sampled or not, they follow its decision).
    Child(SpanContext),
    /// Children decide exactly as this call did from the same parent (the sampler drops every
    /// call without a sampled parent): the parent's context serves them.
    AsParent,
}

impl OpenSpan {
    /// Decides whether the call is sampled, as the SDK tracer would, and starts its span if so.
    pub fn start(sampling: &Sampling, start: SpanStart<'_>) -> (Option<OpenSpan>, Placement) {
        let mut parent = start.parent;
        if parent.is_telemetry_suppressed() {
            return (None, Placement::AsParent);
        }
        if let Some(process_parent) = &sampling.process_parent {
            if !parent.span().span_context().is_valid() {
                parent = process_parent;
            }
        }
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        if sampling.roots_never_sampled && !parent_context.is_sampled() {
            // The sampler would drop the call, and its children with it: no ids, no sampler.
            return (None, Placement::AsParent);
        }
        let parent_is_valid = parent_context.is_valid();
        if parent_is_valid && !parent_context.is_remote() && !parent_context.is_sampled() {
            // A local parent that is not sampled: every sampler `OTEL_TRACES_SAMPLER` names
            // decides the same for its children (always_on never leaves a local span
            // unsampled, a ratio decides by the trace id they share), except for a parent shed
            // by a full queue, whose children must not be orphans (see `export::records`).
            return (None, Placement::AsParent);
        }
        let ids = RandomIdGenerator::default();
        let trace_id = if parent_is_valid {
            parent_context.trace_id()
        } else {
            ids.new_trace_id()
        };
        // No attributes: the samplers `OTEL_TRACES_SAMPLER` names do not read them.
        let result = sampling.sampler.should_sample(
            Some(parent),
            trace_id,
            &start.name,
            &start.span_kind,
            &[],
            &[],
        );
        let flags = if parent_is_valid {
            parent_context.trace_flags()
        } else {
            // A trace id of ours is random in all its bytes: Level 2 of W3C Trace Context says
            // so with the `random` flag, which children and receivers keep.
            RANDOM_TRACE_ID
        };
        // `RecordOnly` spans are never exported (the batch processor keeps sampled spans only),
        // so they are treated as dropped.
        if result.decision != SamplingDecision::RecordAndSample {
            if sampling.roots_never_sampled {
                return (None, Placement::AsParent);
            }
            let span_context = SpanContext::new(
                trace_id,
                ids.new_span_id(),
                flags.with_sampled(false),
                false,
                result.trace_state,
            );
            return (None, Placement::Child(span_context));
        }
        // The queue's room is taken as the span starts, so that its end always finds it (see
        // `export::records`); a span that finds the queue full is shed with its subtree.
        let admitted = sampling
            .slots
            .as_ref()
            .is_none_or(|slots| slots.take(start.is_run));
        let span_context = SpanContext::new(
            trace_id,
            ids.new_span_id(),
            flags.with_sampled(admitted),
            false,
            result.trace_state,
        );
        if !admitted {
            return (None, Placement::Child(span_context));
        }
        let mut attributes = start.attributes;
        attributes.extend(result.attributes);
        let span = OpenSpan {
            name: start.name,
            span_kind: start.span_kind,
            parent_span_id: if parent_is_valid {
                parent_context.span_id()
            } else {
                SpanId::INVALID
            },
            parent_span_is_remote: parent_is_valid && parent_context.is_remote(),
            attributes,
        };
        (Some(span), Placement::Child(span_context))
    }
}

impl CallSpan {
    /// The span of a call that ends with `cx` as its context.
    pub fn ending(open: Option<OpenSpan>, cx: &Context) -> CallSpan {
        CallSpan(open.map(|open| EndingSpan {
            open,
            span_context: cx.span().span_context().clone(),
            events: Vec::new(),
            status: Status::Unset,
        }))
    }

    pub fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(span) = &mut self.0 {
            span.open.attributes.push(attribute);
        }
    }

    pub fn add_event(&mut self, name: &'static str, attributes: Vec<KeyValue>) {
        if let Some(span) = &mut self.0 {
            let timestamp = wall_clock(Instant::now());
            span.events.push(Event::new(name, timestamp, attributes, 0));
        }
    }

    pub fn set_status(&mut self, status: Status) {
        if let Some(span) = &mut self.0 {
            span.status = status;
        }
    }

    /// The span, when the call is sampled.
    pub fn into_ending(self) -> Option<EndingSpan> {
        self.0
    }
}

/// How a pipeline decides which calls are sampled.
#[derive(Clone, Debug)]
pub(crate) struct Sampling {
    pub sampler: Sampler,
    /// The sampler drops every root, even the one whose trace id is the easiest to sample:
    /// `always_off`, `parentbased_always_off`, a ratio of 0.
    pub roots_never_sampled: bool,
    /// The parent this process was started under (`TRACEPARENT`, read by `init`): calls that
    /// would be roots are its children instead, on every thread and task.
    pub process_parent: Option<Context>,
    /// The span queue's room, which a sampled call takes as it starts (the process-wide
    /// pipeline only).
    pub slots: Option<Arc<Slots>>,
}

impl Sampling {
    pub fn new(sampler: Sampler, slots: Option<Arc<Slots>>) -> Sampling {
        let easiest = sampler.should_sample(
            None,
            TraceId::from(1u128),
            "",
            &SpanKind::Internal,
            &[],
            &[],
        );
        Sampling {
            roots_never_sampled: easiest.decision == SamplingDecision::Drop,
            sampler,
            process_parent: None,
            slots,
        }
    }
}

/// Where a pipeline's ended spans go.
#[derive(Clone, Debug)]
pub(crate) enum SpanSink {
    /// The process-wide pipeline: to the span export thread, which converts them.
    Deferred(Arc<RecordQueue>),
    /// `testing::Capture`: converted on the caller's thread and handed to the processor, so a
    /// test sees its spans as soon as its calls return.
    Immediate {
        processor: Arc<dyn SpanProcessor>,
        scope: InstrumentationScope,
    },
    /// `OTEL_TRACES_EXPORTER=none`: the sampler is `always_off`, so no record is ever made.
    Nowhere,
}

impl SpanSink {
    /// The room of the queue spans go to, when it is bounded.
    pub fn slots(&self) -> Option<Arc<Slots>> {
        match self {
            SpanSink::Deferred(queue) => Some(Arc::clone(queue.slots())),
            _ => None,
        }
    }

    pub fn submit(&self, record: SpanRecord) {
        match self {
            SpanSink::Deferred(queue) => queue.submit(record),
            SpanSink::Immediate { processor, scope } => {
                processor.on_end(record.into_span_data(scope));
            }
            SpanSink::Nowhere => {}
        }
    }
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
        let mut attributes = Vec::with_capacity(6 + span.attributes.len());
        match site.kind {
            CallKind::Run => {
                attributes.push(KeyValue::new(attr::PIPELINE_NAME, site.name));
                attributes.push(KeyValue::new(attr::RUN_OUTCOME, self.outcome.as_str()));
                attributes.push(KeyValue::new(attr::RUN_DURATION_MS, millis(elapsed)));
            }
            CallKind::Stage => {
                attributes.push(KeyValue::new(attr::STAGE_NAME, site.name));
                attributes.push(KeyValue::new(attr::STAGE_ATTEMPT, i64::from(self.attempt)));
                attributes.push(KeyValue::new(attr::STAGE_OUTCOME, self.outcome.as_str()));
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
                attributes.push(KeyValue::new(
                    handler::HANDLER_OUTCOME,
                    self.outcome.as_str(),
                ));
            }
            // Its handler's `code.function.name`, when it has one, is among its attributes.
            CallKind::HttpServer => {}
        }
        if let Some(run_id) = self.run_id {
            attributes.push(KeyValue::new(attr::RUN_ID, run_id));
        }
        if site.kind != CallKind::HttpServer && !site.function.is_empty() {
            attributes.push(KeyValue::new(attr::CODE_FUNCTION_NAME, site.function));
        }
        attributes.extend(span.attributes);
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

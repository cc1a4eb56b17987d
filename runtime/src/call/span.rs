//! The span of one call, recorded without the SDK's span object: whether the call is sampled
//! and how its span starts ([`start`]), and what its end adds ([`CallSpan`]). A sampled call
//! keeps what its start knows in an [`OpenSpan`] while it runs; when it ends, its
//! [`SpanRecord`](crate::export::span_record::SpanRecord) goes to the pipeline's sink (see
//! `export::span_record`).
//!
//! The call's `SpanContext` is put into the OpenTelemetry [`Context`] the body runs in, as an SDK
//! span's would be: `tracing` spans, log records, propagators and tasks spawned with
//! `Context::current()` see the call as their parent. What they cannot do is add attributes to
//! the call's span through `Context::current().span()`.

use crate::carriers::trace_context::RANDOM_TRACE_ID;
use crate::dispatch::Sampling;
use crate::export::span_record::wall_clock;
pub(crate) use crate::export::span_record::{EndingSpan, OpenSpan};
use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceId,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, SamplingResult, ShouldSample,
};
use quanta::Instant;
use std::borrow::Cow;

/// How a call's span starts.
pub(crate) struct SpanStart<'a> {
    pub name: Cow<'static, str>,
    pub span_kind: SpanKind,
    pub parent: &'a Context,
    /// The caller's span a request carried, the parent instead of `parent`'s span when given.
    pub remote_parent: Option<&'a SpanContext>,
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

/// Decides whether the call is sampled, as the SDK tracer would, and starts its span if so.
pub(crate) fn start(sampling: &Sampling, start: SpanStart<'_>) -> (Option<OpenSpan>, Placement) {
    let mut parent = start.parent;
    if parent.is_telemetry_suppressed() {
        return (None, Placement::AsParent);
    }
    let remote = start.remote_parent;
    if let Some(process_parent) = &sampling.process_parent {
        if remote.is_none() && !parent.span().span_context().is_valid() {
            parent = process_parent;
        }
    }
    let parent_span = parent.span();
    let parent_context = remote.unwrap_or_else(|| parent_span.span_context());
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
    let result = should_sample(
        &sampling.sampler,
        parent,
        remote,
        trace_id,
        &start.name,
        &start.span_kind,
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

/// The sampler's decision for a span under `parent`, or under `remote` (a caller's span, valid)
/// when given: for the samplers `OTEL_TRACES_SAMPLER` names, what the SDK's `Sampler` decides
/// under a context holding `remote`, without building that context. No attributes: those
/// samplers do not read them.
fn should_sample(
    sampler: &Sampler,
    parent: &Context,
    remote: Option<&SpanContext>,
    trace_id: TraceId,
    name: &str,
    span_kind: &SpanKind,
) -> SamplingResult {
    let Some(remote) = remote else {
        return sampler.should_sample(Some(parent), trace_id, name, span_kind, &[], &[]);
    };
    let decision = match sampler {
        // A parent decides, and `remote` is one.
        Sampler::ParentBased(_) if remote.is_sampled() => SamplingDecision::RecordAndSample,
        Sampler::ParentBased(_) => SamplingDecision::Drop,
        // These do not read the parent.
        Sampler::AlwaysOn | Sampler::AlwaysOff | Sampler::TraceIdRatioBased(_) => {
            sampler
                .should_sample(None, trace_id, name, span_kind, &[], &[])
                .decision
        }
        _ => {
            let parent = parent.with_remote_span_context(remote.clone());
            return sampler.should_sample(Some(&parent), trace_id, name, span_kind, &[], &[]);
        }
    };
    // The SDK's samplers keep the parent's trace state.
    SamplingResult {
        decision,
        attributes: Vec::new(),
        trace_state: remote.trace_state().clone(),
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

    /// Whether the call is sampled: what only the span needs is skipped when it is not.
    pub fn is_recorded(&self) -> bool {
        self.0.is_some()
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceFlags, TraceState};

    /// Under a caller's span given apart, every sampler `OTEL_TRACES_SAMPLER` names decides as
    /// the SDK's under a context holding that span, and keeps its trace state.
    #[test]
    fn a_remote_parent_given_apart_is_sampled_as_in_a_context() {
        let samplers = [
            Sampler::AlwaysOn,
            Sampler::AlwaysOff,
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.5))),
            Sampler::TraceIdRatioBased(0.5),
        ];
        let state = TraceState::from_key_value([("congo", "t61rcWkgMzE")]).unwrap();
        let mut decisions = Vec::new();
        for sampler in &samplers {
            for flags in [TraceFlags::SAMPLED, TraceFlags::NOT_SAMPLED] {
                for trace in [
                    0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128,
                    u128::MAX >> 1,
                ] {
                    let trace_id = TraceId::from(trace);
                    let remote =
                        SpanContext::new(trace_id, SpanId::from(7), flags, true, state.clone());
                    let apart = should_sample(
                        sampler,
                        &Context::new(),
                        Some(&remote),
                        trace_id,
                        "GET /tasks/{id}",
                        &SpanKind::Server,
                    );
                    let in_context = sampler.should_sample(
                        Some(&Context::new().with_remote_span_context(remote.clone())),
                        trace_id,
                        "GET /tasks/{id}",
                        &SpanKind::Server,
                        &[],
                        &[],
                    );
                    let case = format!("{sampler:?} {flags:?} {trace_id}");
                    assert_eq!(apart.decision, in_context.decision, "{case}");
                    assert_eq!(apart.trace_state.header(), "congo=t61rcWkgMzE", "{case}");
                    assert_eq!(in_context.trace_state.header(), "congo=t61rcWkgMzE");
                    decisions.push(apart.decision == SamplingDecision::RecordAndSample);
                }
            }
        }
        // Both decisions occur.
        assert!(decisions.contains(&true) && decisions.contains(&false));
    }
}

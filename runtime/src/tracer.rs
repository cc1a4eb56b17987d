//! The tracer behind `tracing` spans and the global OpenTelemetry tracer: the SDK's, with its
//! roots started as the macros start theirs.
//!
//! - In a process started under a parent (`TRACEPARENT`, see `propagation::env`), a span with
//!   no parent is the parent's child, on every thread: `init` makes the parent current only on
//!   its own thread.
//! - Otherwise it is a root, with the `random` flag of W3C Trace Context Level 2.
//!
//! A root's trace id comes from the SDK's random id generator (the only one `init` installs),
//! so all its bytes are random and Level 2 says so with flag 0x02, which children and receivers
//! keep. The SDK tracer sets a root's flags itself and offers no hook, so its spans are wrapped:
//! [`RootingSpan`] shows the flag to what reads the span's context (children started under
//! it, propagators injecting `traceparent`), and [`mark_random_root`] adds it to the finished
//! root that the SDK hands to the span processor. The macros' own roots set it where they start
//! (`call::span`).

use crate::carriers::trace_context::RANDOM_TRACE_ID;
use opentelemetry::trace::{
    Span, SpanBuilder, SpanContext, SpanId, Status, TraceContextExt as _, TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData};
use std::borrow::Cow;
use std::time::SystemTime;

/// The SDK's tracer provider, handing out [`RootingTracer`]s: what `init` installs as the
/// global tracer provider.
#[derive(Clone, Debug)]
pub(crate) struct RootingTracerProvider {
    pub sdk: SdkTracerProvider,
    /// The context this process was started under, if any.
    pub process_parent: Option<Context>,
}

impl TracerProvider for RootingTracerProvider {
    type Tracer = RootingTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> RootingTracer {
        RootingTracer {
            sdk: self.sdk.tracer_with_scope(scope),
            process_parent: self.process_parent.clone(),
        }
    }
}

/// The SDK's tracer, whose roots are the process parent's children or carry the `random` flag.
#[derive(Clone, Debug)]
pub(crate) struct RootingTracer {
    pub sdk: SdkTracer,
    /// The context this process was started under, if any.
    pub process_parent: Option<Context>,
}

impl opentelemetry::trace::Tracer for RootingTracer {
    type Span = RootingSpan;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> RootingSpan {
        // The SDK's own test for a root: no valid parent span context.
        let root = !parent_cx.span().span_context().is_valid();
        if root && !parent_cx.is_telemetry_suppressed() {
            if let Some(process_parent) = &self.process_parent {
                let inner = self.sdk.build_with_context(builder, process_parent);
                let span_context = inner.span_context().clone();
                return RootingSpan {
                    inner,
                    span_context,
                };
            }
        }
        let inner = self.sdk.build_with_context(builder, parent_cx);
        let span_context = inner.span_context();
        let span_context = if root && span_context.is_valid() {
            SpanContext::new(
                span_context.trace_id(),
                span_context.span_id(),
                span_context.trace_flags() | RANDOM_TRACE_ID,
                span_context.is_remote(),
                span_context.trace_state().clone(),
            )
        } else {
            span_context.clone()
        };
        RootingSpan {
            inner,
            span_context,
        }
    }
}

/// An SDK span whose context, as others read it, carries the `random` flag when it is a root.
#[derive(Debug)]
pub(crate) struct RootingSpan {
    inner: opentelemetry_sdk::trace::Span,
    span_context: SpanContext,
}

impl Span for RootingSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.inner
            .add_event_with_timestamp(name, timestamp, attributes);
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        self.inner.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.inner.set_attribute(attribute);
    }

    fn set_status(&mut self, status: Status) {
        self.inner.set_status(status);
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.inner.update_name(new_name);
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.inner.add_link(span_context, attributes);
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.inner.end_with_timestamp(timestamp);
    }
}

/// Adds the `random` flag to a finished root of the SDK's tracer: the SDK built its context
/// without it (see the module's comment).
pub(crate) fn mark_random_root(span: &mut SpanData) {
    if span.parent_span_id == SpanId::INVALID
        && span.span_context.is_valid()
        && span.span_context.trace_flags() & RANDOM_TRACE_ID != RANDOM_TRACE_ID
    {
        let context = &span.span_context;
        span.span_context = SpanContext::new(
            context.trace_id(),
            context.span_id(),
            context.trace_flags() | RANDOM_TRACE_ID,
            context.is_remote(),
            context.trace_state().clone(),
        );
    }
}

//! How trace context is carried across process boundaries: the W3C propagators
//! ([`trace_context`], and baggage), HTTP headers ([`http`]) and child processes ([`env`]).
//! Public as [`crate::propagation`], with the reqwest adapters of [`crate::http_client`].
//!
//! Every helper here goes through the process-wide OpenTelemetry propagator that [`crate::init`]
//! installs ([`propagator`]: W3C Trace Context Level 2 and W3C Baggage), so a user who installs
//! another propagator with `opentelemetry::global::set_text_map_propagator` gets it everywhere.
//! A server's extraction ([`http::extract_from_headers`], used by `HttpServerLayer`) reads the
//! header map directly while that propagator is [`W3cPropagator`], with the same result.

pub mod env;
pub mod http;
pub mod trace_context;

pub use self::env::CommandExt;
pub use self::http::{extract_from_headers, inject_into_headers, HeaderExtractor, HeaderInjector};
pub use self::trace_context::TraceContextPropagator;

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::BaggagePropagator;
use std::sync::OnceLock;

/// Header of W3C Baggage.
pub const BAGGAGE: &str = "baggage";

/// The propagator [`crate::init`] installs: our W3C Trace Context Level 2 propagator
/// ([`TraceContextPropagator`]) and the SDK's W3C Baggage propagator.
pub fn propagator() -> W3cPropagator {
    W3cPropagator::default()
}

/// W3C Trace Context Level 2 ([`TraceContextPropagator`]) then W3C Baggage (the SDK's
/// `BaggagePropagator`), what `TextMapCompositePropagator` of the two does, without boxing them.
///
/// It is recognisable behind `opentelemetry::global`'s `dyn TextMapPropagator` (its
/// [`fields`](TextMapPropagator::fields) are one static list, compared by address): while it is
/// the installed propagator, [`http::extract_from_headers`] reads an `http::HeaderMap` directly
/// instead of through the `Extractor` trait. Another propagator installed with
/// `set_text_map_propagator` is used as it is (a wrapper that hands out this one's `fields`
/// while extracting differently would be taken for this one).
#[derive(Debug, Default)]
pub struct W3cPropagator {
    trace_context: TraceContextPropagator,
    baggage: BaggagePropagator,
}

/// The header names of [`W3cPropagator`], in the order of its propagators.
fn w3c_fields() -> &'static [String; 3] {
    static FIELDS: OnceLock<[String; 3]> = OnceLock::new();
    FIELDS.get_or_init(|| {
        [
            trace_context::TRACEPARENT.to_owned(),
            trace_context::TRACESTATE.to_owned(),
            BAGGAGE.to_owned(),
        ]
    })
}

/// Whether `propagator` is a [`W3cPropagator`]: its first field is ours, by address.
pub(crate) fn is_w3c(propagator: &dyn TextMapPropagator) -> bool {
    propagator
        .fields()
        .next()
        .is_some_and(|field| std::ptr::eq(field, w3c_fields()[0].as_str()))
}

impl TextMapPropagator for W3cPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.trace_context.inject_context(cx, injector);
        self.baggage.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let cx = self.trace_context.extract_with_context(cx, extractor);
        self.baggage.extract_with_context(&cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(w3c_fields())
    }
}

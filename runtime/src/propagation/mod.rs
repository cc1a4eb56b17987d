//! Trace context across process boundaries: HTTP headers ([`http`]) and child processes
//! ([`env`]).
//!
//! Every helper here goes through the process-wide OpenTelemetry propagator that [`crate::init`]
//! installs ([`propagator`]: W3C Trace Context Level 2 and W3C Baggage), so a user who installs
//! another propagator with `opentelemetry::global::set_text_map_propagator` gets it everywhere.

pub mod env;
pub mod http;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "reqwest-middleware")]
pub mod reqwest_middleware;
pub mod trace_context;

pub use self::env::CommandExt;
pub use self::http::{extract_from_headers, inject_into_headers, HeaderExtractor, HeaderInjector};
#[cfg(feature = "reqwest")]
pub use self::reqwest::RequestBuilderExt;
#[cfg(feature = "reqwest-middleware")]
pub use self::reqwest_middleware::TracingMiddleware;
pub use self::trace_context::TraceContextPropagator;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::propagation::BaggagePropagator;

/// The propagator [`crate::init`] installs: our W3C Trace Context Level 2 propagator
/// ([`TraceContextPropagator`]) and the SDK's W3C Baggage propagator.
pub fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

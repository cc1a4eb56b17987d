//! Trace context across process boundaries: HTTP headers and child processes.
//!
//! Every helper here goes through the process-wide OpenTelemetry propagator that [`crate::init`]
//! installs (W3C Trace Context and Baggage), so a user who installs another propagator with
//! `opentelemetry::global::set_text_map_propagator` gets it everywhere.

pub mod http;

pub use self::http::{extract_from_headers, inject_into_headers, HeaderExtractor, HeaderInjector};

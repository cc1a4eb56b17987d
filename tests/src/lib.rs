//! Helpers shared by the tests: a real collector process, and readers of OTLP/JSON files.
//!
//! - [`collector`] runs the Rotel OpenTelemetry collector (`rotel-agent`, installed by
//!   `scripts/test.sh`) on free local ports and parses its debug dump of the spans, metric
//!   points and log records it received.
//! - [`otlp_json`] reads the OTLP/JSON files the embedded default writes.
//! - [`tls`] generates a private CA and certificates; [`nginx`] terminates TLS in front of a
//!   collector.
//! - [`program`] runs an example with a clean `OTEL_*` environment, bounded in time.

pub mod collector;
pub mod nginx;
pub mod otlp_json;
pub mod program;
pub mod tls;

pub use collector::{
    parse_logs, parse_metrics, parse_spans, Collector, ReceivedLog, ReceivedMetricPoint,
    ReceivedSpan,
};

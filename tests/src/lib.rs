//! Helpers shared by the tests: a real collector process, and readers of OTLP/JSON files.
//!
//! - [`collector`] runs the Rotel OpenTelemetry collector (`rotel-agent`, installed by
//!   `scripts/test.sh`) on free local ports and parses its debug dump of the spans, metric
//!   points and log records it received.
//! - [`otlp_json`] reads the OTLP/JSON files the embedded default writes.
//! - [`deploy`] reads the deploy kit (`deploy/`) and knows the series this project emits.

pub mod collector;
pub mod deploy;
pub mod otlp_json;

pub use collector::{
    parse_logs, parse_metrics, parse_spans, Collector, ReceivedLog, ReceivedMetricPoint,
    ReceivedSpan,
};

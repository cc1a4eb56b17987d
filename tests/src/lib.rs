//! Helpers shared by the tests: a real collector process, and readers of OTLP/JSON files.
//!
//! - [`browser`] drives headless chromium through chromedriver (WebDriver).
//! - [`collector`] runs the Rotel OpenTelemetry collector (`rotel-agent`, installed by
//!   `scripts/test.sh`) on free local ports and parses its debug dump of the spans, metric
//!   points and log records it received.
//! - [`otlp_json`] reads the OTLP/JSON files the embedded default writes.
//! - [`tls`] generates a private CA and certificates; [`nginx`] terminates TLS in front of a
//!   collector; [`forward_proxy`] is the proxy `HTTP_PROXY` / `HTTPS_PROXY` name.
//! - [`program`] runs an example with a clean `OTEL_*` environment, bounded in time.
//! - [`faults`] serves the fault suite: a collector that answers 503, 429, slowly or never,
//!   the measurements of the docs/reliability.md table, and the child-process runner.
//! - [`deploy`] reads the deploy kit (`deploy/`) and knows the series this project emits.
//! - [`mcp_python`] runs the real MCP server of the agent tests (the official MCP Python SDK,
//!   traced with OpenTelemetry Python) over stdio or streamable HTTP.

pub mod browser;
pub mod collector;
pub mod deploy;
pub mod faults;
pub mod forward_proxy;
pub mod isolated;
pub mod layers;
pub mod mcp_python;
pub mod nginx;
pub mod otlp_json;
pub mod peer;
pub mod program;
pub mod tls;

pub use collector::{
    labels, parse_logs, parse_metrics, parse_spans, received_counts, Collector, Dump,
    ReceivedCounts, ReceivedLog, ReceivedMetricPoint, ReceivedSpan,
};

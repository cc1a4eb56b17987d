//! Helpers of the deploy kit's tests (`deploy/`): the series this project makes Prometheus store,
//! the metric names a PromQL expression reads, and the files of the kit.
//!
//! - [`series`] turns the metric names of `names/src/lib.rs` into the names Prometheus stores
//!   after the OTLP -> Prometheus translation (`_seconds`, `_total`, `_bucket`).
//! - [`promql`] finds the metric names an expression reads.
//! - [`kit`] reads the rules, the dashboards and the configs of `deploy/`.
//! - [`points`] reads the metrics a program exported to `metrics.jsonl`, with kind and unit.
//! - [`prometheus`] runs a real Prometheus on loopback and queries its HTTP API.

pub mod kit;
pub mod points;
pub mod prometheus;
pub mod promql;
pub mod series;

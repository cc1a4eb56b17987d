#![warn(missing_docs)]
//! OpenTelemetry for LLM-driven software factories and the products they build.
//!
//! Annotate functions with [`pipeline_run`], [`pipeline_stage`] or [`pipeline`]; call [`init`]
//! once in `main`. Every annotated call becomes a span with its outcome and duration, and feeds
//! the metrics named in [`names`]. With no collector configured, telemetry goes to OTLP/JSON files
//! in `./telemetry` and a summary of each run is printed at exit.
//!
//! ```no_run
//! use factory_observability::{pipeline_run, pipeline_stage};
//!
//! #[pipeline_stage]
//! fn typecheck(files: &[&str]) -> Result<(), String> {
//!     if files.is_empty() { Err("nothing to check".into()) } else { Ok(()) }
//! }
//!
//! #[pipeline_run(name = "new_product")]
//! fn run() -> Result<(), String> {
//!     typecheck(&["main.rs"])
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _telemetry = factory_observability::init("sf-factory")?;
//!     run()?;
//!     Ok(())
//! }
//! ```

// The modules in their layers, top to bottom; a module uses only its own layer and those below
// (docs/architecture.md, checked by tests/tests/suite/layers.rs). Below them all are the crates
// `factory-observability-names` and `factory-observability-model`.

// Installation, integrations and what the macros' expansions call besides the call core.
mod checks;
mod classify;
#[cfg(feature = "axum")]
pub mod http;
#[cfg(feature = "reqwest")]
pub mod http_client;
mod init;
pub mod mcp;
pub mod provenance;
mod retry;
pub mod task;
pub mod testing;
// The call core: one instrumented call, and each macro's kind of call.
mod call;
// Where a call's telemetry goes: sampling, the span sink, the instruments.
mod dispatch;
// Export: exporters, the span export thread, delivery counting, the run summary, the SDK tracer.
pub mod export;
mod summary;
mod tracer;
// Configuration from the `OTEL_*` environment, and the errors of `init`.
pub mod config;
mod error;
// Trace context across processes: the W3C propagators, HTTP and environment carriers.
mod carriers;
// LLM usage and prices.
pub mod pricing;
mod usage;
// Content capture: what a call saw, redacted and cut.
pub mod content;
// Values every layer shares.
mod adjudication;
mod attribute;
mod call_site;
mod faults;
mod outcome;
mod test_report;

#[cfg(test)]
mod fuzz;

pub use adjudication::{Adjudication, CandidateScore, Verdict};
pub use attribute::AttributeValue;
pub use call::stream::LlmStream;
pub use content::PromptText;
pub use error::InitError;
pub use export::{DeliveryReport, SignalDelivery};
#[cfg(feature = "axum")]
pub use http::{BrowserTelemetry, HttpServerLayer};
pub use init::{init, Telemetry, TelemetryBuilder};
pub use outcome::{ErrorDetails, Outcome, OutcomeKind, Report};
pub use pricing::{ModelPrice, Pricing};
pub use retry::{retry_stage, retry_stage_async};
pub use test_report::{TestReport, TestResults};
pub use usage::{TokenUsage, Usage};

/// One model of exported telemetry: the OTLP/JSON reader and runs, stages and calls (the crate
/// `factory-observability-model`), shared by the shutdown summary, `factory-obs` and the tests.
pub use factory_observability_model as model;
/// Every span, attribute and metric name, unit, bucket and environment variable, in one place
/// (the crate `factory-observability-names`).
pub use factory_observability_names as names;

pub use factory_observability_macros::{
    adjudicate, agent, handler, llm_call, pipeline, pipeline_run, pipeline_stage, skip_stage, tool,
};

/// Trace context across process boundaries: HTTP headers ([`http`](propagation::http)) and
/// child processes ([`env`](propagation::env)), W3C Trace Context Level 2 and W3C Baggage, and
/// (features `reqwest`, `reqwest-middleware`) reqwest requests that continue the current trace.
///
/// Every helper here goes through the process-wide OpenTelemetry propagator that [`init`]
/// installs ([`propagator`](propagation::propagator)), so a program that installs another one
/// with `opentelemetry::global::set_text_map_propagator` gets it everywhere.
///
/// The carriers and the reqwest adapters live in different layers (the adapters open calls, the
/// carriers are below every call: `docs/architecture.md`); this module gathers them.
pub mod propagation {
    pub use crate::carriers::*;
    #[cfg(feature = "reqwest")]
    pub use crate::http_client::{self as reqwest, RequestBuilderExt};
    #[cfg(feature = "reqwest-middleware")]
    pub use crate::http_client::{middleware as reqwest_middleware, TracingMiddleware};
}

/// The former name of [`content`], kept so that code written against it still compiles.
#[doc(hidden)]
pub use content as capture;

/// Used by the macros' expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::adjudication::Decision;
    pub use crate::call::{
        Call, CallKind, CallSite, Ending, Extra, Fields, Instrumented, SiteCache, StreamShape,
        SyncCall, ToolOutput, ToolResultOf, ViaNotSerialize, ViaPlainStream, ViaResultSerialize,
        ViaSerialize, ViaStreamInResult,
    };
    pub use crate::test_report::detect::{TestsOf, ViaNoTests, ViaResultTests, ViaTests};
    pub use crate::usage::LlmResponse;
    pub use opentelemetry::StringValue;

    /// A provider or model given as an expression, evaluated at call time.
    pub fn text<T: std::fmt::Display + ?Sized>(value: &T) -> StringValue {
        StringValue::from(value.to_string())
    }
    pub use crate::checks::{reserved_key, usage_with, UsageRead};
    pub use crate::classify::{
        Classify, ViaAnything, ViaOutcome, ViaResult, ViaResultDebug, ViaResultDisplay,
        ViaResultOutcome, ViaResultOutcomeDebug, ViaResultOutcomeDisplay,
    };
    pub use crate::outcome::Report;
}

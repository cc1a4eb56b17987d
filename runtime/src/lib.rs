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

mod adjudication;
mod attribute;
mod call;
mod call_site;
pub mod capture;
mod checks;
mod classify;
pub mod config;
mod error;
pub mod export;
#[cfg(test)]
mod fuzz;
#[cfg(feature = "axum")]
pub mod http;
mod http_server_labels;
mod init;
mod llm;
mod outcome;
mod pipeline;
pub mod pricing;
pub mod propagation;
mod retry;
mod summary;
mod test_report;
pub mod testing;
mod tracer;

pub use adjudication::{Adjudication, CandidateScore, Verdict};
pub use attribute::AttributeValue;
pub use call::stream::LlmStream;
pub use error::InitError;
pub use export::{DeliveryReport, SignalDelivery};
#[cfg(feature = "axum")]
pub use http::HttpServerLayer;
pub use init::{init, Telemetry, TelemetryBuilder};
pub use llm::{PromptText, TokenUsage, Usage};
pub use outcome::{ErrorDetails, Outcome, OutcomeKind, Report};
pub use pricing::{ModelPrice, Pricing};
pub use retry::{retry_stage, retry_stage_async};
pub use test_report::{TestReport, TestResults};

/// One model of exported telemetry: the OTLP/JSON reader and runs, stages and calls (the crate
/// `factory-observability-model`), shared by the shutdown summary, `factory-obs` and the tests.
pub use factory_observability_model as model;
/// Every span, attribute and metric name, unit, bucket and environment variable, in one place
/// (the crate `factory-observability-names`).
pub use factory_observability_names as names;

pub use factory_observability_macros::{
    adjudicate, handler, llm_call, pipeline, pipeline_run, pipeline_stage, skip_stage,
};

/// Used by the macros' expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::adjudication::Decision;
    pub use crate::call::{
        Call, CallKind, CallSite, Ending, Extra, Fields, Instrumented, SiteCache, StreamShape,
        SyncCall, ViaPlainStream, ViaStreamInResult,
    };
    pub use crate::llm::LlmResponse;
    pub use crate::test_report::detect::{TestsOf, ViaNoTests, ViaResultTests, ViaTests};
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

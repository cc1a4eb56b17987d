//! `factory-obs`: answers a software factory's questions from local OTLP/JSON telemetry.
//!
//! Which stages take longest, where pipelines fail and with which exceptions, which model costs
//! what and wins adjudications, which tests are flaky, how a product's routes behave; one run's
//! span tree as a waterfall; two runs compared. Reads the embedded default's `telemetry/*.jsonl`
//! and the OpenTelemetry Collector file exporter's output through the runtime's one reader
//! ([`factory_observability_model`]).

pub mod aggregate;
pub mod args;
pub mod commands;
pub mod compare;
pub mod error;
pub mod filter;
pub mod format;
pub mod html;
pub mod load;
pub mod quantiles;
pub mod report;
pub mod runs;
pub mod synthetic;
pub mod table;
pub mod trace;

pub use args::Cli;
pub use error::CliError;

//! `factory-obs`: answers a software factory's questions from local OTLP/JSON telemetry.
//!
//! Which stages take longest, where pipelines fail and with which exceptions, which model costs
//! what and wins adjudications, which tests are flaky, how a product's routes behave; one run's
//! span tree as a waterfall; two runs compared. Reads the embedded default's `telemetry/*.jsonl`
//! and the OpenTelemetry Collector file exporter's output through the runtime's one reader
//! ([`factory_observability_model`]).

#![warn(missing_docs)]

// The lib exists for the binary (`main.rs`) and the tests: what they use is public (the parsed
// command line, running it, the exit codes, the synthetic telemetry the golden tests, the
// benchmark and `examples/generate_telemetry.rs` read); the rest is crate-private, so that
// `--json`'s shapes and the passes can change without being an API.
mod aggregate;
mod args;
pub mod commands;
mod compare;
pub mod error;
mod filter;
mod format;
mod html;
mod load;
mod quantiles;
mod report;
mod runs;
pub mod synthetic;
mod table;
mod trace;

pub use args::Cli;

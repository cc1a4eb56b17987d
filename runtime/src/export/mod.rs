//! Where telemetry goes: OTLP exporters or the embedded default's OTLP/JSON files, each wrapped so
//! that what was submitted, delivered and lost is counted.

pub(crate) mod counting;
pub(crate) mod health;
pub(crate) mod jsonl;
#[cfg(feature = "prometheus")]
pub(crate) mod prometheus;
pub(crate) mod records;

pub use counting::{DeliveryReport, SignalDelivery};

//! Where telemetry goes: OTLP exporters or the embedded default's OTLP/JSON files, each wrapped so
//! that what was submitted, delivered and lost is counted.

pub(crate) mod cicd;
pub(crate) mod counting;
pub(crate) mod explained;
pub(crate) mod foreign;
#[cfg(feature = "grpc")]
pub(crate) mod grpc;
#[cfg(feature = "grpc")]
pub(crate) mod grpc_connect;
pub(crate) mod health;
pub(crate) mod http_client;
#[cfg(feature = "axum")]
pub(crate) mod ingest;
pub(crate) mod jsonl;
pub(crate) mod otlp;
#[cfg(feature = "prometheus")]
pub(crate) mod prometheus;
#[cfg(feature = "grpc")]
pub(crate) mod quick_ack;
pub(crate) mod records;
pub(crate) mod redacting;
pub(crate) mod runner;
pub(crate) mod span_record;
pub(crate) mod tls;

pub use counting::{DeliveryReport, SignalDelivery};

/// The instrumentation scope of the macros' spans and metrics.
pub(crate) fn instrumentation_scope() -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder(crate::names::SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

//! OTLP/gRPC (tonic) exporters of the three signals, behind the `grpc` feature: endpoint as
//! written (default `http://localhost:4317`), headers as metadata, gzip, TLS from the same
//! certificate variables and rustls configuration as HTTPS ([`super::grpc_connect`]). Their
//! futures run on one small tokio runtime of ours ([`GrpcRuntime`]), shared by the signals while
//! any exporter lives.

use super::explained::{Explained, LastFailure};
use super::runner::GrpcRuntime;
use crate::config::{Compression, OtlpTransport, Signal};
use crate::error::InitError;
use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::metrics::Temporality;
use std::sync::{Arc, Mutex, Weak};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

/// The runtime of the live gRPC exporters, started with the first.
fn shared_runtime(signal: Signal) -> Result<Arc<GrpcRuntime>, InitError> {
    static RUNTIME: Mutex<Weak<GrpcRuntime>> = Mutex::new(Weak::new());
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(runtime) = slot.upgrade() {
        return Ok(runtime);
    }
    let runtime = GrpcRuntime::start().map_err(|error| InitError::Exporter {
        signal: signal.as_str(),
        message: format!("cannot start the gRPC runtime: {error}"),
    })?;
    *slot = Arc::downgrade(&runtime);
    Ok(runtime)
}

macro_rules! grpc_exporter {
    ($name:ident, $exporter:ty, $signal:expr, $($extra:tt)*) => {
        pub(crate) fn $name(transport: &OtlpTransport) -> Result<Explained<$exporter>, InitError> {
            let signal = $signal;
            let runtime = shared_runtime(signal)?;
            let runner = runtime.runner();
            let failure = Arc::new(LastFailure::default());
            let channel =
                runner.entered(|| super::grpc_connect::channel(signal, transport, &failure))?;
            let mut builder = <$exporter>::builder()
                .with_tonic()
                .with_channel(channel)
                .with_timeout(transport.timeout)
                .with_metadata(metadata(signal, transport)?);
            if transport.compression == Compression::Gzip {
                builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
            }
            let inner = runner
                .entered(|| builder $($extra)* .build())
                .map_err(|error| InitError::Exporter {
                    signal: signal.as_str(),
                    message: error.to_string(),
                })?;
            Ok(Explained {
                inner,
                failure,
                runner,
                grpc_endpoint: Some(crate::content::shown_url(transport.endpoint.trim())),
            })
        }
    };
}

grpc_exporter!(
    span_exporter,
    opentelemetry_otlp::SpanExporter,
    Signal::Traces,
);
grpc_exporter!(
    metric_exporter,
    opentelemetry_otlp::MetricExporter,
    Signal::Metrics,
    .with_temporality(Temporality::Cumulative)
);
grpc_exporter!(log_exporter, opentelemetry_otlp::LogExporter, Signal::Logs,);

/// The headers as gRPC metadata. A name or value gRPC cannot carry is an error naming the header
/// (never its value).
fn metadata(signal: Signal, transport: &OtlpTransport) -> Result<MetadataMap, InitError> {
    let mut metadata = MetadataMap::new();
    for (name, value) in &transport.headers.0 {
        let key = MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes());
        let parsed = MetadataValue::try_from(value.as_str());
        match (key, parsed) {
            (Ok(key), Ok(value)) => {
                metadata.insert(key, value);
            }
            _ => {
                return Err(InitError::Exporter {
                    signal: signal.as_str(),
                    message: format!(
                        "the header {name} cannot be sent as gRPC metadata (a lowercase ASCII \
                         name and a printable ASCII value are needed)"
                    ),
                })
            }
        }
    }
    Ok(metadata)
}

//! The one place that builds the OTLP span, metric and log exporters from the configuration:
//! our own HTTP client (ureq, rustls with the signal's certificates), the endpoint exactly as
//! resolved by `config::otlp`, headers, timeout and compression. Each exporter is wrapped so that
//! a failed export names the URL and the reason ([`Explained`]).
//!
//! Retries are the exporter's own (`opentelemetry-otlp`'s recommended policy): HTTP 429, 502,
//! 503 and 504 and failures without a response are retried with exponential backoff and jitter,
//! honouring `Retry-After`, within the export timeout.

use super::explained::{Explained, LastFailure};
use super::http_client::ExplainingClient;
use super::runner::Runner;
use crate::config::{Compression, OtlpTransport, Protocol, Signal};
use crate::error::InitError;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::metrics::Temporality;
use std::collections::HashMap;
use std::sync::Arc;

/// What every signal's HTTP exporter takes from `transport`: our client, the protocol, the
/// endpoint as resolved, timeout, headers and compression.
fn over_http<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    client: ExplainingClient,
    transport: &OtlpTransport,
) -> B {
    let builder = builder
        .with_http_client(client)
        .with_protocol(otlp_protocol(transport.protocol))
        .with_endpoint(&transport.endpoint)
        .with_timeout(transport.timeout)
        .with_headers(headers(transport));
    match transport.compression {
        Compression::Gzip => builder.with_compression(opentelemetry_otlp::Compression::Gzip),
        Compression::None => builder,
    }
}

/// The OTLP span exporter of `transport`.
pub(crate) fn span_exporter(
    transport: &OtlpTransport,
) -> Result<Explained<opentelemetry_otlp::SpanExporter>, InitError> {
    #[cfg(feature = "grpc")]
    if transport.protocol == Protocol::Grpc {
        return super::grpc::span_exporter(transport);
    }
    let (client, failure) = http_client(Signal::Traces, transport)?;
    let builder = opentelemetry_otlp::SpanExporter::builder().with_http();
    let builder = over_http(builder, client, transport);
    Ok(Explained {
        inner: builder
            .build()
            .map_err(|error| exporter_error(Signal::Traces, error))?,
        failure,
        runner: Runner::inline(),
        grpc_endpoint: None,
    })
}

/// The OTLP metric exporter of `transport` (cumulative temporality).
pub(crate) fn metric_exporter(
    transport: &OtlpTransport,
) -> Result<Explained<opentelemetry_otlp::MetricExporter>, InitError> {
    #[cfg(feature = "grpc")]
    if transport.protocol == Protocol::Grpc {
        return super::grpc::metric_exporter(transport);
    }
    let (client, failure) = http_client(Signal::Metrics, transport)?;
    let builder = opentelemetry_otlp::MetricExporter::builder().with_http();
    let builder = over_http(builder, client, transport);
    Ok(Explained {
        inner: builder
            .with_temporality(Temporality::Cumulative)
            .build()
            .map_err(|error| exporter_error(Signal::Metrics, error))?,
        failure,
        runner: Runner::inline(),
        grpc_endpoint: None,
    })
}

/// The OTLP log exporter of `transport`.
pub(crate) fn log_exporter(
    transport: &OtlpTransport,
) -> Result<Explained<opentelemetry_otlp::LogExporter>, InitError> {
    #[cfg(feature = "grpc")]
    if transport.protocol == Protocol::Grpc {
        return super::grpc::log_exporter(transport);
    }
    let (client, failure) = http_client(Signal::Logs, transport)?;
    let builder = opentelemetry_otlp::LogExporter::builder().with_http();
    let builder = over_http(builder, client, transport);
    Ok(Explained {
        inner: builder
            .build()
            .map_err(|error| exporter_error(Signal::Logs, error))?,
        failure,
        runner: Runner::inline(),
        grpc_endpoint: None,
    })
}

/// The signal's HTTP client: TLS as its certificate variables say (files read and checked
/// here, at `init`), the export timeout per request. ureq needs no runtime, so `init` may build
/// it anywhere, in async code too.
fn http_client(
    signal: Signal,
    transport: &OtlpTransport,
) -> Result<(ExplainingClient, Arc<LastFailure>), InitError> {
    let https = transport.endpoint.trim_start().starts_with("https://");
    let (_, certificates) = super::tls::load(signal.as_str(), &transport.tls, https)?;
    let failure = Arc::new(LastFailure::default());
    let client = ExplainingClient::new(
        signal.as_str(),
        &transport.endpoint,
        certificates,
        transport.timeout,
        Arc::clone(&failure),
    );
    Ok((client, failure))
}

fn headers(transport: &OtlpTransport) -> HashMap<String, String> {
    transport.headers.0.iter().cloned().collect()
}

fn otlp_protocol(protocol: Protocol) -> opentelemetry_otlp::Protocol {
    match protocol {
        Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        // Not reached: gRPC exporters are built by `export::grpc`.
        Protocol::Grpc => opentelemetry_otlp::Protocol::HttpBinary,
    }
}

fn exporter_error(signal: Signal, error: impl std::fmt::Display) -> InitError {
    InitError::Exporter {
        signal: signal.as_str(),
        message: error.to_string(),
    }
}

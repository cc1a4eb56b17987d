//! What the providers are built from: the embedded default's files, the span exporter of any
//! destination behind one type, the log exporter of either destination, the Prometheus endpoint.

use crate::error::InitError;
use crate::export::explained::Explained;
#[cfg(not(feature = "prometheus"))]
use crate::export::jsonl::JsonlMetricExporter;
use crate::export::jsonl::{JsonlFile, JsonlLogExporter};
#[cfg(not(feature = "prometheus"))]
use opentelemetry_sdk::metrics::PeriodicReader;
use opentelemetry_sdk::Resource;
use std::path::Path;
use std::time::Duration;

#[cfg(feature = "prometheus")]
pub(super) type MetricsEndpoint = crate::export::prometheus::MetricsEndpoint;
/// Never built without the `prometheus` feature (the configuration refuses the exporter).
#[cfg(not(feature = "prometheus"))]
#[derive(Debug)]
pub(super) enum MetricsEndpoint {}

#[cfg(feature = "prometheus")]
pub(super) fn serve_prometheus(
    endpoint: &crate::config::PrometheusEndpoint,
) -> Result<
    (
        opentelemetry_prometheus::PrometheusExporter,
        Option<MetricsEndpoint>,
    ),
    InitError,
> {
    let (reader, server) = crate::export::prometheus::serve(endpoint)?;
    Ok((reader, Some(server)))
}

#[cfg(not(feature = "prometheus"))]
pub(super) fn serve_prometheus(
    _endpoint: &crate::config::PrometheusEndpoint,
) -> Result<(PeriodicReader<JsonlMetricExporter>, Option<MetricsEndpoint>), InitError> {
    unreachable!("the configuration refuses OTEL_METRICS_EXPORTER=prometheus without the feature")
}

pub(super) fn open(path: &Path) -> Result<JsonlFile, InitError> {
    JsonlFile::open(path).map_err(|source| InitError::Io {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn exporter_error(signal: &'static str, error: impl std::fmt::Display) -> InitError {
    InitError::Exporter {
        signal,
        message: error.to_string(),
    }
}

/// An object-safe [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter): the file, OTLP and
/// in-code exporters behind one span export thread type.
pub(super) trait DynSpanExporter: Send + Sync + std::fmt::Debug {
    fn export_boxed(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send + '_>,
    >;
    fn shutdown_boxed(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult;
    fn set_resource_boxed(&mut self, resource: &Resource);
}

impl<E: opentelemetry_sdk::trace::SpanExporter> DynSpanExporter for E {
    fn export_boxed(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send + '_>,
    > {
        Box::pin(self.export(batch))
    }
    fn shutdown_boxed(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.shutdown_with_timeout(timeout)
    }
    fn set_resource_boxed(&mut self, resource: &Resource) {
        self.set_resource(resource);
    }
}

impl opentelemetry_sdk::trace::SpanExporter for Box<dyn DynSpanExporter> {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        // `**self`: the boxed exporter, not this impl again through the blanket impl.
        (**self).export_boxed(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        (**self).shutdown_boxed(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        (**self).set_resource_boxed(resource);
    }
}

/// The log exporter of either destination.
#[derive(Debug)]
pub(super) enum LogSink {
    File(JsonlLogExporter),
    /// Boxed: with the `grpc` feature the OTLP exporter is several times the file's size.
    Otlp(Box<Explained<opentelemetry_otlp::LogExporter>>),
}

impl opentelemetry_sdk::logs::LogExporter for LogSink {
    async fn export(
        &self,
        batch: opentelemetry_sdk::logs::LogBatch<'_>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        match self {
            LogSink::File(exporter) => exporter.export(batch).await,
            LogSink::Otlp(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        match self {
            LogSink::File(exporter) => exporter.shutdown_with_timeout(timeout),
            LogSink::Otlp(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            LogSink::File(exporter) => exporter.set_resource(resource),
            LogSink::Otlp(exporter) => exporter.set_resource(resource),
        }
    }
}

//! Export failures that explain themselves. The OTLP exporter reports a rejected export as
//! "HTTP export failed with status code: 404" and any transport failure as "network error": the
//! URL, and the TLS reason of a refused handshake, are lost. Our clients (OTLP/HTTP:
//! `http_client::ExplainingClient`; gRPC: `grpc_connect`) note what really happened to the last
//! request ([`LastFailure`]), and [`Explained`] puts that note in place of the exporter's error,
//! so the delivery report says e.g.
//! `POST http://localhost:4318/v1/traces/v1/traces: 404 Not Found`.

use super::runner::Runner;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What went wrong with a signal's last request, written by its client and read by its
/// exporter wrapper (both run on the signal's export thread, one export at a time).
#[derive(Debug, Default)]
pub(crate) struct LastFailure(Mutex<Option<String>>);

impl LastFailure {
    pub(crate) fn set(&self, text: String) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(text);
        }
    }

    fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// An exporter whose errors are replaced by its client's note of what went wrong, and whose
/// exports run where its transport needs them to ([`Runner`]).
#[derive(Debug)]
pub(crate) struct Explained<E> {
    pub inner: E,
    pub failure: Arc<LastFailure>,
    pub runner: Runner,
    /// A gRPC exporter's endpoint: its failures without a note (the server answered with an
    /// error status) are said with it.
    pub grpc_endpoint: Option<String>,
}

impl<E> Explained<E> {
    fn explain(&self, result: OTelSdkResult) -> OTelSdkResult {
        // Taken on success too, so that a note never outlives its export.
        let note = self.failure.take();
        result.map_err(|error| match (note, error) {
            (Some(note), OTelSdkError::InternalFailure(_)) => OTelSdkError::InternalFailure(note),
            (None, OTelSdkError::InternalFailure(message)) => match &self.grpc_endpoint {
                Some(endpoint) => OTelSdkError::InternalFailure(grpc_status(endpoint, &message)),
                None => OTelSdkError::InternalFailure(message),
            },
            (_, error) => error,
        })
    }
}

/// A gRPC failure the connection did not explain: opentelemetry-otlp says
/// `TonicTracesClient export failed with gRPC code: InvalidArgument` for a server's answer
/// (never the server's message, which may echo a token), and appends the cause when tonic made
/// the status itself (`...: Unavailable: transport error: ...`). This names the endpoint and
/// keeps the code: `gRPC http://collector:4317: answered with gRPC status: InvalidArgument`, or
/// `gRPC http://collector:4317: transport error: ... (status Unavailable)`.
fn grpc_status(endpoint: &str, message: &str) -> String {
    match message.split_once("export failed with gRPC code: ") {
        Some((_, status)) => match status.split_once(": ") {
            Some((code, cause)) => format!("gRPC {endpoint}: {cause} (status {code})"),
            None => format!("gRPC {endpoint}: answered with gRPC status: {status}"),
        },
        None => format!("gRPC {endpoint}: {message}"),
    }
}

impl<E: SpanExporter> SpanExporter for Explained<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.runner.run(self.inner.export(batch)).await;
        self.explain(result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.runner
            .entered(|| self.inner.shutdown_with_timeout(timeout))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter + std::fmt::Debug> PushMetricExporter for Explained<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.runner.run(self.inner.export(metrics)).await;
        self.explain(result)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl<E: LogExporter> LogExporter for Explained<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let result = self.runner.run(self.inner.export(batch)).await;
        self.explain(result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_status_names_the_endpoint_and_keeps_the_code_only() {
        assert_eq!(
            grpc_status(
                "https://collector:4317",
                "TonicTracesClient export failed with gRPC code: InvalidArgument"
            ),
            "gRPC https://collector:4317: answered with gRPC status: InvalidArgument"
        );
        assert_eq!(
            grpc_status(
                "http://localhost:4317",
                "TonicLogsClient export failed with gRPC code: Unavailable: transport error: \
                 connect timed out"
            ),
            "gRPC http://localhost:4317: transport error: connect timed out (status Unavailable)"
        );
        assert_eq!(
            grpc_status("http://localhost:4317", "exporter is shut down"),
            "gRPC http://localhost:4317: exporter is shut down"
        );
    }

    #[test]
    fn a_note_replaces_the_exporters_error_and_never_outlives_its_export() {
        let explained = Explained {
            inner: (),
            failure: Arc::new(LastFailure::default()),
            runner: Runner::inline(),
            grpc_endpoint: Some("http://localhost:4317".into()),
        };
        let failed = || Err(OTelSdkError::InternalFailure("transport error".into()));
        let text = |result: OTelSdkResult| match result {
            Err(OTelSdkError::InternalFailure(text)) => text,
            other => panic!("{other:?}"),
        };
        explained
            .failure
            .set("gRPC http://localhost:4317: tcp connect error: refused".into());
        assert_eq!(
            text(explained.explain(failed())),
            "gRPC http://localhost:4317: tcp connect error: refused"
        );
        explained.failure.set("stale".into());
        assert!(explained.explain(Ok(())).is_ok());
        assert_eq!(
            text(explained.explain(failed())),
            "gRPC http://localhost:4317: transport error"
        );
    }
}

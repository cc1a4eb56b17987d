//! The embedded default: OTLP/JSON export requests, one per line, in the encoding of the
//! OpenTelemetry Collector's file exporter (so a collector, or `factory-obs report`, can read them).
//!
//! Exporters run on the SDK's background threads, never on the instrumented call's thread.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// One append-only JSON Lines file.
#[derive(Debug)]
pub(crate) struct JsonlFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonlFile {
    /// Opens `path` for appending, creating it and its directory.
    pub fn open(path: &Path) -> std::io::Result<JsonlFile> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonlFile {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    fn append<T: Serialize>(&self, request: &T) -> OTelSdkResult {
        let mut line = serde_json::to_vec(request)
            .map_err(|error| OTelSdkError::InternalFailure(error.to_string()))?;
        line.push(b'\n');
        // A panic while another export held the file cannot leave half a line (one write per
        // request): go on writing rather than failing every later export.
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One write per request, in append mode: a line is either whole in the file or absent.
        file.write_all(&line).map_err(|error| {
            OTelSdkError::InternalFailure(format!("{}: {error}", self.path.display()))
        })
    }

    /// Nothing is buffered: every request is written as it is exported.
    fn flush(&self) -> OTelSdkResult {
        Ok(())
    }
}

/// Spans as `ExportTraceServiceRequest` lines.
#[derive(Debug)]
pub(crate) struct JsonlSpanExporter {
    file: JsonlFile,
    resource: ResourceAttributesWithSchema,
}

impl JsonlSpanExporter {
    pub fn new(file: JsonlFile) -> Self {
        JsonlSpanExporter {
            file,
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl SpanExporter for JsonlSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        self.file.append(&request)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.file.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.file.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Metrics as `ExportMetricsServiceRequest` lines, cumulative like Prometheus expects.
#[derive(Debug)]
pub(crate) struct JsonlMetricExporter {
    file: JsonlFile,
}

impl JsonlMetricExporter {
    pub fn new(file: JsonlFile) -> Self {
        JsonlMetricExporter { file }
    }
}

impl PushMetricExporter for JsonlMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.file
            .append(&ExportMetricsServiceRequest::from(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.file.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.file.flush()
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// Log records as `ExportLogsServiceRequest` lines.
#[derive(Debug)]
pub(crate) struct JsonlLogExporter {
    file: JsonlFile,
    resource: ResourceAttributesWithSchema,
}

impl JsonlLogExporter {
    pub fn new(file: JsonlFile) -> Self {
        JsonlLogExporter {
            file,
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl LogExporter for JsonlLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let request = ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
        };
        self.file.append(&request)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.file.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

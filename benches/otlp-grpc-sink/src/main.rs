//! A discarding OTLP/gRPC receiver: tonic's server with the generated services of
//! `opentelemetry-proto`, decoding every export request (as a collector does) and keeping only
//! counts. `benches/scripts/export.sh` (`GRPC_RECEIVER=sink`) runs it in place of rotel's gRPC
//! receiver, to tell a cost of our gRPC client from one of rotel's receiver.
//!
//! `otlp-grpc-sink ADDRESS` (e.g. `127.0.0.1:4317`). Prints `listening on ADDRESS` once bound,
//! and on SIGTERM or Ctrl-C the requests and items received per signal, then exits.
//! `SINK_WORKERS` sets the tokio worker threads (default: one per core); `SINK_STREAM_WINDOW` and
//! `SINK_CONNECTION_WINDOW` the HTTP/2 receive windows in bytes (default: tonic's, i.e. hyper's);
//! `SINK_NODELAY=0` leaves Nagle's algorithm on for accepted connections, as rotel 0.0.1-alpha10
//! does (default `1`: `TCP_NODELAY`, as tonic's `Server::serve` sets).

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// Requests and items (spans, metric data points' metrics, log records) received.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    items: AtomicU64,
}

impl Counts {
    fn add(&self, items: usize) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.items.fetch_add(items as u64, Ordering::Relaxed);
    }

    fn line(&self, signal: &str, item: &str) -> String {
        format!(
            "{signal}: {} requests, {} {item}",
            self.requests.load(Ordering::Relaxed),
            self.items.load(Ordering::Relaxed)
        )
    }
}

#[derive(Clone, Default)]
struct Sink {
    traces: Arc<Counts>,
    metrics: Arc<Counts>,
    logs: Arc<Counts>,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum();
        self.traces.add(spans);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let metrics = request
            .into_inner()
            .resource_metrics
            .iter()
            .flat_map(|resource| &resource.scope_metrics)
            .map(|scope| scope.metrics.len())
            .sum();
        self.metrics.add(metrics);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Sink {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let records = request
            .into_inner()
            .resource_logs
            .iter()
            .flat_map(|resource| &resource.scope_logs)
            .map(|scope| scope.log_records.len())
            .sum();
        self.logs.add(records);
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

/// A positive integer from the environment variable `name`, if set.
fn env_number(name: &str) -> Result<Option<u64>, String> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(value) => value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|number| *number > 0)
            .map(Some)
            .ok_or_else(|| format!("{name}={value:?}: expected a positive integer")),
    }
}

struct Settings {
    address: String,
    workers: Option<u64>,
    stream_window: Option<u64>,
    connection_window: Option<u64>,
    nodelay: bool,
}

fn settings() -> Result<Settings, String> {
    let address = std::env::args()
        .nth(1)
        .ok_or("usage: otlp-grpc-sink ADDRESS (e.g. 127.0.0.1:4317)")?;
    Ok(Settings {
        address,
        workers: env_number("SINK_WORKERS")?,
        stream_window: env_number("SINK_STREAM_WINDOW")?,
        connection_window: env_number("SINK_CONNECTION_WINDOW")?,
        nodelay: match std::env::var("SINK_NODELAY").as_deref() {
            Err(_) | Ok("1") => true,
            Ok("0") => false,
            Ok(other) => return Err(format!("SINK_NODELAY={other:?}: expected 0 or 1")),
        },
    })
}

fn main() -> std::process::ExitCode {
    let settings = match settings() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("otlp-grpc-sink: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = settings.workers {
        runtime.worker_threads(workers as usize);
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("otlp-grpc-sink: cannot start the tokio runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(settings)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("otlp-grpc-sink: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(&settings.address)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", settings.address))?;
    let bound = listener
        .local_addr()
        .map_err(|error| format!("cannot read the bound address: {error}"))?;
    println!("listening on {bound} (TCP_NODELAY {})", settings.nodelay);
    let sink = Sink::default();
    let window = |bytes: Option<u64>| bytes.map(|bytes| bytes.min(u64::from(u32::MAX)) as u32);
    let server = tonic::transport::Server::builder()
        .initial_stream_window_size(window(settings.stream_window))
        .initial_connection_window_size(window(settings.connection_window))
        .add_service(
            TraceServiceServer::new(sink.clone()).accept_compressed(CompressionEncoding::Gzip),
        )
        .add_service(
            MetricsServiceServer::new(sink.clone()).accept_compressed(CompressionEncoding::Gzip),
        )
        .add_service(
            LogsServiceServer::new(sink.clone()).accept_compressed(CompressionEncoding::Gzip),
        )
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(settings.nodelay)),
            stopped(),
        );
    server
        .await
        .map_err(|error| format!("the server failed: {error}"))?;
    println!("{}", sink.traces.line("traces", "spans"));
    println!("{}", sink.metrics.line("metrics", "metrics"));
    println!("{}", sink.logs.line("logs", "log records"));
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stopped() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(terminate) => terminate,
            Err(_) => return std::future::pending().await,
        };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

//! gRPC retries, as the OTLP specification classifies statuses: the factory example exports its
//! traces to a tonic OTLP server of this test's own (the generated `TraceService` of
//! `opentelemetry-proto`), which answers the first export with a chosen status and every later
//! one with OK. Retryable (UNAVAILABLE; RESOURCE_EXHAUSTED with `RetryInfo`): the same batch
//! arrives again and everything is delivered. Not retryable (INVALID_ARGUMENT;
//! RESOURCE_EXHAUSTED without `RetryInfo`): the batch is counted as lost with the status, and
//! never sent again.
//!
//! `cargo test -p factory-observability-examples --features grpc --test grpc export_grpc_retry::`

use factory_observability_tests::program::{run, Run};
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
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// The factory example's spans (its smoke stage and MCP linter off, as `program::run` runs it).
const SPANS: usize = 36;

/// How the server answers the first trace export.
#[derive(Clone, Copy, Debug)]
enum FirstAnswer {
    Status(Code),
    /// RESOURCE_EXHAUSTED with a `RetryInfo` delay: the server says when to come back.
    ThrottledFor(Duration),
}

/// The span ids of each trace export request, in arrival order.
type Received = Arc<Mutex<Vec<Vec<Vec<u8>>>>>;

struct Traces {
    first: FirstAnswer,
    received: Received,
}

#[tonic::async_trait]
impl TraceService for Traces {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let span_ids: Vec<Vec<u8>> = request
            .into_inner()
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| &scope.spans)
            .map(|span| span.span_id.clone())
            .collect();
        let mut received = self.received.lock().unwrap();
        received.push(span_ids);
        if received.len() > 1 {
            return Ok(Response::new(ExportTraceServiceResponse::default()));
        }
        Err(match self.first {
            FirstAnswer::Status(code) => Status::new(code, "chosen by the test"),
            FirstAnswer::ThrottledFor(delay) => Status::with_error_details(
                Code::ResourceExhausted,
                "chosen by the test",
                ErrorDetails::with_retry_info(Some(delay)),
            ),
        })
    }
}

struct Metrics;

#[tonic::async_trait]
impl MetricsService for Metrics {
    async fn export(
        &self,
        _: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

struct Logs;

#[tonic::async_trait]
impl LogsService for Logs {
    async fn export(
        &self,
        _: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

/// Runs the factory example against a server answering the first trace export with `first`;
/// returns the run and the span ids of every trace request the server received.
fn export_against(name: &str, first: FirstAnswer) -> (Run, Vec<Vec<Vec<u8>>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let received = Received::default();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let traces = Traces {
        first,
        received: Arc::clone(&received),
    };
    runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(traces))
            .add_service(MetricsServiceServer::new(Metrics))
            .add_service(LogsServiceServer::new(Logs))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_grpc_retry-{name}"));
    let run = run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &dir,
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
        RUN_TIMEOUT,
    );
    runtime.shutdown_background();
    let received = received.lock().unwrap().clone();
    (run, received)
}

/// The first batch arrived twice, and every span was delivered.
fn assert_retried_and_delivered(run: &Run, received: &[Vec<Vec<u8>>]) {
    assert!(received.len() >= 2, "{received:?}\n{}", run.describe());
    assert!(!received[0].is_empty());
    assert_eq!(received[1], received[0], "the retry carries the same batch");
    let distinct: std::collections::BTreeSet<&Vec<u8>> = received.iter().flatten().collect();
    assert_eq!(distinct.len(), SPANS, "{}", run.describe());
    assert!(
        run.stderr.contains(&format!(
            "traces {SPANS}/{SPANS} delivered; metrics 1/1 exports delivered; logs 3/3 delivered"
        )),
        "{}",
        run.describe()
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.describe());
}

/// The first batch was not sent again, and is counted as lost with the status.
fn assert_not_retried_and_lost(run: &Run, received: &[Vec<Vec<u8>>], status: &str) {
    assert!(!received.is_empty(), "{}", run.describe());
    let first = &received[0];
    assert!(!first.is_empty());
    for later in &received[1..] {
        assert!(
            later.iter().all(|span| !first.contains(span)),
            "a span of the refused batch was sent again: {received:?}"
        );
    }
    let lost = first.len();
    let delivered = SPANS - lost;
    assert!(
        run.stderr.contains(&format!(
            "traces {delivered}/{SPANS} delivered ({lost} lost: {lost} failed to export; last \
             error: gRPC http://127.0.0.1:"
        )) && run
            .stderr
            .contains(&format!(": answered with gRPC status: {status})")),
        "{}",
        run.describe()
    );
    assert_eq!(run.status.code(), Some(3), "{}", run.describe());
}

#[test]
fn unavailable_is_retried_and_the_batch_delivered() {
    let (run, received) = export_against("unavailable", FirstAnswer::Status(Code::Unavailable));
    assert_retried_and_delivered(&run, &received);
}

#[test]
fn resource_exhausted_with_retry_info_is_retried_after_the_delay() {
    let (run, received) = export_against(
        "throttled",
        FirstAnswer::ThrottledFor(Duration::from_millis(200)),
    );
    assert_retried_and_delivered(&run, &received);
}

#[test]
fn resource_exhausted_without_retry_info_is_not_retried() {
    let (run, received) = export_against("exhausted", FirstAnswer::Status(Code::ResourceExhausted));
    assert_not_retried_and_lost(&run, &received, "ResourceExhausted");
}

#[test]
fn invalid_argument_is_not_retried() {
    let (run, received) = export_against("invalid", FirstAnswer::Status(Code::InvalidArgument));
    assert_not_retried_and_lost(&run, &received, "InvalidArgument");
}

//! Server-side cost per request of one trivial axum handler, side by side in one criterion group
//! (`http_server`): the bare router; tower-http's `TraceLayer` with tracing-opentelemetry and a
//! hand-written `http.server.request.duration` histogram (what axum users pick today); ours
//! (`HttpServerLayer`). Same handler, same discarding span exporter behind a batch processor;
//! the router is driven with `tower::ServiceExt::oneshot` (no network) and the response body is
//! read to its end. Run: `cargo bench -p factory-observability-benches --bench http_server`.
//! `init` is process-wide, so ours runs last.

mod common;

use axum::body::Body;
use axum::http::{Request, Response};
use axum::routing::get;
use axum::Router;
use common::init_ours;
use criterion::Criterion;
use fo_benches::HandWritten;
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::KeyValue;
use std::time::Duration;
use tower::ServiceExt as _;

async fn hello() -> &'static str {
    "ok"
}

fn routes() -> Router {
    Router::new().route("/tasks/{id}", get(hello))
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn request() -> Request<Body> {
    Request::get("/tasks/42")
        .header("host", "127.0.0.1:3000")
        .header("user-agent", "bench/1.0")
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .unwrap()
}

/// One request through `router`, its body read to the end.
async fn serve(router: &Router) -> usize {
    let response = router.clone().oneshot(request()).await.unwrap();
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .len()
}

/// tower-http's `TraceLayer` (a `tracing` span per request, exported by tracing-opentelemetry)
/// plus the duration histogram the conventions ask for, recorded by hand in `on_response`.
fn tower_http_router(histogram: Histogram<f64>) -> Router {
    let layer = tower_http::trace::TraceLayer::new_for_http().on_response(
        move |response: &Response<Body>, latency: Duration, _span: &tracing::Span| {
            histogram.record(
                latency.as_secs_f64(),
                &[
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("http.route", "/tasks/{id}"),
                    KeyValue::new(
                        "http.response.status_code",
                        i64::from(response.status().as_u16()),
                    ),
                ],
            );
        },
    );
    routes().layer(layer)
}

fn http_server(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("http_server");

    let bare = routes();
    group.bench_function("bare_router", |b| b.iter(|| runtime.block_on(serve(&bare))));

    let meters = fo_benches::meter_provider();
    let histogram = meters
        .meter("bench")
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .build();
    let pipeline = HandWritten::new();
    let dispatch = common::default_subscriber(&pipeline);
    let traced = tower_http_router(histogram);
    tracing::dispatcher::with_default(&dispatch, || {
        group.bench_function("tower_http_trace_layer_otel", |b| {
            b.iter(|| runtime.block_on(serve(&traced)))
        });
    });
    let (ended, exported) = pipeline.flush();
    eprintln!("http_server/tower_http_trace_layer_otel: {ended} spans ended, {exported} exported");

    let (telemetry, exporter) = init_ours("http-server");
    let ours = routes().layer(factory_observability::HttpServerLayer::new());
    group.bench_function("ours_http_server_layer", |b| {
        b.iter(|| runtime.block_on(serve(&ours)))
    });
    group.finish();
    let report = telemetry.shutdown();
    eprintln!(
        "http_server/ours_http_server_layer: {} spans exported; {report}",
        exporter.count()
    );
}

fn main() {
    let mut criterion = common::criterion();
    http_server(&mut criterion);
    criterion.final_summary();
}

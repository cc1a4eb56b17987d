//! Server-side cost per request of one trivial axum handler, side by side in one criterion group
//! (`http_server`), each variant with a `traceparent` (sampled parent) on the request:
//!
//! - `bare_router`: no telemetry;
//! - `tower_http_trace_layer_otel`: tower-http's `TraceLayer` exporting through
//!   tracing-opentelemetry, configured as its docs suggest for OpenTelemetry: the span named
//!   `{method} {route}` from `MatchedPath`, a SERVER span child of the incoming `traceparent`
//!   (read through the global propagator with opentelemetry-http's extractor), the status code
//!   recorded on the response, no per-request log events, and the `http.server.request.duration`
//!   histogram recorded by hand in `on_response`;
//! - `axum_tracing_opentelemetry`: that crate's `OtelAxumLayer` (its own SERVER span with the
//!   HTTP conventions, parent from the global propagator) plus the histogram recorded by a
//!   hand-written `axum::middleware::from_fn` middleware;
//! - `ours_http_server_layer`: `HttpServerLayer` on the router and `#[handler]` on the handler
//!   (SERVER span, `http.server.request.duration` and `http.server.active_requests`).
//!
//! Every variant samples every request and exports to the same discarding exporter: the
//! alternatives through the SDK's batch span processor, ours through its span export thread.
//! The alternatives run under the SDK's W3C `TraceContextPropagator`, ours under the one `init`
//! installs. The router is driven with `tower::ServiceExt::oneshot` on a current-thread runtime
//! (no network) and the response body is read to its end.
//! Run: `cargo bench -p factory-observability-benches --bench http_server`. `init` is
//! process-wide, so ours runs last.

mod common;

use axum::body::Body;
use axum::extract::{MatchedPath, Request as AxumRequest, State};
use axum::http::{Request, Response};
use axum::middleware::Next;
use axum::routing::get;
use axum::Router;
use common::init_ours;
use criterion::Criterion;
use fo_benches::HandWritten;
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::KeyValue;
use std::time::{Duration, Instant};
use tower::ServiceExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

async fn hello() -> &'static str {
    "ok"
}

/// The same handler, marked for this project: its `code.function.name` goes on the request's
/// span.
#[factory_observability::handler]
async fn hello_handled() -> &'static str {
    "ok"
}

const ROUTE: &str = "/tasks/{id}";

fn routes() -> Router {
    Router::new().route(ROUTE, get(hello))
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

/// The request duration histogram of the alternatives, with the convention's name, unit and
/// buckets.
fn duration_histogram(meters: &opentelemetry_sdk::metrics::SdkMeterProvider) -> Histogram<f64> {
    meters
        .meter("bench")
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_boundaries(vec![
            0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
        ])
        .build()
}

/// The route template axum matched, or `""`.
fn route_of<B>(request: &Request<B>) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |path| path.as_str().to_owned())
}

/// tower-http's `TraceLayer`: one SERVER span per request, child of the incoming context, plus
/// the duration histogram recorded in `on_response`.
fn tower_http_router(histogram: Histogram<f64>) -> Router {
    let layer = tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(|request: &Request<Body>| {
            let route = route_of(request);
            let method = request.method().as_str();
            let span = tracing::info_span!(
                "request",
                otel.name = format!("{method} {route}"),
                otel.kind = "server",
                http.request.method = method,
                http.route = route,
                url.path = request.uri().path(),
                http.response.status_code = tracing::field::Empty,
            );
            let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
                propagator.extract(&opentelemetry_http::HeaderExtractor(request.headers()))
            });
            let _ = span.set_parent(parent);
            span
        })
        .on_request(())
        .on_response(
            move |response: &Response<Body>, latency: Duration, span: &tracing::Span| {
                let status = i64::from(response.status().as_u16());
                span.record("http.response.status_code", status);
                histogram.record(
                    latency.as_secs_f64(),
                    &[
                        KeyValue::new("http.request.method", "GET"),
                        KeyValue::new("http.route", ROUTE),
                        KeyValue::new("http.response.status_code", status),
                    ],
                );
            },
        );
    routes().layer(layer)
}

/// What an `axum-tracing-opentelemetry` user writes for the duration histogram.
async fn record_duration(
    State(histogram): State<Histogram<f64>>,
    request: AxumRequest,
    next: Next,
) -> Response<Body> {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = route_of(&request);
    let response = next.run(request).await;
    histogram.record(
        start.elapsed().as_secs_f64(),
        &[
            KeyValue::new("http.request.method", method),
            KeyValue::new("http.route", route),
            KeyValue::new(
                "http.response.status_code",
                i64::from(response.status().as_u16()),
            ),
        ],
    );
    response
}

fn axum_tracing_router(histogram: Histogram<f64>) -> Router {
    routes()
        .layer(axum::middleware::from_fn_with_state(
            histogram,
            record_duration,
        ))
        .layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default())
}

/// Benches `router` under a fresh tracing-opentelemetry subscriber, then reports what its
/// pipeline exported.
fn bench_alternative(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    router: impl FnOnce(Histogram<f64>) -> Router,
) {
    let meters = fo_benches::meter_provider();
    let pipeline = HandWritten::new();
    let dispatch = common::default_subscriber(&pipeline);
    let router = router(duration_histogram(&meters));
    tracing::dispatcher::with_default(&dispatch, || {
        group.bench_function(name, |b| b.iter(|| runtime.block_on(serve(&router))));
    });
    let (ended, exported) = pipeline.flush();
    eprintln!("http_server/{name}: {ended} spans ended, {exported} exported");
}

fn http_server(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("http_server");

    let bare = routes();
    group.bench_function("bare_router", |b| b.iter(|| runtime.block_on(serve(&bare))));

    // What `init` does for ours: the alternatives read `traceparent` through the global
    // propagator too.
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    bench_alternative(
        &mut group,
        &runtime,
        "tower_http_trace_layer_otel",
        tower_http_router,
    );
    bench_alternative(
        &mut group,
        &runtime,
        "axum_tracing_opentelemetry",
        axum_tracing_router,
    );

    let (telemetry, exporter) = init_ours("http-server");
    let ours = Router::new()
        .route(ROUTE, get(hello_handled))
        .layer(factory_observability::HttpServerLayer::new());
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

/// `HTTP_SERVER_COUNT=VARIANT:N`: serves N requests through one variant and exits, without
/// criterion, so that `perf stat` can count the instructions and CPU time of the whole process
/// (export threads included) per request: figures the load of a shared machine does not move
/// the way it moves wall-clock time. `benches/scripts/http_server_cpu.sh` runs it.
const COUNT_ENV: &str = "HTTP_SERVER_COUNT";

fn count_mode(spec: &str) {
    let (variant, requests) = spec
        .split_once(':')
        .and_then(|(variant, n)| Some((variant, n.parse::<u64>().ok()?)))
        .unwrap_or_else(|| {
            panic!("{COUNT_ENV}={spec:?}: expected VARIANT:N, e.g. bare_router:20000")
        });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let serve_n = |router: &Router, n: u64| {
        for _ in 0..n {
            std::hint::black_box(runtime.block_on(serve(router)));
        }
    };
    // A checkpoint halfway and one at the end, each once `settle` has seen the spans of the
    // requests served so far exported: the stretch between them holds the second half's
    // requests and the export of their spans, in steady state.
    let run = |router: &Router, settle: &dyn Fn(u64)| {
        serve_n(router, requests / 2);
        settle(requests / 2);
        callgrind_checkpoint();
        serve_n(router, requests - requests / 2);
        settle(requests);
        callgrind_checkpoint();
    };
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    match variant {
        "bare_router" => run(&routes(), &|_| {}),
        "tower_http_trace_layer_otel" | "axum_tracing_opentelemetry" => {
            let meters = fo_benches::meter_provider();
            let pipeline = HandWritten::new();
            let dispatch = common::default_subscriber(&pipeline);
            let histogram = duration_histogram(&meters);
            let router = if variant == "tower_http_trace_layer_otel" {
                tower_http_router(histogram)
            } else {
                axum_tracing_router(histogram)
            };
            // The batch processor exports what it holds (it may have dropped some when full).
            let settle = |_| {
                let _ = pipeline.provider.force_flush();
            };
            tracing::dispatcher::with_default(&dispatch, || run(&router, &settle));
            let (ended, exported) = pipeline.flush();
            eprintln!("{variant}: {requests} requests, {ended} spans ended, {exported} exported");
        }
        "ours_http_server_layer" => {
            let (telemetry, exporter) = init_ours("http-server-count");
            let router = Router::new()
                .route(ROUTE, get(hello_handled))
                .layer(factory_observability::HttpServerLayer::new());
            // The export thread exports on its own schedule: waited for.
            let settle = |served: u64| {
                let waited = Instant::now();
                while exporter.count() < served && waited.elapsed() < Duration::from_secs(60) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            };
            run(&router, &settle);
            let report = telemetry.shutdown();
            eprintln!(
                "{variant}: {requests} requests, {} spans exported; {report}",
                exporter.count()
            );
        }
        _ => panic!("{COUNT_ENV}: unknown variant {variant:?}"),
    }
}

/// Does nothing; marks a point of the count mode for `valgrind --tool=callgrind
/// --dump-before=http_server::callgrind_checkpoint`, which writes one profile per stretch
/// between marks (`benches/scripts/http_server_callgrind.sh`): the second stretch holds the
/// second half of the requests and the export of their spans, every thread included, without
/// the start-up and shutdown work whose instruction count varies with the machine's load (clock
/// calibrations that run for a given time) and without spans of one half exported in the other.
#[inline(never)]
fn callgrind_checkpoint() {
    std::hint::black_box(());
}

fn main() {
    if let Ok(spec) = std::env::var(COUNT_ENV) {
        count_mode(&spec);
        return;
    }
    let mut criterion = common::criterion();
    http_server(&mut criterion);
    criterion.final_summary();
}

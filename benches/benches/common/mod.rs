//! The instrumented functions and setups every bench binary shares: one trivial body, written the
//! ways a user could instrument it. Each binary uses some of them.
#![allow(dead_code)]

use fo_benches::HandWritten;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;
use tracing_subscriber::layer::SubscriberExt as _;

/// The body every variant runs.
#[inline(always)]
fn body(x: u64) -> u64 {
    black_box(x)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(7)
}

/// The bare function.
#[inline(never)]
pub fn bare(x: u64) -> u64 {
    body(x)
}

/// `#[tracing::instrument]`: with no subscriber, or under one of the subscribers below.
#[tracing::instrument(skip_all)]
#[inline(never)]
pub fn traced(x: u64) -> u64 {
    body(x)
}

/// The histogram the hand-written equivalent records into.
pub static HAND_HISTOGRAM: OnceLock<Histogram<f64>> = OnceLock::new();

/// The hand-written equivalent of `#[pipeline_stage]`: a `tracing` span with the stage name and
/// its outcome, plus the stage duration histogram with `stage.name` and `outcome`.
#[tracing::instrument(name = "pipeline.stage", skip_all, fields(stage.name = "work", stage.outcome = tracing::field::Empty))]
#[inline(never)]
pub fn hand_written(x: u64) -> u64 {
    hand_written_body(x)
}

/// The hand-written equivalent on an `async fn` (the span entered at each poll).
#[tracing::instrument(name = "pipeline.stage", skip_all, fields(stage.name = "work", stage.outcome = tracing::field::Empty))]
#[inline(never)]
pub async fn hand_written_async(x: u64) -> u64 {
    hand_written_body(x)
}

/// What the hand-written equivalent does inside its span: the body, the outcome, the histogram.
#[inline(always)]
fn hand_written_body(x: u64) -> u64 {
    let start = Instant::now();
    let value = body(x);
    tracing::Span::current().record("stage.outcome", "success");
    if let Some(histogram) = HAND_HISTOGRAM.get() {
        histogram.record(
            start.elapsed().as_secs_f64(),
            &[
                KeyValue::new("stage.name", "work"),
                KeyValue::new("outcome", "success"),
            ],
        );
    }
    value
}

/// This project on an `async fn` (the call's context attached at each poll).
#[factory_observability::pipeline_stage]
#[inline(never)]
pub async fn ours_async(x: u64) -> u64 {
    body(x)
}

/// Polls a future that is ready at its first poll (the async variants: no executor to measure).
pub fn poll_once<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut task = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut task) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => unreachable!("the benched bodies never wait"),
    }
}

/// This project: `#[pipeline_stage]` (span `pipeline.stage` with outcome, duration histogram).
#[factory_observability::pipeline_stage]
#[inline(never)]
pub fn ours(x: u64) -> u64 {
    body(x)
}

/// This project's `#[tool]` (span `execute_tool tool_call` with name, type and outcome, the
/// `gen_ai.execute_tool.duration` histogram, the totals of the agent and run above it). No
/// `capture_content`: arguments and result are not serialised.
#[factory_observability::tool]
#[inline(never)]
pub fn tool_call(x: u64) -> u64 {
    body(x)
}

/// Runs `f` inside one `#[agent]` call: the tools `f` calls are its children and add to its
/// totals, as in a coding agent's loop.
#[factory_observability::agent(name = "bench_agent")]
#[inline(never)]
pub fn in_agent(f: impl FnOnce()) {
    f()
}

/// This project with two `fields(...)` (an integer and a static string).
#[factory_observability::pipeline_stage(fields(input = x, shard = "eu-1"))]
#[inline(never)]
pub fn ours_with_fields(x: u64) -> u64 {
    body(x)
}

/// fastrace `#[trace]` (runs under a root set by the caller).
#[fastrace::trace]
#[inline(never)]
pub fn fastraced(x: u64) -> u64 {
    body(x)
}

/// Raw OpenTelemetry: `tracer.in_span` with 2 attributes.
#[inline(never)]
pub fn in_span(tracer: &SdkTracer, x: u64) -> u64 {
    tracer.in_span("work", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("stage.name", "work"));
        span.set_attribute(KeyValue::new("outcome", "success"));
        body(x)
    })
}

/// A histogram record with 2 attributes.
#[inline(never)]
pub fn histogram_record(histogram: &Histogram<f64>, x: u64) -> u64 {
    let value = body(x);
    histogram.record(
        0.000_1,
        &[
            KeyValue::new("stage.name", "work"),
            KeyValue::new("outcome", "success"),
        ],
    );
    value
}

/// A counter add with 2 attributes.
#[inline(never)]
pub fn counter_add(counter: &Counter<u64>, x: u64) -> u64 {
    let value = body(x);
    counter.add(
        1,
        &[
            KeyValue::new("stage.name", "work"),
            KeyValue::new("outcome", "success"),
        ],
    );
    value
}

/// Histogram and counter from a meter provider with a reader (so they aggregate for real).
pub fn instruments() -> (
    opentelemetry_sdk::metrics::SdkMeterProvider,
    Histogram<f64>,
    Counter<u64>,
) {
    let meters = fo_benches::meter_provider();
    let meter = meters.meter("bench");
    let histogram = meter.f64_histogram("bench.duration").with_unit("s").build();
    let counter = meter.u64_counter("bench.count").build();
    (meters, histogram, counter)
}

/// `tracing` + tracing-opentelemetry with the default layer, exporting through the batch
/// processor of `pipeline`.
pub fn default_subscriber(pipeline: &HandWritten) -> tracing::Dispatch {
    let layer = tracing_opentelemetry::layer().with_tracer(pipeline.provider.tracer("bench"));
    tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// The same with location, threads, target, inactivity tracking and context activation off.
pub fn lean_subscriber(pipeline: &HandWritten) -> tracing::Dispatch {
    let layer = tracing_opentelemetry::layer()
        .with_tracer(pipeline.provider.tracer("bench"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_context_activation(false);
    tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// A fastrace reporter that drops every span.
pub struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        black_box(spans);
    }
}

/// Installs the discarding fastrace reporter (once per process).
pub fn init_fastrace() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
    });
}

/// Runs `calls` calls of `fastraced` under roots of 1,000 calls each (the root's creation and
/// submission are amortized over them, as in a request handler doing many traced calls).
pub fn fastrace_batch(calls: u64) {
    let mut left = calls;
    while left > 0 {
        let n = left.min(1_000);
        let root = fastrace::Span::root("root", fastrace::prelude::SpanContext::random());
        {
            let _parent = root.set_local_parent();
            for i in 0..n {
                black_box(fastraced(black_box(i)));
            }
        }
        drop(root);
        left -= n;
    }
}

/// Installs this project's pipeline (real batch processor, discarding exporter), as a user would.
pub fn init_ours(tag: &str) -> (factory_observability::Telemetry, fo_benches::Discard) {
    let exporter = fo_benches::Discard::default();
    let telemetry = factory_observability::Telemetry::builder("bench")
        .span_exporter(exporter.clone())
        .summary(false)
        .embedded_dir(fo_benches::temp_dir(tag))
        .init_without_subscriber()
        .expect("init");
    (telemetry, exporter)
}

/// One of the instrumented functions above.
pub type Instrumented = fn(u64) -> u64;

/// Criterion group `group`: the bare function, then `variant`, this project installed with the
/// environment `env` (set before `init`, which is process-wide: one such group per binary), then
/// each of `others` (a name and the instrumented function) the same way.
pub fn bare_and_installed(
    c: &mut criterion::Criterion,
    group: &str,
    variant: &str,
    env: &[(&str, &str)],
    others: &[(&str, Instrumented)],
) {
    // Before init and before any other thread exists.
    for (name, value) in env {
        std::env::set_var(name, value);
    }
    let (telemetry, exporter) = init_ours(group);
    let mut timed = c.benchmark_group(group);
    timed.bench_function("bare", |b| b.iter(|| bare(std::hint::black_box(7))));
    timed.bench_function(variant, |b| b.iter(|| ours(std::hint::black_box(7))));
    for (name, function) in others {
        timed.bench_function(*name, |b| b.iter(|| function(std::hint::black_box(7))));
    }
    timed.finish();
    drop(telemetry);
    eprintln!(
        "{group}/{variant}: the exporter received {} spans",
        exporter.count()
    );
}

/// The criterion settings of every timed group, so that figures compared side by side are taken
/// the same way (700 ms warm-up, 2 s measurement, 40 samples; the command line may override).
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(700))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(40)
        .configure_from_args()
}

//! Per-call cost of one trivial function, instrumented every way the issue compares, side by side
//! in one criterion group (`per_call`). Run: `cargo bench -p factory-observability-benches --bench
//! per_call`. `init` is process-wide, so the variants run in registration order: everything that
//! needs this project disabled first, `ours_enabled` and the `#[tool]` variants (`tool_enabled`,
//! `tool_enabled_under_agent`) last.

mod common;

use common::*;
use criterion::Criterion;
use fo_benches::HandWritten;
use opentelemetry::trace::TracerProvider as _;
use std::hint::black_box;
use std::time::Instant;

fn report_drops(what: &str, pipeline: &HandWritten) {
    let (ended, exported) = pipeline.flush();
    eprintln!(
        "per_call/{what}: {ended} spans ended, {exported} exported, {} dropped by the full batch queue",
        ended.saturating_sub(exported)
    );
}

fn per_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_call");

    group.bench_function("bare", |b| b.iter(|| bare(black_box(7))));
    // Before any subscriber exists in the process, as in a program without one.
    group.bench_function("tracing_instrument_no_subscriber", |b| {
        b.iter(|| traced(black_box(7)))
    });
    group.bench_function("ours_disabled_no_init", |b| b.iter(|| ours(black_box(7))));
    {
        // SAFETY-free in edition 2021; no other thread reads the environment meanwhile.
        std::env::set_var("OTEL_SDK_DISABLED", "true");
        let (telemetry, _) = init_ours("sdk-disabled");
        std::env::remove_var("OTEL_SDK_DISABLED");
        assert!(!telemetry.is_enabled());
        group.bench_function("ours_disabled_sdk_disabled", |b| {
            b.iter(|| ours(black_box(7)))
        });
    }

    let (_meters, histogram, counter) = instruments();
    group.bench_function("otel_histogram_2_attrs", |b| {
        b.iter(|| histogram_record(&histogram, black_box(7)))
    });
    group.bench_function("otel_counter_2_attrs", |b| {
        b.iter(|| counter_add(&counter, black_box(7)))
    });

    let raw = HandWritten::new();
    let tracer = raw.provider.tracer("bench");
    group.bench_function("otel_in_span_2_attrs", |b| {
        b.iter(|| in_span(&tracer, black_box(7)))
    });
    report_drops("otel_in_span_2_attrs", &raw);

    let default = HandWritten::new();
    tracing::dispatcher::with_default(&default_subscriber(&default), || {
        group.bench_function("tracing_otel_default", |b| b.iter(|| traced(black_box(7))));
    });
    report_drops("tracing_otel_default", &default);

    let equivalent = HandWritten::new();
    let _ = HAND_HISTOGRAM.set(histogram.clone());
    tracing::dispatcher::with_default(&default_subscriber(&equivalent), || {
        group.bench_function("hand_written_equivalent", |b| {
            b.iter(|| hand_written(black_box(7)))
        });
    });
    report_drops("hand_written_equivalent", &equivalent);
    let equivalent_async = HandWritten::new();
    tracing::dispatcher::with_default(&default_subscriber(&equivalent_async), || {
        group.bench_function("hand_written_equivalent_async", |b| {
            b.iter(|| poll_once(hand_written_async(black_box(7))))
        });
    });
    report_drops("hand_written_equivalent_async", &equivalent_async);

    let lean = HandWritten::new();
    tracing::dispatcher::with_default(&lean_subscriber(&lean), || {
        group.bench_function("tracing_otel_lean", |b| b.iter(|| traced(black_box(7))));
    });
    report_drops("tracing_otel_lean", &lean);

    init_fastrace();
    group.bench_function("fastrace_under_root", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            fastrace_batch(iters);
            start.elapsed()
        })
    });

    let (telemetry, exporter) = init_ours("enabled");
    group.bench_function("ours_enabled", |b| b.iter(|| ours(black_box(7))));
    group.bench_function("ours_enabled_fields", |b| {
        b.iter(|| ours_with_fields(black_box(7)))
    });
    group.bench_function("ours_enabled_async", |b| {
        b.iter(|| poll_once(ours_async(black_box(7))))
    });
    // `#[tool]` with no parent (a trace of its own, as `ours_enabled`), then under an agent whose
    // span stays open while criterion runs the tool in it (the agent's own cost not counted).
    group.bench_function("tool_enabled", |b| b.iter(|| tool_call(black_box(7))));
    in_agent(|| {
        group.bench_function("tool_enabled_under_agent", |b| {
            b.iter(|| tool_call(black_box(7)))
        });
    });
    group.finish();
    let report = telemetry.shutdown();
    eprintln!(
        "per_call/ours_enabled: {report}; the discarding exporter received {} spans",
        exporter.count()
    );
}

fn main() {
    let mut c = common::criterion();
    per_call(&mut c);
    c.final_summary();
}

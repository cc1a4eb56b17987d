//! This project installed but not sampling (`OTEL_TRACES_SAMPLER=always_off`, set before `init`),
//! next to the bare function, in criterion group `unsampled`: a separate binary because `init` is
//! process-wide. Run: `cargo bench -p factory-observability-benches --bench unsampled`.

mod common;

use common::*;
use criterion::Criterion;
use std::hint::black_box;

fn unsampled(c: &mut Criterion) {
    // Before init and before any other thread exists.
    std::env::set_var("OTEL_TRACES_SAMPLER", "always_off");
    let (telemetry, exporter) = init_ours("unsampled");
    let mut group = c.benchmark_group("unsampled");
    group.bench_function("bare", |b| b.iter(|| bare(black_box(7))));
    group.bench_function("ours_unsampled", |b| b.iter(|| ours(black_box(7))));
    group.finish();
    drop(telemetry);
    eprintln!(
        "unsampled/ours_unsampled: the exporter received {} spans",
        exporter.count()
    );
}

fn main() {
    let mut c = common::criterion();
    unsampled(&mut c);
    c.final_summary();
}

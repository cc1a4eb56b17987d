//! This project installed with neither traces nor metrics (`OTEL_TRACES_EXPORTER=none`,
//! `OTEL_METRICS_EXPORTER=none`, set before `init`): the macros have nothing to record and run
//! the body alone. Next to the bare function, in criterion group `nothing_recorded`: a separate
//! binary because `init` is process-wide.
//! Run: `cargo bench -p factory-observability-benches --bench nothing_recorded`.

mod common;

use common::*;
use criterion::Criterion;
use std::hint::black_box;

fn nothing_recorded(c: &mut Criterion) {
    // Before init and before any other thread exists.
    std::env::set_var("OTEL_TRACES_EXPORTER", "none");
    std::env::set_var("OTEL_METRICS_EXPORTER", "none");
    let (telemetry, exporter) = init_ours("nothing-recorded");
    let mut group = c.benchmark_group("nothing_recorded");
    group.bench_function("bare", |b| b.iter(|| bare(black_box(7))));
    group.bench_function("ours_nothing_recorded", |b| b.iter(|| ours(black_box(7))));
    group.finish();
    drop(telemetry);
    eprintln!(
        "nothing_recorded/ours_nothing_recorded: the exporter received {} spans",
        exporter.count()
    );
}

fn main() {
    let mut c = common::criterion();
    nothing_recorded(&mut c);
    c.final_summary();
}

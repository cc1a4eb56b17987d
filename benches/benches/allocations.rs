//! Heap allocations per call of each variant, counted by a counting global allocator: on the
//! calling thread (the hot path) and process-wide (including the batch processor's export thread
//! and fastrace's collector thread during the measured calls). Prints a table; asserts nothing.
//! Run: `cargo bench -p factory-observability-benches --bench allocations`.

mod common;

use common::*;
use fo_benches::{allocations, CountingAlloc, HandWritten};
use opentelemetry::trace::TracerProvider as _;
use std::hint::black_box;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Warms `f` up, then counts the allocations of `calls` calls.
fn count(name: &str, calls: u64, mut f: impl FnMut(u64)) {
    f(calls.min(10_000));
    let (process_before, thread_before) = allocations();
    f(calls);
    let (process_after, thread_after) = allocations();
    println!(
        "{name:<34} {:>10.2} {:>12.2}",
        (thread_after - thread_before) as f64 / calls as f64,
        (process_after - process_before) as f64 / calls as f64,
    );
}

fn repeat(g: impl Fn(u64) -> u64) -> impl FnMut(u64) {
    move |calls| {
        for i in 0..calls {
            black_box(g(black_box(i)));
        }
    }
}

/// Variants of this project installed with settings from the environment, each run in a child
/// process of `main` (`init` is process-wide): name, environment.
const CHILDREN: [(&str, &[(&str, &str)]); 2] = [
    ("ours_unsampled", &[("OTEL_TRACES_SAMPLER", "always_off")]),
    (
        "ours_nothing_recorded",
        &[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ],
    ),
];

/// A child process of `main`: the variant `name`, installed with its environment.
fn child(name: &str, calls: u64) {
    let (telemetry, _exporter) = init_ours(name);
    count(name, calls, repeat(ours));
    drop(telemetry);
}

fn main() {
    // Fewer calls than a batch (512) would hide the export thread's share; 100k is 0.1 s or so.
    let calls = if fo_benches::bench_mode() {
        100_000
    } else {
        2_000
    };
    if let Some(name) =
        std::env::args().find_map(|arg| arg.strip_prefix("--child=").map(str::to_owned))
    {
        return child(&name, calls);
    }
    println!("allocations per call ({calls} calls after warm-up)");
    println!("{:<34} {:>10} {:>12}", "variant", "caller", "process-wide");
    count("bare", calls, repeat(bare));
    count("tracing_instrument_no_subscriber", calls, repeat(traced));
    count("ours_disabled_no_init", calls, repeat(ours));

    let (_meters, histogram, counter) = instruments();
    count(
        "otel_histogram_2_attrs",
        calls,
        repeat(|x| histogram_record(&histogram, x)),
    );
    count(
        "otel_counter_2_attrs",
        calls,
        repeat(|x| counter_add(&counter, x)),
    );

    let raw = HandWritten::new();
    let tracer = raw.provider.tracer("bench");
    count(
        "otel_in_span_2_attrs",
        calls,
        repeat(|x| in_span(&tracer, x)),
    );

    let default = HandWritten::new();
    tracing::dispatcher::with_default(&default_subscriber(&default), || {
        count("tracing_otel_default", calls, repeat(traced));
    });
    let equivalent = HandWritten::new();
    let _ = HAND_HISTOGRAM.set(histogram.clone());
    tracing::dispatcher::with_default(&default_subscriber(&equivalent), || {
        count("hand_written_equivalent", calls, repeat(hand_written));
        count(
            "hand_written_equivalent_async",
            calls,
            repeat(|x| poll_once(hand_written_async(x))),
        );
    });
    let lean = HandWritten::new();
    tracing::dispatcher::with_default(&lean_subscriber(&lean), || {
        count("tracing_otel_lean", calls, repeat(traced));
    });

    init_fastrace();
    count("fastrace_under_root", calls, fastrace_batch);

    let (telemetry, _exporter) = init_ours("allocations");
    count("ours_enabled", calls, repeat(ours));
    count("ours_enabled_fields", calls, repeat(ours_with_fields));
    count(
        "ours_enabled_async",
        calls,
        repeat(|x| poll_once(ours_async(x))),
    );
    drop(telemetry);

    for (name, env) in CHILDREN {
        let status = std::process::Command::new(std::env::current_exe().expect("current exe"))
            .args(std::env::args().skip(1))
            .arg(format!("--child={name}"))
            .envs(env.iter().copied())
            .status()
            .expect("child process");
        assert!(status.success(), "{name} child failed: {status}");
    }
}

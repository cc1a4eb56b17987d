//! Throughput of instrumented calls on 1 and 2 threads (each thread calls in a loop for a fixed
//! time), and the ratio 2 threads / 1 thread. The batch processor's export thread shares the
//! machine's cores with the callers, as it would in a real program. Asserts nothing.
//! Run: `cargo bench -p factory-observability-benches --bench concurrency`.

mod common;

use common::*;
use fo_benches::HandWritten;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Calls per second of `threads` threads calling `f` for `time`; `setup` runs on each thread and
/// returns a guard held while it calls (a scoped `tracing` dispatcher, for example).
fn throughput<G>(
    threads: usize,
    time: Duration,
    setup: impl Fn() -> G + Sync,
    f: impl Fn(u64) -> u64 + Sync,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let stop = Arc::clone(&stop);
                let (setup, f) = (&setup, &f);
                scope.spawn(move || {
                    let _guard = setup();
                    let mut calls = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for i in 0..256 {
                            black_box(f(black_box(i)));
                        }
                        calls += 256;
                    }
                    calls
                })
            })
            .collect();
        std::thread::sleep(time);
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// Median over `ROUNDS` alternating rounds of 1 and 2 threads: a 2-core machine running the
/// callers and the export thread is noisy, so one round is not enough.
fn compare<G>(
    name: &str,
    time: Duration,
    setup: impl Fn() -> G + Sync,
    f: impl Fn(u64) -> u64 + Sync,
) {
    const ROUNDS: usize = 3;
    let (mut one, mut two, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let single = throughput(1, time, &setup, &f);
        let double = throughput(2, time, &setup, &f);
        one.push(single);
        two.push(double);
        ratios.push(double / single);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let spread = ratios
        .iter()
        .map(|r| format!("{r:.2}"))
        .collect::<Vec<_>>()
        .join(" ");
    println!(
        "{name:<26} {:>12.2} {:>12.2} {:>8.2}   (ratios: {spread})",
        median(&mut one) / 1e6,
        median(&mut two) / 1e6,
        median(&mut ratios)
    );
}

fn main() {
    let time = if fo_benches::bench_mode() {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(20)
    };
    println!(
        "throughput in million calls/s (median of 3 rounds), {} s per measurement",
        time.as_secs_f64()
    );
    println!(
        "{:<26} {:>12} {:>12} {:>8}",
        "variant", "1 thread", "2 threads", "2/1"
    );
    compare("bare", time, || (), bare);

    let equivalent = HandWritten::new();
    let (_meters, histogram, _) = instruments();
    let _ = HAND_HISTOGRAM.set(histogram);
    let dispatch = default_subscriber(&equivalent);
    compare(
        "hand_written_equivalent",
        time,
        || tracing::dispatcher::set_default(&dispatch),
        hand_written,
    );
    let (ended, exported) = equivalent.flush();
    eprintln!(
        "hand_written_equivalent: {} of {ended} spans dropped by the full batch queue",
        ended.saturating_sub(exported)
    );

    let (telemetry, _exporter) = init_ours("concurrency");
    compare("ours_enabled", time, || (), ours);
    eprintln!("ours_enabled: {}", telemetry.shutdown());
}

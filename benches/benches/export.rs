//! Export under load, with this project's real OTLP/HTTP pipeline (no custom exporter): spans of
//! `#[pipeline_stage]` emitted at a paced rate for a while, then shutdown; prints spans submitted,
//! delivered and lost, and the process's RSS (current and peak). Asserts nothing.
//!
//! The collector and the endpoint come from the environment (`OTEL_EXPORTER_OTLP_ENDPOINT`,
//! `OTEL_BSP_*`); `benches/scripts/export.sh` starts rotel on loopback and runs the rate sweep
//! and the outage. Arguments after `--`: `RATE` spans/s (default 10000), `SECONDS` (default 5).
//! Without `--bench` (under `cargo test --benches`) it runs 0.2 s at 1000 spans/s.

mod common;

use std::time::{Duration, Instant};

/// `VmRSS` and `VmHWM` of this process in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let numbers: Vec<f64> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let (rate, seconds) = if fo_benches::bench_mode() {
        (
            numbers.first().copied().unwrap_or(10_000.0),
            numbers.get(1).copied().unwrap_or(5.0),
        )
    } else {
        (1_000.0, 0.2)
    };
    let telemetry = factory_observability::Telemetry::builder("bench-export")
        .summary(false)
        .embedded_dir(fo_benches::temp_dir("export"))
        .shutdown_timeout(Duration::from_secs(10))
        .init_without_subscriber()
        .expect("init");
    let (rss_start, _) = rss_mib();

    // Paced in 1 ms ticks; a tick that falls behind is caught up at once (no sleep).
    let start = Instant::now();
    let total = (rate * seconds) as u64;
    let mut emitted = 0u64;
    let mut next_report = Duration::from_secs(10);
    while emitted < total {
        let due = ((start.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
        while emitted < due {
            std::hint::black_box(common::ours(emitted));
            emitted += 1;
        }
        if start.elapsed() >= next_report {
            let (rss, peak) = rss_mib();
            eprintln!(
                "export: {:>5.1} s  {emitted} spans  RSS {rss:.1} MiB (peak {peak:.1})",
                start.elapsed().as_secs_f64()
            );
            next_report += Duration::from_secs(10);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let emit_time = start.elapsed().as_secs_f64();
    let (rss_end, peak) = rss_mib();
    let report = telemetry.shutdown();
    let traces = report
        .signals
        .iter()
        .find(|signal| signal.signal == "traces")
        .expect("traces");
    println!(
        "export: target {rate:.0} spans/s for {seconds} s: emitted {emitted} in {emit_time:.2} s ({:.0}/s); \
         traces submitted {} delivered {} lost {}; RSS start {rss_start:.1} MiB, end {rss_end:.1} MiB, peak {peak:.1} MiB",
        emitted as f64 / emit_time,
        traces.submitted,
        traces.delivered,
        traces.undelivered(),
    );
}

//! What the span queue costs in memory: RSS before `init`, after it, and with the queue full
//! (an exporter that never returns holds the export thread, so every slot fills, then calls are
//! shed), for the queue size in `OTEL_BSP_MAX_QUEUE_SIZE` (default 32,768). Prints the cost of a
//! slot: (RSS full - RSS after init) / slots taken. Asserts nothing.
//!
//! `OTEL_BSP_MAX_QUEUE_SIZE=1048576 cargo bench -p factory-observability-benches --bench
//! queue_memory`. Without `--bench` (under `cargo test --benches`) it uses a queue of 1,024.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::time::Duration;

/// `VmRSS` of this process in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Never answers: the collector that accepts and hangs.
#[derive(Debug)]
struct Hanging;

impl SpanExporter for Hanging {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(())
    }
}

#[factory_observability::pipeline_stage]
fn stage(n: u64) -> Result<u64, String> {
    Ok(n + 1)
}

fn main() {
    if !fo_benches::bench_mode() {
        std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "1024");
    }
    let queue: u64 = std::env::var("OTEL_BSP_MAX_QUEUE_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32_768);
    let before = rss_mib();
    let telemetry = factory_observability::Telemetry::builder("bench-queue-memory")
        .summary(false)
        .embedded_dir(fo_benches::temp_dir("queue-memory"))
        .span_exporter(Hanging)
        .shutdown_timeout(Duration::from_millis(200))
        .init_without_subscriber()
        .expect("init");
    let after_init = rss_mib();
    let calls = queue * 2 + 10_000;
    let total: u64 = (0..calls).map(|n| stage(n).unwrap()).sum();
    std::hint::black_box(total);
    std::thread::sleep(Duration::from_millis(300));
    let full = rss_mib();
    let report = telemetry.shutdown();
    let traces = &report.signals[0];
    // Taken: the submitted spans minus the dropped ones and the batch in the hung export.
    let queued = traces.submitted - traces.dropped;
    println!(
        "queue {queue}: RSS before init {before:.1} MiB, after init {after_init:.1} MiB, \
         with the queue full {full:.1} MiB; {queued} spans held (queue and the hung export's batch), \
         {} dropped; {:.0} bytes a held span",
        traces.dropped,
        (full - after_init) * 1024.0 * 1024.0 / queued as f64
    );
    std::process::exit(0);
}

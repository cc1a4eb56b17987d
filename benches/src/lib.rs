//! Shared helpers of the benchmarks: a discarding span exporter that counts what it was given, a
//! span processor that counts ended spans (so drops by a full batch queue can be reported), a
//! counting global allocator, and the setups of the hand-written OpenTelemetry equivalents.
//!
//! Nothing here asserts a timing: the benchmarks measure and print, BENCHMARKS.md interprets.

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A span exporter that drops every batch and counts the spans it was handed.
#[derive(Clone, Debug, Default)]
pub struct Discard {
    /// Spans exported so far.
    pub exported: Arc<AtomicU64>,
}

impl Discard {
    /// Spans exported so far.
    pub fn count(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
}

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.exported
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// A span processor that counts ended spans before handing them to `inner`.
#[derive(Debug)]
pub struct CountEnded<P> {
    /// The wrapped processor.
    pub inner: P,
    /// Spans ended so far.
    pub ended: Arc<AtomicU64>,
}

impl<P: SpanProcessor> SpanProcessor for CountEnded<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.ended.fetch_add(1, Ordering::Relaxed);
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
}

/// A tracer provider exporting through the real [`BatchSpanProcessor`] (default queue 2048,
/// batch 512) to a [`Discard`] exporter: the hand-written equivalents' trace pipeline.
#[derive(Debug)]
pub struct HandWritten {
    /// The provider.
    pub provider: SdkTracerProvider,
    /// Spans the exporter received.
    pub exporter: Discard,
    /// Spans ended (handed to the batch processor).
    pub ended: Arc<AtomicU64>,
}

impl HandWritten {
    /// A provider with the default (parent-based always-on) sampler.
    pub fn new() -> Self {
        let exporter = Discard::default();
        let ended = Arc::new(AtomicU64::new(0));
        let provider = SdkTracerProvider::builder()
            .with_span_processor(CountEnded {
                inner: BatchSpanProcessor::builder(exporter.clone()).build(),
                ended: Arc::clone(&ended),
            })
            .build();
        HandWritten {
            provider,
            exporter,
            ended,
        }
    }

    /// Flushes and returns `(ended, exported)`; `ended - exported` spans were dropped.
    pub fn flush(&self) -> (u64, u64) {
        let _ = self.provider.force_flush();
        (self.ended.load(Ordering::Relaxed), self.exporter.count())
    }
}

impl Default for HandWritten {
    fn default() -> Self {
        Self::new()
    }
}

/// A meter provider whose instruments aggregate for real (a periodic reader into an in-memory
/// exporter, exporting every 60 s): a provider without a reader would make instruments no-ops.
pub fn meter_provider() -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(InMemoryMetricExporter::default()).build())
        .build()
}

/// A fresh directory for the embedded default's files (metrics and logs still go there).
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fo-bench-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Counts heap allocations, process-wide and on the current thread; the bench binary installs it
/// with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug)]
pub struct CountingAlloc;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
thread_local! {
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

#[inline]
fn count_one() {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    let _ = THREAD_ALLOCS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every method forwards to the system allocator unchanged; counting touches only an
// atomic and a const-initialized thread-local without destructor (no allocation, no reentrancy).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations (alloc, alloc_zeroed, realloc) counted so far: `(process-wide, this thread)`.
pub fn allocations() -> (u64, u64) {
    (
        ALLOCS.load(Ordering::Relaxed),
        THREAD_ALLOCS.try_with(Cell::get).unwrap_or(0),
    )
}

/// Whether the binary runs as a benchmark (`cargo bench` passes `--bench`) rather than once as a
/// smoke test (`cargo test --benches`): plain-`main` benches then shrink their work.
pub fn bench_mode() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

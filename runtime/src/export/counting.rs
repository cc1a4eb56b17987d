//! Counting what each signal submitted, delivered and lost, for the shutdown report.
//!
//! Spans and log records are counted when they are handed to their export queue (submitted) and
//! when an export of them succeeds (delivered); the difference is what was dropped by a full
//! queue, failed to export, or was still queued when shutdown gave up.

use opentelemetry::logs::LogRecord as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Counters of one signal; shared between its processor and its exporter.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// Written by every instrumented thread as its spans end.
    submitted: StripedCounter,
    delivered: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A counter that threads add to without sharing a cache line: each thread adds to one of
/// [`STRIPES`] counters, each on its own line (and apart from the export thread's counters);
/// reading sums them.
#[derive(Debug, Default)]
struct StripedCounter([CacheLine; STRIPES]);

const STRIPES: usize = 16;

#[derive(Debug, Default)]
#[repr(align(64))]
struct CacheLine(AtomicU64);

impl StripedCounter {
    fn add(&self, count: u64) {
        thread_local! {
            static STRIPE: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
            };
        }
        // A call ending while the thread's locals are being destroyed shares the first stripe.
        let stripe = STRIPE.try_with(|stripe| *stripe).unwrap_or(0);
        self.0[stripe].0.fetch_add(count, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        self.0
            .iter()
            .map(|line| line.0.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

impl Delivery {
    pub(crate) fn submitted(&self, count: u64) {
        self.submitted.add(count);
    }

    fn exported(&self, count: u64, result: &OTelSdkResult) {
        match result {
            Ok(()) => self.delivered.fetch_add(count, Ordering::Relaxed),
            Err(error) => {
                // An exporter's own reason, without the SDK's "Operation failed: ".
                *self
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(match error {
                    OTelSdkError::InternalFailure(reason) => reason.clone(),
                    other => other.to_string(),
                });
                self.failed.fetch_add(count, Ordering::Relaxed)
            }
        };
    }

    pub fn report(&self, signal: &'static str) -> SignalDelivery {
        SignalDelivery {
            signal,
            submitted: self.submitted.sum(),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// What one signal submitted, delivered and lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalDelivery {
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
    /// Items handed to the export pipeline (spans, log records, or metric export requests).
    pub submitted: u64,
    /// Items an exporter confirmed.
    pub delivered: u64,
    /// Items whose export failed.
    pub failed: u64,
    /// The last export error, if any.
    pub last_error: Option<String>,
}

impl SignalDelivery {
    /// Items submitted but never confirmed: failed, dropped by a full queue, or cut by shutdown.
    pub fn undelivered(&self) -> u64 {
        self.submitted.saturating_sub(self.delivered)
    }
}

/// What a [`crate::Telemetry`] delivered, per signal, when it shut down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Traces, metrics and logs.
    pub signals: Vec<SignalDelivery>,
    /// Whether shutdown finished within its time bound.
    pub completed_in_time: bool,
}

impl DeliveryReport {
    /// Items of all signals that were not delivered.
    pub fn undelivered(&self) -> u64 {
        self.signals.iter().map(SignalDelivery::undelivered).sum()
    }
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .signals
            .iter()
            .map(|s| {
                let unit = if s.signal == "metrics" {
                    " exports"
                } else {
                    ""
                };
                let mut part = format!(
                    "{} {}/{}{unit} delivered",
                    s.signal, s.delivered, s.submitted
                );
                if s.undelivered() > 0 {
                    part.push_str(&format!(" ({} lost", s.undelivered()));
                    if let Some(error) = &s.last_error {
                        part.push_str(&format!(", last error: {error}"));
                    }
                    part.push(')');
                }
                part
            })
            .collect();
        write!(f, "{}", parts.join("; "))?;
        if !self.completed_in_time {
            f.write_str("; shutdown timed out")?;
        }
        Ok(())
    }
}

/// An exporter wrapper that counts what its inner exporter confirmed or failed.
#[derive(Debug)]
pub(crate) struct Counted<E> {
    pub inner: E,
    pub delivery: Arc<Delivery>,
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.delivery.exported(count, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter + fmt::Debug> PushMetricExporter for Counted<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.delivery.submitted(1);
        let result = self.inner.export(metrics).await;
        self.delivery.exported(1, &result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl<E: LogExporter> LogExporter for Counted<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let count = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        self.delivery.exported(count, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A log processor wrapper that counts submitted records.
#[derive(Debug)]
pub(crate) struct LogTap<P> {
    pub inner: P,
    pub delivery: Arc<Delivery>,
}

impl<P: LogProcessor> LogProcessor for LogTap<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.delivery.submitted(1);
        // `tracing` events carry no timestamp of their own; readers sort logs by this one.
        if record.timestamp().is_none() {
            if let Some(observed) = record.observed_timestamp() {
                record.set_timestamp(observed);
            }
        }
        self.inner.emit(record, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_striped_counter_sums_what_every_thread_added() {
        let counter = Arc::new(StripedCounter::default());
        let threads: Vec<_> = (0..(STRIPES + 3))
            .map(|_| {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || (0..1000).for_each(|_| counter.add(1)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        counter.add(7);
        assert_eq!(counter.sum(), (STRIPES as u64 + 3) * 1000 + 7);
    }
}

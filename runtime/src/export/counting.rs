//! Counting what each signal submitted, delivered and lost, for the shutdown report.
//!
//! Spans and log records are counted when they are handed to their export queue (submitted) and
//! when an export of them succeeds (delivered); the difference is what was dropped by a full
//! queue, failed to export, or was still queued when shutdown gave up.

use opentelemetry::logs::LogRecord as _;
use opentelemetry::metrics::Histogram;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Counters of one signal; shared between its processor and its exporter, read by the shutdown
/// report and by the exporter health instruments (`otel.sdk.*`, see [`crate::export::health`]).
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// Written by every instrumented thread as its spans end.
    submitted: StripedCounter,
    /// Dropped because the queue was full (also counted as submitted).
    dropped: AtomicU64,
    /// Spans queued without their attributes and events: the queue's bytes were at their bound
    /// when they ended (see `export::records`). Counted as submitted too.
    trimmed: AtomicU64,
    delivered: AtomicU64,
    /// Items whose export failed, by [`Failure`].
    failed: [AtomicU64; Failure::ALL.len()],
    /// Items in the export under way, and when it started: an export that never answers is
    /// reported as timed out.
    in_flight: Mutex<Option<(u64, Instant)>>,
    /// The exporter's own timeout: an export that fails after it is a timeout.
    export_timeout: Mutex<Option<Duration>>,
    last_error: Mutex<Option<String>>,
    /// Metric data points exported (index 0) and failed (index 1 + [`Failure`]): the metrics
    /// signal counts export requests, its health metric data points.
    points: [AtomicU64; 1 + Failure::ALL.len()],
    /// `otel.sdk.exporter.operation.duration`, once the meter provider is built.
    operation_duration: OnceLock<(Histogram<f64>, [KeyValue; 2])>,
}

/// Why an export failed: the `error.type` of the exporter health metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No answer within the exporter's timeout.
    Timeout,
    /// The connection failed (refused, reset, TLS, DNS).
    Transport,
    /// The backend answered with an error status.
    Rejected,
    /// Anything else (a file that cannot be written, an exporter shut down).
    Other,
}

impl Failure {
    pub const ALL: [Failure; 4] = [
        Failure::Timeout,
        Failure::Transport,
        Failure::Rejected,
        Failure::Other,
    ];

    /// The `error.type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => crate::names::health::ERROR_TIMEOUT,
            Failure::Transport => crate::names::health::ERROR_TRANSPORT,
            Failure::Rejected => crate::names::health::ERROR_REJECTED,
            Failure::Other => crate::names::health::ERROR_OTHER,
        }
    }

    /// Reads the exporter's error: the OTLP exporters say "status code" for an answer with an
    /// error status and "network error" for a failed connection (which is a timeout when it
    /// took the exporter's whole timeout); our explained errors (`explained`) end in the HTTP
    /// status of a rejection (`POST http://...: 404 Not Found`) or in the transport's reason.
    fn of(error: &OTelSdkError, elapsed: Duration, timeout: Option<Duration>) -> Failure {
        let message = match error {
            OTelSdkError::Timeout(_) => return Failure::Timeout,
            OTelSdkError::InternalFailure(message) => message.to_ascii_lowercase(),
            _ => return Failure::Other,
        };
        if message.contains("status code")
            || message.contains("status:")
            || ends_in_http_status(&message)
        {
            Failure::Rejected
        } else if message.contains("timed out") || message.contains("timeout") {
            Failure::Timeout
        } else if message.contains("network")
            || message.contains("connect")
            || message.contains("transport")
            || message.contains("tls")
            || message.contains("dns")
        {
            match timeout {
                Some(timeout) if elapsed >= timeout => Failure::Timeout,
                _ => Failure::Transport,
            }
        } else {
            Failure::Other
        }
    }
}

/// Whether `message` ends in an HTTP error status, as an explained rejection does
/// (`POST http://host/v1/traces: 503 Service Unavailable`).
fn ends_in_http_status(message: &str) -> bool {
    let last = message.rsplit(": ").next().unwrap_or_default();
    let (Some(code), Some(rest)) = (last.get(..3), last.get(3..)) else {
        return false;
    };
    (rest.is_empty() || rest.starts_with(' '))
        && code
            .parse::<u16>()
            .is_ok_and(|code| (400..=599).contains(&code))
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

    /// Items a full queue refused: submitted, and dropped.
    pub(crate) fn dropped_queue_full(&self, count: u64) {
        self.submitted.add(count);
        self.dropped.fetch_add(count, Ordering::Relaxed);
    }

    /// Spans queued without their attributes and events (the queue's bytes at their bound).
    pub(crate) fn trimmed(&self, count: u64) {
        self.trimmed.fetch_add(count, Ordering::Relaxed);
    }

    /// Items whose export has ended, delivered or failed.
    fn finished(&self) -> u64 {
        let failed: u64 = self.failed.iter().map(|f| f.load(Ordering::Relaxed)).sum();
        self.delivered.load(Ordering::Relaxed) + failed
    }

    /// The exporter's timeout, so that a failure after it is counted as a timeout.
    pub(crate) fn set_export_timeout(&self, timeout: Duration) {
        if let Ok(mut slot) = self.export_timeout.lock() {
            *slot = Some(timeout);
        }
    }

    /// Records the duration of every export in `histogram`, with `attributes` (the exporter's
    /// `otel.component.type` and `otel.component.name`).
    pub(crate) fn record_durations(&self, histogram: Histogram<f64>, attributes: [KeyValue; 2]) {
        let _ = self.operation_duration.set((histogram, attributes));
    }

    pub(crate) fn exporting(&self, count: u64) -> Instant {
        let started = Instant::now();
        if let Ok(mut in_flight) = self.in_flight.lock() {
            *in_flight = Some((count, started));
        }
        started
    }

    pub(crate) fn exported(
        &self,
        count: u64,
        started: Instant,
        result: &OTelSdkResult,
    ) -> Option<Failure> {
        let elapsed = started.elapsed();
        if let Ok(mut in_flight) = self.in_flight.lock() {
            *in_flight = None;
        }
        let failure = match result {
            Ok(()) => {
                self.delivered.fetch_add(count, Ordering::Relaxed);
                None
            }
            Err(error) => {
                let timeout = self.export_timeout.lock().ok().and_then(|t| *t);
                let failure = Failure::of(error, elapsed, timeout);
                if let Ok(mut last) = self.last_error.lock() {
                    // The exporter's own reason (the URL and status or transport failure, see
                    // `explained`), without the SDK's "Operation failed: "; a timeout says so.
                    let reason = match error {
                        OTelSdkError::InternalFailure(reason) => reason.clone(),
                        other => other.to_string(),
                    };
                    *last = Some(match failure {
                        Failure::Timeout => {
                            format!("export timed out after {elapsed:.1?}: {reason}")
                        }
                        _ => reason,
                    });
                }
                self.failed[failure as usize].fetch_add(count, Ordering::Relaxed);
                Some(failure)
            }
        };
        if let Some((histogram, component)) = self.operation_duration.get() {
            let error = failure.map(|f| KeyValue::new(crate::names::attr::ERROR_TYPE, f.as_str()));
            let attributes: Vec<KeyValue> = component.iter().cloned().chain(error).collect();
            histogram.record(elapsed.as_secs_f64(), &attributes);
        }
        failure
    }

    fn points_exported(&self, points: u64, failure: Option<Failure>) {
        let index = failure.map_or(0, |failure| 1 + failure as usize);
        self.points[index].fetch_add(points, Ordering::Relaxed);
    }

    /// What the exporter health instruments read.
    pub(crate) fn counts(&self) -> Counts {
        Counts {
            submitted: self.submitted.sum(),
            dropped: self.dropped.load(Ordering::Relaxed),
            trimmed: self.trimmed.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: std::array::from_fn(|i| self.failed[i].load(Ordering::Relaxed)),
            points: std::array::from_fn(|i| self.points[i].load(Ordering::Relaxed)),
            in_flight: self
                .in_flight
                .lock()
                .ok()
                .and_then(|f| *f)
                .map_or(0, |(count, _)| count),
        }
    }

    pub fn report(&self, signal: &'static str) -> SignalDelivery {
        let counts = self.counts();
        let mut last_error = self.last_error.lock().ok().and_then(|last| last.clone());
        // An export still waiting for an answer (a collector that accepts and never answers):
        // that is why its items are lost, whatever failed before.
        if let Some((count, started)) = self.in_flight.lock().ok().and_then(|f| *f) {
            last_error = Some(format!(
                "export timed out: {count} items sent {:.1?} ago got no answer before shutdown gave up",
                started.elapsed()
            ));
        }
        SignalDelivery {
            signal,
            submitted: counts.submitted,
            delivered: counts.delivered,
            dropped: counts.dropped,
            trimmed: counts.trimmed,
            failed: counts.failed.iter().sum(),
            // The exporter's and its client's text may quote the URL (with a token in it) or
            // what the collector answered: shown as everything printed.
            last_error: last_error.map(|error| crate::content::printable(&error).into_owned()),
        }
    }
}

/// A reading of one signal's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub submitted: u64,
    pub dropped: u64,
    pub trimmed: u64,
    pub delivered: u64,
    /// By [`Failure`] (indexed by `Failure as usize`).
    pub failed: [u64; Failure::ALL.len()],
    /// Metric data points exported, then failed by [`Failure`].
    pub points: [u64; 1 + Failure::ALL.len()],
    pub in_flight: u64,
}

/// What one signal submitted, delivered and lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalDelivery {
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
    /// Items handed to the export pipeline (spans, log records, or metric export requests),
    /// including those a full queue dropped.
    pub submitted: u64,
    /// Items an exporter confirmed.
    pub delivered: u64,
    /// Items a full queue dropped (spans shed at their start, see docs/backends.md, "Exporter
    /// health"), full in items or, for spans, in bytes (docs/limits.md).
    pub dropped: u64,
    /// Spans queued without their attributes and events because the span queue's bytes were at
    /// their bound when they ended (docs/limits.md); they are delivered like the others.
    pub trimmed: u64,
    /// Items whose export failed.
    pub failed: u64,
    /// The last export error, if any; an export still unanswered at shutdown is reported as
    /// timed out.
    pub last_error: Option<String>,
}

impl SignalDelivery {
    /// Items submitted but never confirmed: dropped by a full queue, failed, or cut by shutdown.
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
                    let mut causes = Vec::new();
                    if s.dropped > 0 {
                        causes.push(format!("{} dropped by the full queue", s.dropped));
                    }
                    if s.failed > 0 {
                        causes.push(format!("{} failed to export", s.failed));
                    }
                    let unsent = s.undelivered().saturating_sub(s.dropped + s.failed);
                    if unsent > 0 && !causes.is_empty() {
                        causes.push(format!("{unsent} not sent before shutdown"));
                    }
                    if !causes.is_empty() {
                        part.push_str(&format!(": {}", causes.join(", ")));
                    }
                    if let Some(error) = &s.last_error {
                        part.push_str(&format!("; last error: {error}"));
                    }
                    part.push(')');
                }
                if s.trimmed > 0 {
                    part.push_str(&format!(
                        ", {} without their attributes (the span queue's bytes were at their \
                         bound)",
                        s.trimmed
                    ));
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
        let started = self.delivery.exporting(count);
        let result = self.inner.export(batch).await;
        self.delivery.exported(count, started, &result);
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
        let points = data_points(metrics);
        let started = self.delivery.exporting(1);
        let result = self.inner.export(metrics).await;
        let failure = self.delivery.exported(1, started, &result);
        self.delivery.points_exported(points, failure);
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
        let started = self.delivery.exporting(count);
        let result = self.inner.export(batch).await;
        self.delivery.exported(count, started, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The data points of an export.
fn data_points(metrics: &ResourceMetrics) -> u64 {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    fn of<T>(data: &MetricData<T>) -> usize {
        match data {
            MetricData::Gauge(gauge) => gauge.data_points().count(),
            MetricData::Sum(sum) => sum.data_points().count(),
            MetricData::Histogram(histogram) => histogram.data_points().count(),
            MetricData::ExponentialHistogram(histogram) => histogram.data_points().count(),
        }
    }
    let points: usize = metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .map(|metric| match metric.data() {
            AggregatedMetrics::F64(data) => of(data),
            AggregatedMetrics::U64(data) => of(data),
            AggregatedMetrics::I64(data) => of(data),
        })
        .sum();
    points as u64
}

/// A log processor wrapper that counts submitted records and bounds what is queued.
///
/// The SDK's batch log processor drops a record its full queue refuses and tells no one, so the
/// report could only show such a loss as a gap. The tap admits a record only while fewer than
/// `capacity` admitted records have not yet finished exporting (delivered or failed), and drops
/// and counts the rest itself: the SDK's queue, of the same capacity, then never overflows.
/// (Records of the export under way count against the bound too, so under overload the tap
/// drops up to one batch earlier than the SDK would have.)
#[derive(Debug)]
pub(crate) struct LogTap<P> {
    inner: P,
    delivery: Arc<Delivery>,
    capacity: u64,
    /// Records handed to `inner`.
    admitted: AtomicU64,
}

impl<P> LogTap<P> {
    /// Counts what goes through `inner`, whose queue holds `capacity` records.
    pub(crate) fn new(inner: P, delivery: Arc<Delivery>, capacity: usize) -> LogTap<P> {
        LogTap {
            inner,
            delivery,
            capacity: capacity as u64,
            admitted: AtomicU64::new(0),
        }
    }

    /// Takes a place in the queue, if one is free.
    fn admit(&self) -> bool {
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |admitted| {
                let queued = admitted.saturating_sub(self.delivery.finished());
                (queued < self.capacity).then_some(admitted + 1)
            })
            .is_ok()
    }
}

impl<P: LogProcessor> LogProcessor for LogTap<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if !self.admit() {
            self.delivery.dropped_queue_full(1);
            return;
        }
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

    /// The explained errors of `export::explained` keep their `error.type`: a rejection ends in
    /// its HTTP status, a refused connection says so, a timeout says it timed out.
    #[test]
    fn explained_errors_are_classified_by_their_cause() {
        let of = |text: &str, elapsed_ms: u64| {
            Failure::of(
                &OTelSdkError::InternalFailure(text.to_owned()),
                Duration::from_millis(elapsed_ms),
                Some(Duration::from_millis(1000)),
            )
        };
        assert_eq!(
            of("POST http://127.0.0.1:4318/v1/traces: 404 Not Found", 5),
            Failure::Rejected
        );
        assert_eq!(
            of(
                "POST http://127.0.0.1:4318/v1/traces: 503 Service Unavailable",
                5
            ),
            Failure::Rejected
        );
        assert_eq!(
            of(
                "POST http://127.0.0.1:9/v1/traces: error sending request: transport error: \
                 Connection refused (os error 111)",
                5
            ),
            Failure::Transport
        );
        assert_eq!(
            of(
                "POST http://127.0.0.1:9/v1/traces: error sending request: operation timed out",
                1000
            ),
            Failure::Timeout
        );
        assert_eq!(
            of(
                "POST https://127.0.0.1:4318/v1/traces: error sending request: TLS handshake \
                 failed: invalid peer certificate: UnknownIssuer",
                5
            ),
            Failure::Transport
        );
        assert_eq!(
            of(
                "POST http://collector.invalid/v1/traces: error sending request: dns error: \
                 host not found",
                5
            ),
            Failure::Transport
        );
        assert_eq!(
            of("HTTP export failed with status code: 400", 5),
            Failure::Rejected
        );
        assert_eq!(
            of("POST http://127.0.0.1:4318/v1/traces: 2xé", 5),
            Failure::Other
        );
    }

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

//! In-memory capture of the macros' spans and metric points, for users' own tests.
//!
//! A [`Capture`] records only what runs under it ([`Capture::run`], [`Capture::run_async`], or a
//! future given [`Capture::context`]), so tests running in parallel threads do not see each
//! other's telemetry, and no collector or [`crate::init`] is needed.
//!
//! ```
//! use factory_observability::{pipeline_run, pipeline_stage, testing::Capture};
//!
//! #[pipeline_stage]
//! fn plan() -> Result<u32, String> { Ok(3) }
//!
//! #[pipeline_run(name = "new_product")]
//! fn run() -> Result<u32, String> { plan() }
//!
//! let capture = Capture::new();
//! assert_eq!(capture.run(run), Ok(3));
//! assert_eq!(
//!     capture.tree(&["pipeline.name", "stage.name", "stage.outcome"]),
//!     "pipeline.run OK pipeline.name=new_product\n  pipeline.stage OK stage.name=plan stage.outcome=success\n"
//! );
//! let runs = capture.metric("pipeline.runs.total");
//! assert_eq!(runs[0].value, factory_observability::testing::PointValue::Sum(1.0));
//! ```

pub use crate::content::fakes::{fake_secrets, FakeSecret};
use crate::dispatch::SpanSink;
use crate::dispatch::{Dispatch, ScopedDispatch};
use crate::pricing::Pricing;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{Sampler, SimpleSpanProcessor, SpanData, SpanExporter};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records spans and metric points of everything run under it.
#[derive(Debug)]
pub struct Capture {
    spans: CapturedSpans,
    metrics: CapturedMetrics,
    meters: SdkMeterProvider,
    scoped: ScopedDispatch,
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new()
    }
}

impl Capture {
    /// A new, empty capture.
    pub fn new() -> Capture {
        let spans = CapturedSpans::default();
        let metrics = CapturedMetrics::default();
        let meters = SdkMeterProvider::builder()
            .with_reader(
                PeriodicReader::builder(metrics.clone())
                    // Read on demand only: `metric` flushes.
                    .with_interval(Duration::from_secs(3600))
                    .build(),
            )
            .build();
        // Spans are converted and exported on the calling thread: a test sees them as soon as
        // its calls return.
        let sink = SpanSink::Immediate {
            processor: Arc::new(SimpleSpanProcessor::new(spans.clone())),
            scope: crate::export::instrumentation_scope(),
            limits: crate::config::SpanLimits::default(),
        };
        let scoped = ScopedDispatch::new(Dispatch::new(Sampler::AlwaysOn, sink, &meters));
        Capture {
            spans,
            metrics,
            meters,
            scoped,
        }
    }

    /// Prices LLM calls with `pricing` instead of the bundled prices.
    pub fn with_pricing(mut self, pricing: Pricing) -> Capture {
        let current = Dispatch::clone(&self.scoped.0);
        let genai_span_names = current.genai_span_names;
        self.scoped = ScopedDispatch::new(current.configured(Arc::new(pricing), genai_span_names));
        self
    }

    /// Names LLM spans `{operation} {model}`, as `TelemetryBuilder::genai_span_names` does.
    pub fn with_genai_span_names(mut self) -> Capture {
        let current = Dispatch::clone(&self.scoped.0);
        let pricing = Arc::clone(&current.pricing);
        self.scoped = ScopedDispatch::new(current.configured(pricing, true));
        self
    }

    /// Captures content as `TelemetryBuilder::capture_content` would (`On` or `Off`; the default
    /// is `SitesOptIn`), cut at `max_chars` characters: to test what your program's captured
    /// prompts, completions and arguments look like once redacted.
    pub fn with_content_capture(
        mut self,
        mode: crate::content::ContentCapture,
        max_chars: usize,
    ) -> Capture {
        let current = Dispatch::clone(&self.scoped.0);
        let policy = crate::content::ContentPolicy {
            mode,
            max_chars: Some(max_chars),
            ..crate::content::ContentPolicy::default()
        };
        self.scoped = ScopedDispatch::new(current.with_content(policy));
        self
    }

    /// Applies OpenTelemetry's span `limits` to the captured spans, as `init` applies the
    /// `OTEL_*_LIMIT` variables to exported ones.
    pub fn with_span_limits(mut self, limits: crate::config::SpanLimits) -> Capture {
        let mut current = Dispatch::clone(&self.scoped.0);
        if let SpanSink::Immediate { limits: kept, .. } = &mut current.spans {
            *kept = limits;
        }
        self.scoped = ScopedDispatch::new(current);
        self
    }

    /// The context under which calls record into this capture; attach it, or pass it to
    /// `opentelemetry::context::FutureExt::with_context` for a spawned task.
    pub fn context(&self) -> Context {
        Context::current().with_value(self.scoped.clone())
    }

    /// Runs `body` recording into this capture.
    pub fn run<R>(&self, body: impl FnOnce() -> R) -> R {
        let _attached = self.context().attach();
        body()
    }

    /// Runs a future recording into this capture, whichever threads poll it.
    pub fn run_async<F: Future>(&self, body: F) -> impl Future<Output = F::Output> {
        body.with_context(self.context())
    }

    /// The spans that ended so far, in the order they ended.
    pub fn spans(&self) -> Vec<CapturedSpan> {
        let ended = self.spans.0.lock().map(|spans| spans.clone());
        ended
            .unwrap_or_default()
            .into_iter()
            .map(CapturedSpan::from)
            .collect()
    }

    /// The ended spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<CapturedSpan> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The span tree, one span a line, children indented under their parent in start order:
    /// `name STATUS key=value ...` with only the attribute `keys` asked for, in that order.
    /// Durations and ids vary between runs; leave them out to compare trees exactly.
    pub fn tree(&self, keys: &[&str]) -> String {
        let spans = self.spans();
        let mut out = String::new();
        let ids: Vec<SpanId> = spans.iter().map(|s| s.span_id).collect();
        let mut roots: Vec<&CapturedSpan> = spans
            .iter()
            .filter(|s| !ids.contains(&s.parent_span_id))
            .collect();
        roots.sort_by_key(|s| s.start_order);
        for root in roots {
            render(&spans, root, keys, 0, &mut out);
        }
        out
    }

    /// Every point of every metric, from a fresh collection.
    pub fn metrics(&self) -> Vec<MetricPoint> {
        let _ = self.meters.force_flush();
        let points = self.metrics.0.lock().map(|points| points.clone());
        points.unwrap_or_default()
    }

    /// The points of the metric `name`, sorted by their attributes.
    pub fn metric(&self, name: &str) -> Vec<MetricPoint> {
        self.metrics()
            .into_iter()
            .filter(|point| point.name == name)
            .collect()
    }
}

fn render(
    spans: &[CapturedSpan],
    span: &CapturedSpan,
    keys: &[&str],
    depth: usize,
    out: &mut String,
) {
    let status = match &span.status {
        Status::Ok => "OK",
        Status::Error { .. } => "ERROR",
        Status::Unset => "UNSET",
    };
    let _ = write!(out, "{}{} {}", "  ".repeat(depth), span.name, status);
    for key in keys {
        if let Some(value) = span.attributes.get(*key) {
            let _ = write!(out, " {key}={value}");
        }
    }
    out.push('\n');
    let mut children: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|child| child.parent_span_id == span.span_id && child.trace_id == span.trace_id)
        .collect();
    children.sort_by_key(|s| s.start_order);
    for child in children {
        render(spans, child, keys, depth + 1, out);
    }
}

fn labels<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> BTreeMap<String, String> {
    attributes
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

/// One ended span.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedSpan {
    /// The span's name.
    pub name: String,
    /// Its trace.
    pub trace_id: TraceId,
    /// Its id.
    pub span_id: SpanId,
    /// Its parent's id, `SpanId::INVALID` for a root.
    pub parent_span_id: SpanId,
    /// Its kind.
    pub kind: SpanKind,
    /// Its span context's `TraceState` as an exporter writes it (`key=value,...`; empty when
    /// there is none).
    pub trace_state: String,
    /// Its attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Attributes dropped by the span limits (`dropped_attributes_count`).
    pub dropped_attributes_count: u32,
    /// Events dropped by the span limits.
    pub dropped_events_count: u32,
    /// Its status.
    pub status: Status,
    /// Its events, in order.
    pub events: Vec<CapturedEvent>,
    /// How long it lasted.
    pub duration: Duration,
    start_order: std::time::SystemTime,
}

impl CapturedSpan {
    /// The attribute `key`, rendered as text (`Value`'s `Display`).
    pub fn attr(&self, key: &str) -> Option<String> {
        self.attributes.get(key).map(Value::to_string)
    }
}

/// One span event.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedEvent {
    /// The event's name, e.g. `exception`.
    pub name: String,
    /// Its attributes.
    pub attributes: BTreeMap<String, Value>,
}

/// The capture's span exporter: every ended span, in the order they ended. (The SDK's
/// `InMemorySpanExporter` would need its `testing` feature, which builds tokio.)
#[derive(Clone, Debug, Default)]
struct CapturedSpans(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for CapturedSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Ok(mut spans) = self.0.lock() {
            spans.extend(batch);
        }
        Ok(())
    }
}

/// The capture's metric exporter: the points of the latest collection (cumulative, so the
/// latest holds everything).
#[derive(Clone, Debug, Default)]
struct CapturedMetrics(Arc<Mutex<Vec<MetricPoint>>>);

impl PushMetricExporter for CapturedMetrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let points = points_of(metrics);
        if let Ok(mut latest) = self.0.lock() {
            *latest = points;
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// Every point of `collected`, sorted by metric name and attributes.
fn points_of(collected: &ResourceMetrics) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for scope in collected.scope_metrics() {
        for metric in scope.metrics() {
            let name = metric.name().to_owned();
            let unit = metric.unit().to_owned();
            let mut push = |attributes: BTreeMap<String, String>, value: PointValue| {
                points.push(MetricPoint {
                    name: name.clone(),
                    unit: unit.clone(),
                    attributes,
                    value,
                })
            };
            match metric.data() {
                AggregatedMetrics::F64(MetricData::Histogram(histogram)) => {
                    for point in histogram.data_points() {
                        push(
                            labels(point.attributes()),
                            PointValue::Histogram {
                                count: point.count(),
                                sum: point.sum(),
                                bounds: point.bounds().collect(),
                                bucket_counts: point.bucket_counts().collect(),
                            },
                        );
                    }
                }
                AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                    for point in sum.data_points() {
                        push(
                            labels(point.attributes()),
                            PointValue::Sum(point.value() as f64),
                        );
                    }
                }
                // Up-down counters (`http.server.active_requests`).
                AggregatedMetrics::I64(MetricData::Sum(sum)) => {
                    for point in sum.data_points() {
                        push(
                            labels(point.attributes()),
                            PointValue::Sum(point.value() as f64),
                        );
                    }
                }
                AggregatedMetrics::F64(MetricData::Sum(sum)) => {
                    for point in sum.data_points() {
                        push(labels(point.attributes()), PointValue::Sum(point.value()));
                    }
                }
                AggregatedMetrics::U64(MetricData::Histogram(histogram)) => {
                    for point in histogram.data_points() {
                        push(
                            labels(point.attributes()),
                            PointValue::Histogram {
                                count: point.count(),
                                sum: point.sum() as f64,
                                bounds: point.bounds().collect(),
                                bucket_counts: point.bucket_counts().collect(),
                            },
                        );
                    }
                }
                _ => {}
            }
        }
    }
    points.sort_by(|a, b| (&a.name, &a.attributes).cmp(&(&b.name, &b.attributes)));
    points
}

impl From<SpanData> for CapturedSpan {
    fn from(span: SpanData) -> Self {
        CapturedSpan {
            name: span.name.to_string(),
            trace_id: span.span_context.trace_id(),
            span_id: span.span_context.span_id(),
            parent_span_id: span.parent_span_id,
            kind: span.span_kind,
            trace_state: span.span_context.trace_state().header(),
            attributes: span
                .attributes
                .into_iter()
                .map(|kv| (kv.key.to_string(), kv.value))
                .collect(),
            dropped_attributes_count: span.dropped_attributes_count,
            dropped_events_count: span.events.dropped_count,
            status: span.status,
            events: span
                .events
                .into_iter()
                .map(|event| CapturedEvent {
                    name: event.name.to_string(),
                    attributes: event
                        .attributes
                        .into_iter()
                        .map(|kv| (kv.key.to_string(), kv.value))
                        .collect(),
                })
                .collect(),
            duration: span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or_default(),
            start_order: span.start_time,
        }
    }
}

/// One metric point: a counter's value or a histogram's buckets, with its attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    /// The instrument's name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// The point's attributes, rendered as text.
    pub attributes: BTreeMap<String, String>,
    /// The point's value.
    pub value: PointValue,
}

/// The value of a [`MetricPoint`].
#[derive(Clone, Debug, PartialEq)]
pub enum PointValue {
    /// A counter's cumulative value.
    Sum(f64),
    /// A histogram's cumulative state.
    Histogram {
        /// Number of recorded values.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Bucket upper bounds.
        bounds: Vec<f64>,
        /// Count per bucket (one more than bounds).
        bucket_counts: Vec<u64>,
    },
}

//! The three OpenTelemetry providers of an installation, built from the configuration, and
//! their shutdown within a bound.

use super::exporters::{
    exporter_error, open, serve_prometheus, DynSpanExporter, LogSink, MetricsEndpoint,
};
use crate::config::{Config, Destination, Signal};
use crate::content::Redaction;
use crate::error::InitError;
use crate::export::counting::{Counted, Delivery, LogTap};
use crate::export::health::Health;
use crate::export::jsonl::{JsonlLogExporter, JsonlMetricExporter, JsonlSpanExporter};
use crate::export::otlp;
use crate::export::records::{self, QueueSettings, RecordQueue};
use crate::export::redacting::{RedactingLogs, RedactingSpans};
use crate::export::DeliveryReport;
use crate::names::SCOPE;

use crate::summary::{Summary, SummaryFeed};
use crate::tracer::RootingTracer;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter as _};
use opentelemetry_sdk::Resource;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_subscriber::Layer;

#[derive(Debug)]
pub(super) struct Installed {
    pub(super) tracers: SdkTracerProvider,
    /// Where the macros' spans go: the span export thread, unless traces are not exported.
    pub(super) records: Option<Arc<RecordQueue>>,
    pub(super) meters: SdkMeterProvider,
    pub(super) loggers: SdkLoggerProvider,
    pub(super) deliveries: [Arc<Delivery>; 3],
    pub(super) summary: Option<Arc<Summary>>,
    pub(super) shutdown_timeout: Duration,
    /// `/metrics`, with `OTEL_METRICS_EXPORTER=prometheus`; stops when dropped.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(super) metrics_endpoint: Option<MetricsEndpoint>,
    /// The context this process was started under (`TRACEPARENT`): the parent of `tracing`
    /// spans that have none. Set by `init` once it has read the environment.
    pub(super) process_parent: Option<opentelemetry::Context>,
    /// The redaction policy, for the `tracing` events printed on stderr.
    pub(super) redaction: Redaction,
}

impl Installed {
    pub(super) fn new(
        config: &Config,
        span_exporter: Option<Box<dyn DynSpanExporter>>,
        redaction: &Redaction,
    ) -> Result<Installed, InitError> {
        let resource = Resource::builder()
            .with_attributes(config.resource_attributes.clone())
            .with_service_name(config.service_name.clone())
            .build();
        let deliveries: [Arc<Delivery>; 3] = Default::default();
        let summary = config.summary.then(Arc::<Summary>::default);

        // `OTEL_TRACES_EXPORTER=none` wins over an exporter given in code, as the environment
        // does over the builder elsewhere.
        let custom_spans = span_exporter.is_some();
        let (tracers, records) = tracer_provider(
            config,
            &resource,
            span_exporter,
            summary.as_ref(),
            &deliveries[0],
            redaction,
        )?;
        let (meters, metrics_endpoint) = meter_provider(config, &resource, &deliveries[1])?;
        let slots = records.as_ref().map(|queue| Arc::clone(queue.slots()));
        Health::of(config, &deliveries, slots, custom_spans).install(&meters);
        // Set before the log processor is built, so that the SDK's batch log processor records
        // its own `otel.sdk.processor.log.*` metrics on it.
        opentelemetry::global::set_meter_provider(meters.clone());
        let loggers = logger_provider(config, resource, &deliveries[2], redaction)?;

        Ok(Installed {
            tracers,
            records,
            meters,
            loggers,
            deliveries,
            summary,
            shutdown_timeout: config.shutdown_timeout,
            metrics_endpoint,
            process_parent: None,
            redaction: redaction.clone(),
        })
    }

    pub(super) fn tracing_layer<S>(&self) -> Box<dyn Layer<S> + Send + Sync>
    where
        S: tracing::Subscriber
            + for<'span> tracing_subscriber::registry::LookupSpan<'span>
            + Send
            + Sync,
    {
        // The exporters' own HTTP stack must not feed telemetry back into itself.
        let not_ourselves = || {
            tracing_subscriber::filter::Targets::new()
                .with_default(tracing::Level::TRACE)
                .with_target("opentelemetry", tracing::level_filters::LevelFilter::OFF)
                .with_target(
                    "opentelemetry_sdk",
                    tracing::level_filters::LevelFilter::OFF,
                )
                .with_target(
                    "opentelemetry_otlp",
                    tracing::level_filters::LevelFilter::OFF,
                )
                // The OTLP/HTTP client (its `log` records, should the program bridge them).
                .with_target("ureq", tracing::level_filters::LevelFilter::OFF)
                .with_target("ureq_proto", tracing::level_filters::LevelFilter::OFF)
                .with_target("rustls", tracing::level_filters::LevelFilter::OFF)
                // The gRPC exporter's stack and a program's own reqwest (the `grpc` and
                // `reqwest` features).
                .with_target("reqwest", tracing::level_filters::LevelFilter::OFF)
                .with_target("hyper", tracing::level_filters::LevelFilter::OFF)
                .with_target("hyper_util", tracing::level_filters::LevelFilter::OFF)
                .with_target("h2", tracing::level_filters::LevelFilter::OFF)
                .with_target("tonic", tracing::level_filters::LevelFilter::OFF)
                .with_target("tower", tracing::level_filters::LevelFilter::OFF)
        };
        // With `OTEL_TRACES_EXPORTER=none`, `tracing` spans are not built at all.
        let spans = self.records.is_some().then(|| {
            tracing_opentelemetry::layer()
                .with_tracer(RootingTracer {
                    sdk: self.tracers.tracer(SCOPE),
                    process_parent: self.process_parent.clone(),
                })
                .with_filter(not_ourselves())
        });
        let events =
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&self.loggers)
                .with_filter(not_ourselves());
        Box::new(Layer::and_then(spans, events))
    }

    /// Shuts the three providers down in parallel, waiting at most the shutdown timeout in all:
    /// a provider still blocked on an unreachable collector is left behind, never waited for.
    pub(super) fn shutdown(&self) -> DeliveryReport {
        let deadline = Instant::now() + self.shutdown_timeout;
        let (done, finished) = mpsc::channel();
        let timeout = self.shutdown_timeout;
        let tracers = self.tracers.clone();
        let meters = self.meters.clone();
        let loggers = self.loggers.clone();
        let jobs: [Box<dyn FnOnce() + Send>; 3] = [
            Box::new(move || drop(tracers.shutdown_with_timeout(timeout))),
            Box::new(move || drop(meters.shutdown_with_timeout(timeout))),
            Box::new(move || drop(loggers.shutdown_with_timeout(timeout))),
        ];
        let mut spawned = 0;
        for job in jobs {
            let done = done.clone();
            let started = std::thread::Builder::new()
                .name("factory-obs-shutdown".into())
                .spawn(move || {
                    job();
                    let _ = done.send(());
                });
            spawned += usize::from(started.is_ok());
        }
        let mut completed = 0;
        while completed < spawned {
            let left = deadline.saturating_duration_since(Instant::now());
            if finished.recv_timeout(left).is_err() {
                break;
            }
            completed += 1;
        }
        DeliveryReport {
            signals: ["traces", "metrics", "logs"]
                .into_iter()
                .zip(&self.deliveries)
                .map(|(signal, delivery)| delivery.report(signal))
                .collect(),
            completed_in_time: completed == 3,
        }
    }
}

/// The tracer provider, with the span export thread in front of the exporter the
/// configuration (or the program) chose; no queue when traces are not exported.
fn tracer_provider(
    config: &Config,
    resource: &Resource,
    span_exporter: Option<Box<dyn DynSpanExporter>>,
    summary: Option<&Arc<Summary>>,
    delivery: &Arc<Delivery>,
    redaction: &Redaction,
) -> Result<(SdkTracerProvider, Option<Arc<RecordQueue>>), InitError> {
    let exporter: Option<Box<dyn DynSpanExporter>> = match (span_exporter, &config.traces) {
        // `Prometheus` is for metrics only (see `config`).
        (_, Destination::None | Destination::Prometheus(_)) => None,
        (Some(custom), _) => Some(custom),
        (None, Destination::File(path)) => Some(Box::new(JsonlSpanExporter::new(open(path)?))),
        (None, Destination::Otlp(_)) => {
            Some(Box::new(otlp::span_exporter(config.otlp(Signal::Traces))?))
        }
    };
    let tracers = SdkTracerProvider::builder()
        .with_sampler(config.sampler.clone())
        // `tracing` spans are SDK spans: the SDK applies the count limits, the export thread
        // the length limit (`export::records`).
        .with_span_limits(config.span_limits.sdk_counts())
        .with_resource(resource.clone());
    let Some(mut exporter) = exporter else {
        return Ok((tracers.build(), None));
    };
    if let Some(summary) = summary {
        // Fed on the export thread, from the batches being exported: no work on the calls.
        exporter = Box::new(SummaryFeed {
            inner: exporter,
            summary: Arc::clone(summary),
        });
    }
    if redaction.attributes {
        // On the export thread, before the summary and the exporter see the spans.
        exporter = Box::new(RedactingSpans {
            inner: exporter,
            redaction: redaction.clone(),
        });
    }
    // Given here rather than by the provider: the exporter moves to the span export thread
    // (see `SpanExport::set_resource`).
    exporter.set_resource(resource);
    let (spans, queue) = records::start(
        Counted {
            inner: exporter,
            delivery: Arc::clone(delivery),
        },
        Arc::clone(delivery),
        QueueSettings {
            batching: config.batching,
            max_bytes: config.span_queue_max_bytes,
            limits: config.span_limits,
            foreign_max_bytes: config.browser.queue_max_bytes,
        },
        crate::export::instrumentation_scope(),
        resource.clone(),
    )
    .map_err(|error| {
        exporter_error(
            "traces",
            format!("cannot start the span export thread: {error}"),
        )
    })?;
    Ok((tracers.with_span_processor(spans).build(), Some(queue)))
}

/// The meter provider: a periodic push to the file or OTLP exporter, or the Prometheus
/// endpoint's pull reader (with the endpoint, which serves until dropped).
fn meter_provider(
    config: &Config,
    resource: &Resource,
    delivery: &Arc<Delivery>,
) -> Result<(SdkMeterProvider, Option<MetricsEndpoint>), InitError> {
    let mut metrics_endpoint = None;
    let meters = SdkMeterProvider::builder().with_resource(resource.clone());
    let meters = match &config.metrics {
        Destination::File(path) => meters.with_reader(
            PeriodicReader::builder(Counted {
                inner: JsonlMetricExporter::new(open(path)?),
                delivery: Arc::clone(delivery),
            })
            .build(),
        ),
        Destination::Otlp(_) => meters.with_reader(
            PeriodicReader::builder(Counted {
                inner: otlp::metric_exporter(config.otlp(Signal::Metrics))?,
                delivery: Arc::clone(delivery),
            })
            .build(),
        ),
        Destination::Prometheus(endpoint) => {
            let (reader, server) = serve_prometheus(endpoint)?;
            metrics_endpoint = server;
            meters.with_reader(reader)
        }
        Destination::None => meters,
    };
    Ok((meters.build(), metrics_endpoint))
}

/// The logger provider: the SDK's batch log processor with the configured batching, behind
/// the bound that counts what a full queue drops (`LogTap`).
fn logger_provider(
    config: &Config,
    resource: Resource,
    delivery: &Arc<Delivery>,
    redaction: &Redaction,
) -> Result<SdkLoggerProvider, InitError> {
    let sink = match &config.logs {
        Destination::File(path) => LogSink::File(JsonlLogExporter::new(open(path)?)),
        Destination::Otlp(_) => {
            LogSink::Otlp(Box::new(otlp::log_exporter(config.otlp(Signal::Logs))?))
        }
        Destination::None | Destination::Prometheus(_) => {
            return Ok(SdkLoggerProvider::builder().with_resource(resource).build())
        }
    };
    let batching = config.log_batching;
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(batching.queue_size)
        .with_max_export_batch_size(batching.max_batch)
        .with_scheduled_delay(batching.schedule_delay)
        .build();
    let processor = BatchLogProcessor::builder(Counted {
        inner: sink,
        delivery: Arc::clone(delivery),
    })
    .with_batch_config(batch)
    .build();
    let tap = LogTap::new(processor, Arc::clone(delivery), batching.queue_size);
    let loggers = SdkLoggerProvider::builder().with_resource(resource);
    Ok(if redaction.attributes {
        loggers
            .with_log_processor(RedactingLogs::new(tap, redaction.clone()))
            .build()
    } else {
        loggers.with_log_processor(tap).build()
    })
}

//! One-call installation of traces, metrics and logs, and the guard that flushes them.

use crate::call::span::SpanSink;
use crate::config::{Config, Destination, Signal};
use crate::error::InitError;
use crate::export::counting::{Counted, Delivery, LogTap};
use crate::export::explained::Explained;
use crate::export::jsonl::{JsonlFile, JsonlLogExporter, JsonlMetricExporter, JsonlSpanExporter};
use crate::export::otlp;
use crate::export::records::{self, RecordQueue};
use crate::export::DeliveryReport;
use crate::names::SCOPE;
use crate::pipeline::{self, Pipeline};
use crate::pricing::Pricing;
use crate::summary::{Summary, SummaryFeed};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter as _};
use opentelemetry_sdk::Resource;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs telemetry for `service_name` from the `OTEL_*` environment and returns its guard.
///
/// With no OTLP endpoint configured, telemetry goes to the embedded default: OTLP/JSON files in
/// `$FACTORY_OBS_DIR` (default `./telemetry`) and a run summary on stderr at shutdown. With
/// `OTEL_SDK_DISABLED=true` nothing is installed and every macro only runs its body.
///
/// Keep the returned [`Telemetry`] alive for the life of the program; dropping it flushes.
///
/// Unless the program installed one first, `init` makes ring rustls's process-wide default
/// crypto provider, so that the program's own reqwest clients and rustls configurations work
/// next to ours (README "HTTPS and the program's own TLS clients").
pub fn init(service_name: &str) -> Result<Telemetry, InitError> {
    Telemetry::builder(service_name).init()
}

/// Configuration in code; the environment still applies on top of it.
#[derive(Debug)]
pub struct TelemetryBuilder {
    service_name: String,
    shutdown_timeout: Duration,
    dir: Option<PathBuf>,
    summary: Option<bool>,
    span_exporter: Option<Box<dyn DynSpanExporter>>,
    pricing: Option<Pricing>,
    genai_span_names: Option<bool>,
    /// Content capture (`crate::capture`, where its builder methods are).
    pub(crate) capture: crate::capture::CaptureBuilder,
}

impl TelemetryBuilder {
    /// Prices of LLM calls (default: the bundled `genai-prices` data); a file named by
    /// `FACTORY_OBS_PRICING` is applied over them.
    pub fn pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = Some(pricing);
        self
    }

    /// Names LLM spans `{gen_ai.operation.name} {gen_ai.request.model}`, for backends that group
    /// by span name, unless `FACTORY_OBS_GENAI_SPAN_NAMES` is set.
    pub fn genai_span_names(mut self, on: bool) -> Self {
        self.genai_span_names = Some(on);
        self
    }

    /// Sends spans to `exporter` instead of the destination the environment selects (for a
    /// backend of your own, or a discarding exporter in benchmarks). Spans are still batched by
    /// the span export thread and counted like any other; `OTEL_TRACES_EXPORTER=none` wins.
    pub fn span_exporter<E>(mut self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::trace::SpanExporter + 'static,
    {
        self.span_exporter = Some(Box::new(exporter));
        self
    }

    /// How long shutdown may take (default 5 s) before it gives up on undelivered telemetry.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Directory of the embedded default's files, unless `FACTORY_OBS_DIR` is set.
    pub fn embedded_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Whether to print the run summary at shutdown, unless `FACTORY_OBS_SUMMARY` is set.
    pub fn summary(mut self, print: bool) -> Self {
        self.summary = Some(print);
        self
    }

    /// Installs the pipelines and a global `tracing` subscriber that turns `tracing` spans into
    /// OpenTelemetry spans and `tracing` events into OpenTelemetry log records (plus warnings on
    /// stderr, filtered by `RUST_LOG`). If the program already installed a subscriber, build with
    /// [`init_without_subscriber`](Self::init_without_subscriber) and add
    /// [`Telemetry::tracing_layer`] to it instead.
    pub fn init(self) -> Result<Telemetry, InitError> {
        let telemetry = self.init_without_subscriber()?;
        if let Some(installed) = &telemetry.installed {
            let stderr_filter = match std::env::var("RUST_LOG") {
                Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
                    .map_err(|error| {
                        InitError::invalid_env(
                            "RUST_LOG",
                            &directives,
                            &format!("tracing-subscriber filter directives such as `info` or `my_crate=debug` ({error})"),
                        )
                    })?,
                _ => EnvFilter::new("warn"),
            };
            let stderr = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter(stderr_filter);
            let registry = tracing_subscriber::registry()
                .with(installed.tracing_layer())
                .with(stderr);
            if registry.try_init().is_err() {
                eprintln!(
                    "factory-observability: a tracing subscriber was already installed; spans of the macros are exported, \
                     but tracing events are not bridged to logs: add Telemetry::tracing_layer() to your subscriber"
                );
            }
        }
        Ok(telemetry)
    }

    /// Installs the pipelines without touching the global `tracing` subscriber.
    pub fn init_without_subscriber(self) -> Result<Telemetry, InitError> {
        crate::export::tls::install_default_crypto_provider();
        let mut config = Config::from_env(&self.service_name)?;
        config.shutdown_timeout = self.shutdown_timeout;
        if let Some(dir) = self.dir {
            if !crate::config::env_is_set(crate::names::env::FACTORY_OBS_DIR) {
                config.relocate_files(&dir);
            }
        }
        if let Some(summary) = self.summary {
            if !crate::config::env_is_set(crate::names::env::FACTORY_OBS_SUMMARY) {
                config.summary = summary;
            }
        }
        if config.sdk_disabled {
            return Ok(Telemetry {
                installed: None,
                dir: None,
            });
        }
        if pipeline::global_is_installed() {
            return Err(InitError::AlreadyInitialized);
        }
        let mut pricing = self.pricing.unwrap_or_default();
        pricing.warm_up();
        if let Some(path) = &config.pricing_file {
            pricing = pricing.with_file(path).map_err(InitError::Pricing)?;
        }
        let genai_span_names =
            if crate::config::env_is_set(crate::names::env::FACTORY_OBS_GENAI_SPAN_NAMES) {
                config.genai_span_names
            } else {
                self.genai_span_names.unwrap_or(config.genai_span_names)
            };
        let installed = Installed::new(&config, self.span_exporter)?;
        for warning in &config.warnings {
            eprintln!("factory-observability: warning: {warning}");
        }
        let (sampler, spans) = match &installed.records {
            Some(records) => (
                config.sampler.clone(),
                SpanSink::Deferred(Arc::clone(records)),
            ),
            // `OTEL_TRACES_EXPORTER=none`: no call is sampled, none makes a record.
            None => (Sampler::AlwaysOff, SpanSink::Nowhere),
        };
        // Our propagator first: the parent this process was started under is read through it.
        opentelemetry::global::set_text_map_propagator(crate::propagation::propagator());
        let process_parent = crate::propagation::env::parent_from_environment();
        if let Some(parent) = &process_parent {
            // `Context::current()` on this thread holds the parent's baggage and span context.
            crate::propagation::env::make_current_on_this_thread(parent);
        }
        let pipeline = Pipeline::new(sampler, spans, &installed.meters)
            .configured(Arc::new(pricing), genai_span_names)
            .with_process_parent(process_parent)
            .with_capture(self.capture.policy(&config.capture));
        // With neither traces nor metrics, the macros have nothing to record: they run the body
        // alone, as when telemetry is disabled.
        let record = installed.records.is_some() || config.metrics != Destination::None;
        if !pipeline::install_global(pipeline, record) {
            return Err(InitError::AlreadyInitialized);
        }
        opentelemetry::global::set_tracer_provider(installed.tracers.clone());
        opentelemetry::global::set_meter_provider(installed.meters.clone());
        Ok(Telemetry {
            dir: config.uses_files().then(|| config.dir.clone()),
            installed: Some(installed),
        })
    }
}

/// The installed telemetry. Dropping it (or [`shutdown`](Telemetry::shutdown)) flushes all
/// signals within the shutdown timeout and reports on stderr what could not be delivered.
#[derive(Debug)]
#[must_use = "dropping the Telemetry guard shuts telemetry down at once"]
pub struct Telemetry {
    installed: Option<Installed>,
    dir: Option<PathBuf>,
}

impl Telemetry {
    /// A builder for configuration in code.
    pub fn builder(service_name: &str) -> TelemetryBuilder {
        TelemetryBuilder {
            service_name: service_name.to_owned(),
            shutdown_timeout: crate::config::DEFAULT_SHUTDOWN_TIMEOUT,
            dir: None,
            summary: None,
            span_exporter: None,
            pricing: None,
            genai_span_names: None,
            capture: Default::default(),
        }
    }

    /// The address `/metrics` is served on, with `OTEL_METRICS_EXPORTER=prometheus` (the port
    /// chosen by the system when `OTEL_EXPORTER_PROMETHEUS_PORT=0`).
    #[cfg(feature = "prometheus")]
    pub fn prometheus_address(&self) -> Option<std::net::SocketAddr> {
        let installed = self.installed.as_ref()?;
        installed
            .metrics_endpoint
            .as_ref()
            .map(MetricsEndpoint::address)
    }

    /// Whether telemetry is recorded (false with `OTEL_SDK_DISABLED=true`).
    pub fn is_enabled(&self) -> bool {
        self.installed.is_some()
    }

    /// The `tracing` layer to add to a subscriber the program builds itself: `tracing` spans
    /// become OpenTelemetry spans (nested with the macros' spans) and events become log records
    /// carrying the current trace and span ids. `None` when telemetry is disabled.
    pub fn tracing_layer<S>(&self) -> Option<Box<dyn Layer<S> + Send + Sync>>
    where
        S: tracing::Subscriber
            + for<'span> tracing_subscriber::registry::LookupSpan<'span>
            + Send
            + Sync,
    {
        self.installed.as_ref().map(Installed::tracing_layer)
    }

    /// Flushes everything, waits at most the shutdown timeout, prints the summary and what could
    /// not be delivered, and returns the delivery counts.
    pub fn shutdown(mut self) -> DeliveryReport {
        self.shutdown_once()
    }

    fn shutdown_once(&mut self) -> DeliveryReport {
        let Some(installed) = self.installed.take() else {
            return DeliveryReport {
                signals: Vec::new(),
                completed_in_time: true,
            };
        };
        let report = installed.shutdown();
        if let Some(summary) = &installed.summary {
            let mut text = summary.render();
            if let Some(dir) = &self.dir {
                text.push_str(&format!(
                    "telemetry written to {} (traces.jsonl, metrics.jsonl, logs.jsonl)\n",
                    shown_path(dir)
                ));
            }
            text.push_str(&format!("{report}\n"));
            eprint!("{}", prefixed(&text));
        } else if report.undelivered() > 0 || !report.completed_in_time {
            eprintln!("factory-observability: {report}");
        }
        report
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shutdown_once();
    }
}

/// `telemetry` as `./telemetry`, so the reader sees it is a path.
fn shown_path(dir: &Path) -> String {
    if dir.is_relative() && !dir.starts_with(".") {
        format!("./{}", dir.display())
    } else {
        dir.display().to_string()
    }
}

fn prefixed(text: &str) -> String {
    text.lines()
        .map(|line| format!("factory-observability: {line}\n"))
        .collect()
}

#[derive(Debug)]
struct Installed {
    tracers: SdkTracerProvider,
    /// Where the macros' spans go: the span export thread, unless traces are not exported.
    records: Option<Arc<RecordQueue>>,
    meters: SdkMeterProvider,
    loggers: SdkLoggerProvider,
    deliveries: [Arc<Delivery>; 3],
    summary: Option<Arc<Summary>>,
    shutdown_timeout: Duration,
    /// `/metrics`, with `OTEL_METRICS_EXPORTER=prometheus`; stops when dropped.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    metrics_endpoint: Option<MetricsEndpoint>,
}

impl Installed {
    fn new(
        config: &Config,
        span_exporter: Option<Box<dyn DynSpanExporter>>,
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
        let exporter: Option<Box<dyn DynSpanExporter>> = match (span_exporter, &config.traces) {
            // `Prometheus` is for metrics only (see `config`).
            (_, Destination::None | Destination::Prometheus(_)) => None,
            (Some(custom), _) => Some(custom),
            (None, Destination::File(path)) => Some(Box::new(JsonlSpanExporter::new(open(path)?))),
            (None, Destination::Otlp(_)) => {
                Some(Box::new(otlp::span_exporter(config.otlp(Signal::Traces))?))
            }
        };
        let mut tracers = SdkTracerProvider::builder()
            .with_sampler(config.sampler.clone())
            .with_resource(resource.clone());
        let mut records = None;
        if let Some(mut exporter) = exporter {
            if let Some(summary) = &summary {
                // Fed on the export thread, from the batches being exported: no work on the
                // calls.
                exporter = Box::new(SummaryFeed {
                    inner: exporter,
                    summary: Arc::clone(summary),
                });
            }
            // Given here rather than by the provider: the exporter moves to the span export
            // thread (see `SpanExport::set_resource`).
            exporter.set_resource(&resource);
            let (spans, queue) = records::start(
                Counted {
                    inner: exporter,
                    delivery: Arc::clone(&deliveries[0]),
                },
                Arc::clone(&deliveries[0]),
                config.batching,
                pipeline::scope(),
            )
            .map_err(|error| {
                exporter_error(
                    "traces",
                    format!("cannot start the span export thread: {error}"),
                )
            })?;
            tracers = tracers.with_span_processor(spans);
            records = Some(queue);
        }
        let tracers = tracers.build();

        let metric_delivery = Arc::clone(&deliveries[1]);
        let mut metrics_endpoint = None;
        let meters = SdkMeterProvider::builder().with_resource(resource.clone());
        let meters = match &config.metrics {
            Destination::File(path) => meters.with_reader(
                PeriodicReader::builder(Counted {
                    inner: JsonlMetricExporter::new(open(path)?),
                    delivery: metric_delivery,
                })
                .build(),
            ),
            Destination::Otlp(_) => meters.with_reader(
                PeriodicReader::builder(Counted {
                    inner: otlp::metric_exporter(config.otlp(Signal::Metrics))?,
                    delivery: metric_delivery,
                })
                .build(),
            ),
            Destination::Prometheus(endpoint) => {
                let (reader, server) = serve_prometheus(endpoint)?;
                metrics_endpoint = server;
                meters.with_reader(reader)
            }
            Destination::None => meters,
        }
        .build();
        install_health(config, &deliveries, records.as_ref(), custom_spans, &meters);

        let log_batching = config.log_batching;
        let log_processor = |exporter| {
            let batch = BatchConfigBuilder::default()
                .with_max_queue_size(log_batching.queue_size)
                .with_max_export_batch_size(log_batching.max_batch)
                .with_scheduled_delay(log_batching.schedule_delay)
                .build();
            let processor = BatchLogProcessor::builder(Counted {
                inner: exporter,
                delivery: Arc::clone(&deliveries[2]),
            })
            .with_batch_config(batch)
            .build();
            LogTap::new(
                processor,
                Arc::clone(&deliveries[2]),
                log_batching.queue_size,
            )
        };
        let logs = match &config.logs {
            Destination::File(path) => Some(log_processor(LogSink::File(JsonlLogExporter::new(
                open(path)?,
            )))),
            Destination::Otlp(_) => Some(log_processor(LogSink::Otlp(Box::new(
                otlp::log_exporter(config.otlp(Signal::Logs))?,
            )))),
            Destination::None | Destination::Prometheus(_) => None,
        };
        let mut loggers = SdkLoggerProvider::builder().with_resource(resource);
        if let Some(logs) = logs {
            loggers = loggers.with_log_processor(logs);
        }
        let loggers = loggers.build();

        Ok(Installed {
            tracers,
            records,
            meters,
            loggers,
            deliveries,
            summary,
            shutdown_timeout: config.shutdown_timeout,
            metrics_endpoint,
        })
    }

    fn tracing_layer<S>(&self) -> Box<dyn Layer<S> + Send + Sync>
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
                .with_target("reqwest", tracing::level_filters::LevelFilter::OFF)
                .with_target("hyper", tracing::level_filters::LevelFilter::OFF)
                .with_target("hyper_util", tracing::level_filters::LevelFilter::OFF)
                .with_target("h2", tracing::level_filters::LevelFilter::OFF)
                // The gRPC exporter's stack (the `grpc` feature).
                .with_target("tonic", tracing::level_filters::LevelFilter::OFF)
                .with_target("tower", tracing::level_filters::LevelFilter::OFF)
        };
        // With `OTEL_TRACES_EXPORTER=none`, `tracing` spans are not built at all.
        let spans = self.records.is_some().then(|| {
            tracing_opentelemetry::layer()
                .with_tracer(self.tracers.tracer(SCOPE))
                .with_filter(not_ourselves())
        });
        let events =
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&self.loggers)
                .with_filter(not_ourselves());
        Box::new(Layer::and_then(spans, events))
    }

    /// Shuts the three providers down in parallel, waiting at most the shutdown timeout in all:
    /// a provider still blocked on an unreachable collector is left behind, never waited for.
    fn shutdown(&self) -> DeliveryReport {
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

/// The exporter's own health as metrics (see `export::health`), and the OTLP exporters'
/// timeouts, so that an export failing after its timeout is counted as timed out. The global
/// meter provider is set here, before the log processor is built, so that the SDK's batch log
/// processor records its own `otel.sdk.processor.log.*` metrics on it.
fn install_health(
    config: &Config,
    deliveries: &[Arc<Delivery>; 3],
    records: Option<&Arc<RecordQueue>>,
    custom_spans: bool,
    meters: &SdkMeterProvider,
) {
    use crate::config::{Protocol, Signal};
    use crate::names::health as names;
    let destinations = [&config.traces, &config.metrics, &config.logs];
    let kinds = [
        [
            names::OTLP_HTTP_SPAN_EXPORTER,
            names::OTLP_HTTP_JSON_SPAN_EXPORTER,
            names::FILE_SPAN_EXPORTER,
            names::OTLP_GRPC_SPAN_EXPORTER,
        ],
        [
            names::OTLP_HTTP_METRIC_EXPORTER,
            names::OTLP_HTTP_JSON_METRIC_EXPORTER,
            names::FILE_METRIC_EXPORTER,
            names::OTLP_GRPC_METRIC_EXPORTER,
        ],
        [
            names::OTLP_HTTP_LOG_EXPORTER,
            names::OTLP_HTTP_JSON_LOG_EXPORTER,
            names::FILE_LOG_EXPORTER,
            names::OTLP_GRPC_LOG_EXPORTER,
        ],
    ];
    let mut exporters = [None; 3];
    for (index, signal) in Signal::ALL.into_iter().enumerate() {
        exporters[index] = match destinations[index] {
            Destination::Otlp(protocol) => {
                deliveries[index].set_export_timeout(crate::export::health::otlp_timeout(signal));
                Some(match protocol {
                    Protocol::HttpProtobuf => kinds[index][0],
                    Protocol::HttpJson => kinds[index][1],
                    Protocol::Grpc => kinds[index][3],
                })
            }
            Destination::File(_) => Some(kinds[index][2]),
            _ => None,
        };
    }
    if custom_spans && records.is_some() {
        exporters[0] = Some(names::CUSTOM_SPAN_EXPORTER);
    }
    crate::export::health::Health {
        deliveries: deliveries.clone(),
        slots: records.map(|queue| Arc::clone(queue.slots())),
        exporters,
    }
    .install(meters);
    opentelemetry::global::set_meter_provider(meters.clone());
}

#[cfg(feature = "prometheus")]
type MetricsEndpoint = crate::export::prometheus::MetricsEndpoint;
/// Never built without the `prometheus` feature (the configuration refuses the exporter).
#[cfg(not(feature = "prometheus"))]
#[derive(Debug)]
enum MetricsEndpoint {}

#[cfg(feature = "prometheus")]
fn serve_prometheus(
    endpoint: &crate::config::PrometheusEndpoint,
) -> Result<
    (
        opentelemetry_prometheus::PrometheusExporter,
        Option<MetricsEndpoint>,
    ),
    InitError,
> {
    let (reader, server) = crate::export::prometheus::serve(endpoint)?;
    Ok((reader, Some(server)))
}

#[cfg(not(feature = "prometheus"))]
fn serve_prometheus(
    _endpoint: &crate::config::PrometheusEndpoint,
) -> Result<(PeriodicReader<JsonlMetricExporter>, Option<MetricsEndpoint>), InitError> {
    unreachable!("the configuration refuses OTEL_METRICS_EXPORTER=prometheus without the feature")
}

fn open(path: &Path) -> Result<JsonlFile, InitError> {
    JsonlFile::open(path).map_err(|source| InitError::Io {
        path: path.to_owned(),
        source,
    })
}

fn exporter_error(signal: &'static str, error: impl std::fmt::Display) -> InitError {
    InitError::Exporter {
        signal,
        message: error.to_string(),
    }
}

/// An object-safe [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter): the file, OTLP and
/// in-code exporters behind one span export thread type.
trait DynSpanExporter: Send + Sync + std::fmt::Debug {
    fn export_boxed(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send + '_>,
    >;
    fn shutdown_boxed(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult;
    fn set_resource_boxed(&mut self, resource: &Resource);
}

impl<E: opentelemetry_sdk::trace::SpanExporter> DynSpanExporter for E {
    fn export_boxed(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send + '_>,
    > {
        Box::pin(self.export(batch))
    }
    fn shutdown_boxed(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.shutdown_with_timeout(timeout)
    }
    fn set_resource_boxed(&mut self, resource: &Resource) {
        self.set_resource(resource);
    }
}

impl opentelemetry_sdk::trace::SpanExporter for Box<dyn DynSpanExporter> {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        // `**self`: the boxed exporter, not this impl again through the blanket impl.
        (**self).export_boxed(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        (**self).shutdown_boxed(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        (**self).set_resource_boxed(resource);
    }
}

/// The log exporter of either destination.
#[derive(Debug)]
enum LogSink {
    File(JsonlLogExporter),
    /// Boxed: with the `grpc` feature the OTLP exporter is several times the file's size.
    Otlp(Box<Explained<opentelemetry_otlp::LogExporter>>),
}

impl opentelemetry_sdk::logs::LogExporter for LogSink {
    async fn export(
        &self,
        batch: opentelemetry_sdk::logs::LogBatch<'_>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        match self {
            LogSink::File(exporter) => exporter.export(batch).await,
            LogSink::Otlp(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        match self {
            LogSink::File(exporter) => exporter.shutdown_with_timeout(timeout),
            LogSink::Otlp(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            LogSink::File(exporter) => exporter.set_resource(resource),
            LogSink::Otlp(exporter) => exporter.set_resource(resource),
        }
    }
}

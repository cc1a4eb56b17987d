//! One-call installation of traces, metrics and logs, and the guard that flushes them.
//!
//! `mod.rs` is the public face (`init`, the builder, the guard); `providers` builds the three
//! OpenTelemetry providers from the configuration and shuts them down within a bound;
//! `exporters` holds the exporters' shapes that the providers are built from.

mod content;
mod exporters;
mod providers;

use crate::config::{Config, Destination};
use crate::content::printable;
use crate::dispatch::SpanSink;
use crate::dispatch::{self, Dispatch};
use crate::error::InitError;
use crate::export::redacting::RedactingStderr;
use crate::export::DeliveryReport;
use crate::model::escape_for_terminal;
use crate::pricing::Pricing;
use crate::tracer::RootingTracerProvider;
use exporters::DynSpanExporter;
use opentelemetry_sdk::trace::Sampler;
use providers::Installed;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
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
/// next to ours (docs/backends.md, "HTTPS and the program's own TLS clients").
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
    vcs: Option<crate::config::vcs::Vcs>,
    /// Content capture (`crate::content`, where its builder methods are).
    pub(crate) capture: crate::content::CaptureBuilder,
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

    /// The code this process runs (`vcs.*` on its resource, and in the provenance it gives the
    /// products it deploys), instead of what `init` reads from the CI system or the git
    /// checkout. `vcs.*` keys in `OTEL_RESOURCE_ATTRIBUTES` still win, key by key.
    pub fn vcs(mut self, vcs: crate::config::vcs::Vcs) -> Self {
        self.vcs = Some(vcs);
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
            // With `redact_attributes`, the events printed are redacted as the exported ones.
            let writer = if installed.redaction.attributes {
                BoxMakeWriter::new(RedactingStderr(installed.redaction.clone()))
            } else {
                BoxMakeWriter::new(std::io::stderr)
            };
            let stderr = tracing_subscriber::fmt::layer()
                .with_writer(writer)
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
        if dispatch::global_is_installed() {
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
        let capture =
            self.capture
                .policy(&config.capture)
                .map_err(|bad| InitError::RedactPattern {
                    origin: "TelemetryBuilder::redact_pattern".to_owned(),
                    number: bad.number,
                    reason: bad.reason,
                })?;
        // What this crate prints from now on is redacted by the program's policy too.
        crate::content::install_process_redaction(capture.redaction.clone());
        let vcs = match self.vcs {
            Some(vcs) => Some(vcs),
            None if config.vcs_detection => Some(crate::config::vcs::Vcs::detect(
                &|name: &str| std::env::var(name).ok(),
                &std::env::current_dir().unwrap_or_default(),
            )),
            None => None,
        };
        if let Some(vcs) = &vcs {
            // `OTEL_RESOURCE_ATTRIBUTES` wins, key by key.
            for attribute in vcs.resource_attributes() {
                if !config
                    .resource_attributes
                    .iter()
                    .any(|given| given.key == attribute.key)
                {
                    config.resource_attributes.push(attribute);
                }
            }
        }
        crate::config::vcs::install_process_origin(crate::config::vcs::ProcessOrigin {
            vcs: vcs.map(|mut vcs| {
                vcs.apply_resource_overrides(&config.resource_attributes);
                vcs
            }),
            semconv: config.pipeline_semconv,
        });
        let mut installed = Installed::new(&config, self.span_exporter, &capture.redaction)?;
        for warning in &config.warnings {
            eprintln!("factory-observability: warning: {}", printable(warning));
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
        opentelemetry::global::set_text_map_propagator(crate::carriers::propagator());
        let process_parent = crate::carriers::env::parent_from_environment();
        if let Some(parent) = &process_parent {
            // `Context::current()` on this thread holds the parent's baggage and span context.
            crate::carriers::env::make_current_on_this_thread(parent);
        }
        installed.process_parent = process_parent.clone();
        let dispatch = Dispatch::new(sampler, spans, &installed.meters)
            .configured(Arc::new(pricing), genai_span_names)
            .with_process_parent(process_parent)
            .with_content(capture)
            .with_http_server(config.http_server.clone())
            .with_browser(config.browser.clone(), config.span_limits);
        // With neither traces nor metrics, the macros have nothing to record: they run the body
        // alone, as when telemetry is disabled.
        let record = installed.records.is_some() || config.metrics != Destination::None;
        if !dispatch::install_global(dispatch, record) {
            return Err(InitError::AlreadyInitialized);
        }
        opentelemetry::global::set_tracer_provider(RootingTracerProvider {
            sdk: installed.tracers.clone(),
            process_parent: installed.process_parent.clone(),
        });
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
            vcs: None,
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
            .map(exporters::MetricsEndpoint::address)
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
            // Error messages in it were redacted when recorded; the whole text once more, as
            // everything printed, in case a stage name or run id quotes a secret.
            eprint!("{}", prefixed(&printable(&text)));
        } else if report.undelivered() > 0 || !report.completed_in_time {
            eprint!("{}", prefixed(&printable(&report.to_string())));
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

/// Each line of `text` after our prefix, with control characters escaped: a path, a stage name
/// or a collector's error message cannot recolour the terminal or forge a line.
fn prefixed(text: &str) -> String {
    text.lines()
        .map(|line| format!("factory-observability: {}\n", escape_for_terminal(line)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::prefixed;

    /// Issue 24, "Terminal safety": what `init` prints at shutdown (the delivery report with a
    /// collector's error message, the directory) cannot forge a line or recolour the terminal.
    #[test]
    fn printed_lines_are_prefixed_and_escaped() {
        assert_eq!(
            prefixed("last error: \u{1b}[32mtraces 99/99 delivered\rok\nnext"),
            "factory-observability: last error: \\u{1b}[32mtraces 99/99 delivered\\rok\n\
             factory-observability: next\n"
        );
    }
}

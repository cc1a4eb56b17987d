//! Configuration from the standard `OTEL_*` environment, validated before anything is installed.
//!
//! Every malformed value is an [`InitError::InvalidEnv`] naming the variable and the accepted
//! values. Values of header variables are never repeated in errors: they may hold secrets.
//!
//! One module per concern: [`batching`] (`OTEL_BSP_*`), [`otlp`] (endpoints, protocol, headers,
//! timeout, compression per signal), [`tls`] (certificate files), `resource` (service name and
//! resource attributes), `sampler`, `capture` (content capture and redaction), `limits` (span
//! limits, the span queue's bytes),
//! `http_server` (what the HTTP server layer takes from requests), `browser` (what the browser
//! telemetry endpoint accepts), and `values` (the shared value syntaxes).

mod batching;
mod browser;
mod capture;
mod http_server;
mod limits;
pub mod otlp;
mod pipeline_semconv;
mod resource;
mod sampler;
pub mod tls;
mod values;
pub mod vcs;

pub use batching::{Batching, DEFAULT_QUEUE_SIZE, MAX_QUEUE_SIZE};
pub use browser::BrowserSettings;
pub use http_server::{
    ForwardedHeader, Forwarding, HttpServerSettings, ProxyNetworks, TrustedProxies,
    DEFAULT_HTTP_MAX_CHARS, HTTP_MAX_CHARS_RANGE, MAX_TRUSTED_HOPS,
};
pub use limits::{SpanLimits, DEFAULT_COUNT_LIMIT, DEFAULT_SPAN_QUEUE_MAX_BYTES};
pub use otlp::{Compression, Headers, OtlpTransport, Protocol};
pub use pipeline_semconv::PipelineSemconv;
pub use tls::{TlsFile, TlsFiles};

use crate::error::InitError;
use crate::names::env as factory_env;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::Sampler;
use std::path::PathBuf;
use std::time::Duration;
use values::{is_set, parse_bool};

/// How the parsers read a variable: its value, or `None` when it is unset or blank.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// How long shutdown waits for undelivered telemetry unless told otherwise.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The three OpenTelemetry signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metric points.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// All signals, in the order they are installed.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// `traces`, `metrics` or `logs`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// The embedded default's file of this signal in `dir`: `traces.jsonl`, ...
    pub fn file_in(self, dir: &std::path::Path) -> PathBuf {
        dir.join(format!("{}.jsonl", self.as_str()))
    }

    /// `TRACES`, `METRICS` or `LOGS`, as in the per-signal variables' names.
    pub(crate) fn env_suffix(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }

    const fn index(self) -> usize {
        match self {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        }
    }
}

/// Where one signal goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// OTLP with this protocol, sent as [`Config::otlp`] of the signal says.
    Otlp(Protocol),
    /// The embedded default: one OTLP/JSON export request per line in this file.
    File(PathBuf),
    /// `OTEL_{SIGNAL}_EXPORTER=none`: the signal is not recorded.
    None,
    /// `OTEL_METRICS_EXPORTER=prometheus` (metrics only, the `prometheus` feature): served on
    /// `/metrics` for Prometheus to scrape.
    Prometheus(PrometheusEndpoint),
}

/// Where `/metrics` is served: `OTEL_EXPORTER_PROMETHEUS_HOST` (default `localhost`) and
/// `OTEL_EXPORTER_PROMETHEUS_PORT` (default 9464), as the OpenTelemetry environment
/// specification defines them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrometheusEndpoint {
    /// Host name or address to listen on.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl PrometheusEndpoint {
    /// Reads and validates `OTEL_EXPORTER_PROMETHEUS_HOST` and `_PORT`; without the
    /// `prometheus` feature, says which feature to enable.
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, InitError> {
        use crate::names::env::{OTEL_EXPORTER_PROMETHEUS_HOST, OTEL_EXPORTER_PROMETHEUS_PORT};
        if !cfg!(feature = "prometheus") {
            return Err(InitError::invalid_env(
                "OTEL_METRICS_EXPORTER",
                "prometheus",
                "otlp or none: the Prometheus exporter needs the cargo feature `prometheus` of \
                 factory-observability (features = [\"prometheus\"] in Cargo.toml)",
            ));
        }
        let host = get(OTEL_EXPORTER_PROMETHEUS_HOST)
            .map_or_else(|| "localhost".to_owned(), |host| host.trim().to_owned());
        if host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(InitError::invalid_env(
                OTEL_EXPORTER_PROMETHEUS_HOST,
                &host,
                "a host name or IP address to listen on, e.g. localhost or 0.0.0.0",
            ));
        }
        let port = match get(OTEL_EXPORTER_PROMETHEUS_PORT) {
            None => 9464,
            Some(value) => value.trim().parse::<u16>().map_err(|_| {
                InitError::invalid_env(
                    OTEL_EXPORTER_PROMETHEUS_PORT,
                    &value,
                    "a TCP port from 0 to 65535, e.g. 9464",
                )
            })?,
        };
        Ok(PrometheusEndpoint { host, port })
    }
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// `OTEL_SDK_DISABLED=true`: install nothing; every macro only runs its body.
    pub sdk_disabled: bool,
    /// `service.name`: `OTEL_SERVICE_NAME`, else the name given to [`crate::init`].
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded.
    pub resource_attributes: Vec<KeyValue>,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: Sampler,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`.
    pub batching: Batching,
    /// `OTEL_BLRP_MAX_QUEUE_SIZE`, `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BLRP_SCHEDULE_DELAY`.
    pub log_batching: Batching,
    /// OpenTelemetry's span limits (`OTEL_SPAN_*_LIMIT`, `OTEL_ATTRIBUTE_*_LIMIT`, ...).
    pub span_limits: SpanLimits,
    /// `FACTORY_OBS_SPAN_QUEUE_MAX_BYTES`: the span queue's bound in bytes, estimated.
    pub span_queue_max_bytes: usize,
    /// What `HttpServerLayer` takes from requests (`FACTORY_OBS_HTTP_SERVER_*`).
    pub http_server: HttpServerSettings,
    /// What the browser telemetry endpoint accepts (`FACTORY_OBS_BROWSER_*`).
    pub browser: BrowserSettings,
    /// Destination of traces, metrics and logs.
    pub traces: Destination,
    /// Destination of metrics.
    pub metrics: Destination,
    /// Destination of logs.
    pub logs: Destination,
    /// How each signal's OTLP exporter sends (traces, metrics, logs; see [`Config::otlp`]).
    pub otlp_transports: [OtlpTransport; 3],
    /// Advice printed once at `init`: a configuration that is valid but almost surely not meant.
    pub warnings: Vec<String>,
    /// Print the run summary at shutdown.
    pub summary: bool,
    /// Directory of the embedded default.
    pub dir: PathBuf,
    /// How long shutdown may take before it gives up on undelivered telemetry.
    pub shutdown_timeout: Duration,
    /// `FACTORY_OBS_PRICING`: a file of model prices over the bundled ones.
    pub pricing_file: Option<PathBuf>,
    /// `FACTORY_OBS_GENAI_SPAN_NAMES`: name LLM spans `{operation} {model}`.
    pub genai_span_names: bool,
    /// Content capture's variables (see `crate::content`).
    pub(crate) capture: crate::content::CaptureSettings,
    /// `FACTORY_OBS_PIPELINE_SEMCONV`: the seed's names, the CI/CD conventions', or both.
    pub pipeline_semconv: PipelineSemconv,
    /// `FACTORY_OBS_VCS`: read `vcs.*` from the CI system or the git checkout (default).
    pub vcs_detection: bool,
}

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env(default_service_name: &str) -> Result<Config, InitError> {
        Config::from_lookup(default_service_name, |name| std::env::var(name).ok())
    }

    /// Reads and validates configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(
        default_service_name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, InitError> {
        let get = |name: &str| lookup(name).filter(|value| is_set(value));
        let get: Lookup<'_> = &get;

        let sdk_disabled = match get("OTEL_SDK_DISABLED") {
            None => false,
            Some(value) => parse_bool("OTEL_SDK_DISABLED", &value)?,
        };
        let (service_name, resource_attributes) =
            resource::service_and_resource(get, default_service_name)?;
        let sampler =
            sampler::parse_sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?;
        let batching = Batching::spans(get)?;
        // The SDK's batch log processor allocates its whole queue and batch up front:
        // out-of-range values are refused here, before they can abort the process.
        let log_batching = Batching::log_records(get)?;
        let span_limits = SpanLimits::from_lookup(get)?;
        let span_queue_max_bytes = limits::span_queue_max_bytes(get)?;
        let (otlp_transports, mut warnings) = otlp::transports(get)?;
        let http_server = HttpServerSettings::from_lookup(get, &mut warnings)?;
        let browser = BrowserSettings::from_lookup(get)?;

        let dir =
            PathBuf::from(get(factory_env::FACTORY_OBS_DIR).unwrap_or_else(|| "telemetry".into()));
        let [traces, metrics, logs] = Signal::ALL
            .map(|signal| destination(get, signal, &otlp_transports[signal.index()], &dir));
        let (traces, metrics, logs) = (traces?, metrics?, logs?);

        let embedded = matches!(traces, Destination::File(_));
        let summary = match get(factory_env::FACTORY_OBS_SUMMARY) {
            None => embedded,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(InitError::invalid_env(
                        factory_env::FACTORY_OBS_SUMMARY,
                        &value,
                        "0, 1, true or false",
                    ))
                }
            },
        };

        let genai_span_names = match get(factory_env::FACTORY_OBS_GENAI_SPAN_NAMES) {
            None => false,
            Some(value) => parse_bool(factory_env::FACTORY_OBS_GENAI_SPAN_NAMES, &value)?,
        };

        let capture = capture::capture_settings(get)?;
        let pipeline_semconv = PipelineSemconv::parse(
            get(crate::names::provenance_env::FACTORY_OBS_PIPELINE_SEMCONV).as_deref(),
        )?;
        let vcs_detection = match get(crate::names::provenance_env::FACTORY_OBS_VCS) {
            None => true,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "auto" => true,
                "off" => false,
                _ => {
                    return Err(InitError::invalid_env(
                        crate::names::provenance_env::FACTORY_OBS_VCS,
                        &value,
                        "auto or off",
                    ))
                }
            },
        };

        Ok(Config {
            capture,
            pipeline_semconv,
            vcs_detection,
            pricing_file: get(factory_env::FACTORY_OBS_PRICING).map(PathBuf::from),
            genai_span_names,
            sdk_disabled,
            service_name,
            resource_attributes,
            sampler,
            batching,
            log_batching,
            span_limits,
            span_queue_max_bytes,
            http_server,
            browser,
            traces,
            metrics,
            logs,
            otlp_transports,
            warnings,
            summary,
            dir,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        })
    }

    /// How `signal`'s OTLP exporter sends.
    pub fn otlp(&self, signal: Signal) -> &OtlpTransport {
        &self.otlp_transports[signal.index()]
    }

    /// Where `signal` goes.
    pub fn destination(&self, signal: Signal) -> &Destination {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }

    /// Moves the embedded default's files into `dir`.
    pub(crate) fn relocate_files(&mut self, dir: &std::path::Path) {
        self.dir = dir.to_owned();
        for (destination, signal) in [&mut self.traces, &mut self.metrics, &mut self.logs]
            .into_iter()
            .zip(Signal::ALL)
        {
            if let Destination::File(path) = destination {
                *path = signal.file_in(dir);
            }
        }
    }

    /// Whether any signal goes to the embedded default's files.
    pub fn uses_files(&self) -> bool {
        [&self.traces, &self.metrics, &self.logs]
            .iter()
            .any(|destination| matches!(destination, Destination::File(_)))
    }
}

/// `OTEL_{SIGNAL}_EXPORTER`: OTLP, nothing, or (unset, with no endpoint) the embedded default.
fn destination(
    get: Lookup<'_>,
    signal: Signal,
    transport: &OtlpTransport,
    dir: &std::path::Path,
) -> Result<Destination, InitError> {
    let exporter_var = format!("OTEL_{}_EXPORTER", signal.env_suffix());
    let exporter = get(&exporter_var);
    let endpoint_set = get(crate::names::otlp_env::ENDPOINT).is_some()
        || get(&crate::names::otlp_env::per_signal(
            crate::names::otlp_env::ENDPOINT,
            signal.env_suffix(),
        ))
        .is_some();
    Ok(match exporter.as_deref().map(str::trim) {
        Some("none") => Destination::None,
        // With no endpoint set, the OTLP exporter's default, http://localhost:4318.
        Some("otlp") => Destination::Otlp(transport.protocol),
        Some("prometheus") if signal == Signal::Metrics => {
            Destination::Prometheus(PrometheusEndpoint::from_lookup(&get)?)
        }
        Some(_) => {
            let accepted = if signal == Signal::Metrics {
                "otlp, prometheus or none (unset: OTLP when an endpoint is set, else the \
                 embedded default's file)"
            } else {
                "otlp or none (unset: OTLP when an endpoint is set, else the embedded \
                 default's file)"
            };
            return Err(InitError::invalid_env(
                &exporter_var,
                exporter.as_deref().unwrap_or_default(),
                accepted,
            ));
        }
        None if endpoint_set => Destination::Otlp(transport.protocol),
        None => Destination::File(signal.file_in(dir)),
    })
}

/// Whether the process environment sets `name` (to a non-blank value): then it wins over the
/// value given in code.
pub(crate) fn env_is_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| is_set(&value))
}

/// The per-signal variable of `generic` if set, else `generic`: the winning variable's name and
/// value.
pub(crate) fn signal_or_generic(
    get: Lookup<'_>,
    generic: &str,
    signal: Signal,
) -> Option<(String, String)> {
    let per_signal = crate::names::otlp_env::per_signal(generic, signal.env_suffix());
    match get(&per_signal) {
        Some(value) => Some((per_signal, value)),
        None => get(generic).map(|value| (generic.to_owned(), value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, InitError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup("factory", |name| map.get(name).cloned())
    }

    #[test]
    fn no_endpoint_means_the_embedded_default_for_every_signal() {
        let config = config(&[]).unwrap();
        assert_eq!(config.service_name, "factory");
        assert_eq!(
            config.traces,
            Destination::File("telemetry/traces.jsonl".into())
        );
        assert_eq!(
            config.metrics,
            Destination::File("telemetry/metrics.jsonl".into())
        );
        assert_eq!(
            config.logs,
            Destination::File("telemetry/logs.jsonl".into())
        );
        assert!(config.summary);
        assert!(!config.sdk_disabled);
    }

    #[test]
    fn endpoints_select_otlp_per_signal() {
        let config = config(&[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:4318/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("FACTORY_OBS_DIR", "/tmp/x"),
        ])
        .unwrap();
        assert_eq!(config.traces, Destination::Otlp(Protocol::HttpJson));
        assert_eq!(
            config.metrics,
            Destination::File("/tmp/x/metrics.jsonl".into())
        );
        assert!(
            !config.summary,
            "summary defaults to off when traces leave the process"
        );
    }

    #[test]
    fn service_name_and_resource_attributes_come_from_the_environment() {
        let config = config(&[
            ("OTEL_SERVICE_NAME", "sf-factory"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=ci,team=fac%2Ctory",
            ),
        ])
        .unwrap();
        assert_eq!(config.service_name, "sf-factory");
        assert_eq!(
            config.resource_attributes,
            vec![
                KeyValue::new("deployment.environment", "ci"),
                KeyValue::new("team", "fac,tory")
            ]
        );
    }

    #[test]
    fn malformed_values_name_the_variable_and_the_accepted_values() {
        let cases = [
            (("OTEL_SDK_DISABLED", "yes"), "OTEL_SDK_DISABLED=\"yes\" is not valid: expected true or false"),
            (("OTEL_EXPORTER_OTLP_PROTOCOL", "smoke"), "OTEL_EXPORTER_OTLP_PROTOCOL=\"smoke\" is not valid: expected http/protobuf, http/json or grpc"),
            (("OTEL_TRACES_SAMPLER", "sometimes"), "OTEL_TRACES_SAMPLER=\"sometimes\" is not valid: expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"),
            (("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"), "OTEL_EXPORTER_OTLP_ENDPOINT=\"localhost:4318\" is not valid: expected an http:// or https:// URL, e.g. http://localhost:4318"),
            (("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"), "OTEL_EXPORTER_OTLP_TIMEOUT=\"10s\" is not valid: expected a whole number of milliseconds, e.g. 10000"),
            (("OTEL_RESOURCE_ATTRIBUTES", "a=1,oops"), "OTEL_RESOURCE_ATTRIBUTES=\"a=1,oops\" is not valid: expected a comma-separated list of key=value pairs (entry 2 is not)"),
            (("FACTORY_OBS_SUMMARY", "loud"), "FACTORY_OBS_SUMMARY=\"loud\" is not valid: expected 0, 1, true or false"),
        ];
        for ((name, value), expected) in cases {
            let error = config(&[(name, value)]).unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
        let error = config(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ])
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_TRACES_SAMPLER_ARG=\"2\" is not valid: expected a number from 0 to 1, e.g. 0.25"
        );
    }

    #[test]
    fn blank_variables_count_as_unset_in_code_overrides_too() {
        std::env::set_var("FACTORY_OBS_TEST_BLANK_VARIABLE", "  ");
        assert!(!env_is_set("FACTORY_OBS_TEST_BLANK_VARIABLE"));
        std::env::set_var("FACTORY_OBS_TEST_BLANK_VARIABLE", "0");
        assert!(env_is_set("FACTORY_OBS_TEST_BLANK_VARIABLE"));
        assert!(!env_is_set("FACTORY_OBS_TEST_NEVER_SET_VARIABLE"));
    }

    #[test]
    fn header_errors_never_show_the_secret() {
        let error = config(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer s3cret,broken",
        )])
        .unwrap_err();
        let text = error.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(text, "OTEL_EXPORTER_OTLP_HEADERS=\"<not shown: headers may hold secrets>\" is not valid: expected a comma-separated list of key=value pairs (entry 2 is not)");
        assert!(!format!("{error:?}").contains("s3cret"));
    }

    #[test]
    fn sampler_names_map_to_sdk_samplers() {
        let sampler = config(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ])
        .unwrap()
        .sampler;
        assert_eq!(
            format!("{sampler:?}"),
            format!(
                "{:?}",
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.25)))
            )
        );
        let disabled = config(&[("OTEL_SDK_DISABLED", "TRUE")]).unwrap();
        assert!(disabled.sdk_disabled);
    }

    #[test]
    fn exporter_variables_choose_otlp_or_nothing_per_signal() {
        let chosen = config(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", " otlp "),
        ])
        .unwrap();
        assert_eq!(chosen.traces, Destination::None);
        assert_eq!(chosen.metrics, Destination::Otlp(Protocol::HttpProtobuf));
        assert_eq!(
            chosen.logs,
            Destination::File(PathBuf::from("telemetry/logs.jsonl"))
        );
        let error = config(&[("OTEL_LOGS_EXPORTER", "console")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_LOGS_EXPORTER=\"console\" is not valid: expected otlp or none (unset: OTLP when \
             an endpoint is set, else the embedded default's file)"
        );
    }

    #[test]
    fn batch_settings_are_positive_and_a_batch_fits_the_queue() {
        let batching = config(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ])
        .unwrap()
        .batching;
        assert_eq!(
            (
                batching.queue_size,
                batching.max_batch,
                batching.schedule_delay
            ),
            (100, 100, Duration::from_millis(250))
        );
        let defaults = config(&[]).unwrap().batching;
        assert_eq!((defaults.queue_size, defaults.max_batch), (32_768, 512));
    }

    #[test]
    fn the_prometheus_exporter_reads_its_host_and_port_or_names_the_feature() {
        let result = config(&[("OTEL_METRICS_EXPORTER", "prometheus")]);
        if cfg!(feature = "prometheus") {
            let endpoint = PrometheusEndpoint {
                host: "localhost".into(),
                port: 9464,
            };
            assert_eq!(result.unwrap().metrics, Destination::Prometheus(endpoint));
            let error = config(&[
                ("OTEL_METRICS_EXPORTER", "prometheus"),
                ("OTEL_EXPORTER_PROMETHEUS_PORT", "70000"),
            ])
            .unwrap_err();
            assert_eq!(
                error.to_string(),
                "OTEL_EXPORTER_PROMETHEUS_PORT=\"70000\" is not valid: expected a TCP port from 0 \
                 to 65535, e.g. 9464"
            );
        } else {
            assert_eq!(
                result.unwrap_err().to_string(),
                "OTEL_METRICS_EXPORTER=\"prometheus\" is not valid: expected otlp or none: the \
                 Prometheus exporter needs the cargo feature `prometheus` of factory-observability \
                 (features = [\"prometheus\"] in Cargo.toml)"
            );
        }
        let error = config(&[("OTEL_TRACES_EXPORTER", "prometheus")]).unwrap_err();
        assert!(error.to_string().ends_with("expected otlp or none (unset: OTLP when an endpoint is set, else the embedded default's file)"), "{error}");
    }

    /// Issue 10: `1000000000` aborted in `init` (the queue was allocated whole) and
    /// `18446744073709551615` panicked with "capacity overflow".
    #[test]
    fn queue_settings_out_of_range_name_the_variable_and_the_range() {
        let cases = [
            (
                "OTEL_BSP_MAX_QUEUE_SIZE",
                "1000000000",
                "spans from 1 to 1048576",
            ),
            (
                "OTEL_BSP_MAX_QUEUE_SIZE",
                "18446744073709551615",
                "spans from 1 to 1048576",
            ),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0", "spans from 1 to 1048576"),
            (
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                "99999999999",
                "spans from 1 to 1048576",
            ),
            (
                "OTEL_BSP_SCHEDULE_DELAY",
                "0",
                "milliseconds from 1 to 3600000",
            ),
            (
                "OTEL_BSP_SCHEDULE_DELAY",
                "18446744073709551615",
                "milliseconds from 1 to 3600000",
            ),
            (
                "OTEL_BLRP_MAX_QUEUE_SIZE",
                "1000000000",
                "log records from 1 to 1048576",
            ),
            (
                "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                "-1",
                "log records from 1 to 1048576",
            ),
            (
                "OTEL_BLRP_SCHEDULE_DELAY",
                "soon",
                "milliseconds from 1 to 3600000",
            ),
        ];
        for (name, value, range) in cases {
            let error = config(&[(name, value)]).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("{name}={value:?} is not valid: expected a whole number of {range}")
            );
        }
        let largest = config(&[("OTEL_BSP_MAX_QUEUE_SIZE", "1048576")]).unwrap();
        assert_eq!(largest.batching.queue_size, 1 << 20);
        config(&[("OTEL_BLRP_MAX_QUEUE_SIZE", "4096")]).unwrap();
    }

    #[test]
    fn endpoints_follow_the_specification_and_a_signal_path_on_the_generic_one_is_warned_about() {
        let config = config(&[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://otlp.example:4318/v1/traces",
            ),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "https://logs.example/custom",
            ),
        ])
        .unwrap();
        assert_eq!(
            config.otlp(Signal::Traces).endpoint,
            "https://otlp.example:4318/v1/traces/v1/traces"
        );
        assert_eq!(
            config.otlp(Signal::Metrics).endpoint,
            "https://otlp.example:4318/v1/traces/v1/metrics"
        );
        assert_eq!(
            config.otlp(Signal::Logs).endpoint,
            "https://logs.example/custom"
        );
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(config.warnings[0].starts_with(
            "OTEL_EXPORTER_OTLP_ENDPOINT=https://otlp.example:4318/v1/traces ends in /v1/traces"
        ));
        assert!(config.warnings[0]
            .contains("set OTEL_EXPORTER_OTLP_ENDPOINT=https://otlp.example:4318,"));
        let defaults = self::config(&[]).unwrap();
        assert_eq!(
            defaults.otlp(Signal::Metrics).endpoint,
            "http://localhost:4318/v1/metrics"
        );
        assert!(defaults.warnings.is_empty());
    }

    #[test]
    fn per_signal_transport_settings_win_over_the_generic_ones() {
        let config = config(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20a"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-team=factory"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "700"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"),
            ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "/etc/logs-ca.pem"),
        ])
        .unwrap();
        let traces = config.otlp(Signal::Traces);
        assert_eq!(traces.headers.names().collect::<Vec<_>>(), ["x-team"]);
        assert_eq!(traces.timeout, Duration::from_millis(2000));
        assert_eq!(traces.compression, Compression::Gzip);
        assert_eq!(
            traces.tls.certificate,
            Some(TlsFile {
                variable: "OTEL_EXPORTER_OTLP_CERTIFICATE".into(),
                path: "/etc/ca.pem".into()
            })
        );
        let metrics = config.otlp(Signal::Metrics);
        assert_eq!(
            metrics.headers.0,
            [("authorization".to_owned(), "Bearer a".to_owned())]
        );
        assert_eq!(metrics.compression, Compression::None);
        let logs = config.otlp(Signal::Logs);
        assert_eq!(logs.timeout, Duration::from_millis(700));
        assert_eq!(
            logs.tls
                .certificate
                .as_ref()
                .map(|file| file.variable.as_str()),
            Some("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE")
        );
        assert!(!format!("{config:?}").contains("Bearer a"));
    }

    #[test]
    fn compression_and_client_certificates_are_validated() {
        let error = config(&[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=\"zstd\" is not valid: expected gzip or none"
        );
        let error =
            config(&[("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/client.pem")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=\"/etc/client.pem\" is not valid: expected a \
             client certificate together with its key in OTEL_EXPORTER_OTLP_CLIENT_KEY"
        );
        let error =
            config(&[("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "/etc/key.pem")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY=\"/etc/key.pem\" is not valid: expected a \
             client key together with its certificate in OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
        );
    }

    /// Every variable `from_lookup` reads.
    fn every_variable() -> Vec<String> {
        use crate::names::otlp_env;
        let mut names: Vec<String> = [
            "OTEL_SDK_DISABLED",
            "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG",
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "OTEL_BSP_SCHEDULE_DELAY",
            "OTEL_TRACES_EXPORTER",
            "OTEL_METRICS_EXPORTER",
            "OTEL_LOGS_EXPORTER",
            factory_env::FACTORY_OBS_DIR,
            factory_env::FACTORY_OBS_SUMMARY,
            factory_env::FACTORY_OBS_PRICING,
            factory_env::FACTORY_OBS_GENAI_SPAN_NAMES,
        ]
        .map(str::to_owned)
        .into();
        for generic in [
            otlp_env::ENDPOINT,
            otlp_env::PROTOCOL,
            otlp_env::HEADERS,
            otlp_env::TIMEOUT,
            otlp_env::COMPRESSION,
            otlp_env::CERTIFICATE,
            otlp_env::CLIENT_CERTIFICATE,
            otlp_env::CLIENT_KEY,
        ] {
            names.push(generic.to_owned());
            for signal in Signal::ALL {
                names.push(otlp_env::per_signal(generic, signal.env_suffix()));
            }
        }
        names
    }

    /// Values that hit the parsers' edges: valid ones, near misses, and anything at all.
    fn value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just(String::new()),
            Just("   ".to_owned()),
            Just("http://localhost:4318/v1/traces".to_owned()),
            Just("https://[::1".to_owned()),
            Just("grpc".to_owned()),
            Just("gzip".to_owned()),
            Just("a=%zz,b".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("0".to_owned()),
            "[a-z0-9=,%:/._ -]{0,24}",
            any::<String>(),
        ]
    }

    proptest::proptest! {
        #[test]
        fn any_environment_is_accepted_or_refused_naming_a_variable_that_was_set(
            values in proptest::collection::vec(proptest::option::of(value()), every_variable().len())
        ) {
            let vars: HashMap<String, String> = every_variable()
                .into_iter()
                .zip(values)
                .filter_map(|(name, value)| value.map(|value| (name, value)))
                .collect();
            match Config::from_lookup("factory", |name| vars.get(name).cloned()) {
                Ok(config) => {
                    for signal in Signal::ALL {
                        proptest::prop_assert!(config.otlp(signal).endpoint.starts_with("http"));
                    }
                }
                Err(InitError::InvalidEnv { name, .. })
                | Err(InitError::Header { variable: name, .. }) => {
                    proptest::prop_assert!(vars.contains_key(&name), "{name} was not set");
                }
                Err(other) => proptest::prop_assert!(false, "not an InvalidEnv: {other}"),
            }
        }
    }

    #[cfg(not(feature = "grpc"))]
    #[test]
    fn grpc_without_the_feature_says_to_enable_it() {
        let error = config(&[("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=\"grpc\" is not valid: expected http/protobuf \
             or http/json: grpc needs the `grpc` feature of factory-observability \
             (features = [\"grpc\"] in Cargo.toml)"
        );
    }

    #[cfg(feature = "grpc")]
    #[test]
    fn grpc_uses_the_generic_endpoint_as_written_and_defaults_to_4317() {
        let config = config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otlp.example:4317"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(config.traces, Destination::Otlp(Protocol::Grpc));
        assert_eq!(
            config.otlp(Signal::Traces).endpoint,
            "https://otlp.example:4317"
        );
        assert_eq!(
            config.otlp(Signal::Logs).endpoint,
            "https://otlp.example:4317/v1/logs"
        );
        let defaults = self::config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
        assert_eq!(
            defaults.otlp(Signal::Metrics).endpoint,
            "http://localhost:4317"
        );
    }
}

//! Configuration from the standard `OTEL_*` environment, validated before anything is installed.
//!
//! Every malformed value is an [`InitError::InvalidEnv`] naming the variable and the accepted
//! values. Values of header variables are never repeated in errors: they may hold secrets.

use crate::error::InitError;
use crate::names::env as factory_env;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::Sampler;
use std::path::PathBuf;
use std::time::Duration;

/// How spans are batched: the OpenTelemetry batch span processor's settings (`OTEL_BSP_*`).
#[derive(Clone, Copy, Debug)]
pub struct Batching {
    /// Spans waiting for export at most, in each of the two queues (the macros' records, SDK
    /// spans).
    pub queue_size: usize,
    /// Spans per export at most.
    pub max_batch: usize,
    /// The longest a span waits for its batch to fill before it is exported.
    pub schedule_delay: Duration,
}

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

    fn env_suffix(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }
}

/// OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `http/protobuf`, the default.
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
}

/// Where one signal goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// OTLP to the endpoint in the environment (the exporter reads the endpoint, headers,
    /// timeout and compression variables itself, after they were validated here).
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
    /// Destination of traces, metrics and logs.
    pub traces: Destination,
    /// Destination of metrics.
    pub metrics: Destination,
    /// Destination of logs.
    pub logs: Destination,
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

        let sdk_disabled = match get("OTEL_SDK_DISABLED") {
            None => false,
            Some(value) => parse_bool("OTEL_SDK_DISABLED", &value)?,
        };
        let resource_pairs = match get("OTEL_RESOURCE_ATTRIBUTES") {
            None => Vec::new(),
            Some(value) => parse_key_values("OTEL_RESOURCE_ATTRIBUTES", &value, true)?,
        };
        // OTEL_SERVICE_NAME wins over `service.name` in OTEL_RESOURCE_ATTRIBUTES, which wins over
        // the name given in code.
        let service_name = get("OTEL_SERVICE_NAME")
            .or_else(|| {
                resource_pairs
                    .iter()
                    .find(|(key, _)| key == "service.name")
                    .map(|(_, value)| value.clone())
            })
            .unwrap_or_else(|| default_service_name.to_owned())
            .trim()
            .to_owned();
        let resource_attributes = resource_pairs
            .into_iter()
            .map(|(key, value)| KeyValue::new(key, value))
            .collect();
        let sampler = parse_sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?;
        let batching = parse_batching(&get)?;
        // Read by the SDK's batch log processor itself, which allocates its whole queue and
        // batch up front: out-of-range values are refused here, before it can abort the process.
        for (name, limit) in BLRP_LIMITS {
            if let Some(value) = get(name) {
                limit.parse(name, &value)?;
            }
        }

        for name in ["OTEL_EXPORTER_OTLP_HEADERS"]
            .into_iter()
            .map(str::to_owned)
            .chain(
                Signal::ALL
                    .iter()
                    .map(|s| format!("OTEL_EXPORTER_OTLP_{}_HEADERS", s.env_suffix())),
            )
        {
            if let Some(value) = get(&name) {
                parse_key_values(&name, &value, false)?;
            }
        }
        for name in ["OTEL_EXPORTER_OTLP_TIMEOUT"]
            .into_iter()
            .map(str::to_owned)
            .chain(
                Signal::ALL
                    .iter()
                    .map(|s| format!("OTEL_EXPORTER_OTLP_{}_TIMEOUT", s.env_suffix())),
            )
        {
            if let Some(value) = get(&name) {
                value.trim().parse::<u64>().map_err(|_| {
                    InitError::invalid_env(
                        &name,
                        &value,
                        "a whole number of milliseconds, e.g. 10000",
                    )
                })?;
            }
        }

        let dir =
            PathBuf::from(get(factory_env::FACTORY_OBS_DIR).unwrap_or_else(|| "telemetry".into()));
        let generic_endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT");
        if let Some(endpoint) = &generic_endpoint {
            check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)?;
        }
        let generic_protocol = match get("OTEL_EXPORTER_OTLP_PROTOCOL") {
            None => Protocol::HttpProtobuf,
            Some(value) => parse_protocol("OTEL_EXPORTER_OTLP_PROTOCOL", &value)?,
        };
        let mut destinations = Vec::with_capacity(3);
        for signal in Signal::ALL {
            let endpoint_var = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.env_suffix());
            let signal_endpoint = get(&endpoint_var);
            if let Some(endpoint) = &signal_endpoint {
                check_endpoint(&endpoint_var, endpoint)?;
            }
            let protocol_var = format!("OTEL_EXPORTER_OTLP_{}_PROTOCOL", signal.env_suffix());
            let protocol = match get(&protocol_var) {
                None => generic_protocol,
                Some(value) => parse_protocol(&protocol_var, &value)?,
            };
            let exporter_var = format!("OTEL_{}_EXPORTER", signal.env_suffix());
            let exporter = get(&exporter_var);
            destinations.push(match exporter.as_deref().map(str::trim) {
                Some("none") => Destination::None,
                // With no endpoint set, the OTLP exporter's default, http://localhost:4318.
                Some("otlp") => Destination::Otlp(protocol),
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
                None if signal_endpoint.is_some() || generic_endpoint.is_some() => {
                    Destination::Otlp(protocol)
                }
                None => Destination::File(signal.file_in(&dir)),
            });
        }
        let logs = destinations.pop().expect("three signals");
        let metrics = destinations.pop().expect("three signals");
        let traces = destinations.pop().expect("three signals");

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

        Ok(Config {
            pricing_file: get(factory_env::FACTORY_OBS_PRICING).map(PathBuf::from),
            genai_span_names,
            sdk_disabled,
            service_name,
            resource_attributes,
            sampler,
            batching,
            traces,
            metrics,
            logs,
            summary,
            dir,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        })
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

/// The accepted range of one whole-number variable, and its unit in error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    pub min: u64,
    pub max: u64,
    pub unit: &'static str,
}

impl Limit {
    /// The value of `name`, or an error naming the variable and the accepted range.
    pub(crate) fn parse(&self, name: &str, value: &str) -> Result<u64, InitError> {
        match value.trim().parse::<u64>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(n),
            _ => Err(InitError::invalid_env(
                name,
                value,
                &format!(
                    "a whole number of {} from {} to {}",
                    self.unit, self.min, self.max
                ),
            )),
        }
    }
}

/// The most spans the span queue may hold: a queue costs memory only as it fills (about
/// 0.6 KiB a waiting span, see README "Configuration"), so the bound is what a full queue may
/// cost, about 650 MiB here.
pub const MAX_QUEUE_SIZE: u64 = 1 << 20;
/// The default span queue: room for a factory's burst (thousands of stages and LLM calls ended
/// within one export) without loss, and at most about 20 MiB when full (see README).
pub const DEFAULT_QUEUE_SIZE: u64 = 32_768;
/// The longest schedule delay accepted: an hour.
const MAX_SCHEDULE_DELAY_MS: u64 = 3_600_000;

/// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`: ranges.
pub(crate) const BSP_LIMITS: [(&str, Limit); 3] = [
    (
        "OTEL_BSP_MAX_QUEUE_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "spans",
        },
    ),
    (
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "spans",
        },
    ),
    (
        "OTEL_BSP_SCHEDULE_DELAY",
        Limit {
            min: 1,
            max: MAX_SCHEDULE_DELAY_MS,
            unit: "milliseconds",
        },
    ),
];

/// The same for the log processor's `OTEL_BLRP_*` (its queue of boxed records is allocated
/// whole, 8 bytes a slot, and so is its batch).
pub(crate) const BLRP_LIMITS: [(&str, Limit); 3] = [
    (
        "OTEL_BLRP_MAX_QUEUE_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "log records",
        },
    ),
    (
        "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "log records",
        },
    ),
    (
        "OTEL_BLRP_SCHEDULE_DELAY",
        Limit {
            min: 1,
            max: MAX_SCHEDULE_DELAY_MS,
            unit: "milliseconds",
        },
    ),
];

/// The span queue's settings, each within its range.
fn parse_batching(get: &impl Fn(&str) -> Option<String>) -> Result<Batching, InitError> {
    let defaults = [DEFAULT_QUEUE_SIZE, 512, 5000];
    let mut values = [0u64; 3];
    for ((value, default), (name, limit)) in values.iter_mut().zip(defaults).zip(BSP_LIMITS) {
        *value = match get(name) {
            None => default,
            Some(text) => limit.parse(name, &text)?,
        };
    }
    let [queue_size, max_batch, schedule_delay] = values;
    // In range, so they fit a usize on every platform with 32-bit or wider pointers.
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(Batching {
        queue_size: size(queue_size),
        // As the SDK: a batch larger than the queue is the queue.
        max_batch: size(max_batch.min(queue_size)),
        schedule_delay: Duration::from_millis(schedule_delay),
    })
}

/// A variable set to an empty or blank value counts as unset, as the OpenTelemetry specification
/// asks of SDK configuration.
fn is_set(value: &str) -> bool {
    !value.trim().is_empty()
}

/// Whether the process environment sets `name` (to a non-blank value): then it wins over the
/// value given in code.
pub(crate) fn env_is_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| is_set(&value))
}

fn parse_bool(name: &str, value: &str) -> Result<bool, InitError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(InitError::invalid_env(name, value, "true or false")),
    }
}

fn parse_protocol(name: &str, value: &str) -> Result<Protocol, InitError> {
    match value.trim() {
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        "http/json" => Ok(Protocol::HttpJson),
        "grpc" => Err(InitError::invalid_env(
            name,
            value,
            "http/protobuf or http/json (grpc is not built into this release)",
        )),
        _ => Err(InitError::invalid_env(
            name,
            value,
            "http/protobuf or http/json",
        )),
    }
}

fn check_endpoint(name: &str, value: &str) -> Result<(), InitError> {
    let value = value.trim();
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && !host.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(InitError::invalid_env(
            name,
            value,
            "an http:// or https:// URL, e.g. http://localhost:4318",
        )),
    }
}

fn parse_sampler(name: Option<String>, arg: Option<String>) -> Result<Sampler, InitError> {
    const ACCEPTED: &str = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio";
    let ratio = || -> Result<f64, InitError> {
        match &arg {
            None => Ok(1.0),
            Some(value) => match value.trim().parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
                _ => Err(InitError::invalid_env(
                    "OTEL_TRACES_SAMPLER_ARG",
                    value,
                    "a number from 0 to 1, e.g. 0.25",
                )),
            },
        }
    };
    let Some(name) = name else {
        return Ok(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    };
    Ok(match name.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
        }
        _ => {
            return Err(InitError::invalid_env(
                "OTEL_TRACES_SAMPLER",
                &name,
                ACCEPTED,
            ))
        }
    })
}

/// Parses the W3C-baggage-like `key=value,key=value` lists of `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS`, percent-decoding keys and values. `show_value` is false for
/// headers, whose values are never put into an error.
fn parse_key_values(
    name: &str,
    value: &str,
    show_value: bool,
) -> Result<Vec<(String, String)>, InitError> {
    let shown = if show_value {
        value
    } else {
        "<not shown: headers may hold secrets>"
    };
    let mut pairs = Vec::new();
    for (index, entry) in value.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let accepted = format!(
            "a comma-separated list of key=value pairs (entry {} is not)",
            index + 1
        );
        let Some((key, val)) = entry.split_once('=') else {
            return Err(InitError::invalid_env(name, shown, &accepted));
        };
        let key = percent_decode(key.trim());
        let val = percent_decode(val.trim());
        match (key, val) {
            (Some(key), Some(val)) if !key.is_empty() => pairs.push((key, val)),
            _ => return Err(InitError::invalid_env(name, shown, &accepted)),
        }
    }
    Ok(pairs)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
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
            (("OTEL_EXPORTER_OTLP_PROTOCOL", "smoke"), "OTEL_EXPORTER_OTLP_PROTOCOL=\"smoke\" is not valid: expected http/protobuf or http/json"),
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
}

//! Where and how each signal's OTLP exporter sends: endpoint, protocol, headers, timeout and
//! compression per signal, as the OpenTelemetry OTLP exporter specification defines them.
//!
//! Every setting has a generic variable (`OTEL_EXPORTER_OTLP_ENDPOINT`, ...) and a per-signal
//! one (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, ...) that wins over it. The generic endpoint is a
//! base URL: OTLP/HTTP appends `/v1/{signal}` to it. A per-signal endpoint is used as written.

use super::tls::TlsFiles;
use super::values::parse_key_values;
use super::{Lookup, Signal};
use crate::error::InitError;
use crate::names::otlp_env;
use std::fmt;
use std::time::Duration;

/// OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `http/protobuf`, the default.
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
}

/// Compression of export requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// `none`, the default.
    #[default]
    None,
    /// `gzip`.
    Gzip,
}

/// Request headers (or gRPC metadata) of one signal's exports. Their values often hold bearer
/// tokens: `Debug` shows only the names, and nothing else of this crate prints them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(pub(crate) Vec<(String, String)>);

impl Headers {
    /// The header names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, "<not shown>")))
            .finish()
    }
}

/// How one signal's OTLP exporter sends (used when that signal's destination is OTLP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpTransport {
    /// The protocol.
    pub protocol: Protocol,
    /// The URL requests go to, exactly (for OTLP/HTTP, with the signal's path).
    pub endpoint: String,
    /// Request headers.
    pub headers: Headers,
    /// How long one export may take, retries included.
    pub timeout: Duration,
    /// Compression of requests.
    pub compression: Compression,
    /// Certificate files for `https://` endpoints.
    pub tls: TlsFiles,
}

/// The OTLP exporter's default timeout of one export.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";

/// The per-signal variable of `generic` if set, else `generic`: the winning variable's name and
/// value.
pub(super) fn signal_or_generic(
    get: Lookup<'_>,
    generic: &str,
    signal: Signal,
) -> Option<(String, String)> {
    let per_signal = otlp_env::per_signal(generic, signal.env_suffix());
    match get(&per_signal) {
        Some(value) => Some((per_signal, value)),
        None => get(generic).map(|value| (generic.to_owned(), value)),
    }
}

/// Resolves the transport of every signal; also returns the warnings to print at `init`.
pub(super) fn transports(get: Lookup<'_>) -> Result<([OtlpTransport; 3], Vec<String>), InitError> {
    let mut warnings = Vec::new();
    let generic_endpoint = get(otlp_env::ENDPOINT);
    if let Some(endpoint) = &generic_endpoint {
        check_endpoint(otlp_env::ENDPOINT, endpoint)?;
        if let Some(signal) = Signal::ALL
            .into_iter()
            .find(|signal| signal_path_of(endpoint.trim()) == Some(*signal))
        {
            warnings.push(signal_path_warning(endpoint.trim(), signal));
        }
    }
    let mut resolved = Vec::with_capacity(3);
    for signal in Signal::ALL {
        let protocol = match signal_or_generic(get, otlp_env::PROTOCOL, signal) {
            None => Protocol::HttpProtobuf,
            Some((name, value)) => parse_protocol(&name, &value)?,
        };
        let endpoint_var = otlp_env::per_signal(otlp_env::ENDPOINT, signal.env_suffix());
        let endpoint = match get(&endpoint_var) {
            Some(endpoint) => {
                check_endpoint(&endpoint_var, &endpoint)?;
                endpoint.trim().to_owned()
            }
            None => with_signal_path(
                generic_endpoint.as_deref().unwrap_or(DEFAULT_HTTP_ENDPOINT),
                signal,
            ),
        };
        let headers = match signal_or_generic(get, otlp_env::HEADERS, signal) {
            None => Headers::default(),
            Some((name, value)) => Headers(parse_key_values(&name, &value, false)?),
        };
        let timeout = match signal_or_generic(get, otlp_env::TIMEOUT, signal) {
            None => DEFAULT_TIMEOUT,
            Some((name, value)) => {
                Duration::from_millis(value.trim().parse::<u64>().map_err(|_| {
                    InitError::invalid_env(
                        &name,
                        &value,
                        "a whole number of milliseconds, e.g. 10000",
                    )
                })?)
            }
        };
        let compression = match signal_or_generic(get, otlp_env::COMPRESSION, signal) {
            None => Compression::None,
            Some((name, value)) => match value.trim().to_ascii_lowercase().as_str() {
                "gzip" => Compression::Gzip,
                "none" => Compression::None,
                _ => return Err(InitError::invalid_env(&name, &value, "gzip or none")),
            },
        };
        let tls = TlsFiles::from_lookup(get, signal)?;
        resolved.push(OtlpTransport {
            protocol,
            endpoint,
            headers,
            timeout,
            compression,
            tls,
        });
    }
    let resolved: [OtlpTransport; 3] = resolved.try_into().expect("three signals");
    Ok((resolved, warnings))
}

/// The generic endpoint with the signal's path appended, as the specification says.
fn with_signal_path(base: &str, signal: Signal) -> String {
    format!(
        "{}/v1/{}",
        base.trim().trim_end_matches('/'),
        signal.as_str()
    )
}

/// The signal whose OTLP/HTTP path `endpoint` already ends with, if any.
fn signal_path_of(endpoint: &str) -> Option<Signal> {
    let path = endpoint.trim_end_matches('/');
    Signal::ALL
        .into_iter()
        .find(|signal| path.ends_with(&format!("/v1/{}", signal.as_str())))
}

fn signal_path_warning(endpoint: &str, signal: Signal) -> String {
    let path = format!("/v1/{}", signal.as_str());
    let trimmed = endpoint.trim_end_matches('/');
    let base = trimmed.strip_suffix(&path).unwrap_or(trimmed);
    format!(
        "{generic}={endpoint} ends in {path}, but {generic} is a base URL that every signal's \
         path is appended to (traces would go to {sent}); set {generic}={base}, or set \
         {per_signal}={endpoint} to send only {signal} there",
        generic = otlp_env::ENDPOINT,
        sent = with_signal_path(endpoint, Signal::Traces),
        per_signal = otlp_env::per_signal(otlp_env::ENDPOINT, signal.env_suffix()),
        signal = signal.as_str(),
    )
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
    let accepted = "an http:// or https:// URL, e.g. http://localhost:4318";
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && !host.contains(char::is_whitespace) =>
        {
            // What the HTTP client will have to parse: refuse here what it would refuse later.
            value
                .parse::<http::Uri>()
                .map(drop)
                .map_err(|_| InitError::invalid_env(name, value, accepted))
        }
        _ => Err(InitError::invalid_env(name, value, accepted)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generic_endpoint_gets_the_signal_path_and_a_per_signal_one_is_kept() {
        assert_eq!(
            with_signal_path("http://collector:4318/", Signal::Metrics),
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(
            with_signal_path("https://otlp.example/prefix", Signal::Logs),
            "https://otlp.example/prefix/v1/logs"
        );
        assert_eq!(
            signal_path_of("http://localhost:4318/v1/traces/"),
            Some(Signal::Traces)
        );
        assert_eq!(signal_path_of("http://localhost:4318/v1"), None);
    }

    #[test]
    fn headers_debug_shows_names_only() {
        let headers = Headers(vec![("authorization".into(), "Bearer s3cret".into())]);
        assert_eq!(
            format!("{headers:?}"),
            "{\"authorization\": \"<not shown>\"}"
        );
    }
}

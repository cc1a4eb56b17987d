//! Where and how each signal's OTLP exporter sends: endpoint, protocol, headers, timeout and
//! compression per signal, as the OpenTelemetry OTLP exporter specification defines them.
//!
//! Every setting has a generic variable (`OTEL_EXPORTER_OTLP_ENDPOINT`, ...) and a per-signal
//! one (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, ...) that wins over it. The generic endpoint is a
//! base URL: OTLP/HTTP appends `/v1/{signal}` to its path (a query stays after the path). A
//! per-signal endpoint is used as written. A header that cannot be sent is an error, naming it
//! (never its value). Endpoints are shown through [`shown_url`]: they may carry tokens.

use super::tls::TlsFiles;
use super::values::parse_key_values;
use super::{signal_or_generic, Lookup, Signal};
use crate::content::shown_url;
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
    /// `grpc` (the runtime crate's `grpc` feature).
    Grpc,
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

/// How one signal's OTLP exporter sends (used when that signal's destination is OTLP). `Debug`
/// shows the endpoint through [`shown_url`] (it may carry a token) and the headers' names only.
#[derive(Clone, PartialEq, Eq)]
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

impl fmt::Debug for OtlpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpTransport")
            .field("protocol", &self.protocol)
            .field("endpoint", &shown_url(&self.endpoint))
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .finish()
    }
}

/// The OTLP exporter's default timeout of one export.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";

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
            // gRPC has no per-signal path: the service name says which signal it is.
            None if protocol == Protocol::Grpc => generic_endpoint
                .as_deref()
                .unwrap_or(DEFAULT_GRPC_ENDPOINT)
                .trim()
                .to_owned(),
            None => with_signal_path(
                generic_endpoint.as_deref().unwrap_or(DEFAULT_HTTP_ENDPOINT),
                signal,
            ),
        };
        let headers = match signal_or_generic(get, otlp_env::HEADERS, signal) {
            None => Headers::default(),
            Some((name, value)) => Headers(checked_headers(
                &name,
                parse_key_values(&name, &value, false)?,
            )?),
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

/// The generic endpoint with the signal's path appended to its path, as the specification's
/// "Endpoint URLs for OTLP/HTTP" says (`v1/{signal}` relative to the base URL, which is made to
/// end with a slash). What follows the path, a query, stays after it: the specification lets
/// an SDK ignore other URL components but forbids modifying the URL otherwise, and an
/// `api_key` dropped would send the exports unauthenticated.
fn with_signal_path(base: &str, signal: Signal) -> String {
    let base = base.trim();
    let (path, rest) = split_after_path(base);
    format!(
        "{}/v1/{}{rest}",
        path.trim_end_matches('/'),
        signal.as_str()
    )
}

/// `endpoint` cut where its path ends: before `?` or `#`.
fn split_after_path(endpoint: &str) -> (&str, &str) {
    let end = endpoint.find(['?', '#']).unwrap_or(endpoint.len());
    endpoint.split_at(end)
}

/// The signal whose OTLP/HTTP path `endpoint` already ends with, if any.
fn signal_path_of(endpoint: &str) -> Option<Signal> {
    let path = split_after_path(endpoint).0.trim_end_matches('/');
    Signal::ALL
        .into_iter()
        .find(|signal| path.ends_with(&format!("/v1/{}", signal.as_str())))
}

fn signal_path_warning(endpoint: &str, signal: Signal) -> String {
    let path = format!("/v1/{}", signal.as_str());
    let (endpoint_path, rest) = split_after_path(endpoint);
    let trimmed = endpoint_path.trim_end_matches('/');
    let base = format!("{}{rest}", trimmed.strip_suffix(&path).unwrap_or(trimmed));
    format!(
        "{generic}={endpoint} ends in {path}, but {generic} is a base URL that every signal's \
         path is appended to (traces would go to {sent}); set {generic}={base}, or set \
         {per_signal}={endpoint} to send only {signal} there",
        generic = otlp_env::ENDPOINT,
        endpoint = shown_url(endpoint),
        sent = shown_url(&with_signal_path(endpoint, Signal::Traces)),
        base = shown_url(&base),
        per_signal = otlp_env::per_signal(otlp_env::ENDPOINT, signal.env_suffix()),
        signal = signal.as_str(),
    )
}

/// `headers` if every one can be sent as an HTTP header (and so as gRPC metadata, lowercased):
/// a name that is an RFC 9110 token, a value without CR, LF or other control characters. The
/// specification says nothing of a header that cannot be sent; the HTTP exporter drops it
/// silently, and an export without its `authorization` is refused or, worse, accepted as
/// anonymous: refused here, naming the header, never its value.
fn checked_headers(
    variable: &str,
    headers: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, InitError> {
    for (index, (name, value)) in headers.iter().enumerate() {
        let refused = |header: String, reason: &str| InitError::Header {
            variable: variable.to_owned(),
            header,
            reason: reason.to_owned(),
        };
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            // Not a token: it may be a value written where a name was expected.
            return Err(refused(
                format!("of entry {}", index + 1),
                "its name is not a valid header name (letters, digits and \
                 !#$%&'*+-.^_`|~ only; write name=value pairs separated by commas)",
            ));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return Err(refused(
                format!("`{name}`"),
                "its value holds a CR, LF or another control character (after \
                 percent-decoding), which HTTP cannot carry",
            ));
        }
    }
    Ok(headers)
}

fn parse_protocol(name: &str, value: &str) -> Result<Protocol, InitError> {
    match value.trim() {
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        "http/json" => Ok(Protocol::HttpJson),
        #[cfg(feature = "grpc")]
        "grpc" => Ok(Protocol::Grpc),
        #[cfg(not(feature = "grpc"))]
        "grpc" => Err(InitError::invalid_env(
            name,
            value,
            "http/protobuf or http/json: grpc needs the `grpc` feature of factory-observability \
             (features = [\"grpc\"] in Cargo.toml)",
        )),
        _ => Err(InitError::invalid_env(
            name,
            value,
            "http/protobuf, http/json or grpc",
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
                .map_err(|_| InitError::invalid_env(name, &shown_url(value), accepted))
        }
        _ => Err(InitError::invalid_env(name, &shown_url(value), accepted)),
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

    /// Specification `protocol/exporter.md`, "Endpoint URLs for OTLP/HTTP": the signal's path
    /// is relative to the base URL's path; a query is another URL component, which an SDK "MAY
    /// ignore" but "MUST NOT modify": it stays, after the path (issue 24: it used to be sent to
    /// `/?api_key=x/v1/traces`).
    #[test]
    fn a_query_on_the_generic_endpoint_stays_after_the_signal_path() {
        assert_eq!(
            with_signal_path("http://h:4318/?api_key=x", Signal::Traces),
            "http://h:4318/v1/traces?api_key=x"
        );
        assert_eq!(
            with_signal_path("https://h/otlp?api_key=x&team=a", Signal::Logs),
            "https://h/otlp/v1/logs?api_key=x&team=a"
        );
        assert_eq!(
            with_signal_path("http://h:4318?api_key=x", Signal::Metrics),
            "http://h:4318/v1/metrics?api_key=x"
        );
        assert_eq!(
            signal_path_of("http://h:4318/v1/traces?api_key=x"),
            Some(Signal::Traces)
        );
        let warning = signal_path_warning("http://u:pw@h:4318/v1/traces?api_key=x", Signal::Traces);
        assert_eq!(
            warning,
            "OTEL_EXPORTER_OTLP_ENDPOINT=http://***@h:4318/v1/traces?api_key=*** ends in \
             /v1/traces, but OTEL_EXPORTER_OTLP_ENDPOINT is a base URL that every signal's path \
             is appended to (traces would go to http://***@h:4318/v1/traces/v1/traces?api_key=***); \
             set OTEL_EXPORTER_OTLP_ENDPOINT=http://***@h:4318?api_key=***, or set \
             OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://***@h:4318/v1/traces?api_key=*** to send \
             only traces there"
        );
    }

    #[test]
    fn endpoints_with_credentials_parse_and_errors_never_show_them() {
        check_endpoint("E", "http://user:pass@h:4318/?api_key=x").unwrap();
        for bad in [
            "user:s3cret@h:4318",
            "ftp://user:s3cret@h/?api_key=k3y",
            "http://user:s3cret@h st/?api_key=k3y",
        ] {
            let error = check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", bad).unwrap_err();
            for shown in [error.to_string(), format!("{error:?}")] {
                assert!(!shown.contains("s3cret"), "{shown}");
                assert!(!shown.contains("k3y"), "{shown}");
                assert!(shown.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{shown}");
            }
        }
    }

    /// A header that HTTP cannot carry is refused, naming the variable and the header, never
    /// its value (the HTTP exporter used to drop it silently, and export unauthenticated).
    #[test]
    fn a_header_that_cannot_be_sent_is_an_error_naming_it_not_its_value() {
        let lookup = |headers: &'static str| {
            move |name: &str| {
                (name == "OTEL_EXPORTER_OTLP_TRACES_HEADERS").then(|| headers.to_owned())
            }
        };
        let error = transports(&lookup(
            "x-team=a,authorization=Bearer%20s3cret%0D%0AX-Evil: 1",
        ))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS=\"<not shown: headers may hold secrets>\" is not \
             valid: the header `authorization` cannot be sent: its value holds a CR, LF or another control character (after \
                 percent-decoding), which \
             HTTP cannot carry; without it the exports would go out unauthenticated, so nothing \
             was installed"
        );
        assert!(!format!("{error:?}").contains("s3cret"));
        let error = transports(&lookup("Authorization: Bearer s3cret-token=1")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS=\"<not shown: headers may hold secrets>\" is not \
             valid: the header of entry 1 cannot be sent: its name is not a valid header name (letters, digits and \
                 !#$%&'*+-.^_`|~ only; write \
             name=value pairs separated by commas); without it the exports would go out \
             unauthenticated, so nothing was installed"
        );
        assert!(!format!("{error} {error:?}").contains("s3cret"));
        let (ok, _) = transports(&lookup("x-api-key=k%3Dv,Authorization=Basic%20YTpi")).unwrap();
        assert_eq!(
            ok[0].headers.names().collect::<Vec<_>>(),
            ["x-api-key", "Authorization"]
        );
    }

    #[test]
    fn transport_debug_shows_no_credentials() {
        let get = |name: &str| {
            (name == "OTEL_EXPORTER_OTLP_ENDPOINT")
                .then(|| "https://ci:s3cret@h:4318/?api_key=k3y".to_owned())
        };
        let (transports, _) = transports(&get).unwrap();
        assert_eq!(
            transports[0].endpoint,
            "https://ci:s3cret@h:4318/v1/traces?api_key=k3y"
        );
        let shown = format!("{transports:?}");
        assert!(
            shown.contains("endpoint: \"https://***@h:4318/v1/traces?api_key=***\""),
            "{shown}"
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("k3y"),
            "{shown}"
        );
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

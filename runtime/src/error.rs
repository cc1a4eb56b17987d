//! Errors of [`crate::init`].
//!
//! An error's text may quote what it refuses: an endpoint with a token in it, a library's error
//! that names the URL it failed on. `Display` and `Debug` both show it through
//! [`crate::content::printable`]: URLs without user information or query values, secrets
//! masked. Header values and redaction patterns are never put into an error at all.

use crate::content::printable;
use std::fmt;
use std::path::PathBuf;

/// Why telemetry could not be installed.
#[non_exhaustive]
pub enum InitError {
    /// An environment variable holds a value this crate does not accept.
    InvalidEnv {
        /// The variable.
        name: String,
        /// The value as set (replaced by a placeholder for variables that may hold secrets).
        value: String,
        /// What the variable accepts.
        accepted: String,
    },
    /// The embedded default could not create or open its files.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An OTLP exporter could not be built.
    Exporter {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// The exporter's own message.
        message: String,
    },
    /// A certificate or key file named by a TLS variable cannot be used.
    TlsFile {
        /// The variable, e.g. `OTEL_EXPORTER_OTLP_CERTIFICATE`.
        variable: String,
        /// The file it names.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The pricing file named by `FACTORY_OBS_PRICING` could not be read.
    Pricing(crate::pricing::PricingError),
    /// `/metrics` could not be served (`OTEL_METRICS_EXPORTER=prometheus`): the port is in
    /// use, or the host cannot be resolved.
    Prometheus {
        /// `OTEL_EXPORTER_PROMETHEUS_HOST`:`OTEL_EXPORTER_PROMETHEUS_PORT`.
        address: String,
        /// Why.
        reason: String,
    },
    /// A header of `OTEL_EXPORTER_OTLP_HEADERS` (or a per-signal variant) that cannot be sent:
    /// exports without it would go out unauthenticated, so nothing is installed.
    Header {
        /// The variable.
        variable: String,
        /// The header's name, or `entry N` when the name itself is not a valid one (never its
        /// value).
        header: String,
        /// Why it cannot be sent.
        reason: String,
    },
    /// A redaction pattern (`FACTORY_OBS_REDACT_PATTERNS`, `TelemetryBuilder::redact_pattern`)
    /// that is not a valid regular expression.
    RedactPattern {
        /// The variable, or `TelemetryBuilder::redact_pattern`.
        origin: String,
        /// Its position among the patterns given there, from 1 (the pattern is not shown: it
        /// may be the very secret to mask).
        number: usize,
        /// Why, in the regex parser's words.
        reason: String,
    },
    /// Telemetry was already installed in this process.
    AlreadyInitialized,
}

impl InitError {
    pub(crate) fn invalid_env(name: &str, value: &str, accepted: &str) -> Self {
        InitError::InvalidEnv {
            name: name.to_owned(),
            value: value.to_owned(),
            accepted: accepted.to_owned(),
        }
    }
}

impl InitError {
    /// The error's text. What it quotes of the program's input (a variable's value, a
    /// library's message) is shown through [`printable`]: URLs without their user information
    /// and query values, secrets masked.
    fn text(&self) -> String {
        match self {
            InitError::InvalidEnv {
                name,
                value,
                accepted,
            } => format!(
                "{name}={:?} is not valid: expected {accepted}",
                printable(value)
            ),
            InitError::Io { path, source } => printable(&format!(
                "cannot write telemetry to {}: {source}",
                path.display()
            ))
            .into_owned(),
            InitError::Exporter { signal, message } => format!(
                "cannot build the OTLP {signal} exporter: {}",
                printable(message)
            ),
            InitError::TlsFile {
                variable,
                path,
                reason,
            } => format!(
                "{variable}: the file {} {}",
                path.display(),
                printable(reason)
            ),
            InitError::Pricing(error) => format!("FACTORY_OBS_PRICING: {error}"),
            InitError::Prometheus { address, reason } => format!(
                "cannot serve Prometheus metrics on {address} \
                 (OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT): {}",
                printable(reason)
            ),
            InitError::Header {
                variable,
                header,
                reason,
            } => format!(
                "{variable}=\"<not shown: headers may hold secrets>\" is not valid: the header \
                 {header} cannot be sent: {reason}; without it the exports would go out \
                 unauthenticated, so nothing was installed"
            ),
            InitError::RedactPattern {
                origin,
                number,
                reason,
            } => {
                let why = format!(
                    "pattern {number} is not a valid regular expression: {reason}; give one \
                     regular expression per line, in the syntax of the regex crate (the \
                     pattern is not shown: it may be the secret itself)"
                );
                if origin.starts_with("TelemetryBuilder") {
                    format!("{origin}: {why}")
                } else {
                    format!("{origin}=\"<not shown: patterns may be secrets>\" is not valid: {why}")
                }
            }
            InitError::AlreadyInitialized => "factory_observability::init was already called in \
                 this process; keep the first Telemetry guard alive instead"
                .to_owned(),
        }
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The variant's name and its printable text: never a field as it was given (an endpoint may
/// hold a token).
impl fmt::Debug for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self {
            InitError::InvalidEnv { .. } => "InvalidEnv",
            InitError::Io { .. } => "Io",
            InitError::Exporter { .. } => "Exporter",
            InitError::TlsFile { .. } => "TlsFile",
            InitError::Pricing(_) => "Pricing",
            InitError::Prometheus { .. } => "Prometheus",
            InitError::Header { .. } => "Header",
            InitError::RedactPattern { .. } => "RedactPattern",
            InitError::AlreadyInitialized => "AlreadyInitialized",
        };
        f.debug_tuple(variant).field(&self.to_string()).finish()
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Io { source, .. } => Some(source),
            InitError::Pricing(error) => Some(error),
            _ => None,
        }
    }
}

//! Errors of [`crate::init`].

use std::fmt;
use std::path::PathBuf;

/// Why telemetry could not be installed.
#[derive(Debug)]
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

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::InvalidEnv {
                name,
                value,
                accepted,
            } => write!(f, "{name}={value:?} is not valid: expected {accepted}"),
            InitError::Io { path, source } => {
                write!(f, "cannot write telemetry to {}: {source}", path.display())
            }
            InitError::Exporter { signal, message } => {
                write!(f, "cannot build the OTLP {signal} exporter: {message}")
            }
            InitError::Pricing(error) => write!(f, "FACTORY_OBS_PRICING: {error}"),
            InitError::Prometheus { address, reason } => write!(
                f,
                "cannot serve Prometheus metrics on {address} \
                 (OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT): {reason}"
            ),
            InitError::AlreadyInitialized => f.write_str(
                "factory_observability::init was already called in this process; keep the first Telemetry guard alive instead",
            ),
        }
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

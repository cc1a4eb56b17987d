//! Certificate files for `https://` endpoints: `OTEL_EXPORTER_OTLP_CERTIFICATE` (a private CA,
//! trusted besides the platform's roots), `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
//! `OTEL_EXPORTER_OTLP_CLIENT_KEY` (mutual TLS), each also per signal. The files are read when
//! the exporters are built (see `export::tls`); here only which variable names which file.

use super::{signal_or_generic, Lookup, Signal};
use crate::error::InitError;
use crate::names::otlp_env;
use std::path::PathBuf;

/// A file named by a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFile {
    /// The variable that named it (generic or per signal).
    pub variable: String,
    /// The file.
    pub path: PathBuf,
}

/// The certificate files of one signal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificates of CAs to trust besides the platform's roots.
    pub certificate: Option<TlsFile>,
    /// PEM client certificate (chain) for mutual TLS.
    pub client_certificate: Option<TlsFile>,
    /// PEM private key of the client certificate.
    pub client_key: Option<TlsFile>,
}

impl TlsFiles {
    pub(super) fn from_lookup(get: Lookup<'_>, signal: Signal) -> Result<TlsFiles, InitError> {
        let file = |generic: &str| {
            signal_or_generic(get, generic, signal).map(|(variable, value)| TlsFile {
                variable,
                path: PathBuf::from(value.trim()),
            })
        };
        let files = TlsFiles {
            certificate: file(otlp_env::CERTIFICATE),
            client_certificate: file(otlp_env::CLIENT_CERTIFICATE),
            client_key: file(otlp_env::CLIENT_KEY),
        };
        match (&files.client_certificate, &files.client_key) {
            (Some(certificate), None) => Err(InitError::invalid_env(
                &certificate.variable,
                &certificate.path.display().to_string(),
                &format!(
                    "a client certificate together with its key in {}",
                    otlp_env::CLIENT_KEY
                ),
            )),
            (None, Some(key)) => Err(InitError::invalid_env(
                &key.variable,
                &key.path.display().to_string(),
                &format!(
                    "a client key together with its certificate in {}",
                    otlp_env::CLIENT_CERTIFICATE
                ),
            )),
            _ => Ok(files),
        }
    }

    /// Whether any file is set.
    pub fn is_empty(&self) -> bool {
        self.certificate.is_none() && self.client_certificate.is_none() && self.client_key.is_none()
    }
}

//! The rustls client configuration of one signal: the platform's roots, plus the private CA of
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`, plus the client certificate of mutual TLS. Built with
//! rustls and ring: no OpenSSL, nothing to install on the host.

use crate::config::{TlsFile, TlsFiles};
use crate::error::InitError;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::sync::Arc;

/// Makes ring rustls's process-wide default provider, unless the program installed one.
///
/// Our exporters build their rustls configurations with ring explicitly and need no default.
/// But linking this crate builds reqwest with `rustls-no-provider` (and rustls with ring): a
/// reqwest client of the program's own, without reqwest's `rustls` feature, then panics at
/// `Client::new()` ("No rustls crypto provider is configured"), and code calling
/// `rustls::ClientConfig::builder()` panics too when another crate adds rustls's `aws-lc-rs`
/// (two providers, none chosen). With a default installed, both work. A program that wants
/// another provider installs it before `init`, which then leaves it alone.
pub(crate) fn install_default_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only if another thread installed one meanwhile: theirs stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The client configuration for `files`. `platform_roots` is false for `http://` endpoints,
/// which never use it (loading the platform's roots reads a directory of files).
pub(crate) fn client_config(
    signal: &'static str,
    files: &TlsFiles,
    platform_roots: bool,
) -> Result<ClientConfig, InitError> {
    let mut roots = RootCertStore::empty();
    if platform_roots {
        // Unreadable platform certificates are skipped: the private CA may be all that is needed.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    }
    if let Some(file) = &files.certificate {
        for certificate in certificates(file)? {
            roots.add(certificate).map_err(|error| {
                file_error(file, &format!("not a usable CA certificate: {error}"))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| InitError::Exporter {
            signal,
            message: format!("rustls: {error}"),
        })?
        .with_root_certificates(roots);
    match (&files.client_certificate, &files.client_key) {
        (Some(certificate_file), Some(key_file)) => {
            let chain = certificates(certificate_file)?;
            let key = PrivateKeyDer::from_pem_file(&key_file.path)
                .map_err(|error| file_error(key_file, &pem_reason(error, "private key")))?;
            builder.with_client_auth_cert(chain, key).map_err(|error| {
                file_error(
                    key_file,
                    &format!(
                        "does not fit the client certificate of {}: {error}",
                        certificate_file.variable
                    ),
                )
            })
        }
        // The configuration refuses one without the other (`config::tls`).
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The PEM certificates of `file`: at least one.
fn certificates(file: &TlsFile) -> Result<Vec<CertificateDer<'static>>, InitError> {
    let certificates = CertificateDer::pem_file_iter(&file.path)
        .map_err(|error| file_error(file, &pem_reason(error, "certificate")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error(file, &pem_reason(error, "certificate")))?;
    if certificates.is_empty() {
        return Err(file_error(
            file,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certificates)
}

fn pem_reason(error: rustls::pki_types::pem::Error, what: &str) -> String {
    match error {
        rustls::pki_types::pem::Error::Io(error) => format!("cannot be read: {error}"),
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("holds no PEM {what}")
        }
        other => format!("is not a PEM {what}: {other:?}"),
    }
}

fn file_error(file: &TlsFile, reason: &str) -> InitError {
    InitError::TlsFile {
        variable: file.variable.clone(),
        path: file.path.clone(),
        reason: reason.to_owned(),
    }
}

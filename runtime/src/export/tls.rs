//! The rustls client configuration of one signal: the platform's roots, plus the private CA of
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`, plus the client certificate of mutual TLS. Built with
//! rustls and ring: no OpenSSL, nothing to install on the host.

use crate::config::{TlsFile, TlsFiles};
use crate::error::InitError;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::error::Error as StdError;
use std::sync::Arc;

/// Makes ring rustls's process-wide default provider, unless the program installed one.
///
/// Our exporters build their rustls configurations with ring explicitly and need no default.
/// But linking this crate builds rustls with ring and no provider chosen: a reqwest client of
/// the program's own built with `rustls-no-provider` (as our `reqwest` feature builds it) then
/// panics at `Client::new()` ("No rustls crypto provider is configured"), and code calling
/// `rustls::ClientConfig::builder()` panics too when another crate adds rustls's `aws-lc-rs`
/// (two providers, none chosen). With a default installed, both work. A program that wants
/// another provider installs it before `init`, which then leaves it alone.
pub(crate) fn install_default_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only if another thread installed one meanwhile: theirs stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The certificates of one signal's TLS, read from its files and checked (see [`load`]), for
/// a client that takes certificates rather than a rustls configuration (ureq, the OTLP/HTTP
/// client: `export::http_client`).
#[derive(Debug)]
pub(crate) struct TlsCertificates {
    /// The platform's roots (when loaded) and the private CA's certificates.
    pub roots: Vec<CertificateDer<'static>>,
    /// The client certificate chain and the PEM text of its key, for mutual TLS.
    pub client: Option<(Vec<CertificateDer<'static>>, Vec<u8>)>,
}

/// The client configuration for `files` (the gRPC exporters' TLS). `platform_roots` is false
/// for `http://` endpoints, which never use it (loading the platform's roots reads a directory
/// of files).
#[cfg(feature = "grpc")]
pub(crate) fn client_config(
    signal: &'static str,
    files: &TlsFiles,
    platform_roots: bool,
) -> Result<ClientConfig, InitError> {
    load(signal, files, platform_roots).map(|(config, _)| config)
}

/// Reads and checks the certificates of `files`: the rustls configuration made of them (with
/// ring), and the certificates themselves. Every file error is an `InitError` naming the
/// variable and the file, so that a client given these certificates later never meets an
/// unreadable one or a key that does not fit its certificate.
pub(crate) fn load(
    signal: &'static str,
    files: &TlsFiles,
    platform_roots: bool,
) -> Result<(ClientConfig, TlsCertificates), InitError> {
    let mut store = RootCertStore::empty();
    let mut roots = Vec::new();
    if platform_roots {
        // Unreadable platform certificates are skipped: the private CA may be all that is needed.
        let native = rustls_native_certs::load_native_certs().certs;
        store.add_parsable_certificates(native.iter().cloned());
        roots.extend(native);
    }
    if let Some(file) = &files.certificate {
        for certificate in certificates(file)? {
            store.add(certificate.clone()).map_err(|error| {
                file_error(file, &format!("not a usable CA certificate: {error}"))
            })?;
            roots.push(certificate);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| InitError::Exporter {
            signal,
            message: format!("rustls: {error}"),
        })?
        .with_root_certificates(store);
    match (&files.client_certificate, &files.client_key) {
        (Some(certificate_file), Some(key_file)) => {
            let chain = certificates(certificate_file)?;
            let key_pem = std::fs::read(&key_file.path)
                .map_err(|error| file_error(key_file, &format!("cannot be read: {error}")))?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|error| file_error(key_file, &pem_reason(error, "private key")))?;
            let config = builder
                .with_client_auth_cert(chain.clone(), key)
                .map_err(|error| {
                    file_error(
                        key_file,
                        &format!(
                            "does not fit the client certificate of {}: {error}",
                            certificate_file.variable
                        ),
                    )
                })?;
            Ok((
                config,
                TlsCertificates {
                    roots,
                    client: Some((chain, key_pem)),
                },
            ))
        }
        // The configuration refuses one without the other (`config::tls`).
        _ => Ok((
            builder.with_no_client_auth(),
            TlsCertificates {
                roots,
                client: None,
            },
        )),
    }
}

/// The rustls error somewhere in `error`'s causes, if the failure was a TLS one. Clients wrap
/// it: tokio-rustls (gRPC) in I/O errors, ureq (OTLP/HTTP) in its `Error::Io` or
/// `Error::Rustls`, none of which gives it as its `source`: each wrapper is unwrapped too.
pub(crate) fn tls_reason(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(cause) = current {
        let mut candidate: &(dyn StdError + 'static) = cause;
        loop {
            if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                return Some(tls.to_string());
            }
            match wrapped(candidate) {
                Some(inner) => candidate = inner,
                None => break,
            }
        }
        current = cause.source();
    }
    None
}

/// The error `error` wraps without giving it as its `source`.
fn wrapped<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        return io.get_ref().map(|inner| inner as &(dyn StdError + 'static));
    }
    match error.downcast_ref::<ureq::Error>()? {
        ureq::Error::Rustls(tls) => Some(tls),
        ureq::Error::Io(io) => Some(io),
        _ => None,
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

//! The OTLP/HTTP exporters' HTTP client: ureq, blocking, on the signal's export thread.
//!
//! **Why ureq** and not reqwest's blocking client (which the exporters used before): reqwest's
//! blocking client runs a tokio runtime and hyper on a thread of its own, so every program
//! compiled tokio, hyper, hyper-util, tower and reqwest even when it called nothing over HTTP
//! itself. The exporters need one request at a time from a thread that may block: ureq does
//! exactly that, speaks the `http` crate's `Request`/`Response` (what `opentelemetry-http`'s
//! `HttpClient` hands us), uses rustls with the crypto provider we give it (ring), keeps
//! connections alive in its agent's pool, and reads proxies from the environment. What it
//! needs from us, and gets:
//!
//! - TLS from the same certificates as the gRPC exporters' rustls configuration
//!   (`export::tls::load`, which has already refused at `init` an unreadable file or a key that
//!   does not fit): the platform's roots, the private CA, the client certificate and key.
//! - 4xx and 5xx returned as responses (`http_status_as_error(false)`), so that the exporter's
//!   retry policy sees the status and `Retry-After`; redirects are not followed (the 3xx is the
//!   answer, named with its URL in the delivery report).
//! - One timeout for the whole request (connection, TLS, sending, the answer): the export
//!   timeout, as reqwest's client-wide timeout was.
//!
//! Each failed request is noted ([`LastFailure`]) with its method, URL and reason, because the
//! OTLP exporter itself reports only "network error" or the status code.

mod proxy;
mod resolver;

use super::explained::LastFailure;
use super::tls::{tls_reason, TlsCertificates};
use crate::content::{mask_urls, shown_url};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response, ResponseBodyTooLarge};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The largest answer read, as `opentelemetry-http`'s own clients: an OTLP answer is a few
/// bytes, a partial-success message at most.
const MAX_RESPONSE_BODY_BYTES: u64 = 4 * 1024 * 1024;

/// A ureq agent (one per signal) that notes the URL and the reason of every failed request. It
/// never sees more of a request than its method and URL: header values are not read.
pub(crate) struct ExplainingClient {
    agent: ureq::Agent,
    failure: Arc<LastFailure>,
    /// The signal, for the one TLS warning.
    signal: &'static str,
    /// `host:port` of the proxy requests go through, if any (never its credentials), for the
    /// reason of a failure.
    via: Option<String>,
    tls_warned: AtomicBool,
}

/// Only the signal: the agent's configuration holds the proxy URL (which may carry
/// credentials) and the client key.
impl std::fmt::Debug for ExplainingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplainingClient")
            .field("signal", &self.signal)
            .finish_non_exhaustive()
    }
}

impl ExplainingClient {
    /// The client of `signal` for `endpoint`: TLS from `certificates` (none for `http://`),
    /// `timeout` per request, the proxy the environment names for the endpoint's scheme.
    pub(crate) fn new(
        signal: &'static str,
        endpoint: &str,
        certificates: TlsCertificates,
        timeout: Duration,
        failure: Arc<LastFailure>,
    ) -> Self {
        let https = endpoint.trim_start().starts_with("https://");
        let host = endpoint
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.host().map(str::to_owned))
            .unwrap_or_default();
        let proxy = proxy::from_environment(https, &host);
        let via = proxy
            .as_ref()
            .map(|proxy| format!("{}:{}", proxy.host(), proxy.port()));
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .tls_config(tls_config(certificates))
            .proxy(proxy)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            resolver::CachingResolver::default(),
        );
        ExplainingClient {
            agent,
            failure,
            signal,
            via,
            tls_warned: AtomicBool::new(false),
        }
    }

    /// Sends `request` and reads the whole answer (so that the connection goes back to the
    /// pool), whatever its status.
    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, ureq::Error> {
        let (parts, body) = request.into_parts();
        let response = self.agent.run(Request::from_parts(parts, body.as_ref()))?;
        let (parts, mut body) = response.into_parts();
        let body = body
            .with_config()
            .limit(MAX_RESPONSE_BODY_BYTES)
            .read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(body)))
    }
}

#[async_trait::async_trait]
impl HttpClient for ExplainingClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        // The URL as printed: without user information or query values (an `api_key`).
        let url = shown_url(&request.uri().to_string());
        let target = format!("{} {url}", request.method());
        match self.send(request) {
            Ok(response) => {
                if !response.status().is_success() {
                    self.failure.set(format!("{target}: {}", response.status()));
                }
                Ok(response)
            }
            Err(error) => {
                if let Some(tls) = tls_reason(&error) {
                    if !self.tls_warned.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "factory-observability: warning: TLS with {url} failed: {tls}; {} \
                             are counted as lost until it succeeds",
                            self.signal
                        );
                    }
                }
                // Through a proxy, a refused connection may be the proxy's: say which it went to.
                let via = match &self.via {
                    Some(proxy) => format!(" (through the proxy {proxy})"),
                    None => String::new(),
                };
                // ureq's own text may quote the URL: masked as any printed text.
                let reason = reason_of(&error);
                self.failure
                    .set(format!("{target}: {}{via}", mask_urls(&reason)));
                match error {
                    // The exporter recognises this one (and does not retry it).
                    ureq::Error::BodyExceedsLimit(_) => Err(Box::new(ResponseBodyTooLarge::new())),
                    error => Err(Box::new(error)),
                }
            }
        }
    }
}

/// What went wrong, said for the delivery report: the phase and the cause, in words an
/// operator (and `counting::Failure`, which reads "timed out", "tls", "connect", "dns") can
/// place: `error sending request: TLS handshake failed: invalid peer certificate:
/// UnknownIssuer`, `error sending request: transport error: Connection refused (os error 111)`,
/// `error sending request: operation timed out`.
fn reason_of(error: &ureq::Error) -> String {
    if let Some(tls) = tls_reason(error) {
        return format!("error sending request: TLS handshake failed: {tls}");
    }
    let cause = match error {
        ureq::Error::Timeout(ureq::Timeout::Global | ureq::Timeout::PerCall) => {
            "operation timed out".to_owned()
        }
        ureq::Error::Timeout(phase) => format!("{phase} timed out"),
        ureq::Error::HostNotFound => "dns error: host not found".to_owned(),
        ureq::Error::Io(io) => format!("transport error: {io}"),
        ureq::Error::BodyExceedsLimit(limit) => {
            format!("the answer is larger than {limit} bytes")
        }
        ureq::Error::ConnectProxyFailed(reason) => format!("proxy refused CONNECT: {reason}"),
        other => other.to_string(),
    };
    format!("error sending request: {cause}")
}

/// ureq's TLS settings for `certificates`: the same roots and client certificate as our rustls
/// configuration, and ring as its provider (so that ureq never depends on the process default).
fn tls_config(certificates: TlsCertificates) -> ureq::tls::TlsConfig {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};
    let owned = |der: &rustls::pki_types::CertificateDer<'_>| Certificate::from_der(der).to_owned();
    let roots: Vec<Certificate<'static>> = certificates.roots.iter().map(owned).collect();
    // `export::tls::load` parsed this key and fitted it to the chain: neither fails here.
    let client = certificates.client.and_then(|(chain, key_pem)| {
        let chain: Vec<Certificate<'static>> = chain.iter().map(owned).collect();
        let key = PrivateKey::from_pem(&key_pem).ok()?;
        Some(ClientCert::new_with_certs(&chain, key))
    });
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::from(roots))
        .client_cert(client)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rustls's reason is found however ureq wraps it: in its `Io` variant (the handshake's
    /// I/O error, as a refused certificate comes back) or as `Rustls`.
    #[test]
    fn the_tls_reason_is_found_inside_ureq_errors_and_said_first() {
        let refused = || rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = ureq::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            refused(),
        ));
        assert_eq!(
            tls_reason(&wrapped).as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        assert_eq!(
            reason_of(&wrapped),
            "error sending request: TLS handshake failed: invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(
            reason_of(&ureq::Error::Rustls(refused())),
            "error sending request: TLS handshake failed: invalid peer certificate: UnknownIssuer"
        );
        let refused_connection =
            ureq::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(tls_reason(&refused_connection), None);
        assert_eq!(
            reason_of(&refused_connection),
            "error sending request: transport error: connection refused"
        );
        assert_eq!(
            reason_of(&ureq::Error::Timeout(ureq::Timeout::Global)),
            "error sending request: operation timed out"
        );
        assert_eq!(
            reason_of(&ureq::Error::Timeout(ureq::Timeout::Connect)),
            "error sending request: connect timed out"
        );
        assert_eq!(
            reason_of(&ureq::Error::HostNotFound),
            "error sending request: dns error: host not found"
        );
    }
}

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

use super::explained::LastFailure;
use super::tls::{tls_reason, TlsCertificates};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response, ResponseBodyTooLarge};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest answer read, as `opentelemetry-http`'s own clients: an OTLP answer is a few
/// bytes, a partial-success message at most.
const MAX_RESPONSE_BODY_BYTES: u64 = 4 * 1024 * 1024;

/// One warning per process for a proxy variable that is not a URL (the signals share it).
static PROXY_WARNED: AtomicBool = AtomicBool::new(false);

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
        let proxy =
            proxy_for(https, &host, &|name| std::env::var(name).ok()).unwrap_or_else(|warning| {
                if !PROXY_WARNED.swap(true, Ordering::Relaxed) {
                    eprintln!("{warning}");
                }
                None
            });
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
            CachingResolver::default(),
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
        let target = format!("{} {}", request.method(), request.uri());
        let url = request.uri().to_string();
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
                self.failure
                    .set(format!("{target}: {}{via}", reason_of(&error)));
                match error {
                    // The exporter recognises this one (and does not retry it).
                    ureq::Error::BodyExceedsLimit(_) => Err(Box::new(ResponseBodyTooLarge::new())),
                    error => Err(Box::new(error)),
                }
            }
        }
    }
}

/// How long a host's addresses are reused before it is looked up again.
const RESOLVED_FOR: Duration = Duration::from_secs(30);

/// ureq's own resolver, asked once per [`RESOLVED_FOR`]. ureq looks the host up before every
/// request, a kept-alive connection or not, and with a timeout (ours) it does so on a new
/// thread: a thread per export. Measured at 300,000 spans/s that cost up to 2.7 % of the spans
/// (BENCHMARKS.md "OTLP/HTTP client").
#[derive(Debug, Default)]
struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    last: Mutex<Option<Resolved>>,
}

/// The addresses of `authority` (`scheme://host:port`) looked up at `at`.
#[derive(Debug)]
struct Resolved {
    authority: String,
    at: Instant,
    addresses: ureq::unversioned::resolver::ResolvedSocketAddrs,
}

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let authority = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        if let Ok(last) = self.last.lock() {
            if let Some(resolved) = last.as_ref().filter(|resolved| {
                resolved.authority == authority && resolved.at.elapsed() < RESOLVED_FOR
            }) {
                return Ok(resolved.addresses.clone());
            }
        }
        let addresses = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Resolved {
                authority,
                at: Instant::now(),
                addresses: addresses.clone(),
            });
        }
        Ok(addresses)
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

/// The proxy for requests to `host` over `https` (or plain HTTP), as reqwest reads the
/// environment: `HTTPS_PROXY` for `https://`, `HTTP_PROXY` for `http://`, else `ALL_PROXY`
/// (each also in lower case), none when `NO_PROXY` matches the host. ureq itself would take the
/// first of `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` for every scheme.
///
/// ureq tunnels through the proxy with `CONNECT` for `http://` endpoints too (reqwest sent
/// their requests to the proxy as they were). A value that is not a proxy URL is skipped with
/// the warning returned as `Err`, naming the variable (never its value, which may hold
/// credentials).
fn proxy_for(
    https: bool,
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ureq::Proxy>, String> {
    use crate::names::proxy_env::{ALL_PROXY, HTTPS_PROXY, HTTP_PROXY, NO_PROXY};
    let lookup = |name: &str| {
        env(name)
            .or_else(|| env(&name.to_ascii_lowercase()))
            .filter(|value| !value.trim().is_empty())
    };
    let scheme_variable = if https { HTTPS_PROXY } else { HTTP_PROXY };
    let Some((name, value)) = [scheme_variable, ALL_PROXY]
        .into_iter()
        .find_map(|name| lookup(name).map(|value| (name, value)))
    else {
        return Ok(None);
    };
    if no_proxy_matches(&lookup(NO_PROXY).unwrap_or_default(), host) {
        return Ok(None);
    }
    ureq::Proxy::new(value.trim()).map(Some).map_err(|_| {
        format!(
            "factory-observability: warning: {name} is not a proxy URL (http://host:port, \
             optionally with user:password@; the value is not shown: it may hold credentials); \
             telemetry is sent without a proxy"
        )
    })
}

/// Whether `NO_PROXY` (comma-separated) exempts `host`: `*`, the host itself, or a domain
/// suffix (`example.com` and `.example.com` both match `otel.example.com`), as reqwest
/// reads it. IP ranges in CIDR notation are not understood.
fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let domain = entry.trim_start_matches('*').trim_start_matches('.');
            host == domain || host.ends_with(&format!(".{domain}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn proxy_uri(https: bool, host: &str, pairs: &[(&str, &str)]) -> Option<String> {
        proxy_for(https, host, &env(pairs))
            .expect("valid")
            .map(|proxy| proxy.uri().to_string())
    }

    #[test]
    fn the_proxy_is_the_one_of_the_endpoints_scheme_as_reqwest_reads_it() {
        let both = [
            ("HTTP_PROXY", "http://plain:3128"),
            ("HTTPS_PROXY", "http://secure:3128"),
        ];
        assert_eq!(
            proxy_uri(true, "otel.example.com", &both).as_deref(),
            Some("http://secure:3128/")
        );
        assert_eq!(
            proxy_uri(false, "otel.example.com", &both).as_deref(),
            Some("http://plain:3128/")
        );
        // Only HTTP_PROXY: an https:// endpoint is reached directly (ureq alone would use it).
        assert_eq!(
            proxy_uri(
                true,
                "otel.example.com",
                &[("HTTP_PROXY", "http://plain:3128")]
            ),
            None
        );
        assert_eq!(
            proxy_uri(
                true,
                "otel.example.com",
                &[("all_proxy", "http://any:8080")]
            )
            .as_deref(),
            Some("http://any:8080/")
        );
        assert_eq!(proxy_uri(true, "otel.example.com", &[]), None);
    }

    #[test]
    fn no_proxy_exempts_the_host_its_domain_and_everything_with_a_star() {
        let with = |no_proxy: &'static str| {
            [
                ("HTTPS_PROXY", "http://secure:3128"),
                ("NO_PROXY", no_proxy),
            ]
        };
        assert_eq!(
            proxy_uri(true, "otel.example.com", &with("localhost, example.com")),
            None
        );
        assert_eq!(
            proxy_uri(true, "otel.example.com", &with(".example.com")),
            None
        );
        assert_eq!(proxy_uri(true, "127.0.0.1", &with("127.0.0.1")), None);
        assert_eq!(proxy_uri(true, "otel.example.com", &with("*")), None);
        assert_eq!(
            proxy_uri(true, "otel.example.org", &with("example.com")).as_deref(),
            Some("http://secure:3128/")
        );
        assert_eq!(
            proxy_uri(true, "notexample.com", &with("example.com")).as_deref(),
            Some("http://secure:3128/")
        );
    }

    #[test]
    fn a_proxy_that_is_not_a_url_is_skipped_with_a_warning_naming_the_variable_not_the_value() {
        let warning = proxy_for(
            true,
            "otel.example.com",
            &env(&[("https_proxy", "http://user:s3cret@[bad")]),
        )
        .expect_err("not a URL");
        assert!(
            warning.starts_with("factory-observability: warning: HTTPS_PROXY is not a proxy URL"),
            "{warning}"
        );
        assert!(!warning.contains("s3cret"), "{warning}");
    }

    /// ureq would look the host up (on a thread of its own) before every request: ours does once
    /// per period and host, and again after it or for another host.
    #[test]
    fn a_host_is_looked_up_once_per_period_not_per_request() {
        use ureq::unversioned::resolver::Resolver as _;
        use ureq::unversioned::transport::NextTimeout;
        let resolver = CachingResolver::default();
        let config = ureq::Agent::config_builder().build();
        let timeout = NextTimeout {
            after: Duration::from_secs(5).into(),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        let collector: http::Uri = "http://127.0.0.1:4318/v1/traces".parse().unwrap();
        let resolve = |uri: &http::Uri| -> Vec<std::net::SocketAddr> {
            resolver
                .resolve(uri, &config, timeout)
                .expect("resolved")
                .to_vec()
        };
        let looked_up = "127.0.0.1:4318".parse().unwrap();
        assert_eq!(resolve(&collector), vec![looked_up]);
        // What the next request gets is the kept answer (marked here so as to tell them apart).
        let marked: std::net::SocketAddr = "10.0.0.1:1".parse().unwrap();
        let mark = |age: Duration| {
            let mut last = resolver.last.lock().unwrap();
            let kept = last.as_mut().expect("kept");
            kept.addresses = resolver.empty();
            kept.addresses.push(marked);
            kept.at = Instant::now() - age;
        };
        mark(Duration::ZERO);
        assert_eq!(resolve(&collector), vec![marked]);
        mark(RESOLVED_FOR);
        assert_eq!(resolve(&collector), vec![looked_up], "looked up again");
        mark(Duration::ZERO);
        assert_eq!(
            resolve(&"https://127.0.0.1:4318/v1/logs".parse().unwrap()),
            vec![looked_up],
            "another scheme or host is looked up"
        );
    }

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

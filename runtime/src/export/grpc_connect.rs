//! The gRPC exporters' connections: TCP (acknowledging at once, [`super::quick_ack`]), then for
//! `https://` TLS with the signal's rustls configuration (the same as HTTPS: platform roots,
//! private CA, client certificate). tonic's own TLS would report a refused handshake only as text
//! inside a `Status`; connecting here keeps the rustls error, so that the delivery report names
//! the endpoint and the TLS reason and one warning says so, as for OTLP/HTTP
//! ([`super::explained`]).
//!
//! Behind a proxy (`HTTPS_PROXY` for `https://` endpoints, `HTTP_PROXY` for `http://`, `ALL_PROXY`,
//! minus `NO_PROXY`, as curl reads them: hyper-util's `Matcher`), the connection is an HTTP
//! `CONNECT` tunnel through it (hyper-util's `Tunnel`), for plain gRPC too: a proxy cannot
//! forward HTTP/2 sent with prior knowledge any other way.

use super::explained::LastFailure;
use super::quick_ack::QuickAck;
use super::tls::tls_reason;
use crate::config::{OtlpTransport, Signal};
use crate::error::InitError;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::transport::{Channel, Endpoint};

/// The channel of one signal's gRPC exporter, connecting lazily (at the first export) through
/// [`Connector`]. Must be called with the gRPC runtime entered: the channel's worker is spawned.
pub(crate) fn channel(
    signal: Signal,
    transport: &OtlpTransport,
    failure: &Arc<LastFailure>,
) -> Result<Channel, InitError> {
    let url = transport.endpoint.trim().to_owned();
    let invalid = |reason: String| InitError::Exporter {
        signal: signal.as_str(),
        message: format!("the gRPC endpoint {url} is not a valid URL: {reason}"),
    };
    let endpoint = Endpoint::from_shared(url.clone())
        .map_err(|error| invalid(error.to_string()))?
        .timeout(transport.timeout)
        .connect_timeout(transport.timeout);
    let tls = match endpoint.uri().scheme_str() {
        Some("https") => {
            let mut config = super::tls::client_config(signal.as_str(), &transport.tls, true)?;
            // gRPC is HTTP/2: a TLS-terminating proxy (nginx `http2`) picks it by ALPN.
            config.alpn_protocols = vec![b"h2".to_vec()];
            Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
        }
        Some("http") => None,
        _ => return Err(invalid("the scheme must be http:// or https://".into())),
    };
    let proxy = Matcher::from_env().intercept(endpoint.uri());
    let connector = Connector {
        tls,
        proxy,
        // As printed in notes and warnings: without user information or query values.
        endpoint: crate::content::shown_url(&url).into(),
        signal: signal.as_str(),
        failure: Arc::clone(failure),
        tls_warned: Arc::new(AtomicBool::new(false)),
    };
    Ok(endpoint.connect_with_connector_lazy(connector))
}

/// Opens one connection for tonic; notes a failure in the signal's [`LastFailure`] (the
/// delivery report's "last error"), and warns once on a TLS failure.
#[derive(Clone)]
struct Connector {
    tls: Option<tokio_rustls::TlsConnector>,
    /// The proxy the environment names for the endpoint, if any.
    proxy: Option<Intercept>,
    /// The endpoint as configured, for the note and the warning.
    endpoint: Arc<str>,
    signal: &'static str,
    failure: Arc<LastFailure>,
    tls_warned: Arc<AtomicBool>,
}

/// A connection, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Connecting = Pin<Box<dyn Future<Output = std::io::Result<TokioIo<Box<dyn Io>>>> + Send>>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<Box<dyn Io>>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Connecting {
        let this = self.clone();
        Box::pin(async move {
            let result = this.connect(&uri).await;
            if let Err(error) = &result {
                this.note(error);
            }
            result
        })
    }
}

impl Connector {
    async fn connect(&self, uri: &http::Uri) -> std::io::Result<TokioIo<Box<dyn Io>>> {
        let https = self.tls.is_some();
        let (host, port) = host_and_port(uri, if https { 443 } else { 80 }, "the endpoint")?;
        let tcp = match &self.proxy {
            None => tcp_connect(&host, port).await?,
            Some(proxy) => tunnel(proxy, &host, port).await?,
        };
        let tcp = QuickAck::new(tcp);
        let Some(tls) = &self.tls else {
            return Ok(TokioIo::new(Box::new(tcp)));
        };
        let name = ServerName::try_from(host)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
        let stream = tls.connect(name, tcp).await?;
        Ok(TokioIo::new(Box::new(stream)))
    }

    fn note(&self, error: &std::io::Error) {
        let endpoint = &self.endpoint;
        match tls_reason(error) {
            Some(tls) => {
                if !self.tls_warned.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "factory-observability: warning: TLS with {endpoint} failed: {tls}; {} \
                         are counted as lost until it succeeds",
                        self.signal
                    );
                }
                self.failure
                    .set(format!("gRPC {endpoint}: TLS handshake failed: {tls}"));
            }
            None => self.failure.set(format!(
                "gRPC {endpoint}: {}",
                crate::content::mask_urls(&error.to_string())
            )),
        }
    }
}

/// `uri`'s host (an IPv6 address without its brackets) and port, `default_port` if it names none.
fn host_and_port(uri: &http::Uri, default_port: u16, what: &str) -> std::io::Result<(String, u16)> {
    let host = uri
        .host()
        .ok_or_else(|| std::io::Error::other(format!("{what} has no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    Ok((host, uri.port_u16().unwrap_or(default_port)))
}

/// A TCP connection, without Nagle's delay (an export is one write, waiting for an answer).
async fn tcp_connect(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|error| std::io::Error::new(error.kind(), Connect(error)))?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// A TCP connection to `host`:`port` through an HTTP `CONNECT` tunnel of `proxy`.
async fn tunnel(proxy: &Intercept, host: &str, port: u16) -> std::io::Result<TcpStream> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let destination = http::Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query("/")
        .build()
        .map_err(std::io::Error::other)?;
    let mut tunnel = Tunnel::new(proxy.uri().clone(), TcpConnector);
    if let Some(auth) = proxy.basic_auth() {
        tunnel = tunnel.with_auth(auth.clone());
    }
    let proxy_address = proxy
        .uri()
        .authority()
        .and_then(|authority| authority.as_str().rsplit('@').next())
        .unwrap_or("?");
    let stream = tower_service::Service::call(&mut tunnel, destination)
        .await
        .map_err(|error| {
            // The proxy's address only: its URL may hold credentials.
            std::io::Error::other(format!("proxy {proxy_address}: {}", causes(&error)))
        })?;
    Ok(stream.into_inner())
}

/// `error` and its causes, outermost first, each said once.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

/// Plain TCP connections, for the proxy tunnel to go through.
#[derive(Clone, Copy)]
struct TcpConnector;

impl tower_service::Service<http::Uri> for TcpConnector {
    type Response = TokioIo<TcpStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<TokioIo<TcpStream>>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        Box::pin(async move {
            let (host, port) = host_and_port(&uri, 80, "the proxy URL")?;
            Ok(TokioIo::new(tcp_connect(&host, port).await?))
        })
    }
}

/// A TCP connection that failed, said as such.
#[derive(Debug)]
struct Connect(std::io::Error);

impl std::fmt::Display for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tcp connect error: {}", self.0)
    }
}

impl std::error::Error for Connect {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

//! The gRPC exporters' connections: TCP (acknowledging at once, [`super::quick_ack`]), then for
//! `https://` TLS with the signal's rustls configuration (the same as HTTPS: platform roots,
//! private CA, client certificate). tonic's own TLS would report a refused handshake only as text
//! inside a `Status`; connecting here keeps the rustls error, so that the delivery report names
//! the endpoint and the TLS reason and one warning says so, as for OTLP/HTTP
//! ([`super::explained`]).

use super::explained::{tls_reason, LastFailure};
use super::quick_ack::QuickAck;
use crate::config::{OtlpTransport, Signal};
use crate::error::InitError;
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
    let connector = Connector {
        tls,
        endpoint: url.into(),
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
        let host = uri
            .host()
            .ok_or_else(|| std::io::Error::other("the endpoint has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let https = self.tls.is_some();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|error| std::io::Error::new(error.kind(), Connect(error)))?;
        let _ = tcp.set_nodelay(true);
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
            None => self.failure.set(format!("gRPC {endpoint}: {error}")),
        }
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

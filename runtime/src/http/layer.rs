//! [`HttpServerLayer`]: one SERVER span per request, through the macros' call core.

use super::body::ObservedBody;
use super::request;
use crate::call::http_server::SERVER_SITE;
use crate::call::{Call, Completion, Fields, Instrumented};
use crate::carriers::http::{incoming, Incoming};
use crate::config::HttpServerSettings;
use crate::outcome::Report;
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// A tower layer giving every request one SERVER span `{method} {http.route}`, a child of the
/// caller's span when the request carries `traceparent` (`tracestate` and `baggage` too), and
/// the metrics `http.server.request.duration` (until the response body ends) and
/// `http.server.active_requests`.
///
/// Put it on the outermost `Router` with `.layer(HttpServerLayer::new())` after its routes,
/// nests and merges: axum applies it to each route, where `MatchedPath` is known, and to the
/// fallback. A request seen by a second `HttpServerLayer` (a nested router with its own) is not
/// counted twice. A `#[handler]` under it adds its `code.function.name`, `fields(...)` and error
/// to the request's span instead of opening a second one. When nothing is installed
/// ([`crate::init`] not called) it only passes requests on.
///
/// What it copies from a request is cut at 1,024 characters, and `client.address` is the
/// connection's peer (with `into_make_service_with_connect_info::<SocketAddr>`), never a
/// forwarding header a client could write, unless configured otherwise
/// (`FACTORY_OBS_HTTP_SERVER_*`, or [`HttpServerLayer::with_settings`]; see docs/limits.md).
#[derive(Clone, Debug, Default)]
pub struct HttpServerLayer {
    /// `None`: the installed configuration's, read per request.
    settings: Option<Arc<HttpServerSettings>>,
}

impl HttpServerLayer {
    /// The layer, taking from requests what the installed configuration says
    /// (`FACTORY_OBS_HTTP_SERVER_*`, read by [`crate::init`]; the defaults without it).
    pub fn new() -> HttpServerLayer {
        HttpServerLayer::default()
    }

    /// The layer with settings of its own, whatever the environment says: how long a value
    /// copied from a request may be, and which forwarding header names the client.
    pub fn with_settings(settings: HttpServerSettings) -> HttpServerLayer {
        HttpServerLayer {
            settings: Some(Arc::new(settings)),
        }
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> HttpServerService<S> {
        HttpServerService {
            inner,
            settings: self.settings.clone(),
        }
    }
}

/// The service [`HttpServerLayer`] wraps around each route.
#[derive(Clone, Debug)]
pub struct HttpServerService<S> {
    inner: S,
    settings: Option<Arc<HttpServerSettings>>,
}

/// Marks a request an outer [`HttpServerLayer`] serves already.
#[derive(Clone, Copy, Debug)]
struct Served;

impl<S, B, RB> Service<Request<B>> for HttpServerService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: http_body::Body,
{
    type Response = Response<ObservedBody<RB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if !crate::dispatch::enabled() || request.extensions().get::<Served>().is_some() {
            let future = self.inner.call(request);
            return ResponseFuture {
                inner: Call::inert().instrument_completing(future, ServedResponse),
            };
        }
        request.extensions_mut().insert(Served);
        let settings = match &self.settings {
            Some(settings) => settings,
            None => crate::dispatch::http_server_settings(),
        };
        let served = |fields: &mut Fields| fields.http_request(request::read(&request, settings));
        let call = match incoming(request.headers()) {
            Incoming::Nothing => Call::start(&SERVER_SITE, served),
            Incoming::Parent(remote) => Call::start_under_remote(&SERVER_SITE, remote, served),
            Incoming::Context(parent) => {
                let _parent = parent.attach();
                Call::start(&SERVER_SITE, served)
            }
        };
        // Middleware below may start work in `call`: it runs in the request's context too.
        let future = {
            let _request = call.attach();
            self.inner.call(request)
        };
        ResponseFuture {
            inner: call.instrument_completing(future, ServedResponse),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a request [`HttpServerLayer`] serves: the inner service's future, run
    /// inside the request's call.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<F, ServedResponse>,
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    RB: http_body::Body,
{
    type Output = Result<Response<ObservedBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// Hands the call to the response's body, which ends it; an error of the inner service (no
/// response) ends it at once.
#[doc(hidden)]
#[derive(Debug)]
pub struct ServedResponse;

impl<RB: http_body::Body, E> Completion<Result<Response<RB>, E>> for ServedResponse {
    type Output = Result<Response<ObservedBody<RB>>, E>;

    fn complete(self, call: Call, value: Result<Response<RB>, E>) -> Self::Output {
        match value {
            Ok(response) => {
                call.http_response_status(response.status().as_u16());
                let (parts, body) = response.into_parts();
                if body.is_end_stream() {
                    // No frame to wait for (hyper would not poll the body at all).
                    call.finish(Report::of(crate::OutcomeKind::Success).into());
                    return Ok(Response::from_parts(
                        parts,
                        ObservedBody::new(body, Call::inert()),
                    ));
                }
                Ok(Response::from_parts(parts, ObservedBody::new(body, call)))
            }
            Err(error) => {
                call.finish(Report::of(crate::OutcomeKind::Error).into());
                Err(error)
            }
        }
    }
}

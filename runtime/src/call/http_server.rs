//! The SERVER span of one HTTP request, opened by [`crate::HttpServerLayer`] through the same
//! call core as the macros: one span per request following the stable HTTP server conventions,
//! and the metrics `http.server.request.duration` and `http.server.active_requests`.
//!
//! The request's context carries a [`RequestState`], through which the first `#[handler]` under
//! it adds its `code.function.name` and error (see [`super::handler`]), and the layer the
//! response's status code. The call ends when the response body ends (or is dropped).
//!
//! Status rules (server side): ERROR for a 5xx status, or when no response was produced (a
//! panic); unset otherwise, 4xx included. `error.type` is the handler's error type when it
//! returned one with a 5xx, else the status code (`"500"`). A handler error answered with a 4xx
//! is kept as an `exception` event, without `error.type`: the request did not fail on the server.

use super::span::CallSpan;
use super::{ContextValue, KindState, Opening};
pub(crate) use crate::dispatch::http_server_labels::{ActiveKey, DurationKey};
use crate::dispatch::DispatchRef;
use crate::names::{attr, event, http_server as names};
use crate::outcome::Report;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// What the layer read from the request, for the span and the metrics.
#[derive(Debug)]
pub(crate) struct Request {
    /// `{method} {route}`, or `{method}` when no route matched.
    pub name: Cow<'static, str>,
    /// The labels of `http.server.active_requests`.
    pub active: ActiveKey,
    /// The labels of `http.server.request.duration` (`http.request.method`, `http.route`,
    /// `url.scheme`, `network.protocol.version`, then the status code) as a key of its bound
    /// histograms: the labels themselves are built only to bind one, or for a failed request.
    pub duration: DurationKey,
    /// The span's attributes at its start: the duration's labels, then the others
    /// (`url.path`, `server.address`, `user_agent.original`, ...), with room for what the end
    /// adds.
    pub attributes: Vec<KeyValue>,
}

/// The request's shared state, in the context its handler runs in.
#[derive(Clone, Debug)]
pub(crate) struct RequestState(pub Arc<RequestShared>);

#[derive(Debug, Default)]
pub(crate) struct RequestShared {
    /// The `code.function.name` of the `#[handler]` that claimed the request.
    pub handler: OnceLock<&'static str>,
    /// The handler's error, when it returned one.
    pub handler_error: Mutex<Option<Report>>,
    /// The response's status code; 0 until the response's head is ready.
    pub status: AtomicU16,
    /// The handler's `fields(...)`.
    handler_attributes: Mutex<Vec<KeyValue>>,
}

impl RequestShared {
    /// Adds a handler's `fields(...)` to the request's span.
    pub fn add_attributes(&self, attributes: Vec<KeyValue>) {
        if attributes.is_empty() {
            return;
        }
        if let Ok(mut kept) = self.handler_attributes.lock() {
            kept.extend(attributes);
        }
    }
}

/// What the call keeps from the request until it ends.
#[derive(Debug)]
pub(crate) struct Serving {
    active: ActiveKey,
    duration: DurationKey,
    pub shared: Arc<RequestShared>,
}

/// `attributes` is empty: the request's become the span's.
pub(crate) fn open(
    dispatch: &DispatchRef,
    request: Option<Request>,
    attributes: &mut Vec<KeyValue>,
) -> Opening {
    let request = request.unwrap_or_else(|| Request {
        name: Cow::Borrowed(names::METHOD_OTHER),
        active: ActiveKey::new(names::METHOD_OTHER, false),
        duration: DurationKey {
            active: ActiveKey::new(names::METHOD_OTHER, false),
            route: None,
            version: None,
            status: 0,
        },
        attributes: Vec::new(),
    });
    active_requests_add(dispatch, request.active, 1);
    *attributes = request.attributes;
    let shared = Arc::new(RequestShared::default());
    Opening {
        name: request.name,
        span_kind: SpanKind::Server,
        state: KindState::HttpServer(Serving {
            active: request.active,
            duration: request.duration,
            shared: Arc::clone(&shared),
        }),
        context_value: Some(ContextValue::Request(RequestState(shared))),
        opens_span: true,
    }
}

/// Adds `n` to `http.server.active_requests`: through the process-wide pipeline's bound counter
/// for the key, else with the key's labels.
fn active_requests_add(dispatch: &DispatchRef, key: ActiveKey, n: i64) {
    let instruments = &dispatch.instruments;
    match dispatch {
        DispatchRef::Global(_) => instruments.http_server_active_for(key).add(n),
        DispatchRef::Scoped(_) => instruments.http_server_active.add(n, &key.labels()),
    }
}

/// Records the response on the span, decides its status, and records the metrics. `report` is
/// how the request's call ended: a panic, a cancellation, or success.
pub(crate) fn end(
    dispatch: &DispatchRef,
    serving: &mut Serving,
    span: &mut CallSpan,
    report: Report,
    elapsed: Duration,
) {
    let shared = &serving.shared;
    if let Some(function) = shared.handler.get() {
        span.set_attribute(KeyValue::new(attr::CODE_FUNCTION_NAME, *function));
    }
    if let Ok(mut fields) = shared.handler_attributes.lock() {
        for field in fields.drain(..) {
            span.set_attribute(field);
        }
    }
    let status = shared.status.load(Ordering::Acquire);
    let handler_error = shared
        .handler_error
        .lock()
        .ok()
        .and_then(|mut error| error.take());
    // The error that explains the request's end: the handler's, else the call's own (a panic).
    let mut error = handler_error
        .and_then(|report| report.error)
        .or(report.error);
    if let Some(error) = error.as_mut().filter(|_| span.is_recorded()) {
        // A handler's error or a panic: the program's text, redacted as every error message
        // (only for a span that records it).
        super::redact_in_place(&dispatch.content.redaction, &mut error.message);
    }
    let failed = status >= 500 || (status == 0 && report.outcome.is_error());
    if status != 0 {
        span.set_attribute(KeyValue::new(
            names::HTTP_RESPONSE_STATUS_CODE,
            i64::from(status),
        ));
    }
    serving.duration.status = status;
    if let Some(error) = &error {
        span.add_event(
            event::EXCEPTION,
            vec![
                KeyValue::new(
                    attr::EXCEPTION_TYPE,
                    super::cow_value(error.type_name.clone()),
                ),
                KeyValue::new(attr::EXCEPTION_MESSAGE, error.message.clone()),
            ],
        );
    }
    let seconds = elapsed.as_secs_f64();
    let instruments = &dispatch.instruments;
    if failed {
        let error_type = match &error {
            Some(error) => super::cow_value(error.type_name.clone()),
            None => Value::from(status.to_string()),
        };
        let error_type = KeyValue::new(attr::ERROR_TYPE, error_type);
        span.set_attribute(error_type.clone());
        let description = error.map(|error| error.message).unwrap_or_default();
        span.set_status(Status::error(description));
        // Recorded unbound: `error.type` is not part of the bound histograms' key.
        let mut labels = serving.duration.labels();
        labels.push(error_type);
        instruments.http_server_duration.record(seconds, &labels);
    } else {
        instruments.record_http_server_duration(&serving.duration, seconds);
    }
    active_requests_add(dispatch, serving.active, -1);
}

/// The call site of every request's call: the span's name and `code.function.name` come from
/// the request and its handler, not from here.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) static SERVER_SITE: super::CallSite = super::CallSite {
    kind: super::CallKind::HttpServer,
    name: "http.server",
    function: "",
    cache: super::SiteCache::new(),
};

#[cfg_attr(not(feature = "axum"), allow(dead_code))]
impl super::Call {
    /// A call that records nothing: a request served while nothing is installed, or one an outer
    /// layer serves already.
    pub(crate) fn inert() -> super::Call {
        super::Call { active: None }
    }

    /// Records the response's status code, when its head is ready.
    pub(crate) fn http_response_status(&self, status: u16) {
        if let Some(active) = &self.active {
            if let KindState::HttpServer(serving) = &active.kind {
                serving.shared.status.store(status, Ordering::Release);
            }
        }
    }

    /// The request's context, for the inner service's `call` (middleware may start work there).
    pub(crate) fn attach(&self) -> Option<opentelemetry::ContextGuard> {
        self.active
            .as_ref()
            .map(|active| active.cx.clone().attach())
    }
}

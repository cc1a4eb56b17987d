//! `#[handler]`: a product's handler function (an HTTP handler, a background job, a CLI
//! command), decided at run time by where it is called.
//!
//! - Directly under a request that [`crate::HttpServerLayer`] serves, it opens no span of its
//!   own: it enriches the request's SERVER span with its `code.function.name` and its error, so
//!   that each request has exactly one span, as the HTTP conventions expect.
//! - Anywhere else (off HTTP, or a second `#[handler]` called by the first) it is an INTERNAL
//!   span named after the handler, with `handler.name`, `handler.outcome`, `code.function.name`,
//!   errors as a stage records them, and the histogram `handler.duration`.

use super::http_server::{RequestShared, RequestState};
use super::{Active, CallSite, KindState, Opening};
use crate::names::{attr, handler};
use crate::outcome::{OutcomeKind, Report};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn open(site: &'static CallSite, parent: &Context) -> Opening {
    if let Some(request) = parent.get::<RequestState>() {
        // The first handler of a request claims its SERVER span; later ones get their own span.
        if request.0.handler.set(site.function).is_ok() {
            return Opening {
                name: Cow::Borrowed(site.name),
                span_kind: SpanKind::Internal,
                state: KindState::HandlerInRequest(Arc::clone(&request.0)),
                context_value: None,
                opens_span: false,
            };
        }
    }
    Opening {
        name: Cow::Borrowed(site.name),
        span_kind: SpanKind::Internal,
        state: KindState::Handler,
        context_value: None,
        opens_span: true,
    }
}

/// A handler with a span of its own: its duration histogram.
pub(crate) fn end(active: &Active, outcome: OutcomeKind, elapsed: Duration) {
    super::record_duration(
        active,
        &active.dispatch.instruments.handler_duration,
        outcome,
        elapsed.as_secs_f64(),
        || {
            [
                KeyValue::new(handler::HANDLER_NAME, active.site.name),
                KeyValue::new(attr::OUTCOME, outcome.as_str()),
            ]
        },
    );
}

/// A handler under a request: its error goes to the request's span, which reads it when the
/// response ends; its duration is the request's (`http.server.request.duration`).
pub(crate) fn end_in_request(request: &RequestShared, report: Report) {
    if report.error.is_some() {
        if let Ok(mut error) = request.handler_error.lock() {
            *error = Some(report);
        }
    }
}

//! HTTP clients built with `reqwest-middleware` (feature `reqwest-middleware`): a middleware
//! that does what [`send_traced`](super::RequestBuilderExt::send_traced) does, for programs
//! whose requests already go through a `ClientWithMiddleware`.
//!
//! ```no_run
//! use factory_observability::propagation::TracingMiddleware;
//!
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     // Last, below a retry middleware: each attempt is a CLIENT span of its own, as the
//!     // HTTP client conventions ask ("each time a request is resent").
//!     .with(TracingMiddleware::new())
//!     .build();
//! ```
//!
//! Each request that reaches it is one CLIENT span, child of the current context, with the
//! same attributes, status rule, metric and header injection as `send_traced()` (see
//! [the module above](super)); `send_traced()` and this middleware share their code. An error of a
//! middleware below it (not a transport error) is recorded as `error.type` `_OTHER` with the
//! middleware's message chain.

use super::{error_ending, response_ending, target_of, SITE};
use crate::call::http_client::HttpResponse;
use crate::call::{Call, Ending};
use crate::carriers::inject_into_headers;
use crate::outcome::{ErrorDetails, OutcomeKind, Report};
use http::Extensions;
use opentelemetry::Context;
use std::borrow::Cow;

/// The `reqwest-middleware` middleware: one CLIENT span per request sent through it, with
/// `traceparent`, `tracestate` and `baggage` of that span on the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingMiddleware {
    _private: (),
}

impl TracingMiddleware {
    /// The middleware.
    pub fn new() -> TracingMiddleware {
        TracingMiddleware::default()
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for TracingMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let target = target_of(&request);
        Call::start(&SITE, |fields| fields.http_target(target))
            .instrument(
                async move {
                    // Polled inside the call: the current context is the CLIENT span's.
                    inject_into_headers(&Context::current(), request.headers_mut());
                    next.run(request, extensions).await
                },
                ending,
            )
            .await
    }
}

fn ending(result: &reqwest_middleware::Result<reqwest::Response>) -> Ending {
    match result {
        Ok(response) => response_ending(response),
        Err(reqwest_middleware::Error::Reqwest(error)) => error_ending(error),
        Err(reqwest_middleware::Error::Middleware(error)) => {
            let report = Report {
                outcome: OutcomeKind::Failure,
                error: Some(ErrorDetails {
                    // The conventions' fallback `error.type`, as for an unknown transport error.
                    type_name: Cow::Borrowed("_OTHER"),
                    message: error
                        .chain()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(": "),
                }),
                message: None,
            };
            Ending::from((report, HttpResponse { status: None }))
        }
    }
}

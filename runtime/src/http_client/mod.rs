//! HTTP clients (feature `reqwest`): a request that continues the current trace into the
//! service it calls.
//!
//! ```no_run
//! use factory_observability::pipeline_stage;
//! use factory_observability::propagation::RequestBuilderExt as _;
//!
//! #[pipeline_stage(name = "smoke")]
//! async fn smoke(client: &reqwest::Client, base: &str) -> Result<(), reqwest::Error> {
//!     // A CLIENT span `GET` under this stage; the product's server span is its child.
//!     client.get(format!("{base}/health")).send_traced().await?.error_for_status()?;
//!     Ok(())
//! }
//! ```
//!
//! **Why an extension trait on `reqwest::RequestBuilder`** first, and a `reqwest-middleware`
//! middleware ([`middleware`], feature `reqwest-middleware`) only for programs
//! that already use that crate: it works on the `reqwest::Client` a program already has (a middleware needs
//! every call site to move to `ClientWithMiddleware`, a type of another crate whose releases
//! must follow reqwest's), it adds no dependency, and it is visible where the request is made.
//! What both designs must get right, and what users of the existing crates hit:
//!
//! - The context comes from OpenTelemetry's `Context::current()`, which the macros set: no
//!   `tracing` span is needed for anything to be injected (reqwest-tracing injects nothing
//!   without one).
//! - The headers carry the CLIENT span's context, not the caller's, so the server's span is a
//!   child of the request, not a sibling of it (headers injected by hand before the client span
//!   exists get this wrong).
//! - The CLIENT span is recorded by the same machinery as the macros' spans (sampled by the
//!   configured sampler, batched by the span export thread, counted in the delivery report).
//! - `url.full` never holds credentials (`REDACTED:REDACTED@`) nor the values of sensitive
//!   query parameters ([`crate::names::http_client::SENSITIVE_QUERY_KEYS`]), and the metric has
//!   no URL at all.
//!
//! Its cost is that each request opts in (`send_traced()` instead of `send()`); a request sent
//! with `send()` is not traced and carries no context.

#[cfg(feature = "reqwest-middleware")]
pub mod middleware;

#[cfg(feature = "reqwest-middleware")]
pub use middleware::TracingMiddleware;

use crate::call::http_client::{HttpResponse, HttpTarget};
use crate::call::{Call, CallKind, CallSite, Ending, SiteCache};
use crate::carriers::inject_into_headers;
use crate::names::http_client::{REDACTED, SENSITIVE_QUERY_KEYS};
use crate::outcome::{ErrorDetails, OutcomeKind, Report};
use opentelemetry::Context;
use std::borrow::Cow;
use std::future::Future;

/// Every request sent with `send_traced` (or through the `reqwest-middleware` middleware) is one
/// call of this site.
pub(crate) static SITE: CallSite = CallSite {
    kind: CallKind::HttpClient,
    name: "http.client",
    function: "",
    cache: SiteCache::new(),
};

/// `send_traced()`: [`reqwest::RequestBuilder::send`] in the current trace.
pub trait RequestBuilderExt {
    /// Sends the request under a CLIENT span, child of the current context, with
    /// `traceparent`, `tracestate` and `baggage` of that span; returns what `send` returns.
    /// A 4xx or 5xx response is an error on the span (not an `Err`: call
    /// `error_for_status()` as usual).
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send {
        let (client, request) = self.build_split();
        async move {
            let mut request = request?;
            let target = target_of(&request);
            Call::start(&SITE, |fields| fields.http_target(target))
                .instrument(
                    async move {
                        // Polled inside the call: the current context is the CLIENT span's
                        // (the caller's when nothing is installed, still propagated).
                        inject_into_headers(&Context::current(), request.headers_mut());
                        client.execute(request).await
                    },
                    ending,
                )
                .await
        }
    }
}

pub(crate) fn target_of(request: &reqwest::Request) -> HttpTarget {
    let url = request.url();
    HttpTarget::new(
        request.method().as_str(),
        url.host_str().unwrap_or_default().to_owned(),
        url.port_or_known_default().unwrap_or_default(),
        url.scheme().to_owned(),
        redacted(url),
    )
}

/// `url` without credentials and without the values of sensitive query parameters.
pub fn redacted(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username(REDACTED);
        let _ = url.set_password(Some(REDACTED));
    }
    let sensitive = |key: &str| {
        SENSITIVE_QUERY_KEYS
            .iter()
            .any(|sensitive| sensitive.eq_ignore_ascii_case(key))
    };
    if url.query_pairs().any(|(key, _)| sensitive(&key)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if sensitive(&key) {
                    REDACTED.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// The call's ending: the status code; a 4xx or 5xx is a failure; a transport error is a
/// failure (`timeout` is its own outcome) whose `error.type` says which kind.
fn ending(result: &reqwest::Result<reqwest::Response>) -> Ending {
    match result {
        Ok(response) => response_ending(response),
        Err(error) => error_ending(error),
    }
}

/// The ending of a request that got a response: its status code; a 4xx or 5xx is a failure.
pub(crate) fn response_ending(response: &reqwest::Response) -> Ending {
    let status = response.status();
    let report = if status.is_client_error() || status.is_server_error() {
        Report {
            outcome: OutcomeKind::Failure,
            error: None,
            message: Some(format!("HTTP {status}")),
        }
    } else {
        Report::of(OutcomeKind::Success)
    };
    Ending::from((
        report,
        HttpResponse {
            status: Some(status.as_u16()),
        },
    ))
}

/// The ending of a transport error (`timeout` is its own outcome), with its `error.type`.
pub(crate) fn error_ending(error: &reqwest::Error) -> Ending {
    let outcome = if error.is_timeout() {
        OutcomeKind::Timeout
    } else {
        OutcomeKind::Failure
    };
    let report = Report {
        outcome,
        error: Some(ErrorDetails {
            type_name: Cow::Borrowed(error_type(error)),
            message: message_without_url(error),
        }),
        message: None,
    };
    Ending::from((report, HttpResponse { status: None }))
}

/// A low-cardinality `error.type` for a transport error.
fn error_type(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_redirect() {
        "redirect"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_request() {
        "request"
    } else if error.is_builder() {
        "builder"
    } else {
        "_OTHER"
    }
}

/// The error's causes, without the URL reqwest's own message repeats (it may hold secrets).
fn message_without_url(error: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        format!("{} error", error_type(error))
    } else {
        causes.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_secret_query_values_are_redacted() {
        let url: reqwest::Url =
            "https://user:pass@api.example.com:8443/tasks/7?page=2&Token=abc&sig=x#top"
                .parse()
                .unwrap();
        assert_eq!(
            redacted(&url),
            "https://REDACTED:REDACTED@api.example.com:8443/tasks/7?page=2&Token=REDACTED&sig=REDACTED#top"
        );
        let plain: reqwest::Url = "http://127.0.0.1:3000/health?q=a%20b".parse().unwrap();
        assert_eq!(redacted(&plain), "http://127.0.0.1:3000/health?q=a%20b");
    }

    #[test]
    fn unknown_methods_are_other() {
        let target = HttpTarget::new("PURGE", "h".into(), 80, "http".into(), "http://h/".into());
        assert_eq!(target.method, "_OTHER");
        assert_eq!(target.method_original.as_deref(), Some("PURGE"));
    }
}

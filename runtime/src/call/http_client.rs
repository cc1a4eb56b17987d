//! An HTTP client call (the `reqwest` feature's `send_traced`): a CLIENT span named after the
//! method with the stable HTTP client conventions, and `http.client.request.duration`.
//!
//! Status (client rule): ERROR for a 4xx or 5xx response and for a transport error, unset
//! otherwise. `error.type` is the status code as text, or the kind of transport error.

use super::span::CallSpan;
use super::{Active, KindState, Opening};
use crate::names::{attr, http_client as names};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use std::borrow::Cow;
use std::time::Duration;

/// What a request is sent to, as the span and the metric label it.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct HttpTarget {
    /// The convention's method (`GET`, ..., `_OTHER`).
    pub method: Cow<'static, str>,
    /// The method as sent, when it is not one of the convention's.
    pub method_original: Option<String>,
    pub server_address: String,
    pub server_port: u16,
    pub scheme: String,
    /// The URL, already without credentials and secrets.
    pub url_full: String,
}

impl HttpTarget {
    /// The convention's methods, as `&'static str` so that names and labels borrow them.
    const KNOWN_METHODS: [&'static str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];

    /// A target for `method` (as sent) and the URL's parts.
    pub fn new(
        method: &str,
        server_address: String,
        server_port: u16,
        scheme: String,
        url_full: String,
    ) -> Self {
        let known = Self::KNOWN_METHODS.iter().find(|known| **known == method);
        HttpTarget {
            method: Cow::Borrowed(known.copied().unwrap_or(names::OTHER_METHOD)),
            method_original: known.is_none().then(|| method.to_owned()),
            server_address,
            server_port,
            scheme,
            url_full,
        }
    }
}

/// How a request ended, read from its result at the call site.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    /// The response's status code, when one came back.
    pub status: Option<u16>,
}

pub(crate) fn open(target: HttpTarget, attributes: &mut Vec<KeyValue>) -> Opening {
    let name = if target.method_original.is_some() {
        Cow::Borrowed(names::SPAN_NAME_OTHER_METHOD)
    } else {
        target.method.clone()
    };
    attributes.push(KeyValue::new(
        names::HTTP_REQUEST_METHOD,
        super::cow_value(target.method.clone()),
    ));
    if let Some(original) = &target.method_original {
        attributes.push(KeyValue::new(
            names::HTTP_REQUEST_METHOD_ORIGINAL,
            original.clone(),
        ));
    }
    attributes.push(KeyValue::new(
        names::SERVER_ADDRESS,
        target.server_address.clone(),
    ));
    attributes.push(KeyValue::new(
        names::SERVER_PORT,
        i64::from(target.server_port),
    ));
    attributes.push(KeyValue::new(names::URL_FULL, target.url_full.clone()));
    Opening {
        name,
        span_kind: SpanKind::Client,
        state: KindState::HttpClient(Box::new(target)),
        context_value: None,
        opens_span: true,
    }
}

/// The status code and, for 4xx and 5xx, `error.type`; the duration metric. A transport
/// error's `error.type` and status come from its report, as for any failed call.
pub(crate) fn end(
    active: &Active,
    span: &mut CallSpan,
    target: &HttpTarget,
    response: &HttpResponse,
    error_type: Option<Cow<'static, str>>,
    elapsed: Duration,
) {
    let mut labels = vec![
        KeyValue::new(
            names::HTTP_REQUEST_METHOD,
            super::cow_value(target.method.clone()),
        ),
        KeyValue::new(names::SERVER_ADDRESS, target.server_address.clone()),
        KeyValue::new(names::SERVER_PORT, i64::from(target.server_port)),
        KeyValue::new(names::URL_SCHEME, target.scheme.clone()),
    ];
    if let Some(status) = response.status {
        let code = KeyValue::new(names::HTTP_RESPONSE_STATUS_CODE, i64::from(status));
        span.set_attribute(code.clone());
        labels.push(code);
        if status >= 400 {
            let error_type = KeyValue::new(attr::ERROR_TYPE, status.to_string());
            span.set_attribute(error_type.clone());
            labels.push(error_type);
        }
    } else if let Some(error_type) = error_type {
        labels.push(KeyValue::new(
            attr::ERROR_TYPE,
            super::cow_value(error_type),
        ));
    }
    active
        .dispatch
        .instruments
        .http_client_duration
        .record(elapsed.as_secs_f64(), &labels);
}

/// The client rule: a span that did not fail keeps its status unset (not OK).
pub(crate) fn settle_status(span: &mut CallSpan, outcome: OutcomeKind) {
    if !outcome.is_error() {
        span.set_status(Status::Unset);
    }
}

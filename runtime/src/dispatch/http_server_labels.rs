//! The label sets of the HTTP server metrics as keys: what tells one bound instrument from
//! another. Shared by the server's call (`call::http_server`, which builds them from a request)
//! and the pipeline's instruments (which keep the instruments bound to them), so that neither
//! imports the other.

use crate::names::http_server as names;
use opentelemetry::{KeyValue, StringValue};

/// The methods the conventions name, `_OTHER` last: `http.server.active_requests` has one bound
/// counter per method and scheme (see [`crate::dispatch::Instruments::http_server_active_for`]).
pub(crate) const KNOWN_METHODS: [&str; 10] = [
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "HEAD",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    names::METHOD_OTHER,
];

/// The labels of `http.server.request.duration` of a request that did not fail (a failed one
/// adds `error.type` and is recorded unbound): what tells one bound histogram from another.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct DurationKey {
    pub active: ActiveKey,
    /// `http.route`: kept once per route (see `http::routes`), or a copy.
    pub route: Option<StringValue>,
    pub version: Option<&'static str>,
    /// 0 until the response's status is known.
    pub status: u16,
}

/// The labels of `http.server.active_requests`: `http.request.method` and `url.scheme`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ActiveKey {
    method: u8,
    https: bool,
}

impl DurationKey {
    /// The labels the key stands for, with room for `error.type`: built only when a histogram
    /// is bound to them, or for a request recorded unbound.
    pub fn labels(&self) -> Vec<KeyValue> {
        let mut labels = Vec::with_capacity(6);
        labels.push(KeyValue::new(
            names::HTTP_REQUEST_METHOD,
            self.active.method(),
        ));
        if let Some(route) = &self.route {
            labels.push(KeyValue::new(names::HTTP_ROUTE, route.clone()));
        }
        labels.push(KeyValue::new(names::URL_SCHEME, self.active.scheme()));
        if let Some(version) = self.version {
            labels.push(KeyValue::new(names::NETWORK_PROTOCOL_VERSION, version));
        }
        if self.status != 0 {
            labels.push(KeyValue::new(
                names::HTTP_RESPONSE_STATUS_CODE,
                i64::from(self.status),
            ));
        }
        labels
    }
}

impl ActiveKey {
    /// The number of distinct keys.
    pub const COUNT: usize = KNOWN_METHODS.len() * 2;

    /// `method` is one of [`KNOWN_METHODS`] (anything else counts as `_OTHER`).
    pub fn new(method: &str, https: bool) -> ActiveKey {
        let method = KNOWN_METHODS
            .iter()
            .position(|known| *known == method)
            .unwrap_or(KNOWN_METHODS.len() - 1);
        ActiveKey {
            method: method as u8,
            https,
        }
    }

    /// Its index among the [`ActiveKey::COUNT`] keys.
    pub fn index(self) -> usize {
        usize::from(self.method) * 2 + usize::from(self.https)
    }

    /// `http.request.method`: one of [`KNOWN_METHODS`].
    pub fn method(self) -> &'static str {
        KNOWN_METHODS[self.method_index()]
    }

    /// The method's index in [`KNOWN_METHODS`].
    pub fn method_index(self) -> usize {
        usize::from(self.method)
    }

    /// `url.scheme`.
    pub fn scheme(self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }

    pub fn labels(self) -> [KeyValue; 2] {
        [
            KeyValue::new(names::HTTP_REQUEST_METHOD, self.method()),
            KeyValue::new(names::URL_SCHEME, self.scheme()),
        ]
    }
}

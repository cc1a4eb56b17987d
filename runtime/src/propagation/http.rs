//! Carriers over `http::HeaderMap`, for servers (extract) and clients (inject).

use super::trace_context::{
    parse_traceparent_bytes, remote_parent_of, RemoteParent, TRACEPARENT_LEN,
};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
#[cfg(feature = "axum")]
use opentelemetry::trace::SpanContext;
use opentelemetry::Context;

/// Reads propagation headers from a request. Unlike a carrier that sees one value per name,
/// [`Extractor::get_all`] returns every occurrence of a header, in order: W3C Trace Context
/// needs them to reject a repeated `traceparent` and to combine several `tracestate` headers.
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes propagation headers into a request; names or values that are not valid in HTTP are
/// skipped rather than sent malformed.
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The context a request's headers carry (`traceparent`, `tracestate`, `baggage`), on top of
/// the current one; the current context when the headers carry none or a malformed one.
///
/// While the installed propagator is [`W3cPropagator`](super::W3cPropagator) (what
/// [`crate::init`] installs), the headers are read straight from the map: no `Vec` of header
/// values, no dynamic dispatch, and the baggage propagator runs only when a `baggage` header is
/// present. The result is the same as through the propagator (this module's tests compare both).
pub fn extract_from_headers(headers: &HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        if super::is_w3c(propagator) {
            extract_w3c(headers)
        } else {
            propagator.extract(&HeaderExtractor(headers))
        }
    })
}

// Names built once: looking a `&str` up parses and validates it first (~300 instructions).
static TRACEPARENT: HeaderName = HeaderName::from_static(super::trace_context::TRACEPARENT);
static TRACESTATE: HeaderName = HeaderName::from_static(super::trace_context::TRACESTATE);
static BAGGAGE: HeaderName = HeaderName::from_static(super::BAGGAGE);

/// [`W3cPropagator`](super::W3cPropagator)'s extraction from a header map, on top of the
/// current context. Values that are not visible ASCII are skipped, as [`HeaderExtractor`] skips
/// them.
fn extract_w3c(headers: &HeaderMap) -> Context {
    let current = Context::current();
    let cx = match remote_parent(headers) {
        Some(parent) => parent.into_context(&current),
        None => current,
    };
    if headers.contains_key(&BAGGAGE) {
        opentelemetry_sdk::propagation::BaggagePropagator::new()
            .extract_with_context(&cx, &HeaderExtractor(headers))
    } else {
        cx
    }
}

/// What a request's headers say of its caller, for a server that starts the request's span
/// itself ([`crate::HttpServerLayer`]).
#[cfg(feature = "axum")]
pub(crate) enum Incoming {
    /// No valid `traceparent`: the current context is the request's parent.
    Nothing,
    /// The caller's span and nothing else: the request's span is started under it without a
    /// context built to hold it.
    Parent(SpanContext),
    /// A context holding more than the caller's span (baggage, a `tracestate` OpenTelemetry
    /// cannot hold), or what another installed propagator extracted.
    Context(Context),
}

/// [`extract_from_headers`], except that a caller's span alone is not put into a new context.
#[cfg(feature = "axum")]
pub(crate) fn incoming(headers: &HeaderMap) -> Incoming {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        if !super::is_w3c(propagator) {
            return Incoming::Context(propagator.extract(&HeaderExtractor(headers)));
        }
        if headers.contains_key(&BAGGAGE) {
            return Incoming::Context(extract_w3c(headers));
        }
        match remote_parent(headers).map(RemoteParent::span_context_only) {
            None => Incoming::Nothing,
            Some(Ok(span_context)) => Incoming::Parent(span_context),
            Some(Err(parent)) => Incoming::Context(parent.into_context(&Context::current())),
        }
    })
}

/// The caller's span of the `traceparent` and `tracestate` headers, read as
/// [`HeaderExtractor`] would give them: values that are not visible ASCII are skipped.
fn remote_parent(headers: &HeaderMap) -> Option<RemoteParent> {
    let mut traceparents = headers.get_all(&TRACEPARENT).into_iter();
    // The first value that is text, parsed from its bytes: a valid version-00 value is text,
    // so only a value that fails (or a longer one, of a later version) is checked as text.
    let parent = loop {
        let value = traceparents.next()?;
        match parse_traceparent_bytes(value.as_bytes()) {
            Ok(parent) if value.len() == TRACEPARENT_LEN || value.to_str().is_ok() => break parent,
            _ if value.to_str().is_err() => continue,
            _ => return None,
        }
    };
    if traceparents.any(|value| value.to_str().is_ok()) {
        return None; // TraceparentError::Repeated
    }
    let tracestates = headers
        .get_all(&TRACESTATE)
        .into_iter()
        .filter_map(|value| value.to_str().ok());
    Some(remote_parent_of(parent, tracestates))
}

/// Writes `cx`'s trace context and baggage into `headers`.
pub fn inject_into_headers(cx: &Context, headers: &mut HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut HeaderInjector(headers))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::TraceContextExt;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const OTHER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    /// What the direct reading finds: the remote span context (trace, parent, flags, tracestate
    /// header) and the baggage, as text to compare.
    fn summary(cx: &Context) -> String {
        let span = cx.span();
        let sc = span.span_context();
        let mut baggage: Vec<String> = cx
            .baggage()
            .iter()
            .map(|(key, (value, _))| format!("{key}={value}"))
            .collect();
        baggage.sort();
        format!(
            "{}-{}-{:02x}-{}-{} [{}] {:?}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8(),
            sc.is_remote(),
            sc.is_valid(),
            sc.trace_state().header(),
            baggage
        )
    }

    #[test]
    fn direct_reading_matches_the_propagator() {
        let cases: Vec<HeaderMap> = vec![
            headers(&[]),
            headers(&[("traceparent", PARENT.as_bytes())]),
            headers(&[(
                "traceparent",
                b" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03\t",
            )]),
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("traceparent", OTHER.as_bytes()),
            ]),
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("traceparent", b"caf\xc3\xa9"),
            ]),
            headers(&[
                ("traceparent", b"caf\xc3\xa9"),
                ("traceparent", PARENT.as_bytes()),
            ]),
            headers(&[(
                "traceparent",
                b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-\xc3\xa9",
            )]),
            headers(&[(
                "traceparent",
                b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later",
            )]),
            headers(&[(
                "traceparent",
                b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            )]),
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("tracestate", b"congo=t61rcWkgMzE"),
            ]),
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("tracestate", b"congo=t61rcWkgMzE"),
                ("tracestate", b"rojo=00f067aa0ba902b7,,"),
            ]),
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("tracestate", b"congo=1,congo=2"),
            ]),
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("tracestate", b"tenant@abcdefghijklmn=1"),
            ]),
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("baggage", b"user=alice,team=obs"),
            ]),
            headers(&[("baggage", b"user=alice")]),
            headers(&[("tracestate", b"congo=t61rcWkgMzE")]),
        ];
        let propagator = crate::propagation::propagator();
        for (index, map) in cases.iter().enumerate() {
            let direct = extract_w3c(map);
            let through = propagator.extract(&HeaderExtractor(map));
            assert_eq!(summary(&direct), summary(&through), "case {index}");
        }
        // The cases are not all the empty context.
        let valid = extract_w3c(&cases[10]);
        assert_eq!(
            summary(&valid),
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-true-true \
             [congo=t61rcWkgMzE,rojo=00f067aa0ba902b7] []"
        );
        assert!(!extract_w3c(&cases[3]).span().span_context().is_valid());
        assert_eq!(
            extract_w3c(&cases[13])
                .baggage()
                .get("user")
                .map(|v| v.as_str().to_owned()),
            Some("alice".to_owned())
        );
    }

    #[test]
    fn only_the_w3c_propagator_is_taken_for_itself() {
        assert!(crate::propagation::is_w3c(&crate::propagation::propagator()));
        assert!(!crate::propagation::is_w3c(
            &crate::propagation::TraceContextPropagator::new()
        ));
        assert!(!crate::propagation::is_w3c(
            &opentelemetry::propagation::TextMapCompositePropagator::new(vec![
                Box::new(crate::propagation::TraceContextPropagator::new()),
                Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()),
            ])
        ));
    }
}

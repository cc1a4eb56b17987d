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
    opentelemetry::global::get_text_map_propagator(|propagator| incoming_with(propagator, headers))
}

/// [`incoming`] with `propagator` installed.
#[cfg(feature = "axum")]
fn incoming_with(propagator: &dyn TextMapPropagator, headers: &HeaderMap) -> Incoming {
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

    /// What a reading of the headers found, as text to compare: the remote span context (trace,
    /// parent, flags, its `TraceState`), the baggage, and the `tracestate` the context sends on
    /// (which includes a list `TraceState` cannot hold, kept beside it).
    fn summary(cx: &Context) -> String {
        let span = cx.span();
        let sc = span.span_context();
        let mut baggage: Vec<String> = cx
            .baggage()
            .iter()
            .map(|(key, (value, _))| format!("{key}={value}"))
            .collect();
        baggage.sort();
        let mut sent = HeaderMap::new();
        crate::carriers::propagator().inject_context(cx, &mut HeaderInjector(&mut sent));
        let sent: Vec<&str> = sent
            .get_all(&TRACESTATE)
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect();
        format!(
            "{}-{}-{:02x}-{}-{} [{}] {:?} sends {:?}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8(),
            sc.is_remote(),
            sc.is_valid(),
            sc.trace_state().header(),
            baggage,
            sent
        )
    }

    /// The summaries of the three readings of `map`: the server's direct reading, the
    /// propagator through an `Extractor`, and (feature `axum`) what `HttpServerLayer` starts its
    /// span under.
    fn readings(map: &HeaderMap) -> [String; 3] {
        let direct = summary(&extract_w3c(map));
        let through = summary(&crate::carriers::propagator().extract(&HeaderExtractor(map)));
        #[cfg(feature = "axum")]
        let served = summary(&match incoming_with(&crate::carriers::propagator(), map) {
            Incoming::Nothing => Context::current(),
            Incoming::Parent(span_context) => {
                Context::current().with_remote_span_context(span_context)
            }
            Incoming::Context(cx) => cx,
        });
        #[cfg(not(feature = "axum"))]
        let served = direct.clone();
        [direct, through, served]
    }

    /// `tracestate` lists of section "Key" of the current Level 2 text (`@` is a `keychar`
    /// anywhere after the first character, 256 characters at most) and of "Combined Header
    /// Value" (one entry per key), each after a valid `traceparent`: what the server reads, what
    /// the propagator reads and what both send on.
    fn tracestate_cases() -> Vec<(Vec<String>, String, String)> {
        let tenant_242 = format!("{}@v", "t".repeat(242));
        let system_15 = format!("t@{}", "v".repeat(15));
        let longest = "k".repeat(256);
        let too_long = "k".repeat(257);
        // (headers, the span context's `TraceState`, what is sent on)
        let case = |states: &[&str], held: &str, sent: &str| {
            let states = states.iter().map(|s| (*s).to_owned()).collect();
            (states, held.to_owned(), sent.to_owned())
        };
        vec![
            case(&["foo@=1,bar=2"], "foo@=1,bar=2", "foo@=1,bar=2"),
            // Keys OpenTelemetry's `TraceState` rejects: the span context holds the others.
            case(&["foo@@bar=1,bar=2"], "bar=2", "foo@@bar=1,bar=2"),
            case(&["foo@bar@baz=1,bar=2"], "bar=2", "foo@bar@baz=1,bar=2"),
            case(
                &[&format!("{system_15}=1,bar=2")],
                "bar=2",
                &format!("{system_15}=1,bar=2"),
            ),
            case(
                &[&format!("{tenant_242}=1,bar=2")],
                &format!("{tenant_242}=1,bar=2"),
                &format!("{tenant_242}=1,bar=2"),
            ),
            case(
                &[&format!("{longest}=1")],
                &format!("{longest}=1"),
                &format!("{longest}=1"),
            ),
            case(&["1congo=1"], "1congo=1", "1congo=1"),
            // Lists that do not parse.
            case(&[&format!("{too_long}=1,bar=2")], "", ""),
            case(&["@foo=1,bar=2"], "", ""),
            // One entry per key: the first.
            case(&["foo=1,foo=1"], "foo=1", "foo=1"),
            case(&["foo=1", "foo=1"], "foo=1", "foo=1"),
            case(&["foo=1,bar=2,foo=3"], "foo=1,bar=2", "foo=1,bar=2"),
            case(
                &["foo=1,x@@y=2", "foo=3,bar=4"],
                "foo=1,bar=4",
                "foo=1,x@@y=2,bar=4",
            ),
        ]
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
            headers(&[
                ("traceparent", PARENT.as_bytes()),
                ("tracestate", b"foo@@bar=1"),
                ("baggage", b"user=alice"),
            ]),
        ];
        for (index, map) in cases.iter().enumerate() {
            let [direct, through, served] = readings(map);
            assert_eq!(direct, through, "case {index}");
            assert_eq!(direct, served, "case {index}");
        }
        // The cases are not all the empty context.
        let valid = extract_w3c(&cases[10]);
        assert_eq!(
            summary(&valid),
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-true-true \
             [congo=t61rcWkgMzE,rojo=00f067aa0ba902b7] [] \
             sends [\"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7\"]"
        );
        assert!(!extract_w3c(&cases[3]).span().span_context().is_valid());
        assert_eq!(
            extract_w3c(&cases[13])
                .baggage()
                .get("user")
                .map(|v| v.as_str().to_owned()),
            Some("alice".to_owned())
        );
        assert!(
            summary(&extract_w3c(&cases[16])).ends_with("[\"user=alice\"] sends [\"foo@@bar=1\"]")
        );

        for (states, held, sent) in tracestate_cases() {
            let mut map = headers(&[("traceparent", PARENT.as_bytes())]);
            for state in &states {
                map.append("tracestate", HeaderValue::from_str(state).unwrap());
            }
            let [direct, through, served] = readings(&map);
            assert_eq!(direct, through, "{states:?}");
            assert_eq!(direct, served, "{states:?}");
            let sent: Vec<String> = [sent].into_iter().filter(|s| !s.is_empty()).collect();
            assert_eq!(
                direct,
                format!(
                    "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-true-true [{held}] [] \
                     sends {sent:?}"
                ),
                "{states:?}"
            );
        }
    }

    /// Bytes of a header value, biased towards `tracestate` lists of the current key grammar.
    fn tracestate_value() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let member = ("[a-z0-9][a-z0-9_*/@-]{0,20}", "[ -+--<>-~]{0,6}[!-+--<>-~]")
            .prop_map(|(key, value)| format!("{key}={value}"));
        prop_oneof![
            proptest::collection::vec(member, 0..6).prop_map(|members| members
                .join(if members.len() % 2 == 0 { "," } else { " ,\t" })
                .into_bytes()),
            proptest::collection::vec(
                prop_oneof![
                    Just(b'@'),
                    Just(b','),
                    Just(b'='),
                    0x20u8..=0x7e,
                    0x80u8..=0xff
                ],
                0..30
            ),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The server's reading and the propagator's agree on any `tracestate` headers.
        #[test]
        fn direct_reading_matches_the_propagator_on_any_tracestate(
            states in proptest::collection::vec(tracestate_value(), 0..4),
            with_parent: bool,
        ) {
            let mut map = HeaderMap::new();
            if with_parent {
                map.append("traceparent", HeaderValue::from_static(PARENT));
            }
            for state in &states {
                map.append("tracestate", HeaderValue::from_bytes(state).unwrap());
            }
            let [direct, through, served] = readings(&map);
            proptest::prop_assert_eq!(&direct, &through);
            proptest::prop_assert_eq!(&direct, &served);
        }
    }

    #[test]
    fn only_the_w3c_propagator_is_taken_for_itself() {
        assert!(crate::carriers::is_w3c(&crate::carriers::propagator()));
        assert!(!crate::carriers::is_w3c(
            &crate::carriers::TraceContextPropagator::new()
        ));
        assert!(!crate::carriers::is_w3c(
            &opentelemetry::propagation::TextMapCompositePropagator::new(vec![
                Box::new(crate::carriers::TraceContextPropagator::new()),
                Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()),
            ])
        ));
    }
}

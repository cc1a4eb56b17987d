//! Properties of the W3C Trace Context propagator over arbitrary headers: no value makes it
//! panic, and whatever it sends on is itself valid Trace Context.

use factory_observability::propagation::trace_context::{parse_traceparent, parse_tracestate};
use factory_observability::propagation::{extract_from_headers, inject_into_headers};
use http::header::{HeaderMap, HeaderValue};
use opentelemetry::trace::TraceContextExt as _;
use proptest::prelude::*;

/// Bytes an HTTP header value may hold (visible ASCII, space, tab, obs-text), biased towards
/// what Trace Context is made of so that near-valid values are common.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let near_valid = prop_oneof![
        Just(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec()),
        Just(b"foo=1,bar@baz=2".to_vec()),
    ];
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![
                Just(b'-'),
                Just(b','),
                Just(b'='),
                Just(b'@'),
                Just(b' '),
                Just(b'\t'),
                b'0'..=b'9',
                b'a'..=b'f',
                b'A'..=b'Z',
                0x20u8..=0x7e,
                0x80u8..=0xff,
            ],
            0..80,
        ),
        (near_valid, any::<proptest::sample::Index>(), any::<u8>()).prop_map(
            |(mut value, at, byte)| {
                // One byte of a valid value replaced by another header byte.
                let i = at.index(value.len());
                value[i] = if byte == 0x7f || (byte < 0x20 && byte != b'\t') {
                    b'-'
                } else {
                    byte
                };
                value
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_headers_never_panic_and_what_is_sent_is_valid(
        parents in proptest::collection::vec(header_value(), 0..3),
        states in proptest::collection::vec(header_value(), 0..4),
    ) {
        opentelemetry::global::set_text_map_propagator(
            factory_observability::propagation::propagator(),
        );
        let mut request = HeaderMap::new();
        for value in &parents {
            request.append("traceparent", HeaderValue::from_bytes(value).unwrap());
        }
        for value in &states {
            request.append("tracestate", HeaderValue::from_bytes(value).unwrap());
        }
        let cx = extract_from_headers(&request);
        let mut outgoing = HeaderMap::new();
        inject_into_headers(&cx, &mut outgoing);
        let span = cx.span();
        let extracted = span.span_context().is_valid();
        prop_assert_eq!(outgoing.get_all("traceparent").iter().count(), usize::from(extracted));
        if let Some(sent) = outgoing.get("traceparent") {
            let sent = sent.to_str().unwrap();
            let reparsed = parse_traceparent(sent).unwrap();
            prop_assert_eq!(sent.len(), 55);
            prop_assert!(sent.starts_with("00-"));
            prop_assert_eq!(reparsed.trace_id, span.span_context().trace_id());
        }
        if let Some(sent) = outgoing.get("tracestate") {
            let sent = sent.to_str().unwrap();
            prop_assert!(!sent.is_empty());
            let members = parse_tracestate([sent]);
            prop_assert!(members.is_some_and(|m| !m.is_empty() && m.len() <= 32), "{}", sent);
        }
    }

    #[test]
    fn any_text_parses_or_is_refused(text in "\\PC{0,80}") {
        let _ = parse_traceparent(&text);
        let _ = parse_tracestate([text.as_str(), text.as_str()]);
    }
}

// ---- the environment-variable carrier ------------------------------------------------------

use factory_observability::propagation::env::{
    context_env, env_name, EnvExtractor, EnvInjector, MAX_VALUE_LEN,
};
use opentelemetry::propagation::{Injector as _, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn env_names_are_portable(key in "\\PC{0,40}") {
        let name = env_name(&key);
        prop_assert_eq!(name.chars().count(), key.chars().count());
        prop_assert!(name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
    }

    #[test]
    fn values_are_cut_at_whole_entries(
        entries in proptest::collection::vec(
            ("[a-z]{1,8}", 0usize..3000).prop_map(|(key, len)| format!("{key}={}", "v".repeat(len))),
            1..12,
        ),
    ) {
        let value = entries.join(",");
        let mut injector = EnvInjector::default();
        injector.set("baggage", value.clone());
        match injector.vars.as_slice() {
            [] => prop_assert!(entries[0].len() > MAX_VALUE_LEN),
            [(name, kept)] => {
                prop_assert_eq!(name.as_str(), "BAGGAGE");
                prop_assert!(kept.len() <= MAX_VALUE_LEN);
                let kept: Vec<&str> = kept.split(',').collect();
                let sent: Vec<&str> = entries.iter().map(String::as_str).collect();
                prop_assert_eq!(&kept[..], &sent[..kept.len()]);
                prop_assert!(kept.len() == entries.len() || value.len() > MAX_VALUE_LEN);
            }
            more => prop_assert!(false, "one variable expected, got {:?}", more.len()),
        }
    }

    #[test]
    fn a_context_survives_the_environment(
        trace in 1u128..,
        span in 1u64..,
        flags in 0u8..4,
        vendor in proptest::option::of("[a-z][a-z0-9_]{0,10}=[a-zA-Z0-9]{1,20}"),
    ) {
        opentelemetry::global::set_text_map_propagator(
            factory_observability::propagation::propagator(),
        );
        let state: TraceState = vendor.as_deref().unwrap_or("").parse().unwrap();
        let sent = SpanContext::new(TraceId::from(trace), SpanId::from(span), TraceFlags::new(flags), true, state);
        let vars = context_env(&opentelemetry::Context::new().with_remote_span_context(sent.clone()));
        let received = factory_observability::propagation::TraceContextPropagator::new()
            .extract(&EnvExtractor::from_vars(vars));
        let span = received.span();
        prop_assert_eq!(span.span_context(), &sent);
    }

    #[test]
    fn arbitrary_environments_never_panic(
        parent in "\\PC{0,70}",
        state in "\\PC{0,70}",
    ) {
        let extractor = EnvExtractor::from_vars([("TRACEPARENT", parent), ("TRACESTATE", state)]);
        let _ = factory_observability::propagation::TraceContextPropagator::new().extract(&extractor);
    }
}

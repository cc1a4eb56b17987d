//! W3C Trace Context Level 2 (<https://www.w3.org/TR/trace-context-2/>), one test per rule,
//! each citing the section of the current text it checks. The cases are those of the W3C
//! conformance suite (`w3c/trace-context`, `test/test.py`, strict level 2), named after the
//! suite's where it has one, with the expectations of the current text: its key grammar
//! (section "Key", `@` a key character like the others, 256 characters in all) replaced the
//! Level 1 `tenant@system` form that older copies of the suite check, and a repeated key keeps
//! its first entry (a choice the text leaves, see `docs/propagation.md`).
//!
//! The suite sends headers to a service and reads what the service sends on in its callbacks.
//! Here the service is an instrumented call: the request's `http::HeaderMap` goes through the
//! global propagator `init` installs (`extract_from_headers`), a `#[pipeline_stage]` runs under
//! the extracted context, and what it injects into its outgoing `HeaderMap` is read back the
//! way the suite's harness reads it. Every test also checks the service's own span: its parent
//! is the caller's span when the trace is continued, and it is a root when it is not. The same
//! service behind a real HTTP server and client is in `w3c_over_http`.

use factory_observability::pipeline_stage;
use factory_observability::propagation::{
    extract_from_headers, inject_into_headers, CommandExt as _,
};
use factory_observability::testing::{Capture, CapturedSpan};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::Context;

const TRACE: &str = "12345678901234567890123456789012";
const PARENT: &str = "1234567890123456";

fn traceparent(flags: &str) -> String {
    format!("00-{TRACE}-{PARENT}-{flags}")
}

/// What the service sent on in one callback, read as the suite's harness reads it.
#[derive(Debug)]
struct Callback {
    trace_id: String,
    parent_id: String,
    flags: u8,
    /// Members in order; the first of a repeated key wins, as in the harness.
    tracestate: Vec<(String, String)>,
    /// The `tracestate` header values as sent.
    sent: Vec<String>,
}

impl Callback {
    fn state(&self, key: &str) -> Option<&str> {
        self.tracestate
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn state_text(&self) -> String {
        let members: Vec<String> = self
            .tracestate
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        members.join(",")
    }

    /// Reads one callback's headers: exactly one well-formed version-00 traceparent, and
    /// tracestate members that are each `key=value`, never an empty tracestate header.
    fn read(headers: &HeaderMap) -> Callback {
        let parents: Vec<&str> = headers
            .get_all("traceparent")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(parents.len(), 1, "exactly one traceparent: {parents:?}");
        let fields: Vec<&str> = parents[0].split('-').collect();
        assert_eq!(fields.len(), 4, "{}", parents[0]);
        let lower_hex = |field: &str, len: usize| {
            field.len() == len
                && field
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        assert!(fields[0] == "00", "version 00 is sent: {}", parents[0]);
        assert!(lower_hex(fields[1], 32) && fields[1] != "0".repeat(32));
        assert!(lower_hex(fields[2], 16) && fields[2] != "0".repeat(16));
        assert!(lower_hex(fields[3], 2));
        let flags = u8::from_str_radix(fields[3], 16).unwrap();
        assert_eq!(flags & !0x03, 0, "reserved flags are sent as zero");
        let mut tracestate: Vec<(String, String)> = Vec::new();
        let mut sent = Vec::new();
        for value in headers.get_all("tracestate") {
            let value = value.to_str().unwrap();
            sent.push(value.to_owned());
            assert!(!value.trim().is_empty(), "an empty tracestate is not sent");
            for member in value.split(',') {
                let member = member.trim_matches([' ', '\t']);
                if member.is_empty() {
                    continue;
                }
                let (key, value) = member.split_once('=').expect("key=value");
                if !tracestate.iter().any(|(k, _)| k == key) {
                    tracestate.push((key.to_owned(), value.to_owned()));
                }
            }
        }
        Callback {
            trace_id: fields[1].to_owned(),
            parent_id: fields[2].to_owned(),
            flags,
            tracestate,
            sent,
        }
    }
}

/// The service's answer to one request: its callbacks and its own span.
struct Served {
    callbacks: Vec<Callback>,
    span: CapturedSpan,
}

impl Served {
    fn callback(&self) -> &Callback {
        &self.callbacks[0]
    }

    /// The trace was continued: same trace id, the service's span a child of the caller's
    /// span, and the callback's parent the service's span.
    fn assert_continued(&self) {
        let callback = self.callback();
        assert_eq!(callback.trace_id, TRACE);
        assert_eq!(self.span.trace_id.to_string(), TRACE);
        assert_eq!(self.span.parent_span_id.to_string(), PARENT);
        assert_ne!(callback.parent_id, PARENT);
        assert_eq!(callback.parent_id, self.span.span_id.to_string());
    }

    /// A new trace was started: the service's span is a root in a trace of its own, random
    /// and sampled.
    fn assert_new_trace(&self) {
        let callback = self.callback();
        assert_ne!(callback.trace_id, TRACE);
        assert_eq!(self.span.parent_span_id, SpanId::INVALID);
        assert_eq!(callback.trace_id, self.span.trace_id.to_string());
        assert_eq!(callback.parent_id, self.span.span_id.to_string());
        assert_eq!(callback.flags, 0x03, "sampled, random trace id");
    }
}

#[pipeline_stage(name = "callback")]
fn call_back() -> HeaderMap {
    let mut outgoing = HeaderMap::new();
    inject_into_headers(&Context::current(), &mut outgoing);
    outgoing
}

#[pipeline_stage(name = "service")]
fn handle(callbacks: usize) -> Vec<HeaderMap> {
    if callbacks == 1 {
        // The service's own context goes out, as a client span's would.
        let mut outgoing = HeaderMap::new();
        inject_into_headers(&Context::current(), &mut outgoing);
        return vec![outgoing];
    }
    (0..callbacks).map(|_| call_back()).collect()
}

/// Sends `headers` (names as written, repeated names kept) to the service, which calls back
/// `callbacks` times.
fn serve_with(headers: &[(&str, &str)], callbacks: usize) -> Served {
    opentelemetry::global::set_text_map_propagator(factory_observability::propagation::propagator());
    let mut request = HeaderMap::new();
    for (name, value) in headers {
        request.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let capture = Capture::new();
    let outgoing = capture.run(|| {
        let _request_context = extract_from_headers(&request).attach();
        handle(callbacks)
    });
    let spans = capture.spans_named("pipeline.stage");
    let span = spans
        .into_iter()
        .find(|s| s.attr("stage.name").as_deref() == Some("service"))
        .unwrap();
    Served {
        callbacks: outgoing.iter().map(Callback::read).collect(),
        span,
    }
}

fn serve(headers: &[(&str, &str)]) -> Served {
    serve_with(headers, 1)
}

// ---- traceparent ---------------------------------------------------------------------------

/// Section "Processing Model" (no traceparent received): a new trace is started.
#[test]
fn both_traceparent_and_tracestate_missing() {
    let served = serve(&[]);
    served.assert_new_trace();
    assert!(served.callback().tracestate.is_empty());
}

/// Section "Processing Model" (a traceparent is received): the trace id is kept, the parent id
/// becomes the receiver's span.
#[test]
fn traceparent_included_tracestate_missing() {
    let served = serve(&[("traceparent", &traceparent("01"))]);
    served.assert_continued();
    assert_eq!(
        served.callback().flags & 0x01,
        0x01,
        "sampled stays sampled"
    );
}

/// Section "traceparent Header", "Header Name": a repeated traceparent is not trusted.
#[test]
fn traceparent_duplicated() {
    let served = serve(&[
        (
            "traceparent",
            "00-12345678901234567890123456789011-1234567890123456-01",
        ),
        ("traceparent", &traceparent("01")),
    ]);
    served.assert_new_trace();
    assert_ne!(
        served.callback().trace_id,
        "12345678901234567890123456789011"
    );
}

/// Section "Header Name" (traceparent): only `traceparent` is read.
#[test]
fn traceparent_header_name() {
    for name in ["trace-parent", "trace.parent"] {
        serve(&[(name, &traceparent("01"))]).assert_new_trace();
    }
}

/// Section "Header Name" (traceparent): the name is case-insensitive.
#[test]
fn traceparent_header_name_valid_casing() {
    for name in ["TraceParent", "TrAcEpArEnT", "TRACEPARENT"] {
        serve(&[(name, &traceparent("01"))]).assert_continued();
    }
}

/// Section "version" and "Versioning of traceparent": version 00 has nothing after the flags.
#[test]
fn traceparent_version_0x00() {
    for value in [
        format!("{}.", traceparent("01")),
        format!("{}-what-the-future-will-be-like", traceparent("01")),
    ] {
        serve(&[("traceparent", &value)]).assert_new_trace();
    }
}

/// Section "Versioning of traceparent": a higher version is read by the rules of 00, and what
/// follows the flags is accepted only behind a `-`.
#[test]
fn traceparent_version_0xcc() {
    let future = format!("cc-{TRACE}-{PARENT}-01");
    serve(&[("traceparent", &future)]).assert_continued();
    serve(&[(
        "traceparent",
        &format!("{future}-what-the-future-will-be-like"),
    )])
    .assert_continued();
    serve(&[(
        "traceparent",
        &format!("{future}.what-the-future-will-be-like"),
    )])
    .assert_new_trace();
}

/// Section "version": version `ff` is invalid.
#[test]
fn traceparent_version_0xff() {
    serve(&[("traceparent", &format!("ff-{TRACE}-{PARENT}-01"))]).assert_new_trace();
}

/// Section "version": `2HEXDIGLC`.
#[test]
fn traceparent_version_illegal_characters() {
    for version in [".0", "0."] {
        serve(&[("traceparent", &format!("{version}-{TRACE}-{PARENT}-01"))]).assert_new_trace();
    }
}

/// Section "version": exactly two digits.
#[test]
fn traceparent_version_too_long() {
    for version in ["000", "0000"] {
        serve(&[("traceparent", &format!("{version}-{TRACE}-{PARENT}-01"))]).assert_new_trace();
    }
}

/// Section "version": exactly two digits.
#[test]
fn traceparent_version_too_short() {
    serve(&[("traceparent", &format!("0-{TRACE}-{PARENT}-01"))]).assert_new_trace();
}

/// Section "trace-id": all zeros is invalid.
#[test]
fn traceparent_trace_id_all_zero() {
    let served = serve(&[("traceparent", &format!("00-{}-{PARENT}-01", "0".repeat(32)))]);
    served.assert_new_trace();
    assert_ne!(served.callback().trace_id, "0".repeat(32));
}

/// Section "trace-id": `32HEXDIGLC`.
#[test]
fn traceparent_trace_id_illegal_characters() {
    for trace in [
        ".2345678901234567890123456789012",
        "1234567890123456789012345678901.",
    ] {
        serve(&[("traceparent", &format!("00-{trace}-{PARENT}-01"))]).assert_new_trace();
    }
}

/// Section "trace-id": 32 digits, no more.
#[test]
fn traceparent_trace_id_too_long() {
    let served = serve(&[("traceparent", &format!("00-{TRACE}3-{PARENT}-01"))]);
    served.assert_new_trace();
    assert_ne!(
        served.callback().trace_id,
        "23456789012345678901234567890123"
    );
}

/// Section "trace-id": 32 digits, no fewer.
#[test]
fn traceparent_trace_id_too_short() {
    serve(&[("traceparent", &format!("00-{}-{PARENT}-01", &TRACE[..31]))]).assert_new_trace();
}

/// Section "parent-id": all zeros is invalid.
#[test]
fn traceparent_parent_id_all_zero() {
    serve(&[("traceparent", &format!("00-{TRACE}-{}-01", "0".repeat(16)))]).assert_new_trace();
}

/// Section "parent-id": `16HEXDIGLC`.
#[test]
fn traceparent_parent_id_illegal_characters() {
    for parent in [".234567890123456", "123456789012345."] {
        serve(&[("traceparent", &format!("00-{TRACE}-{parent}-01"))]).assert_new_trace();
    }
}

/// Section "parent-id": 16 digits, no more.
#[test]
fn traceparent_parent_id_too_long() {
    serve(&[("traceparent", &format!("00-{TRACE}-{PARENT}7-01"))]).assert_new_trace();
}

/// Section "parent-id": 16 digits, no fewer (the stock propagator accepts 15).
#[test]
fn traceparent_parent_id_too_short() {
    serve(&[("traceparent", &format!("00-{TRACE}-{}-01", &PARENT[..15]))]).assert_new_trace();
}

/// Section "trace-flags": `2HEXDIGLC`.
#[test]
fn traceparent_trace_flags_illegal_characters() {
    for flags in [".0", "0."] {
        serve(&[("traceparent", &traceparent(flags))]).assert_new_trace();
    }
}

/// Section "trace-flags": two digits, no more.
#[test]
fn traceparent_trace_flags_too_long() {
    serve(&[("traceparent", &traceparent("001"))]).assert_new_trace();
}

/// Section "trace-flags": two digits, no fewer.
#[test]
fn traceparent_trace_flags_too_short() {
    serve(&[("traceparent", &traceparent("1"))]).assert_new_trace();
}

/// Section "traceparent Header Field Values": optional white space (spaces, tabs) around the
/// value is ignored, as everywhere in HTTP.
#[test]
fn traceparent_ows_handling() {
    let value = traceparent("01");
    for padded in [
        format!(" {value}"),
        format!("\t{value}"),
        format!("{value} "),
        format!("{value}\t"),
        format!("\t {value} \t"),
    ] {
        serve(&[("traceparent", &padded)]).assert_continued();
    }
}

// ---- tracestate ----------------------------------------------------------------------------

/// Section "Processing Model", "No traceparent Received": "If a `tracestate` header is received
/// without an accompanying `traceparent` header, it is invalid and MUST be discarded."
#[test]
fn tracestate_included_traceparent_missing() {
    let one = serve(&[("tracestate", "foo=1")]);
    let two = serve(&[("tracestate", "foo=1,bar=2")]);
    one.assert_new_trace();
    assert_eq!(
        one.callback().tracestate.len(),
        two.callback().tracestate.len()
    );
    assert!(two.callback().tracestate.is_empty());
}

/// Section "Mutating the tracestate Field": "Vendors receiving a `tracestate` request header MUST
/// send it to outgoing requests."
#[test]
fn tracestate_included_traceparent_included() {
    let served = serve(&[
        ("traceparent", &traceparent("00")),
        ("tracestate", "foo=1,bar=2"),
    ]);
    served.assert_continued();
    assert_eq!(served.callback().state_text(), "foo=1,bar=2");
}

/// Section "Header Name" (tracestate): only `tracestate` is read.
#[test]
fn tracestate_header_name() {
    for name in ["trace-state", "trace.state"] {
        let served = serve(&[("traceparent", &traceparent("00")), (name, "foo=1")]);
        served.assert_continued();
        assert_eq!(served.callback().state("foo"), None);
    }
}

/// Section "Header Name" (tracestate): the name is case-insensitive.
#[test]
fn tracestate_header_name_valid_casing() {
    for name in ["TraceState", "TrAcEsTaTe", "TRACESTATE"] {
        let served = serve(&[("traceparent", &traceparent("00")), (name, "foo=1")]);
        assert_eq!(served.callback().state("foo"), Some("1"));
    }
}

/// Section "tracestate Header Field Values": an empty tracestate is accepted, empty members are
/// skipped when headers are combined, and an empty tracestate is not sent.
#[test]
fn tracestate_empty_header() {
    let served = serve(&[("traceparent", &traceparent("00")), ("tracestate", "")]);
    served.assert_continued();
    assert!(served.callback().tracestate.is_empty());
    for headers in [["foo=1", ""], ["", "foo=1"]] {
        let served = serve(&[
            ("traceparent", &traceparent("00")),
            ("tracestate", headers[0]),
            ("tracestate", headers[1]),
        ]);
        served.assert_continued();
        assert_eq!(served.callback().state_text(), "foo=1");
    }
}

/// Section "Combined Header Value": several tracestate headers are one list, in order.
#[test]
fn tracestate_multiple_headers_different_keys() {
    let served = serve(&[
        ("traceparent", &traceparent("00")),
        ("tracestate", "foo=1,bar=2"),
        ("tracestate", "rojo=1,congo=2"),
        ("tracestate", "baz=3"),
    ]);
    served.assert_continued();
    assert_eq!(served.callback().sent, ["foo=1,bar=2,rojo=1,congo=2,baz=3"]);
    assert_eq!(served.span.trace_state, "foo=1,bar=2,rojo=1,congo=2,baz=3");
}

/// Section "Combined Header Value": "Only one entry per key is allowed because the entry
/// represents that last position in the trace". The grammar of section "list" reads a repeated
/// key, and section "Processing Model" lets invalid entries be discarded: the first entry, the
/// left-most and most recent position, is kept, later ones are dropped, and the rest of the list
/// goes on. (Older copies of the suite expect the whole list dropped, which the text allows but
/// does not ask for.)
#[test]
fn tracestate_duplicated_keys() {
    for (states, kept) in [
        (&["foo=1,foo=1"][..], "foo=1"),
        (&["foo=1,foo=2"], "foo=1"),
        (&["foo=1", "foo=1"], "foo=1"),
        (&["foo=1", "foo=2"], "foo=1"),
        (&["foo=1,bar=2,foo=3,baz=4"], "foo=1,bar=2,baz=4"),
        (&["rojo=1,congo=2", "congo=3,foo=4"], "rojo=1,congo=2,foo=4"),
    ] {
        let parent = traceparent("00");
        let mut headers = vec![("traceparent", parent.as_str())];
        headers.extend(states.iter().map(|s| ("tracestate", *s)));
        let served = serve(&headers);
        served.assert_continued();
        assert_eq!(served.callback().sent, [kept], "{states:?}");
        assert_eq!(served.span.trace_state, kept, "{states:?}");
    }
}

/// Sections "Key" and "Value": every character they allow (`@` among the key's), a key that
/// starts with a digit, and a value with every printable character but `,` and `=`.
#[test]
fn tracestate_all_allowed_characters() {
    let value: String = (0x20u8..=0x7e)
        .filter(|&b| b != b',' && b != b'=')
        .map(char::from)
        .collect();
    for key in [
        "abcdefghijklmnopqrstuvwxyz0123456789_-*/@",
        "0123456789abcdefghijklmnopqrstuvwxyz_-*/@",
    ] {
        let served = serve(&[
            ("traceparent", &traceparent("00")),
            ("tracestate", &format!("{key}={value}")),
        ]);
        served.assert_continued();
        assert_eq!(served.callback().state(key), Some(value.as_str()));
        assert_eq!(served.callback().sent, [format!("{key}={value}")]);
    }
}

/// Section "tracestate Header Field Values": spaces and horizontal tabs around list members are
/// ignored.
#[test]
fn tracestate_ows_handling() {
    for state in [
        "foo=1 \t , \t bar=2, \t baz=3",
        "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
    ] {
        let served = serve(&[("traceparent", &traceparent("00")), ("tracestate", state)]);
        assert_eq!(served.callback().sent, ["foo=1,bar=2,baz=3"]);
    }
    for state in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
        let served = serve(&[("traceparent", &traceparent("00")), ("tracestate", state)]);
        served.assert_continued();
        assert_eq!(served.callback().sent, ["foo=1"]);
    }
}

/// Section "Key": `( lcalpha / DIGIT ) 0*255 ( keychar )`: no upper case, no white space and
/// no character outside `keychar`, and the first character a letter or a digit. A list with
/// such a key does not parse and is discarded whole (section "Processing Model").
#[test]
fn tracestate_key_illegal_characters() {
    for (state, key) in [
        ("foo =1,bar=2", "foo "),
        ("FOO=1,bar=2", "FOO"),
        ("foo.bar=1,bar=2", "foo.bar"),
        ("@foo=1,bar=2", "@foo"),
        ("_foo=1,bar=2", "_foo"),
        ("=1,bar=2", ""),
    ] {
        let served = serve(&[("traceparent", &traceparent("00")), ("tracestate", state)]);
        served.assert_continued();
        assert_eq!(served.callback().state(key), None, "{state}");
        assert!(served.callback().sent.is_empty(), "{state}");
        assert_eq!(served.span.trace_state, "", "{state}");
    }
}

/// Section "Key": `@` is a `keychar` like `_` or `/`, anywhere after the first character and
/// as often as it comes; the Level 1 `tenant "@" system` form (one `@`, both parts non-empty)
/// is gone. (The suite's `test_tracestate_key_illegal_vendor_format` checked that form.)
///
/// OpenTelemetry's `TraceState` (opentelemetry 0.33) still rejects a key with a second `@`:
/// the service's span then holds the other members, and the whole list is sent on.
#[test]
fn tracestate_key_at_sign_is_a_key_character() {
    for (state, held) in [
        ("foo@=1,bar=2", "foo@=1,bar=2"),
        ("foo@@bar=1,bar=2", "bar=2"),
        ("foo@bar@baz=1,bar=2", "bar=2"),
        ("1tenant@system=1,bar=2", "1tenant@system=1,bar=2"),
    ] {
        let served = serve(&[("traceparent", &traceparent("00")), ("tracestate", state)]);
        served.assert_continued();
        assert_eq!(served.callback().sent, [state]);
        assert_eq!(served.callback().state("bar"), Some("2"), "{state}");
        assert_eq!(served.span.trace_state, held, "{state}");
    }
}

/// Section "list": at most 32 members; a longer list does not parse and is not propagated.
/// Repeated keys are members of the list the grammar reads; empty members are not counted.
#[test]
fn tracestate_member_count_limit() {
    let members = |range: std::ops::RangeInclusive<u32>| {
        range
            .map(|i| format!("bar{i:02}={i:02}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let serve_states = |states: &[String]| {
        let parent = traceparent("00");
        let mut request = vec![("traceparent", parent.as_str())];
        request.extend(states.iter().map(|s| ("tracestate", s.as_str())));
        serve(&request)
    };
    let thirty_two = [
        members(1..=10),
        members(11..=20),
        members(21..=30),
        members(31..=32),
    ];
    let served = serve_states(&thirty_two);
    assert_eq!(served.callback().state("bar01"), Some("01"));
    assert_eq!(served.callback().tracestate.len(), 32);
    assert_eq!(served.callback().sent, [thirty_two.join(",")]);

    let with_empty_members = [thirty_two.join(","), String::new(), " , ".to_owned()];
    let served = serve_states(&with_empty_members);
    assert_eq!(served.callback().tracestate.len(), 32);

    for thirty_three in [
        [
            members(1..=10),
            members(11..=20),
            members(21..=30),
            members(31..=33),
        ],
        [
            members(1..=10),
            members(11..=20),
            members(21..=30),
            members(30..=32),
        ],
    ] {
        let served = serve_states(&thirty_three);
        served.assert_continued();
        assert_eq!(served.callback().state("bar01"), None);
        assert!(served.callback().sent.is_empty());
    }
}

/// Section "Key": at most 256 characters in all, wherever the `@` is; the Level 1 limits of a
/// part before `@` (241) and after it (14) are gone. The key just past 256 is rejected, and with
/// it the whole list.
#[test]
fn tracestate_key_length_limit() {
    let parent = traceparent("00");
    let with = |second: &str| {
        serve(&[
            ("traceparent", &parent),
            ("tracestate", "foo=1"),
            ("tracestate", &format!("{second}=1")),
        ])
    };
    // Whether OpenTelemetry's `TraceState` holds the key too (at most 13 characters after `@`):
    // when not, the service's span holds `foo=1` alone, and the whole list is sent on.
    for (key, held_by_the_span) in [
        ("z".repeat(256), true),
        (format!("{}@{}", "t".repeat(241), "v".repeat(14)), false),
        (format!("{}@v", "t".repeat(242)), true),
        (format!("t@{}", "v".repeat(15)), false),
        (format!("t@{}", "v".repeat(254)), false),
        (format!("{}@", "t".repeat(255)), true),
    ] {
        assert_eq!(key.len(), key.len().min(256));
        let served = with(&key);
        served.assert_continued();
        assert_eq!(served.callback().state("foo"), Some("1"), "{key}");
        assert_eq!(served.callback().sent, [format!("foo=1,{key}=1")]);
        let held = if held_by_the_span {
            format!("foo=1,{key}=1")
        } else {
            "foo=1".to_owned()
        };
        assert_eq!(served.span.trace_state, held);
    }
    for key in [
        "z".repeat(257),
        format!("t@{}", "v".repeat(255)),
        format!("{}@{}", "t".repeat(128), "v".repeat(128)),
    ] {
        let served = with(&key);
        served.assert_continued();
        assert_eq!(served.callback().state("foo"), None, "{key}");
        assert!(served.callback().sent.is_empty());
    }
}

/// Section "Value": no `=` or `,`, and not empty (the stock propagator forwards `foo=`).
#[test]
fn tracestate_value_illegal_characters() {
    for state in ["foo=bar=baz", "foo=,bar=3"] {
        let served = serve(&[("traceparent", &traceparent("00")), ("tracestate", state)]);
        served.assert_continued();
        assert_eq!(served.callback().state("foo"), None, "{state}");
        assert_eq!(served.callback().state("bar"), None, "{state}");
    }
}

/// Section "Mutating the tracestate Field" for the other carrier the service sends on: a child
/// process started under the service's span (`CommandExt`, variables `TRACEPARENT` and
/// `TRACESTATE`) receives the list as an HTTP call would, whole and in its order.
#[test]
fn tracestate_reaches_a_child_process() {
    #[pipeline_stage(name = "spawn")]
    fn spawn_child() -> String {
        let output = std::process::Command::new("sh")
            .args(["-c", "printf '%s' \"$TRACESTATE\""])
            .with_trace_context()
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    }

    let tenant_242 = format!("{}@v", "t".repeat(242));
    for (states, sent) in [
        (
            vec!["foo@@bar=1,bar=2".to_owned()],
            "foo@@bar=1,bar=2".to_owned(),
        ),
        (vec![format!("{tenant_242}=1")], format!("{tenant_242}=1")),
        (
            vec!["foo=1".to_owned(), "foo=2, t@vvvvvvvvvvvvvvv=3".to_owned()],
            "foo=1,t@vvvvvvvvvvvvvvv=3".to_owned(),
        ),
    ] {
        opentelemetry::global::set_text_map_propagator(
            factory_observability::propagation::propagator(),
        );
        let mut request = HeaderMap::new();
        request.append(
            "traceparent",
            HeaderValue::from_str(&traceparent("01")).unwrap(),
        );
        for state in &states {
            request.append("tracestate", HeaderValue::from_str(state).unwrap());
        }
        let capture = Capture::new();
        let received = capture.run(|| {
            let _request_context = extract_from_headers(&request).attach();
            spawn_child()
        });
        assert_eq!(received, sent, "{states:?}");
    }
}

// ---- several callbacks ---------------------------------------------------------------------

/// Section "Mutating the traceparent Field": each outgoing call has a parent id of its own, in
/// the caller's trace.
#[test]
fn multiple_requests_with_valid_traceparent() {
    let served = serve_with(&[("traceparent", &traceparent("01"))], 3);
    let traces: std::collections::BTreeSet<&str> = served
        .callbacks
        .iter()
        .map(|c| c.trace_id.as_str())
        .collect();
    let parents: std::collections::BTreeSet<&str> = served
        .callbacks
        .iter()
        .map(|c| c.parent_id.as_str())
        .collect();
    assert_eq!(traces.into_iter().collect::<Vec<_>>(), [TRACE]);
    assert_eq!(parents.len(), 3);
    assert!(!parents.contains(PARENT));
}

/// Section "Processing Model": without a traceparent, one new trace, a parent id per call.
#[test]
fn multiple_requests_without_traceparent() {
    let served = serve_with(&[], 3);
    let parents: std::collections::BTreeSet<&str> = served
        .callbacks
        .iter()
        .map(|c| c.parent_id.as_str())
        .collect();
    assert_eq!(parents.len(), 3);
    assert!(served
        .callbacks
        .iter()
        .all(|c| c.trace_id == served.span.trace_id.to_string()));
}

/// Section "trace-id": an invalid traceparent starts a new trace for every outgoing call.
#[test]
fn multiple_requests_with_illegal_traceparent() {
    let served = serve_with(
        &[("traceparent", &format!("00-{}-{PARENT}-01", "0".repeat(32)))],
        3,
    );
    assert!(served
        .callbacks
        .iter()
        .all(|c| c.trace_id != "0".repeat(32)));
    let parents: std::collections::BTreeSet<&str> = served
        .callbacks
        .iter()
        .map(|c| c.parent_id.as_str())
        .collect();
    assert_eq!(parents.len(), 3);
    assert_eq!(served.span.parent_span_id, SpanId::INVALID);
}

// ---- Level 2 -------------------------------------------------------------------------------

/// Section "Random Trace ID Flag": a continued trace keeps the caller's `random` flag (the
/// stock propagator clears every flag but `sampled`).
#[test]
fn propagates_random_flag() {
    let served = serve(&[("traceparent", &traceparent("02"))]);
    served.assert_continued();
    assert_eq!(served.callback().flags & 0x02, 0x02);
    assert_ne!(served.span.trace_id, TraceId::INVALID);
}

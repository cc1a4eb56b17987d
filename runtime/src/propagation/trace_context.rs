//! W3C Trace Context Level 2 (<https://www.w3.org/TR/trace-context-2/>), both directions.
//!
//! The SDK's `TraceContextPropagator` reads only the first `traceparent` and `tracestate`
//! header, keeps only the `sampled` flag, accepts a 15-digit parent id and a 3-digit version,
//! forwards list members the specification forbids and sends an empty `tracestate`. This one
//! follows the specification as its conformance suite (`w3c/trace-context`, `test/`, level 2)
//! checks it; `tests/tests/w3c_trace_context.rs` has one test per rule.
//!
//! Anything malformed is ignored without an error, as the specification asks: a bad
//! `traceparent` leaves the context as it was (the receiver starts a new trace), a bad
//! `tracestate` is dropped as a whole (section "tracestate Header Field Values": a vendor that
//! failed to parse it MUST NOT propagate it).
//!
//! Sections are cited by title: their numbers differ between the drafts of Level 2.

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use std::fmt;

/// Header (and environment-carrier key, lower-cased) of the trace's position.
pub const TRACEPARENT: &str = "traceparent";
/// Header of vendor-specific trace state.
pub const TRACESTATE: &str = "tracestate";

/// The `random` trace-flag of Level 2 (section "Random Trace ID Flag"): at least the 7 right-most bytes of the
/// trace id are random.
pub const RANDOM_TRACE_ID: TraceFlags = TraceFlags::new(0x02);

/// The flags a sender may set: `sampled` and `random`. Other bits are reserved and MUST be
/// sent as zero (section "Other Flags").
const KNOWN_FLAGS: u8 = 0x03;
/// A list has at most 32 members (section "list").
const MAX_LIST_MEMBERS: usize = 32;
/// `version "-" trace-id "-" parent-id "-" trace-flags`: 2 + 1 + 32 + 1 + 16 + 1 + 2.
pub(crate) const TRACEPARENT_LEN: usize = 55;

/// W3C Trace Context Level 2 as an OpenTelemetry propagator.
#[derive(Clone, Debug, Default)]
pub struct TraceContextPropagator {
    _private: (),
}

impl TraceContextPropagator {
    /// The propagator.
    pub fn new() -> Self {
        TraceContextPropagator::default()
    }
}

/// Why a `traceparent` value was rejected; never carries the value itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceparentError {
    /// Not `version-traceid-parentid-flags` with the lengths the version requires.
    Format,
    /// A field holds characters other than lower-case hexadecimal digits.
    NotLowerHex,
    /// Version `ff`, which is never valid.
    ForbiddenVersion,
    /// An all-zero trace id.
    ZeroTraceId,
    /// An all-zero parent id.
    ZeroParentId,
    /// The header was sent more than once.
    Repeated,
}

impl fmt::Display for TraceparentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TraceparentError::Format => {
                "not `version-traceid-parentid-flags` (`00-` + 32 + `-` + 16 + `-` + 2 lower-case hex digits)"
            }
            TraceparentError::NotLowerHex => "a field is not lower-case hexadecimal",
            TraceparentError::ForbiddenVersion => "version `ff` is invalid",
            TraceparentError::ZeroTraceId => "the trace id is all zeros",
            TraceparentError::ZeroParentId => "the parent id is all zeros",
            TraceparentError::Repeated => "more than one traceparent was given",
        })
    }
}

impl std::error::Error for TraceparentError {}

/// What a valid `traceparent` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traceparent {
    /// The trace.
    pub trace_id: TraceId,
    /// The caller's span.
    pub parent_id: SpanId,
    /// `sampled` and `random`; reserved bits are cleared.
    pub flags: TraceFlags,
}

/// Parses one `traceparent` value by the rules of Level 2: surrounding spaces and tabs are
/// ignored (OWS), version `00` is exactly 55 characters, a higher version may go on after the
/// flags only behind a `-` (section "Versioning of traceparent").
pub fn parse_traceparent(value: &str) -> Result<Traceparent, TraceparentError> {
    parse_traceparent_bytes(value.as_bytes())
}

/// [`parse_traceparent`] of a value's bytes: a server reads an HTTP header's bytes without
/// checking them as text first, since what a valid version-00 value can hold (hexadecimal
/// digits, `-`, spaces and tabs around it) is text.
pub(crate) fn parse_traceparent_bytes(value: &[u8]) -> Result<Traceparent, TraceparentError> {
    let value = trim_ows_bytes(value);
    if value.len() < TRACEPARENT_LEN {
        return Err(TraceparentError::Format);
    }
    if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return Err(TraceparentError::Format);
    }
    let version = lower_hex_u64(&value[0..2])?;
    if version == 0xff {
        return Err(TraceparentError::ForbiddenVersion);
    }
    // "version": version 00 has nothing after the flags; "Versioning of traceparent": a later
    // version may add fields,
    // each behind a `-`.
    if value.len() > TRACEPARENT_LEN && (version == 0 || value[TRACEPARENT_LEN] != b'-') {
        return Err(TraceparentError::Format);
    }
    let trace_id = lower_hex(&value[3..35])?;
    let parent_id = lower_hex_u64(&value[36..52])?;
    let flags = lower_hex_u64(&value[53..55])?;
    if trace_id == 0 {
        return Err(TraceparentError::ZeroTraceId);
    }
    if parent_id == 0 {
        return Err(TraceparentError::ZeroParentId);
    }
    Ok(Traceparent {
        trace_id: TraceId::from(trace_id),
        parent_id: SpanId::from(parent_id),
        flags: TraceFlags::new(flags as u8 & KNOWN_FLAGS),
    })
}

/// Parses the `traceparent` occurrences of one carrier: exactly one is valid (section "Header Name"
/// of traceparent: a repeated header cannot be told apart from a forged one, so none is trusted).
pub fn parse_traceparents(values: &[&str]) -> Result<Traceparent, TraceparentError> {
    match values {
        [one] => parse_traceparent(one),
        [] => Err(TraceparentError::Format),
        _ => Err(TraceparentError::Repeated),
    }
}

/// The `traceparent` value of `span_context`: version 00, known flags only.
pub fn format_traceparent(span_context: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        span_context.trace_id(),
        span_context.span_id(),
        span_context.trace_flags().to_u8() & KNOWN_FLAGS
    )
}

/// Combines the `tracestate` occurrences of one carrier, in order (section "Combined Header
/// Value"), into its list members; `None` when any member is invalid, a key repeats or there
/// are more than 32 members: the whole value is then dropped. Empty members (`a=1,,b=2`, an
/// empty header) are allowed and skipped.
pub fn parse_tracestate<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Option<Vec<(&'a str, &'a str)>> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for value in values {
        for member in value.split(',') {
            let member = trim_ows(member);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member.split_once('=')?;
            if !valid_key(key) || !valid_value(value) {
                return None;
            }
            if members.iter().any(|(seen, _)| *seen == key) {
                return None;
            }
            members.push((key, value));
            if members.len() > MAX_LIST_MEMBERS {
                return None;
            }
        }
    }
    Some(members)
}

/// A received `tracestate` that OpenTelemetry's `TraceState` cannot hold although it is valid:
/// opentelemetry 0.33 rejects a multi-tenant key whose system part has the 14 characters the
/// specification allows (it allows 13). Kept in the context beside the span context, and sent
/// on by [`TraceContextPropagator::inject_context`] while the trace is the one it came with.
#[derive(Clone, Debug)]
struct ReceivedTraceState {
    trace_id: TraceId,
    header: String,
}

/// Section "key": `lcalpha 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/")`, or the
/// multi-tenant `tenant@system` with a tenant of 1 to 241 characters starting with a letter or
/// digit and a system of 1 to 14 starting with a letter.
fn valid_key(key: &str) -> bool {
    let body = |bytes: &[u8]| {
        bytes.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
        })
    };
    match key.split_once('@') {
        None => {
            let key = key.as_bytes();
            (1..=256).contains(&key.len()) && key[0].is_ascii_lowercase() && body(&key[1..])
        }
        Some((tenant, system)) => {
            let (tenant, system) = (tenant.as_bytes(), system.as_bytes());
            (1..=241).contains(&tenant.len())
                && (tenant[0].is_ascii_lowercase() || tenant[0].is_ascii_digit())
                && body(&tenant[1..])
                && (1..=14).contains(&system.len())
                && system[0].is_ascii_lowercase()
                && body(&system[1..])
        }
    }
}

/// Section "value": 1 to 256 printable ASCII characters other than `,` and `=`, not ending
/// in a space.
fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let printable = |b: u8| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=';
    (1..=256).contains(&bytes.len())
        && bytes.iter().all(|&b| printable(b))
        && bytes[bytes.len() - 1] != b' '
}

/// [`trim_ows`] of bytes.
fn trim_ows_bytes(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |last| last + 1);
    &bytes[start..end]
}

/// Optional white space of HTTP (RFC 7230 §3.2.3): spaces and horizontal tabs.
fn trim_ows(text: &str) -> &str {
    let is_ows = |b: &u8| matches!(b, b' ' | b'\t');
    let bytes = text.as_bytes();
    // Byte positions: spaces and tabs are ASCII, so both ends stay on character boundaries.
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |last| last + 1);
    &text[start..end]
}

/// The value of each byte as a lower-case hexadecimal digit; `INVALID` for any other byte
/// (upper case is invalid: "HEXDIGLC").
const HEX_DIGIT: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            digit @ b'0'..=b'9' => digit - b'0',
            letter @ b'a'..=b'f' => letter - b'a' + 10,
            _ => INVALID,
        };
        b += 1;
    }
    table
};
const INVALID: u8 = 0xff;

/// A field of at most 16 lower-case hexadecimal digits.
fn lower_hex_u64(field: &[u8]) -> Result<u64, TraceparentError> {
    let mut n: u64 = 0;
    let mut invalid = 0u8;
    for &b in field {
        let digit = HEX_DIGIT[usize::from(b)];
        invalid |= digit & 0xf0;
        n = (n << 4) | u64::from(digit & 0x0f);
    }
    if invalid == 0 {
        Ok(n)
    } else {
        Err(TraceparentError::NotLowerHex)
    }
}

/// A field of at most 32 lower-case hexadecimal digits.
fn lower_hex(field: &[u8]) -> Result<u128, TraceparentError> {
    let split = field.len().saturating_sub(16);
    let (high, low) = field.split_at(split);
    Ok((u128::from(lower_hex_u64(high)?) << 64) | u128::from(lower_hex_u64(low)?))
}

/// Every occurrence of `key` in `extractor`.
fn occurrences<'a>(extractor: &'a dyn Extractor, key: &str) -> Vec<&'a str> {
    extractor
        .get_all(key)
        .or_else(|| extractor.get(key).map(|value| vec![value]))
        .unwrap_or_default()
}

/// `cx` with the remote span context a carrier holds, if it holds a valid one.
fn extract_into(cx: &Context, extractor: &dyn Extractor) -> Option<Context> {
    let traceparents = occurrences(extractor, TRACEPARENT);
    let tracestates = occurrences(extractor, TRACESTATE);
    remote_parent(traceparents, tracestates).map(|parent| parent.into_context(cx))
}

/// The caller's span as a carrier's `traceparent` and `tracestate` give it.
pub(crate) struct RemoteParent {
    pub span_context: SpanContext,
    /// A valid `tracestate` that OpenTelemetry's `TraceState` cannot hold.
    unrepresentable: Option<ReceivedTraceState>,
}

impl RemoteParent {
    /// The span context alone, when nothing else needs a place in the context.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn span_context_only(self) -> Result<SpanContext, RemoteParent> {
        match self.unrepresentable {
            None => Ok(self.span_context),
            Some(_) => Err(self),
        }
    }

    /// `cx` with the caller's span (and its unrepresentable `tracestate`).
    pub(crate) fn into_context(self, cx: &Context) -> Context {
        let cx = cx.with_remote_span_context(self.span_context);
        match self.unrepresentable {
            None => cx,
            Some(received) => cx.with_value(received),
        }
    }
}

/// The caller's span of a carrier's `traceparent` and `tracestate` occurrences, in order, if
/// they hold a valid one.
pub(crate) fn remote_parent<'a>(
    traceparents: impl IntoIterator<Item = &'a str>,
    tracestates: impl IntoIterator<Item = &'a str>,
) -> Option<RemoteParent> {
    let mut traceparents = traceparents.into_iter();
    let parent = parse_traceparent(traceparents.next()?).ok()?;
    if traceparents.next().is_some() {
        return None; // TraceparentError::Repeated
    }
    Some(remote_parent_of(parent, tracestates))
}

/// The caller's span of a valid `traceparent` and the carrier's `tracestate` occurrences.
pub(crate) fn remote_parent_of<'a>(
    parent: Traceparent,
    tracestates: impl IntoIterator<Item = &'a str>,
) -> RemoteParent {
    let members = parse_tracestate(tracestates).unwrap_or_default();
    let (trace_state, unrepresentable) = if members.is_empty() {
        (TraceState::NONE, None)
    } else {
        match TraceState::from_key_value(members.iter().copied()) {
            Ok(trace_state) => (trace_state, None),
            Err(_) => (TraceState::NONE, Some(members)),
        }
    };
    let span_context = SpanContext::new(
        parent.trace_id,
        parent.parent_id,
        parent.flags,
        true,
        trace_state,
    );
    RemoteParent {
        span_context,
        unrepresentable: unrepresentable.map(|members| ReceivedTraceState {
            trace_id: parent.trace_id,
            header: members
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>()
                .join(","),
        }),
    }
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        injector.set(TRACEPARENT, format_traceparent(span_context));
        let mut trace_state = span_context.trace_state().header();
        if trace_state.is_empty() {
            if let Some(received) = cx.get::<ReceivedTraceState>() {
                if received.trace_id == span_context.trace_id() {
                    trace_state.clone_from(&received.header);
                }
            }
        }
        // "tracestate Header Field Values": vendors SHOULD avoid sending an empty tracestate.
        if !trace_state.is_empty() {
            injector.set(TRACESTATE, trace_state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        extract_into(cx, extractor).unwrap_or_else(|| cx.clone())
    }

    fn fields(&self) -> FieldIter<'_> {
        static NAMES: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
        FieldIter::new(NAMES.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let parent = parse_traceparent(VALID).unwrap();
        assert_eq!(
            parent.trace_id,
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736)
        );
        assert_eq!(parent.parent_id, SpanId::from(0x00f067aa0ba902b7));
        let span_context = SpanContext::new(
            parent.trace_id,
            parent.parent_id,
            parent.flags,
            true,
            TraceState::NONE,
        );
        assert_eq!(format_traceparent(&span_context), VALID);
    }

    #[test]
    fn reserved_flags_are_cleared_and_random_kept() {
        let parent = parse_traceparent(&VALID.replace("-01", "-ff")).unwrap();
        assert_eq!(parent.flags.to_u8(), 0x03);
    }

    #[test]
    fn each_malformation_has_its_reason() {
        assert_eq!(
            parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Err(TraceparentError::ForbiddenVersion)
        );
        assert_eq!(
            parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            Err(TraceparentError::NotLowerHex)
        );
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Err(TraceparentError::ZeroTraceId)
        );
        assert_eq!(
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            Err(TraceparentError::ZeroParentId)
        );
        assert_eq!(
            parse_traceparents(&[VALID, VALID]),
            Err(TraceparentError::Repeated)
        );
        assert_eq!(parse_traceparent(""), Err(TraceparentError::Format));
    }

    #[test]
    fn tracestate_keys_follow_both_forms() {
        assert!(valid_key("congo"));
        assert!(valid_key("1tenant@vendor"));
        assert!(!valid_key("1congo"));
        assert!(!valid_key("foo@"));
        assert!(!valid_key("@foo"));
        assert!(!valid_key("foo@bar@baz"));
        assert!(valid_key(&"z".repeat(256)));
        assert!(!valid_key(&"z".repeat(257)));
    }
}

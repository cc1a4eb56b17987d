//! W3C Trace Context Level 2 (<https://www.w3.org/TR/trace-context-2/>), both directions.
//!
//! The SDK's `TraceContextPropagator` reads only the first `traceparent` and `tracestate`
//! header, keeps only the `sampled` flag, accepts a 15-digit parent id and a 3-digit version,
//! forwards list members the specification forbids and sends an empty `tracestate`. This one
//! follows the current text of the specification; `tests/tests/w3c_trace_context.rs` has one
//! test per rule, citing its section.
//!
//! Anything malformed is ignored without an error: a bad `traceparent` leaves the context as it
//! was (the receiver starts a new trace, section "Processing Model", "A traceparent is
//! Received").
//!
//! `tracestate` (section "Tracestate Header", grammar in "list", "Key" and "Value"):
//! - the occurrences of the header are one list, in order ("Combined Header Value" and
//!   "tracestate Header Field Values": combined as RFC 7230 section 3.2.2 says);
//! - a list that does not parse by the grammar (a member without `=`, a key or value outside
//!   its grammar, more than 32 members) is discarded whole ("Processing Model": "If the
//!   `tracestate` header cannot be parsed the vendor MAY discard the entire header");
//! - a repeated key does not make the list unparsable: the grammar allows it, and "Combined
//!   Header Value" says only one entry per key is allowed because the entry is the key's last
//!   position. The first occurrence is kept, later ones are dropped ("Invalid `tracestate`
//!   entries MAY also be discarded"): the left-most entry is the most recent position, since a
//!   vendor moves the entry it updates to the left ("Mutating the tracestate Field"). Dropping
//!   the whole list instead would lose every other vendor's state for one vendor's mistake;
//! - empty and white-space-only members are allowed and not counted against the 32;
//! - nothing is truncated: a list that parses is at most 32 members of 513 characters.
//!
//! OpenTelemetry's `TraceState` (opentelemetry 0.33) checks keys by the older Level 1 grammar:
//! at most one `@`, followed by at most 13 characters starting with a letter or digit. A list
//! with such a key (`foo@@bar`, `foo@bar@baz`, `t@` and 14 characters or more) is valid here but
//! cannot be held whole by the span context, and its constructors offer no way around the
//! check. The span context then holds the members `TraceState` accepts, and the whole list goes
//! beside it in the context (`ReceivedTraceState`); [`TraceContextPropagator::inject_context`]
//! sends the whole list, in its order, with the span context's own changes applied. Exported
//! spans carry what their `TraceState` holds. `docs/propagation.md` says the same for users.
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
/// Value"), into its list members. `None` when the list does not parse (section "list": a
/// member that is not `key=value` with a valid key and value, or more than 32 members): the
/// whole value is then dropped. A repeated key keeps its first, left-most entry, the most
/// recent position (see the module's comment). Empty members (`a=1,,b=2`, an empty header) are
/// allowed, skipped and not counted.
pub fn parse_tracestate<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Option<Vec<(&'a str, &'a str)>> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut count = 0;
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
            // Section "list": `list-member 0*31( OWS "," OWS list-member )`, repeated keys
            // included: they are members the grammar reads before the rule of one entry per key.
            count += 1;
            if count > MAX_LIST_MEMBERS {
                return None;
            }
            if !members.iter().any(|(seen, _)| *seen == key) {
                members.push((key, value));
            }
        }
    }
    Some(members)
}

/// A received `tracestate` that OpenTelemetry's `TraceState` cannot hold whole although it is
/// valid (see the module's comment). Kept in the context beside the span context, which holds
/// the members `TraceState` accepts, and sent on by [`TraceContextPropagator::inject_context`]
/// while the trace is the one it came with.
#[derive(Clone, Debug)]
struct ReceivedTraceState {
    trace_id: TraceId,
    /// Every member, in order, and whether the span context's `TraceState` holds it.
    members: Vec<ReceivedMember>,
}

#[derive(Clone, Debug)]
struct ReceivedMember {
    key: String,
    value: String,
    held: bool,
}

impl ReceivedTraceState {
    /// The `tracestate` to send for a span context whose `TraceState` is `current`: the
    /// received list with `current`'s changes made as section "Mutating the tracestate Field"
    /// orders them. Members `current` added or updated go first, in its order; then the received
    /// members in theirs, less the held ones `current` updated or deleted. Members `TraceState`
    /// cannot hold cannot be changed through it, and are always kept. At most 32 members, the
    /// right-most dropped first.
    fn header_with(&self, current: &TraceState) -> String {
        let received_as_is = |key: &str, value: &str| {
            self.members
                .iter()
                .any(|member| member.held && member.key == key && member.value == value)
        };
        let changed = current
            .into_iter()
            .filter(|(key, value)| !received_as_is(key, value));
        let kept = self
            .members
            .iter()
            .filter(|member| !member.held || current.get(&member.key) == Some(&member.value))
            .map(|member| (member.key.as_str(), member.value.as_str()));
        let members: Vec<String> = changed
            .chain(kept)
            .take(MAX_LIST_MEMBERS)
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        members.join(",")
    }
}

/// Section "Key": `( lcalpha / DIGIT ) 0*255 ( keychar )`, with
/// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`: 1 to 256 characters, `@` as any
/// other after the first.
fn valid_key(key: &str) -> bool {
    let keychar = |b: &u8| {
        b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
    };
    match key.as_bytes().split_first() {
        Some((first, rest)) => {
            (first.is_ascii_lowercase() || first.is_ascii_digit())
                && rest.len() <= 255
                && rest.iter().all(keychar)
        }
        None => false,
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
    /// A valid `tracestate` that OpenTelemetry's `TraceState` cannot hold whole.
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
    let (trace_state, unrepresentable) = match TraceState::from_key_value(members.iter().copied()) {
        Ok(trace_state) => (trace_state, None),
        Err(_) => held_apart(parent.trace_id, &members),
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
        unrepresentable,
    }
}

/// A valid list `TraceState` rejects: the members it accepts, for the span context, and the
/// whole list to go beside it. Rare, so checking the members one by one costs nothing in the
/// common case.
#[cold]
fn held_apart(
    trace_id: TraceId,
    members: &[(&str, &str)],
) -> (TraceState, Option<ReceivedTraceState>) {
    let members: Vec<ReceivedMember> = members
        .iter()
        .map(|&(key, value)| ReceivedMember {
            key: key.to_owned(),
            value: value.to_owned(),
            held: TraceState::from_key_value([(key, value)]).is_ok(),
        })
        .collect();
    let held = members
        .iter()
        .filter(|member| member.held)
        .map(|member| (member.key.as_str(), member.value.as_str()));
    // Each of them was accepted alone, and their keys are distinct.
    let trace_state = TraceState::from_key_value(held).unwrap_or_default();
    (trace_state, Some(ReceivedTraceState { trace_id, members }))
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        injector.set(TRACEPARENT, format_traceparent(span_context));
        let trace_state = match cx
            .get::<ReceivedTraceState>()
            .filter(|received| received.trace_id == span_context.trace_id())
        {
            Some(received) => received.header_with(span_context.trace_state()),
            None => span_context.trace_state().header(),
        };
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

    /// Section "Key": `( lcalpha / DIGIT ) 0*255 ( keychar )`, `@` being a `keychar`.
    #[test]
    fn tracestate_keys_follow_the_key_grammar() {
        for key in [
            "congo",
            "1congo",
            "1tenant@vendor",
            "foo@",
            "foo@@bar",
            "foo@bar@baz",
            "a_-*/@9",
            &"z".repeat(256),
            &format!("{}@v", "t".repeat(242)),
            &format!("t@{}", "v".repeat(15)),
            &format!("{}@{}", "t".repeat(128), "v".repeat(127)),
        ] {
            assert!(valid_key(key), "{key}");
        }
        for key in [
            "",
            "@foo",
            "_foo",
            "Foo",
            "foo.bar",
            "foo bar",
            "foo=",
            &"z".repeat(257),
            &format!("{}@{}", "t".repeat(128), "v".repeat(128)),
        ] {
            assert!(!valid_key(key), "{key}");
        }
    }

    /// Section "Combined Header Value": one entry per key, the first (left-most) kept.
    #[test]
    fn a_repeated_key_keeps_its_first_entry() {
        assert_eq!(
            parse_tracestate(["foo=1,bar=2,foo=3", "bar=4,baz=5"]),
            Some(vec![("foo", "1"), ("bar", "2"), ("baz", "5")])
        );
        // Section "list": 32 members at most, repeated keys counted, empty ones not.
        let members: Vec<String> = (0..32).map(|i| format!("k{i}=1")).collect();
        let thirty_two = members.join(",");
        assert_eq!(
            parse_tracestate([thirty_two.as_str(), ",,"]).unwrap().len(),
            32
        );
        assert_eq!(parse_tracestate([thirty_two.as_str(), "k0=1"]), None);
    }

    fn receive(list: &str) -> (TraceState, ReceivedTraceState) {
        let members = parse_tracestate([list]).unwrap();
        let (trace_state, received) = held_apart(TraceId::from(1), &members);
        (trace_state, received.unwrap())
    }

    /// What OpenTelemetry's `TraceState` cannot hold goes beside it, and is sent on as received.
    #[test]
    fn a_list_the_sdk_rejects_is_held_apart_and_sent_whole() {
        let (trace_state, received) = receive("a=1,foo@@bar=2,b=3,t@vvvvvvvvvvvvvvv=4");
        assert_eq!(trace_state.header(), "a=1,b=3");
        assert_eq!(
            received.header_with(&trace_state),
            "a=1,foo@@bar=2,b=3,t@vvvvvvvvvvvvvvv=4"
        );
    }

    /// Section "Mutating the tracestate Field": changes of the span context's `TraceState`
    /// apply to the whole list; updated and added keys move to the left, the order of the others
    /// is kept.
    #[test]
    fn changes_of_the_span_context_apply_to_the_whole_list() {
        let (trace_state, received) = receive("a=1,foo@@bar=2,b=3");
        let updated = trace_state.insert("b", "9").unwrap();
        assert_eq!(received.header_with(&updated), "b=9,a=1,foo@@bar=2");
        let added = trace_state.insert("c", "0").unwrap();
        assert_eq!(received.header_with(&added), "c=0,a=1,foo@@bar=2,b=3");
        let deleted = trace_state.delete("a").unwrap();
        assert_eq!(received.header_with(&deleted), "foo@@bar=2,b=3");
        // A full list stays at 32 members, the right-most dropped.
        let list: Vec<String> = (0..31)
            .map(|i| format!("k{i}=1"))
            .chain(["x@@y=1".to_owned()])
            .collect();
        let (trace_state, received) = receive(&list.join(","));
        let sent = received.header_with(&trace_state.insert("new", "1").unwrap());
        assert!(sent.starts_with("new=1,k0=1,"), "{sent}");
        assert!(sent.ends_with(",k30=1"), "{sent}");
    }
}

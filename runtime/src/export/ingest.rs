//! Spans that someone else sent (a browser, through `http::browser`): an OTLP/HTTP trace export
//! request read from its JSON or binary Protobuf encoding and made safe to forward through the
//! program's own exporter.
//!
//! Nothing in the request is trusted. Its resource is replaced: only `service.name` is read, and
//! only a name the program allows is kept; the program stamps the rest ([`Stamp`]). Each span
//! keeps what OTLP carries (ids, parent, name, kind, times, attributes, events, links, status,
//! scope) within the limits the program set: spans past the count are refused, attributes,
//! events and links past theirs dropped and counted in the span's dropped counts, long strings
//! cut ("Attribute Limits", specification `common/README.md`). A span with an invalid trace or
//! span id or no start time is refused. What was refused or cut is counted ([`Ingested`]), for
//! the answer's `partial_success` (OTLP "Partial Success": "the server MUST initialize the
//! `partial_success` field ... and it MUST set the respective `rejected_spans`") and the
//! endpoint's metrics.
//!
//! Memory: the request is decoded whole, so its size bounds what decoding holds; the caller caps
//! the body (after decompression) before calling [`decode`].

use crate::config::SpanLimits;
use crate::export::span_record::char_boundary_after;
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, status, Span as ProtoSpan};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The request body's encoding, from its `Content-Type` (OTLP "Binary Protobuf Encoding":
/// `application/x-protobuf`; "JSON Protobuf Encoding": `application/json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    /// The encoding a `Content-Type` value names (parameters such as `charset` ignored), if
    /// OTLP defines it.
    pub fn of_content_type(content_type: &str) -> Option<Encoding> {
        let media_type = content_type.split(';').next()?.trim();
        if media_type.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else if media_type.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else {
            None
        }
    }

    /// The `Content-Type` of an answer: "The server MUST use the same "Content-Type" in the
    /// response as it received in the request" (OTLP/HTTP Response).
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Protobuf => "application/x-protobuf",
        }
    }
}

/// Why a body is not an `ExportTraceServiceRequest`: the answer's `Status.message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest decoder message quoted back: a decoder may echo part of the input.
const MAX_ERROR_CHARS: usize = 200;

/// Decodes an export request. Decoding is bounded by the body (the caller caps it) and by the
/// decoders' own recursion limits (nested arrays and key-value lists).
pub(crate) fn decode(
    encoding: Encoding,
    body: &[u8],
) -> Result<ExportTraceServiceRequest, DecodeError> {
    let result = match encoding {
        Encoding::Json => serde_json::from_slice::<ExportTraceServiceRequest>(body)
            .map_err(|error| format!("not an OTLP/JSON ExportTraceServiceRequest: {error}")),
        Encoding::Protobuf => <ExportTraceServiceRequest as prost::Message>::decode(body)
            .map_err(|error| format!("not a protobuf ExportTraceServiceRequest: {error}")),
    };
    result.map_err(|mut message| {
        if let Some(end) = char_boundary_after(&message, MAX_ERROR_CHARS) {
            message.truncate(end);
            message.push('…');
        }
        DecodeError(message)
    })
}

/// What the program lets the senders' spans hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IngestLimits {
    /// Most spans kept from one request; the rest are refused.
    pub max_spans: usize,
    /// Span, event and link limits (the count of attributes, events, links; the length of
    /// strings), applied as OpenTelemetry's span limits are to the program's own spans.
    pub span: SpanLimits,
    /// The `service.name` values accepted; a resource naming another is refused with its spans.
    pub service_names: Vec<String>,
}

/// The spans kept from one request, by the allowed service name their resource gave, and what
/// was refused or cut.
#[derive(Debug, Default)]
pub(crate) struct Ingested {
    /// Spans kept, grouped by the index of their service name in
    /// [`IngestLimits::service_names`].
    pub batches: Vec<(usize, Vec<SpanData>)>,
    /// Spans in the request.
    pub received: u64,
    /// Spans refused: past the count, of a service not allowed, or invalid.
    pub refused_over_count: u64,
    pub refused_service: u64,
    pub refused_invalid: u64,
    /// Attributes, events and links dropped past their counts or as values OpenTelemetry cannot
    /// hold (maps, bytes, arrays of mixed types), and string values cut to the length limit.
    pub dropped_attributes: u64,
    pub dropped_events: u64,
    pub dropped_links: u64,
    pub cut_values: u64,
    /// A service name refused, quoted (cut) in the answer's message.
    refused_service_name: Option<String>,
}

impl Ingested {
    /// Spans kept.
    pub fn kept(&self) -> u64 {
        self.batches
            .iter()
            .map(|(_, spans)| spans.len() as u64)
            .sum()
    }

    /// Spans refused, the answer's `rejected_spans`.
    pub fn refused(&self) -> u64 {
        self.refused_over_count + self.refused_service + self.refused_invalid
    }

    /// The answer's `error_message`: why spans were refused, or what was cut from the kept ones
    /// (OTLP "Partial Success": a warning with `rejected_spans` 0 is allowed, and must not be
    /// empty); `None` when everything was kept whole.
    pub fn message(&self, limits: &IngestLimits) -> Option<String> {
        let mut parts = Vec::new();
        if self.refused_over_count > 0 {
            parts.push(format!(
                "{} spans past the limit of {} per request refused",
                self.refused_over_count, limits.max_spans
            ));
        }
        if self.refused_service > 0 {
            let name = self.refused_service_name.as_deref().unwrap_or_default();
            parts.push(format!(
                "{} spans of service.name {name:?} refused (allowed: {})",
                self.refused_service,
                limits.service_names.join(", ")
            ));
        }
        if self.refused_invalid > 0 {
            parts.push(format!(
                "{} spans refused: invalid trace or span id, or no start time",
                self.refused_invalid
            ));
        }
        let cut = [
            (self.dropped_attributes, "attributes dropped"),
            (self.dropped_events, "events dropped"),
            (self.dropped_links, "links dropped"),
            (self.cut_values, "values cut to the length limit"),
        ];
        for (count, what) in cut {
            if count > 0 {
                parts.push(format!("{count} {what}"));
            }
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Keeps what `request` may forward within `limits`.
pub(crate) fn ingest(request: ExportTraceServiceRequest, limits: &IngestLimits) -> Ingested {
    let mut ingested = Ingested::default();
    let mut room = limits.max_spans;
    for resource_spans in request.resource_spans {
        let span_count: u64 = resource_spans
            .scope_spans
            .iter()
            .map(|scope| scope.spans.len() as u64)
            .sum();
        ingested.received += span_count;
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|resource| string_attribute(&resource.attributes, "service.name"));
        let allowed = service.and_then(|name| {
            limits
                .service_names
                .iter()
                .position(|allowed| allowed == name)
        });
        let Some(service_index) = allowed else {
            ingested.refused_service += span_count;
            if ingested.refused_service_name.is_none() {
                let mut name = service.unwrap_or("(none)").to_owned();
                if let Some(end) = char_boundary_after(&name, 64) {
                    name.truncate(end);
                }
                ingested.refused_service_name = Some(name);
            }
            continue;
        };
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_of(scope_spans.scope.as_ref(), &limits.span);
            for proto in scope_spans.spans {
                if room == 0 {
                    ingested.refused_over_count += 1;
                    continue;
                }
                match span_data(proto, &scope, &limits.span, &mut ingested) {
                    Some(span) => {
                        room -= 1;
                        push(&mut ingested.batches, service_index, span);
                    }
                    None => ingested.refused_invalid += 1,
                }
            }
        }
    }
    ingested
}

fn push(batches: &mut Vec<(usize, Vec<SpanData>)>, service: usize, span: SpanData) {
    match batches.iter_mut().find(|(index, _)| *index == service) {
        Some((_, spans)) => spans.push(span),
        None => batches.push((service, vec![span])),
    }
}

fn string_attribute<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(text) => Some(text.as_str()),
                _ => None,
            },
        )
}

/// A text from the request, cut to the length limit.
fn cut_text(mut text: String, limits: &SpanLimits, ingested: &mut Ingested) -> String {
    if let Some(max_chars) = limits.attribute_value_length {
        if let Some(end) = char_boundary_after(&text, max_chars) {
            text.truncate(end);
            ingested.cut_values += 1;
        }
    }
    text
}

/// The span's instrumentation scope: its name and version, cut; its attributes are not kept.
fn scope_of(
    scope: Option<&opentelemetry_proto::tonic::common::v1::InstrumentationScope>,
    limits: &SpanLimits,
) -> InstrumentationScope {
    let mut ignored = Ingested::default();
    let name = scope.map(|scope| scope.name.clone()).unwrap_or_default();
    let mut builder = InstrumentationScope::builder(cut_text(name, limits, &mut ignored));
    if let Some(scope) = scope.filter(|scope| !scope.version.is_empty()) {
        builder = builder.with_version(cut_text(scope.version.clone(), limits, &mut ignored));
    }
    builder.build()
}

fn trace_id(bytes: &[u8]) -> Option<TraceId> {
    let id = TraceId::from_bytes(bytes.try_into().ok()?);
    (id != TraceId::INVALID).then_some(id)
}

fn span_id(bytes: &[u8]) -> Option<SpanId> {
    let id = SpanId::from_bytes(bytes.try_into().ok()?);
    (id != SpanId::INVALID).then_some(id)
}

/// The span's parent: none (empty, or the invalid id), or a valid id; anything else is invalid.
fn parent_span_id(bytes: &[u8]) -> Option<SpanId> {
    if bytes.is_empty() {
        return Some(SpanId::INVALID);
    }
    Some(SpanId::from_bytes(bytes.try_into().ok()?))
}

/// OTLP `SpanFlags`: bit 8 says whether bit 9 (the parent or link is remote) is known.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

fn is_remote(flags: u32) -> bool {
    flags & CONTEXT_HAS_IS_REMOTE != 0 && flags & CONTEXT_IS_REMOTE != 0
}

fn time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

fn span_kind(kind: i32) -> SpanKind {
    match span::SpanKind::try_from(kind) {
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

/// The span as the program's exporter takes it, within `limits`; `None` when it cannot be
/// forwarded (an invalid trace or span id, no start time).
fn span_data(
    proto: ProtoSpan,
    scope: &InstrumentationScope,
    limits: &SpanLimits,
    ingested: &mut Ingested,
) -> Option<SpanData> {
    let trace_id = trace_id(&proto.trace_id)?;
    let span_id = span_id(&proto.span_id)?;
    let parent_span_id = parent_span_id(&proto.parent_span_id)?;
    if proto.start_time_unix_nano == 0 {
        return None;
    }
    let start_time = time(proto.start_time_unix_nano);
    // A clock that ran backwards makes a span of no length, not a negative one.
    let end_time = time(proto.end_time_unix_nano.max(proto.start_time_unix_nano));
    // An invalid `tracestate` is dropped, as a propagator drops an invalid header.
    let trace_state = TraceState::from_str(&proto.trace_state).unwrap_or_default();
    let span_context = SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, false, trace_state);
    let (attributes, dropped) =
        attributes(proto.attributes, limits.attribute_count, limits, ingested);
    let events = events(proto.events, proto.dropped_events_count, limits, ingested);
    let links = links(proto.links, proto.dropped_links_count, limits, ingested);
    let status = match proto.status {
        Some(proto_status) if proto_status.code == status::StatusCode::Error as i32 => {
            Status::error(cut_text(proto_status.message, limits, ingested))
        }
        Some(proto_status) if proto_status.code == status::StatusCode::Ok as i32 => Status::Ok,
        _ => Status::Unset,
    };
    Some(SpanData {
        span_context,
        parent_span_id,
        parent_span_is_remote: is_remote(proto.flags),
        span_kind: span_kind(proto.kind),
        name: Cow::Owned(cut_text(proto.name, limits, ingested)),
        start_time,
        end_time,
        attributes,
        dropped_attributes_count: proto.dropped_attributes_count.saturating_add(dropped),
        events,
        links,
        status,
        instrumentation_scope: scope.clone(),
    })
}

fn events(
    proto: Vec<span::Event>,
    dropped_before: u32,
    limits: &SpanLimits,
    ingested: &mut Ingested,
) -> SpanEvents {
    let over = proto.len().saturating_sub(limits.event_count);
    ingested.dropped_events += over as u64;
    let mut events = SpanEvents::default();
    events.dropped_count = dropped_before.saturating_add(saturating_u32(over));
    for event in proto.into_iter().take(limits.event_count) {
        let (attributes, dropped) = attributes(
            event.attributes,
            limits.event_attribute_count,
            limits,
            ingested,
        );
        events.events.push(Event::new(
            cut_text(event.name, limits, ingested),
            time(event.time_unix_nano),
            attributes,
            event.dropped_attributes_count.saturating_add(dropped),
        ));
    }
    events
}

fn links(
    proto: Vec<span::Link>,
    dropped_before: u32,
    limits: &SpanLimits,
    ingested: &mut Ingested,
) -> SpanLinks {
    let mut links = SpanLinks::default();
    let mut over = 0usize;
    for link in proto {
        if links.links.len() >= limits.link_count {
            over += 1;
            continue;
        }
        // A link to an invalid context points nowhere: dropped as one past the count is.
        let (Some(trace_id), Some(span_id)) = (trace_id(&link.trace_id), span_id(&link.span_id))
        else {
            over += 1;
            continue;
        };
        let trace_state = TraceState::from_str(&link.trace_state).unwrap_or_default();
        let context = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            is_remote(link.flags),
            trace_state,
        );
        let (attributes, dropped) = attributes(
            link.attributes,
            limits.link_attribute_count,
            limits,
            ingested,
        );
        links.links.push(Link::new(
            context,
            attributes,
            link.dropped_attributes_count.saturating_add(dropped),
        ));
    }
    ingested.dropped_links += over as u64;
    links.dropped_count = dropped_before.saturating_add(saturating_u32(over));
    links
}

/// The first `max_count` attributes OpenTelemetry can hold, with their strings cut; returns
/// them and how many were dropped (past the count, or a value it cannot hold).
fn attributes(
    proto: Vec<ProtoKeyValue>,
    max_count: usize,
    limits: &SpanLimits,
    ingested: &mut Ingested,
) -> (Vec<KeyValue>, u32) {
    let mut kept = Vec::with_capacity(proto.len().min(max_count));
    let mut dropped = 0usize;
    for attribute in proto {
        if kept.len() >= max_count || attribute.key.is_empty() {
            dropped += 1;
            continue;
        }
        match attribute.value.and_then(|value| value.value) {
            Some(value) => match self::value(value, limits, ingested) {
                Some(value) => {
                    let key = cut_text(attribute.key, limits, ingested);
                    kept.push(KeyValue::new(key, value));
                }
                None => dropped += 1,
            },
            None => dropped += 1,
        }
    }
    ingested.dropped_attributes += dropped as u64;
    (kept, saturating_u32(dropped))
}

/// The OpenTelemetry value of an OTLP one: strings (cut), booleans, integers, doubles and
/// arrays of one of those types; `None` for maps, bytes, mixed or nested arrays and string
/// table references, which OpenTelemetry's attribute values cannot hold.
fn value(value: any_value::Value, limits: &SpanLimits, ingested: &mut Ingested) -> Option<Value> {
    Some(match value {
        any_value::Value::StringValue(text) => {
            Value::String(StringValue::from(cut_text(text, limits, ingested)))
        }
        any_value::Value::BoolValue(flag) => Value::Bool(flag),
        any_value::Value::IntValue(number) => Value::I64(number),
        any_value::Value::DoubleValue(number) => Value::F64(number),
        any_value::Value::ArrayValue(array) => {
            Value::Array(self::array(array.values, limits, ingested)?)
        }
        any_value::Value::KvlistValue(_)
        | any_value::Value::BytesValue(_)
        | any_value::Value::StringValueStrindex(_) => return None,
    })
}

fn array(values: Vec<AnyValue>, limits: &SpanLimits, ingested: &mut Ingested) -> Option<Array> {
    let mut values = values.into_iter().map(|value| value.value);
    let Some(first) = values.next() else {
        return Some(Array::String(Vec::new()));
    };
    macro_rules! all {
        ($first:expr, $variant:ident, $map:expr) => {{
            let mut kept = vec![$map($first)];
            for value in values {
                match value {
                    Some(any_value::Value::$variant(item)) => kept.push($map(item)),
                    _ => return None,
                }
            }
            kept
        }};
    }
    Some(match first? {
        any_value::Value::StringValue(text) => Array::String(all!(text, StringValue, |text| {
            StringValue::from(cut_text(text, limits, ingested))
        })),
        any_value::Value::BoolValue(flag) => Array::Bool(all!(flag, BoolValue, |flag| flag)),
        any_value::Value::IntValue(number) => Array::I64(all!(number, IntValue, |number| number)),
        any_value::Value::DoubleValue(number) => {
            Array::F64(all!(number, DoubleValue, |number| number))
        }
        _ => return None,
    })
}

fn saturating_u32(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// A program's answer to an export request: OTLP/HTTP's `ExportTraceServiceResponse` (200), or
/// a `google.rpc.Status` (4xx, 5xx: "The response body for all HTTP 4xx and HTTP 5xx responses
/// MUST be a Protobuf-encoded Status message that describes the problem"), in the request's
/// encoding.
pub(crate) mod answer {
    use super::Encoding;
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };

    /// `google.rpc.Status` (`google/rpc/status.proto`): the code (OTLP does not use it: 0
    /// is left out) and a developer-facing message; no details.
    #[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
    pub(crate) struct RpcStatus {
        #[prost(int32, tag = "1")]
        #[serde(skip_serializing_if = "is_zero")]
        pub code: i32,
        #[prost(string, tag = "2")]
        pub message: String,
    }

    fn is_zero(code: &i32) -> bool {
        *code == 0
    }

    /// The body of a success, partial when spans were refused or a warning is due.
    pub(crate) fn success(encoding: Encoding, rejected: u64, message: Option<String>) -> Vec<u8> {
        let response = ExportTraceServiceResponse {
            partial_success: message.map(|error_message| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message,
            }),
        };
        match encoding {
            Encoding::Protobuf => prost::Message::encode_to_vec(&response),
            // "The server MUST leave the `partial_success` field unset in case of a successful
            // response" (OTLP/HTTP Response, Full Success): absent, not `null`.
            Encoding::Json if response.partial_success.is_none() => b"{}".to_vec(),
            Encoding::Json => serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// The body of a failure.
    pub(crate) fn failure(encoding: Encoding, message: String) -> Vec<u8> {
        let status = RpcStatus { code: 0, message };
        match encoding {
            Encoding::Protobuf => prost::Message::encode_to_vec(&status),
            Encoding::Json => serde_json::to_vec(&status).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }
}

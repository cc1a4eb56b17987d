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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    /// What the OpenTelemetry JavaScript exporter (`@opentelemetry/exporter-trace-otlp-http`
    /// 0.223, in chromium) sent for a click and its fetch, as captured, cut to two spans: hex
    /// ids, times as decimal strings, integers as JSON numbers, `kind` and `flags` as numbers.
    const FROM_THE_WEB_EXPORTER: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"product-webapp"}},{"key":"telemetry.sdk.language","value":{"stringValue":"webjs"}}],"droppedAttributesCount":0},"scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-fetch","version":"0.223.0"},"spans":[{"traceId":"e77d1852931155881b964204aea2b96e","spanId":"c29d83a1710604c9","parentSpanId":"1d697a62baa94e38","name":"POST","kind":3,"startTimeUnixNano":"1796453908812000000","endTimeUnixNano":"1796453908841000000","attributes":[{"key":"http.request.method","value":{"stringValue":"POST"}},{"key":"url.full","value":{"stringValue":"http://127.0.0.1:18931/tasks"}},{"key":"http.response.status_code","value":{"intValue":201}}],"droppedAttributesCount":0,"events":[{"attributes":[],"name":"fetchStart","timeUnixNano":"1796453908812600098","droppedAttributesCount":0}],"droppedEventsCount":0,"status":{"code":0},"links":[],"droppedLinksCount":0,"flags":257}]},{"scope":{"name":"product-webapp"},"spans":[{"traceId":"e77d1852931155881b964204aea2b96e","spanId":"1d697a62baa94e38","name":"user.create_task","kind":1,"startTimeUnixNano":"1796453908812000000","endTimeUnixNano":"1796453908850000000","attributes":[{"key":"task.id","value":{"intValue":1}}],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0,"status":{"code":0},"links":[],"droppedLinksCount":0,"flags":257}]}]}]}"#;

    fn limits() -> IngestLimits {
        IngestLimits {
            max_spans: 512,
            span: SpanLimits {
                attribute_value_length: Some(1024),
                attribute_count: 32,
                ..SpanLimits::default()
            },
            service_names: vec!["product-webapp".to_owned()],
        }
    }

    fn text(key: &str, value: &str) -> ProtoKeyValue {
        any(key, any_value::Value::StringValue(value.to_owned()))
    }

    fn any(key: &str, value: any_value::Value) -> ProtoKeyValue {
        ProtoKeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn span(name: &str, attributes: Vec<ProtoKeyValue>) -> ProtoSpan {
        ProtoSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: name.to_owned(),
            kind: 1,
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            attributes,
            ..Default::default()
        }
    }

    fn request_of(service: &str, spans: Vec<ProtoSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![text("service.name", service)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn the_web_exporters_json_is_read_whole() {
        let request = decode(Encoding::Json, FROM_THE_WEB_EXPORTER.as_bytes()).unwrap();
        let ingested = ingest(request, &limits());
        assert_eq!(
            (ingested.received, ingested.kept(), ingested.refused()),
            (2, 2, 0)
        );
        assert_eq!(ingested.message(&limits()), None);
        let (service, spans) = &ingested.batches[0];
        assert_eq!(*service, 0);
        let (fetch, click) = (&spans[0], &spans[1]);
        assert_eq!(fetch.name, "POST");
        assert_eq!(fetch.span_kind, SpanKind::Client);
        assert_eq!(
            fetch.span_context.trace_id().to_string(),
            "e77d1852931155881b964204aea2b96e"
        );
        assert_eq!(fetch.parent_span_id.to_string(), "1d697a62baa94e38");
        assert_eq!(click.span_context.span_id().to_string(), "1d697a62baa94e38");
        assert_eq!(click.parent_span_id, SpanId::INVALID);
        assert_eq!(click.span_kind, SpanKind::Internal);
        assert_eq!(click.attributes, [KeyValue::new("task.id", 1i64)]);
        assert_eq!(
            fetch.attributes[2],
            KeyValue::new("http.response.status_code", 201i64)
        );
        assert_eq!(fetch.events.events[0].name, "fetchStart");
        assert_eq!(
            fetch.start_time,
            UNIX_EPOCH + Duration::from_nanos(1_796_453_908_812_000_000)
        );
        assert_eq!(
            fetch.instrumentation_scope.name(),
            "@opentelemetry/instrumentation-fetch"
        );
        assert_eq!(fetch.instrumentation_scope.version(), Some("0.223.0"));
        // Flags 257: the "is remote" bit is known (0x100) and off.
        assert!(!fetch.parent_span_is_remote);
        assert!(fetch.span_context.is_sampled());
    }

    #[test]
    fn protobuf_and_json_decode_to_the_same_request() {
        let request = decode(Encoding::Json, FROM_THE_WEB_EXPORTER.as_bytes()).unwrap();
        let binary = prost::Message::encode_to_vec(&request);
        assert_eq!(decode(Encoding::Protobuf, &binary).unwrap(), request);
    }

    #[test]
    fn what_is_not_a_request_is_refused_with_the_decoders_reason() {
        let json = decode(Encoding::Json, br#"{"resourceSpans": [{"scopeSpans": 5}]}"#);
        assert_eq!(
            json.unwrap_err().to_string(),
            "not an OTLP/JSON ExportTraceServiceRequest: invalid type: integer `5`, expected a \
             sequence at line 1 column 35"
        );
        // OTLP/JSON: "Values of enum fields MUST be encoded as integer values".
        let named_kind =
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SERVER"}]}]}]}"#;
        assert!(decode(Encoding::Json, named_kind.as_bytes()).is_err());
        let binary = decode(Encoding::Protobuf, &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(binary
            .unwrap_err()
            .to_string()
            .starts_with("not a protobuf ExportTraceServiceRequest: "),);
        // OTLP/JSON: "receivers MUST ignore message fields with unknown names".
        let unknown = r#"{"resourceSpans":[],"somethingNew":{"a":1}}"#;
        assert_eq!(
            decode(Encoding::Json, unknown.as_bytes()).unwrap(),
            ExportTraceServiceRequest::default()
        );
    }

    #[test]
    fn a_decoders_reason_is_cut_before_it_is_quoted_back() {
        let long = format!(r#"{{"resourceSpans": "{}"#, "x".repeat(10_000));
        let message = decode(Encoding::Json, long.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(message.chars().count() <= MAX_ERROR_CHARS + 1, "{message}");
    }

    #[test]
    fn spans_past_the_count_and_of_other_services_are_refused_and_counted() {
        let mut request = request_of(
            "product-webapp",
            (0..5).map(|_| span("s", vec![])).collect(),
        );
        request
            .resource_spans
            .extend(request_of("someone-else", vec![span("x", vec![])]).resource_spans);
        request
            .resource_spans
            .extend(request_of("product-webapp", vec![span("late", vec![])]).resource_spans);
        let limits = IngestLimits {
            max_spans: 3,
            ..limits()
        };
        let ingested = ingest(request, &limits);
        assert_eq!(ingested.received, 7);
        assert_eq!(ingested.kept(), 3);
        assert_eq!(ingested.refused_over_count, 3);
        assert_eq!(ingested.refused_service, 1);
        assert_eq!(
            ingested.message(&limits).unwrap(),
            "3 spans past the limit of 3 per request refused; 1 spans of service.name \
             \"someone-else\" refused (allowed: product-webapp)"
        );
    }

    #[test]
    fn invalid_ids_and_missing_times_are_refused() {
        let mut no_trace = span("a", vec![]);
        no_trace.trace_id = vec![0; 16];
        let mut short_span_id = span("b", vec![]);
        short_span_id.span_id = vec![1, 2, 3];
        let mut bad_parent = span("c", vec![]);
        bad_parent.parent_span_id = vec![1; 5];
        let mut no_start = span("d", vec![]);
        no_start.start_time_unix_nano = 0;
        let mut backwards = span("e", vec![]);
        backwards.end_time_unix_nano = 5;
        let ingested = ingest(
            request_of(
                "product-webapp",
                vec![no_trace, short_span_id, bad_parent, no_start, backwards],
            ),
            &limits(),
        );
        assert_eq!((ingested.kept(), ingested.refused_invalid), (1, 4));
        let kept = &ingested.batches[0].1[0];
        assert_eq!(kept.name, "e");
        assert_eq!(kept.end_time, kept.start_time, "a clock that ran backwards");
    }

    #[test]
    fn attributes_past_the_count_or_of_no_opentelemetry_type_are_dropped_and_counted() {
        let mut attributes: Vec<ProtoKeyValue> =
            (0..40).map(|i| text(&format!("k{i}"), "v")).collect();
        attributes.insert(
            0,
            any("map", any_value::Value::KvlistValue(Default::default())),
        );
        attributes.insert(1, any("bytes", any_value::Value::BytesValue(vec![1])));
        let mixed = ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(any_value::Value::IntValue(1)),
                },
                AnyValue {
                    value: Some(any_value::Value::StringValue("two".into())),
                },
            ],
        };
        attributes.insert(2, any("mixed", any_value::Value::ArrayValue(mixed)));
        let ints = ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(any_value::Value::IntValue(1)),
                },
                AnyValue {
                    value: Some(any_value::Value::IntValue(2)),
                },
            ],
        };
        attributes.insert(3, any("ints", any_value::Value::ArrayValue(ints)));
        let mut crowded = span("crowded", attributes);
        crowded.dropped_attributes_count = 7;
        let ingested = ingest(request_of("product-webapp", vec![crowded]), &limits());
        let kept = &ingested.batches[0].1[0];
        assert_eq!(kept.attributes.len(), 32);
        assert_eq!(
            kept.attributes[0],
            KeyValue::new("ints", Value::Array(Array::I64(vec![1, 2])))
        );
        // 3 of no OpenTelemetry type, 9 past the count, and the 7 the sender had dropped.
        assert_eq!(kept.dropped_attributes_count, 3 + 9 + 7);
        assert_eq!(ingested.dropped_attributes, 12);
        assert_eq!(
            ingested.message(&limits()).unwrap(),
            "12 attributes dropped"
        );
    }

    #[test]
    fn long_strings_are_cut_on_a_character_boundary() {
        let limits = IngestLimits {
            span: SpanLimits {
                attribute_value_length: Some(4),
                ..SpanLimits::default()
            },
            ..limits()
        };
        let ingested = ingest(
            request_of(
                "product-webapp",
                vec![span("ééééé", vec![text("k", "ééééé")])],
            ),
            &limits,
        );
        let kept = &ingested.batches[0].1[0];
        assert_eq!(kept.name, "éééé");
        assert_eq!(kept.attributes[0], KeyValue::new("k", "éééé"));
        assert_eq!(ingested.cut_values, 2);
    }

    #[test]
    fn events_and_links_past_their_counts_are_dropped_and_counted() {
        let mut busy = span("busy", vec![]);
        busy.events = (0..5)
            .map(|i| span::Event {
                name: format!("e{i}"),
                time_unix_nano: 15,
                ..Default::default()
            })
            .collect();
        busy.links = vec![
            span::Link {
                trace_id: vec![3; 16],
                span_id: vec![4; 8],
                flags: CONTEXT_HAS_IS_REMOTE | CONTEXT_IS_REMOTE,
                ..Default::default()
            },
            span::Link {
                trace_id: vec![0; 16],
                span_id: vec![4; 8],
                ..Default::default()
            },
        ];
        let limits = IngestLimits {
            span: SpanLimits {
                event_count: 2,
                ..limits().span
            },
            ..limits()
        };
        let ingested = ingest(request_of("product-webapp", vec![busy]), &limits);
        let kept = &ingested.batches[0].1[0];
        assert_eq!(kept.events.events.len(), 2);
        assert_eq!(kept.events.dropped_count, 3);
        assert_eq!(kept.links.links.len(), 1);
        assert!(kept.links.links[0].span_context.is_remote());
        assert_eq!(
            kept.links.dropped_count, 1,
            "the link to an invalid context"
        );
        assert_eq!((ingested.dropped_events, ingested.dropped_links), (3, 1));
    }

    #[test]
    fn answers_are_in_the_requests_encoding() {
        assert_eq!(answer::success(Encoding::Json, 0, None), b"{}");
        assert_eq!(answer::success(Encoding::Protobuf, 0, None), b"");
        let partial = answer::success(Encoding::Json, 2, Some("2 refused".into()));
        let json: serde_json::Value = serde_json::from_slice(&partial).unwrap();
        assert_eq!(json["partialSuccess"]["errorMessage"], "2 refused");
        let rejected = &json["partialSuccess"]["rejectedSpans"];
        assert!(rejected == 2 || rejected == "2", "{rejected}");
        assert_eq!(
            answer::failure(Encoding::Json, "bad".into()),
            br#"{"message":"bad"}"#
        );
        let status: answer::RpcStatus =
            prost::Message::decode(answer::failure(Encoding::Protobuf, "bad".into()).as_slice())
                .unwrap();
        assert_eq!(status.message, "bad");
        assert_eq!(
            Encoding::of_content_type("application/json; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::of_content_type("Application/X-Protobuf"),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::of_content_type("text/plain"), None);
    }
}

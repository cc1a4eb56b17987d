//! One model of exported telemetry, shared by the shutdown summary, the `factory-obs` tool and
//! the project's tests.
//!
//! - [`read`] streams OTLP/JSON files (one export request per line: the embedded default's
//!   `telemetry/*.jsonl` and the OpenTelemetry Collector file exporter's output, plain, gzip or
//!   rotated) into [`Batch`]es of [`Span`]s, [`MetricPoint`]s and [`LogRecord`]s, reporting
//!   malformed lines with their file and line number.
//! - [`run`] groups spans into [`Run`]s with their stages, LLM calls and adjudications, and
//!   product requests (server spans with a route).
//!
//! Spans come from files ([`Span::from_proto`]) or straight from the SDK's export batches (the
//! runtime's shutdown summary converts those): both feed the same [`ModelBuilder`].

#![warn(missing_docs)]

pub mod json;
pub mod read;
pub mod run;
pub mod terminal;

pub use json::{AttributeRef, EventRef, ParsedLine, SpanRef, ValueRef};
pub use read::{read_paths, Problem, ReadError, ReadStats};
pub use run::{
    agent_above, failed_test_names, nearest_above, Adjudication, AgentCall, Build, LlmCall, Model,
    ModelBuilder, Role, Run, ServerRequest, Stage, TestCounts, ToolCall,
};
pub use terminal::escape_for_terminal;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as proto_trace;
use std::fmt;

/// An attribute value, as exported.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `stringValue`.
    Str(String),
    /// `intValue` (a JSON number or a decimal string in a file).
    Int(i64),
    /// `doubleValue`.
    Double(f64),
    /// `boolValue`.
    Bool(bool),
    /// Arrays, maps and bytes, rendered as text.
    Other(String),
}

impl Value {
    /// The value as an integer when it is one (or a double with no fraction).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Double(d) if d.fract() == 0.0 => Some(*d as i64),
            _ => None,
        }
    }

    /// The value as a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The value as a string when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    fn from_proto(value: Option<&AnyValue>) -> Value {
        match value.and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(text)) => Value::Str(text.clone()),
            Some(any_value::Value::IntValue(n)) => Value::Int(*n),
            Some(any_value::Value::DoubleValue(d)) => Value::Double(*d),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
            Some(any_value::Value::ArrayValue(array)) => Value::Other(format!(
                "[{}]",
                array
                    .values
                    .iter()
                    .map(|v| Value::from_proto(Some(v)).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(any_value::Value::KvlistValue(list)) => Value::Other(format!(
                "{{{}}}",
                list.values
                    .iter()
                    .map(|kv| format!("{}: {}", kv.key, Value::from_proto(kv.value.as_ref())))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(any_value::Value::BytesValue(bytes)) => Value::Other(hex(bytes)),
            // A string-table index (profiles only): no table here to resolve it.
            Some(any_value::Value::StringValueStrindex(index)) => Value::Other(format!("#{index}")),
            None => Value::Other(String::new()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(text) | Value::Other(text) => f.write_str(text),
            Value::Int(n) => write!(f, "{n}"),
            Value::Double(d) => write!(f, "{d}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Attributes in the order they were exported.
pub type Attributes = Vec<(String, Value)>;

fn attributes_from_proto(list: &[KeyValue]) -> Attributes {
    list.iter()
        .map(|kv| (kv.key.clone(), Value::from_proto(kv.value.as_ref())))
        .collect()
}

/// Borrowed views of owned attributes.
fn attribute_refs(list: &Attributes) -> Vec<AttributeRef<'_>> {
    list.iter()
        .map(|(key, value)| AttributeRef {
            key: key.as_str().into(),
            value: ValueRef::of(value),
        })
        .collect()
}

fn find<'a>(attributes: &'a Attributes, key: &str) -> Option<&'a Value> {
    attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Lower-case hex of bytes (trace and span ids).
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// OTLP span kinds (`Span.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SpanKind {
    /// 0: the instrumentation did not say (OTLP allows reading it as internal); also any number
    /// OTLP does not define.
    #[default]
    Unspecified,
    /// 1: an operation inside the process, not at its boundary (the runtime's runs, stages and
    /// adjudications).
    Internal,
    /// 2: the handling of a remote request (a product's routes: see [`Role::Request`]).
    Server,
    /// 3: a request to a remote service (an LLM call, an outgoing HTTP request).
    Client,
    /// 4: a message sent to a broker.
    Producer,
    /// 5: a message received from a broker.
    Consumer,
}

impl SpanKind {
    /// The kind of an OTLP `Span.kind` number (unknown numbers are unspecified).
    pub fn from_proto(kind: i32) -> SpanKind {
        match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// The OTLP number.
    pub fn number(self) -> i32 {
        match self {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }
}

/// OTLP status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatusCode {
    /// 0, the default: the instrumentation said nothing (also a span with no status, or a code
    /// OTLP does not define).
    #[default]
    Unset,
    /// 1: marked as completed successfully by the application or an operator.
    Ok,
    /// 2: the operation failed; the span's status message says why when it says anything.
    Error,
}

impl StatusCode {
    /// The OTLP number: 0 unset, 1 ok, 2 error.
    pub fn number(self) -> i64 {
        match self {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
        }
    }
}

/// A span event (`exception`, `gen_ai.evaluation.result`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// What kind of event it is, which says which attributes it carries.
    pub name: String,
    /// `timeUnixNano`: nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// The event's details: `exception.message`, `gen_ai.evaluation.score.value`, ...
    pub attributes: Attributes,
}

impl Event {
    /// The value of one of the event's attributes.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        find(&self.attributes, key)
    }
}

/// One span, from a file or from the SDK.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// `traceId`; always 16 bytes (OTLP calls ids of another length invalid: [`Span::from_proto`]
    /// refuses them, the reader reports and skips their span).
    pub trace_id: [u8; 16],
    /// `spanId`; always 8 bytes.
    pub span_id: [u8; 8],
    /// `None` for a root span.
    pub parent_span_id: Option<[u8; 8]>,
    /// OTLP span flags: W3C trace flags in bits 0-7, 0x100 "remote parent known", 0x200 remote.
    pub flags: u32,
    /// `pipeline.run`, `pipeline.stage`, `GET /tasks/{id}`, ...: with the kind and attributes,
    /// what decides the span's [`Role`].
    pub name: String,
    /// `kind`: where the operation sits (a product's routes are server spans, LLM calls
    /// client spans).
    pub kind: SpanKind,
    /// `startTimeUnixNano`: nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// `endTimeUnixNano`; a malformed file may put it before the start (see
    /// [`Span::duration_nanos`]).
    pub end_unix_nano: u64,
    /// The span's own attributes (the resource's are in [`Span::resource`]).
    pub attributes: Attributes,
    /// In the order they were exported.
    pub events: Vec<Event>,
    /// `status.code`; [`StatusCode::Unset`] when the span has no status.
    pub status_code: StatusCode,
    /// `status.message`: the description of an error status (what the model shows as the
    /// error), empty when absent.
    pub status_message: String,
    /// The instrumentation scope's name.
    pub scope: String,
    /// `service.name` of the span's resource (empty when absent).
    pub service: String,
    /// Every attribute of the span's resource.
    pub resource: Attributes,
}

impl Span {
    /// The value of one of the span's attributes.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        find(&self.attributes, key)
    }

    /// An attribute as text, empty when absent.
    pub fn text(&self, key: &str) -> String {
        self.attribute(key)
            .map(Value::to_string)
            .unwrap_or_default()
    }

    /// An integer attribute, 0 when absent or not an integer.
    pub fn int(&self, key: &str) -> i64 {
        self.attribute(key).and_then(Value::as_i64).unwrap_or(0)
    }

    /// A double attribute, `None` when absent or not a double.
    pub fn double(&self, key: &str) -> Option<f64> {
        match self.attribute(key) {
            Some(Value::Double(d)) => Some(*d),
            _ => None,
        }
    }

    /// End minus start, 0 when the end is before the start.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// Hex trace id.
    pub fn trace_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// Hex span id.
    pub fn span_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The owned span of a borrowed one.
    pub fn from_ref(span: &SpanRef<'_>) -> Span {
        let attributes = |list: &[AttributeRef<'_>]| -> Attributes {
            list.iter()
                .map(|a| (a.key.to_string(), a.value.to_value()))
                .collect()
        };
        Span {
            trace_id: span.trace_id,
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            flags: span.span.flags,
            name: span.name().to_owned(),
            kind: span.kind(),
            start_unix_nano: span.start_unix_nano(),
            end_unix_nano: span.end_unix_nano(),
            attributes: attributes(&span.span.attributes),
            events: span
                .events()
                .iter()
                .map(|event| Event {
                    name: event.name.to_string(),
                    time_unix_nano: event.time_unix_nano,
                    attributes: attributes(&event.attributes),
                })
                .collect(),
            status_code: span.status_code(),
            status_message: span.status_message().to_owned(),
            scope: span.scope.to_owned(),
            service: span.service.to_owned(),
            resource: attributes(span.resource),
        }
    }

    /// `f` with a borrowed view of the span (what the model's records are built from).
    pub fn with_ref<R>(&self, f: impl FnOnce(&SpanRef<'_>) -> R) -> R {
        let attributes = attribute_refs;
        let json = json::SpanJson {
            trace_id: json::HexId::of(&self.trace_id),
            span_id: json::HexId::of(&self.span_id),
            parent_span_id: self
                .parent_span_id
                .map(|id| json::HexId::of(&id))
                .unwrap_or_default(),
            flags: self.flags,
            name: self.name.as_str().into(),
            kind: self.kind.number(),
            start_time_unix_nano: self.start_unix_nano,
            end_time_unix_nano: self.end_unix_nano,
            attributes: attributes(&self.attributes),
            events: self
                .events
                .iter()
                .map(|event| EventRef {
                    time_unix_nano: event.time_unix_nano,
                    name: event.name.as_str().into(),
                    attributes: attributes(&event.attributes),
                })
                .collect(),
            status: Some(json::StatusRef {
                message: self.status_message.as_str().into(),
                code: self.status_code.number() as i32,
            }),
        };
        let resource = attributes(&self.resource);
        let view = SpanRef {
            span: &json,
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            scope: &self.scope,
            service: &self.service,
            resource: &resource,
        };
        f(&view)
    }

    /// A span of a file's request. Ids of the wrong length are an error (the OTLP specification
    /// calls such ids invalid), naming the field and its length.
    pub fn from_proto(
        span: &proto_trace::Span,
        scope: &str,
        resource: &Attributes,
    ) -> Result<Span, String> {
        fn id<const N: usize>(field: &str, bytes: &[u8]) -> Result<[u8; N], String> {
            bytes.try_into().map_err(|_| {
                format!(
                    "{field} has {} bytes ({} hex digits), expected {N} bytes ({} hex digits)",
                    bytes.len(),
                    bytes.len() * 2,
                    N * 2
                )
            })
        }
        let parent_span_id = if span.parent_span_id.is_empty() {
            None
        } else {
            Some(id::<8>("parentSpanId", &span.parent_span_id)?)
        };
        let (status_code, status_message) = match &span.status {
            Some(status) => (
                match status.code {
                    1 => StatusCode::Ok,
                    2 => StatusCode::Error,
                    _ => StatusCode::Unset,
                },
                status.message.clone(),
            ),
            None => (StatusCode::Unset, String::new()),
        };
        Ok(Span {
            trace_id: id::<16>("traceId", &span.trace_id)?,
            span_id: id::<8>("spanId", &span.span_id)?,
            parent_span_id,
            flags: span.flags,
            name: span.name.clone(),
            kind: SpanKind::from_proto(span.kind),
            start_unix_nano: span.start_time_unix_nano,
            end_unix_nano: span.end_time_unix_nano,
            attributes: attributes_from_proto(&span.attributes),
            events: span
                .events
                .iter()
                .map(|event| Event {
                    name: event.name.clone(),
                    time_unix_nano: event.time_unix_nano,
                    attributes: attributes_from_proto(&event.attributes),
                })
                .collect(),
            status_code,
            status_message,
            scope: scope.to_owned(),
            service: service_name(resource),
            resource: resource.clone(),
        })
    }
}

fn service_name(resource: &Attributes) -> String {
    find(resource, factory_observability_names::product::SERVICE_NAME)
        .map(Value::to_string)
        .unwrap_or_default()
}

/// One metric point of an export request.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    /// The metric's (instrument's) name: `pipeline.stage.duration`, `llm.tokens.total`, ...
    pub name: String,
    /// The metric's unit, UCUM (`s`, `{token}`); empty when it has none.
    pub unit: String,
    /// The point's attributes (`outcome`, `stage.name`, ...): which series of the metric it is.
    pub attributes: Attributes,
    /// What the point measured; its variant follows the metric's type.
    pub value: PointValue,
}

/// A point's value: a sum's or gauge's number, or a histogram's count and sum.
#[derive(Clone, Debug, PartialEq)]
pub enum PointValue {
    /// A sum's or gauge's `asInt` (0 for a point with neither `asInt` nor `asDouble`).
    Int(i64),
    /// A sum's or gauge's `asDouble`.
    Double(f64),
    /// A histogram's, exponential histogram's or summary's point (their buckets and quantiles
    /// are not kept).
    Histogram {
        /// How many values the point counts.
        count: u64,
        /// Their sum; `None` when the exporter left it out, as OTLP asks of a histogram that
        /// recorded negative values.
        sum: Option<f64>,
    },
}

impl fmt::Display for PointValue {
    /// A sum's value, or a histogram's count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointValue::Int(n) => write!(f, "{n}"),
            PointValue::Double(d) => write!(f, "{d}"),
            PointValue::Histogram { count, .. } => write!(f, "{count}"),
        }
    }
}

/// One log record.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// `timeUnixNano`: when the event happened, nanoseconds since the Unix epoch; 0 when
    /// unknown (the observed time is not read).
    pub time_unix_nano: u64,
    /// `severityText` as the source wrote it (`INFO`, `ERROR`, ...); empty when the record has
    /// only a severity number.
    pub severity_text: String,
    /// `body` as text: a string as it is, arrays and maps rendered as in [`Value::Other`];
    /// empty when absent.
    pub body: String,
    /// The record's own attributes (not its resource's).
    pub attributes: Attributes,
    /// Hex, empty when the record is outside any span.
    pub trace_id: String,
    /// Hex, empty when the record is outside any span.
    pub span_id: String,
}

/// What one line (one export request) held.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// In the line's order; a span whose ids have the wrong length is left out (the reader
    /// reports it as a problem).
    pub spans: Vec<Span>,
    /// One per data point of each metric, in the line's order.
    pub points: Vec<MetricPoint>,
    /// In the line's order.
    pub logs: Vec<LogRecord>,
}

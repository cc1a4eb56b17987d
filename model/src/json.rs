//! The OTLP/JSON shape of a trace export request, parsed in place: strings are borrowed from the
//! line (copied only when they hold a JSON escape), ids are decoded into fixed arrays, and what no
//! reader of the model looks at (links, trace state, dropped counts, schema URLs) is skipped
//! without being built. Metrics and logs are kept as raw JSON and parsed into the OTLP structs only
//! when asked for ([`ParsedLine::points`], [`ParsedLine::logs`]).
//!
//! The accepted forms and the error messages are those of `opentelemetry-proto`'s serde
//! deserializers (the reader's before this one): 64-bit integers as numbers or decimal strings,
//! ids as hex strings (`0x` allowed, either case), attribute values as `AnyValue` objects.

use super::{
    attributes_from_proto, hex, LogRecord, MetricPoint, PointValue, SpanKind, StatusCode, Value,
};
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, ResourceMetrics};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// An attribute value as read: a string borrowed from the line when it can be.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum ValueRef<'a> {
    /// `stringValue`: borrowed from the line, copied only when the JSON string holds an escape.
    Str(Cow<'a, str>),
    /// `intValue`: a JSON number or a decimal string (the OTLP/JSON form of a 64-bit integer).
    Int(i64),
    /// `doubleValue`.
    Double(f64),
    /// `boolValue`.
    Bool(bool),
    /// Arrays, maps and bytes, rendered as text (as [`Value::Other`]).
    Other(String),
    /// An `AnyValue` with no value.
    #[default]
    Empty,
}

impl ValueRef<'_> {
    /// The value as an integer when it is one (or a double with no fraction).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ValueRef::Int(n) => Some(*n),
            ValueRef::Double(d) if d.fract() == 0.0 => Some(*d as i64),
            _ => None,
        }
    }

    /// The value as a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ValueRef::Int(n) => Some(*n as f64),
            ValueRef::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The value as a string when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ValueRef::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The owned value.
    pub fn to_value(&self) -> Value {
        match self {
            ValueRef::Str(text) => Value::Str(text.to_string()),
            ValueRef::Int(n) => Value::Int(*n),
            ValueRef::Double(d) => Value::Double(*d),
            ValueRef::Bool(b) => Value::Bool(*b),
            ValueRef::Other(text) => Value::Other(text.clone()),
            ValueRef::Empty => Value::Other(String::new()),
        }
    }

    /// A borrowed view of an owned value.
    pub fn of(value: &Value) -> ValueRef<'_> {
        match value {
            Value::Str(text) => ValueRef::Str(Cow::Borrowed(text)),
            Value::Int(n) => ValueRef::Int(*n),
            Value::Double(d) => ValueRef::Double(*d),
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Other(text) => ValueRef::Other(text.clone()),
        }
    }
}

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueRef::Str(text) => f.write_str(text),
            ValueRef::Other(text) => f.write_str(text),
            ValueRef::Int(n) => write!(f, "{n}"),
            ValueRef::Double(d) => write!(f, "{d}"),
            ValueRef::Bool(b) => write!(f, "{b}"),
            ValueRef::Empty => Ok(()),
        }
    }
}

/// One attribute (`KeyValue`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct AttributeRef<'a> {
    /// The attribute's name (`run.id`, `http.route`, ...), empty when the line has none.
    #[serde(borrow, default)]
    pub key: Cow<'a, str>,
    /// [`ValueRef::Empty`] when the line has no value, `null`, or an `AnyValue` of no kind this
    /// reader knows.
    #[serde(borrow, default, deserialize_with = "any_value")]
    pub value: ValueRef<'a>,
}

/// The value of `key` among `attributes`.
pub fn find_ref<'v, 'a>(attributes: &'v [AttributeRef<'a>], key: &str) -> Option<&'v ValueRef<'a>> {
    attributes.iter().find(|a| a.key == key).map(|a| &a.value)
}

/// A span event.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRef<'a> {
    /// `timeUnixNano`: nanoseconds since the Unix epoch, 0 when absent.
    #[serde(default, deserialize_with = "u64_number_or_string")]
    pub time_unix_nano: u64,
    /// What kind of event it is (`exception`, `gen_ai.evaluation.result`), which says which
    /// attributes it carries.
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    /// In the line's order.
    #[serde(borrow, default)]
    pub attributes: Vec<AttributeRef<'a>>,
}

impl EventRef<'_> {
    /// The value of one of the event's attributes.
    pub fn attribute(&self, key: &str) -> Option<&ValueRef<'_>> {
        find_ref(&self.attributes, key)
    }
}

/// A span's status.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
pub(crate) struct StatusRef<'a> {
    #[serde(borrow, default)]
    pub message: Cow<'a, str>,
    #[serde(default)]
    pub code: i32,
}

impl StatusRef<'_> {
    pub fn code(&self) -> StatusCode {
        match self.code {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }
}

/// A hex id as read: up to 16 bytes decoded, and its length in bytes (whatever it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct HexId {
    bytes: [u8; 16],
    len: usize,
}

impl HexId {
    /// The id when it has `N` bytes; else an error naming `field` and its length (the OTLP
    /// specification calls such ids invalid).
    pub fn exactly<const N: usize>(&self, field: &str) -> Result<[u8; N], String> {
        if self.len == N {
            let mut id = [0; N];
            id.copy_from_slice(&self.bytes[..N]);
            Ok(id)
        } else {
            Err(format!(
                "{field} has {} bytes ({} hex digits), expected {N} bytes ({} hex digits)",
                self.len,
                self.len * 2,
                N * 2
            ))
        }
    }

    /// An id of these bytes (at most 16).
    pub fn of(bytes: &[u8]) -> HexId {
        let mut id = HexId {
            bytes: [0; 16],
            len: bytes.len().min(16),
        };
        id.bytes[..id.len].copy_from_slice(&bytes[..id.len]);
        id
    }

    /// Whether the id is empty (no parent).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One span as read (see [`SpanRef`] for it with its scope and resource).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpanJson<'a> {
    #[serde(default, deserialize_with = "hex_id")]
    pub trace_id: HexId,
    #[serde(default, deserialize_with = "hex_id")]
    pub span_id: HexId,
    #[serde(default, deserialize_with = "hex_id")]
    pub parent_span_id: HexId,
    #[serde(default)]
    pub flags: u32,
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(default)]
    pub kind: i32,
    #[serde(default, deserialize_with = "u64_number_or_string")]
    pub start_time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_number_or_string")]
    pub end_time_unix_nano: u64,
    #[serde(borrow, default)]
    pub attributes: Vec<AttributeRef<'a>>,
    #[serde(borrow, default)]
    pub events: Vec<EventRef<'a>>,
    #[serde(borrow, default)]
    pub status: Option<StatusRef<'a>>,
}

#[derive(Deserialize, Default)]
struct ResourceJson<'a> {
    #[serde(borrow, default)]
    attributes: Vec<AttributeRef<'a>>,
}

#[derive(Deserialize, Default)]
struct ScopeJson<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeSpansJson<'a> {
    #[serde(borrow, default)]
    scope: Option<ScopeJson<'a>>,
    #[serde(borrow, default)]
    spans: Vec<SpanJson<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpansJson<'a> {
    #[serde(borrow, default)]
    resource: Option<ResourceJson<'a>>,
    #[serde(borrow, default)]
    scope_spans: Vec<ScopeSpansJson<'a>>,
}

/// One line: one export request of any signal.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineJson<'a> {
    #[serde(borrow, default)]
    resource_spans: Option<Vec<ResourceSpansJson<'a>>>,
    #[serde(borrow, default)]
    resource_metrics: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resource_logs: Option<&'a RawValue>,
}

/// A span with its scope's name and its resource, borrowed from a [`ParsedLine`] (or from an
/// owned [`super::Span`], see [`super::Span::with_ref`]).
#[derive(Clone, Copy, Debug)]
pub struct SpanRef<'a> {
    /// The span as read; its fields are reached through the methods below.
    pub(crate) span: &'a SpanJson<'a>,
    /// `traceId`, decoded; always 16 bytes: a span whose ids have another length gets no view
    /// (the reader reports it and skips it).
    pub trace_id: [u8; 16],
    /// `spanId`, decoded; always 8 bytes.
    pub span_id: [u8; 8],
    /// `parentSpanId`, decoded: `None` for a root span (no or an empty id), else 8 bytes.
    pub parent_span_id: Option<[u8; 8]>,
    /// The instrumentation scope's name.
    pub scope: &'a str,
    /// `service.name` of the resource (empty when absent).
    pub service: &'a str,
    /// Every attribute of the resource.
    pub resource: &'a [AttributeRef<'a>],
}

impl<'a> SpanRef<'a> {
    /// The span with valid ids, or why it is skipped.
    pub(crate) fn new(
        span: &'a SpanJson<'a>,
        scope: &'a str,
        service: &'a str,
        resource: &'a [AttributeRef<'a>],
    ) -> Result<SpanRef<'a>, String> {
        let parent_span_id = if span.parent_span_id.is_empty() {
            None
        } else {
            Some(span.parent_span_id.exactly::<8>("parentSpanId")?)
        };
        Ok(SpanRef {
            span,
            trace_id: span.trace_id.exactly::<16>("traceId")?,
            span_id: span.span_id.exactly::<8>("spanId")?,
            parent_span_id,
            scope,
            service,
            resource,
        })
    }

    /// `name`, borrowed from the line.
    pub fn name(&self) -> &'a str {
        &self.span.name
    }

    /// `kind`; a number OTLP does not define is [`SpanKind::Unspecified`].
    pub fn kind(&self) -> SpanKind {
        SpanKind::from_proto(self.span.kind)
    }

    /// The value of one of the span's attributes.
    pub fn attribute(&self, key: &str) -> Option<&'a ValueRef<'a>> {
        find_ref(&self.span.attributes, key)
    }

    /// An attribute as text, empty when absent.
    pub fn text(&self, key: &str) -> String {
        self.attribute(key)
            .map(ValueRef::to_string)
            .unwrap_or_default()
    }

    /// The attribute `key` as text, else the attribute `fallback` (the seed's name, else the
    /// CI/CD conventions' for the same value), empty when neither is present.
    pub fn text_or(&self, key: &str, fallback: &str) -> String {
        match self.attribute(key) {
            Some(value) => value.to_string(),
            None => self.text(fallback),
        }
    }

    /// A string attribute as it is, empty when absent or not a string.
    pub fn str(&self, key: &str) -> &'a str {
        self.attribute(key).and_then(ValueRef::as_str).unwrap_or("")
    }

    /// An integer attribute, 0 when absent or not an integer.
    pub fn int(&self, key: &str) -> i64 {
        self.attribute(key).and_then(ValueRef::as_i64).unwrap_or(0)
    }

    /// A double attribute, `None` when absent or not a double.
    pub fn double(&self, key: &str) -> Option<f64> {
        match self.attribute(key) {
            Some(ValueRef::Double(d)) => Some(*d),
            _ => None,
        }
    }

    /// `startTimeUnixNano`: nanoseconds since the Unix epoch, 0 when absent.
    pub fn start_unix_nano(&self) -> u64 {
        self.span.start_time_unix_nano
    }

    /// `endTimeUnixNano`, as the start (a malformed file may put it before the start).
    pub fn end_unix_nano(&self) -> u64 {
        self.span.end_time_unix_nano
    }

    /// End minus start, 0 when the end is before the start.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano().saturating_sub(self.start_unix_nano())
    }

    /// `status.code`: [`StatusCode::Unset`] when the span has no status or a code OTLP does
    /// not define.
    pub fn status_code(&self) -> StatusCode {
        self.span
            .status
            .as_ref()
            .map(StatusRef::code)
            .unwrap_or_default()
    }

    /// `status.message`: the description of an error status (what the model shows as the
    /// error), empty when absent.
    pub fn status_message(&self) -> &'a str {
        self.span.status.as_ref().map(|s| &*s.message).unwrap_or("")
    }

    /// `events`, in the line's order.
    pub fn events(&self) -> &'a [EventRef<'a>] {
        &self.span.events
    }
}

/// A line parsed in place (borrowing from the line's text).
pub struct ParsedLine<'a> {
    json: LineJson<'a>,
}

impl<'a> ParsedLine<'a> {
    /// Parses one export request; the error says what is wrong, in the reader's words
    /// (`truncated JSON`, `not JSON`, `malformed export request`, `not an OTLP/JSON export
    /// request`).
    pub fn parse(line: &'a [u8]) -> Result<ParsedLine<'a>, String> {
        // One pass to check UTF-8 (fast on ASCII), so that strings are not checked one by one;
        // a line that is not UTF-8 gets serde_json's own message, with its position.
        let json: LineJson<'a> = match std::str::from_utf8(line) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(line),
        }
        .map_err(describe)?;
        if json.resource_spans.is_none()
            && json.resource_metrics.is_none()
            && json.resource_logs.is_none()
        {
            return Err(
                "not an OTLP/JSON export request: no resourceSpans, resourceMetrics or \
                 resourceLogs"
                    .to_owned(),
            );
        }
        Ok(ParsedLine { json })
    }

    /// Every span of the line, in order: its view, or why it is skipped (ids of the wrong length:
    /// `span "name" skipped: ...`).
    pub fn spans(&self) -> impl Iterator<Item = Result<SpanRef<'_>, String>> {
        let resources = self.json.resource_spans.iter().flatten();
        resources.flat_map(|resource_spans| {
            let resource = resource_spans
                .resource
                .as_ref()
                .map(|r| r.attributes.as_slice())
                .unwrap_or(&[]);
            let service = find_ref(resource, factory_observability_names::product::SERVICE_NAME)
                .and_then(ValueRef::as_str)
                .unwrap_or("");
            resource_spans
                .scope_spans
                .iter()
                .flat_map(move |scope_spans| {
                    let scope = scope_spans.scope.as_ref().map(|s| &*s.name).unwrap_or("");
                    scope_spans.spans.iter().map(move |span| {
                        SpanRef::new(span, scope, service, resource)
                            .map_err(|message| format!("span {:?} skipped: {message}", span.name))
                    })
                })
        })
    }

    /// The line's metric points (parsed now: a line is read once).
    pub fn points(&self) -> Result<Vec<MetricPoint>, String> {
        match self.json.resource_metrics {
            Some(raw) => metric_points(raw.get()),
            None => Ok(Vec::new()),
        }
    }

    /// The line's log records (parsed now).
    pub fn logs(&self) -> Result<Vec<LogRecord>, String> {
        match self.json.resource_logs {
            Some(raw) => log_records(raw.get()),
            None => Ok(Vec::new()),
        }
    }
}

/// The points of a line's `resourceMetrics` (its raw JSON).
fn metric_points(raw: &str) -> Result<Vec<MetricPoint>, String> {
    let resources: Vec<ResourceMetrics> = serde_json::from_str(raw).map_err(describe)?;
    let mut points = Vec::new();
    for resource_metrics in &resources {
        for scope_metrics in &resource_metrics.scope_metrics {
            for metric in &scope_metrics.metrics {
                push_points(metric, &mut points);
            }
        }
    }
    Ok(points)
}

fn push_points(
    metric: &opentelemetry_proto::tonic::metrics::v1::Metric,
    points: &mut Vec<MetricPoint>,
) {
    let mut push = |attributes, value| {
        points.push(MetricPoint {
            name: metric.name.clone(),
            unit: metric.unit.clone(),
            attributes,
            value,
        })
    };
    let number =
        |point: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| match point.value {
            Some(number_data_point::Value::AsInt(n)) => PointValue::Int(n),
            Some(number_data_point::Value::AsDouble(d)) => PointValue::Double(d),
            None => PointValue::Int(0),
        };
    let histogram = |count, sum| PointValue::Histogram { count, sum };
    match &metric.data {
        Some(metric::Data::Sum(sum)) => sum
            .data_points
            .iter()
            .for_each(|p| push(attributes_from_proto(&p.attributes), number(p))),
        Some(metric::Data::Gauge(gauge)) => gauge
            .data_points
            .iter()
            .for_each(|p| push(attributes_from_proto(&p.attributes), number(p))),
        Some(metric::Data::Histogram(h)) => h.data_points.iter().for_each(|p| {
            push(
                attributes_from_proto(&p.attributes),
                histogram(p.count, p.sum),
            )
        }),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.iter().for_each(|p| {
            push(
                attributes_from_proto(&p.attributes),
                histogram(p.count, p.sum),
            )
        }),
        Some(metric::Data::Summary(summary)) => summary.data_points.iter().for_each(|p| {
            push(
                attributes_from_proto(&p.attributes),
                histogram(p.count, Some(p.sum)),
            )
        }),
        None => {}
    }
}

/// The records of a line's `resourceLogs` (its raw JSON).
fn log_records(raw: &str) -> Result<Vec<LogRecord>, String> {
    let resources: Vec<ResourceLogs> = serde_json::from_str(raw).map_err(describe)?;
    let mut logs = Vec::new();
    for resource_logs in &resources {
        for scope_logs in &resource_logs.scope_logs {
            for record in &scope_logs.log_records {
                logs.push(LogRecord {
                    time_unix_nano: record.time_unix_nano,
                    severity_text: record.severity_text.clone(),
                    body: record
                        .body
                        .as_ref()
                        .map(|body| Value::from_proto(Some(body)).to_string())
                        .unwrap_or_default(),
                    attributes: attributes_from_proto(&record.attributes),
                    trace_id: hex(&record.trace_id),
                    span_id: hex(&record.span_id),
                });
            }
        }
    }
    Ok(logs)
}

/// A serde_json error in the reader's words.
fn describe(error: serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => format!("truncated JSON: {error}"),
        Category::Syntax | Category::Io => format!("not JSON: {error}"),
        // Wrong types, bad hex ids, numbers that are not numbers.
        Category::Data => format!("malformed export request: {error}"),
    }
}

fn hex_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<HexId, D::Error> {
    struct HexVisitor;
    impl Visitor<'_> for HexVisitor {
        type Value = HexId;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string representing hex-encoded bytes")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<HexId, E> {
            let digits = text.strip_prefix("0x").unwrap_or(text);
            if text.len() % 2 != 0 || digits.len() > 32 {
                // const_hex's own checks and messages (odd length first); a long id is
                // decoded only to check it, its length is what the error will say.
                let bytes = const_hex::decode(text).map_err(E::custom)?;
                return Ok(HexId {
                    bytes: [0; 16],
                    len: bytes.len(),
                });
            }
            let mut id = HexId {
                bytes: [0; 16],
                len: digits.len() / 2,
            };
            const_hex::decode_to_slice(digits, &mut id.bytes[..id.len]).map_err(E::custom)?;
            Ok(id)
        }
    }
    deserializer.deserialize_str(HexVisitor)
}

fn u64_number_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct U64Visitor;
    impl Visitor<'_> for U64Visitor {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a u64 integer or a string containing a u64 integer")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            Ok(value)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
            u64::try_from(value)
                .map_err(|_| E::custom(format!("i64 value {value} is out of range for u64")))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<u64, E> {
            value.parse::<u64>().map_err(E::custom)
        }
    }
    deserializer.deserialize_any(U64Visitor)
}

/// A string borrowed when it has no escape.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text<'de>, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// `intValue`: a number or a decimal string.
struct Int(i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Int, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an i64 integer or a string containing an i64 integer")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Int, E> {
                Ok(Int(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Int, E> {
                i64::try_from(value)
                    .map(Int)
                    .map_err(|_| E::custom(format!("u64 value {value} is out of range for i64")))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Int, E> {
                value.parse::<i64>().map(Int).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(IntVisitor)
    }
}

/// An `AnyValue` object (`{"stringValue": ...}`, ...); `null` is no value.
fn any_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ValueRef<'de>, D::Error> {
    struct AnyValueVisitor;
    impl<'de> Visitor<'de> for AnyValueVisitor {
        type Value = ValueRef<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object for AnyValue")
        }

        fn visit_unit<E: de::Error>(self) -> Result<ValueRef<'de>, E> {
            Ok(ValueRef::Empty)
        }

        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ValueRef<'de>, M::Error> {
            let mut value = ValueRef::Empty;
            while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                let found = match &*key {
                    "stringValue" => map
                        .next_value::<Option<Text>>()?
                        .map(|t| ValueRef::Str(t.0)),
                    "intValue" => map.next_value::<Option<Int>>()?.map(|n| ValueRef::Int(n.0)),
                    "doubleValue" => map.next_value::<Option<f64>>()?.map(ValueRef::Double),
                    "boolValue" => map.next_value::<Option<bool>>()?.map(ValueRef::Bool),
                    "arrayValue" | "kvlistValue" | "bytesValue" => {
                        let raw: &RawValue = map.next_value()?;
                        Some(rare_value(&key, raw).map_err(de::Error::custom)?)
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        None
                    }
                };
                if let Some(found) = found {
                    value = found;
                }
            }
            Ok(value)
        }
    }
    deserializer.deserialize_any(AnyValueVisitor)
}

/// Arrays, maps and bytes (rare in spans): through the OTLP structs, rendered as text.
fn rare_value(key: &str, raw: &RawValue) -> Result<ValueRef<'static>, serde_json::Error> {
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    let any: AnyValue = serde_json::from_str(&format!("{{\"{key}\":{}}}", raw.get()))?;
    Ok(ValueRef::Other(Value::from_proto(Some(&any)).to_string()))
}

//! Reading the embedded default's OTLP/JSON files (one export request per line) in tests.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One span of a `traces.jsonl` file.
#[derive(Clone, Debug)]
pub struct JsonSpan {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// OTLP span flags: the W3C trace flags in bits 0-7, 0x100 "whether the parent is remote is
    /// known", 0x200 "the parent is remote".
    pub flags: i64,
    /// Attribute values rendered as text (`"plan"` → `plan`, `{"intValue":"2"}` → `2`).
    pub attributes: BTreeMap<String, String>,
    /// `0` unset, `1` ok, `2` error.
    pub status_code: i64,
    pub status_message: String,
    pub events: Vec<String>,
    pub scope: String,
    pub resource: BTreeMap<String, String>,
}

/// One metric point of a `metrics.jsonl` file: a sum's value or a histogram's count.
#[derive(Clone, Debug)]
pub struct JsonPoint {
    pub name: String,
    pub unit: String,
    pub attributes: BTreeMap<String, String>,
    /// `asInt`/`asDouble` of a sum, `count` of a histogram, as text.
    pub value: String,
}

/// One log record of a `logs.jsonl` file.
#[derive(Clone, Debug)]
pub struct JsonLog {
    pub body: String,
    pub severity_text: String,
    pub trace_id: String,
    pub span_id: String,
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line).unwrap_or_else(|error| {
                panic!("{}:{}: not JSON: {error}", path.display(), index + 1)
            })
        })
        .collect()
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

/// An OTLP `AnyValue` as text.
pub fn any_value(value: &Value) -> String {
    for key in ["stringValue", "intValue", "doubleValue", "boolValue"] {
        if let Some(inner) = value.get(key) {
            return match inner {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
        }
    }
    value.to_string()
}

fn attributes(value: &Value) -> BTreeMap<String, String> {
    array(value, "attributes")
        .iter()
        .map(|kv| (text(kv, "key"), any_value(&kv["value"])))
        .collect()
}

/// Every span of a `traces.jsonl` file, in file order.
pub fn read_spans(path: &Path) -> Vec<JsonSpan> {
    let mut spans = Vec::new();
    for request in lines(path) {
        for resource_spans in array(&request, "resourceSpans") {
            let resource = attributes(&resource_spans["resource"]);
            for scope_spans in array(resource_spans, "scopeSpans") {
                let scope = text(&scope_spans["scope"], "name");
                for span in array(scope_spans, "spans") {
                    spans.push(JsonSpan {
                        name: text(span, "name"),
                        trace_id: text(span, "traceId"),
                        span_id: text(span, "spanId"),
                        parent_span_id: text(span, "parentSpanId"),
                        flags: span["flags"].as_i64().unwrap_or(0),
                        attributes: attributes(span),
                        status_code: span["status"]["code"].as_i64().unwrap_or(0),
                        status_message: text(&span["status"], "message"),
                        events: array(span, "events")
                            .iter()
                            .map(|event| text(event, "name"))
                            .collect(),
                        scope: scope.clone(),
                        resource: resource.clone(),
                    });
                }
            }
        }
    }
    spans
}

/// Every point of the last export request of a `metrics.jsonl` file (points are cumulative).
pub fn read_last_metrics(path: &Path) -> Vec<JsonPoint> {
    let mut points = Vec::new();
    let Some(request) = lines(path).pop() else {
        return points;
    };
    for resource_metrics in array(&request, "resourceMetrics") {
        for scope_metrics in array(resource_metrics, "scopeMetrics") {
            for metric in array(scope_metrics, "metrics") {
                let name = text(metric, "name");
                let unit = text(metric, "unit");
                let (data, value_key) = if let Some(sum) = metric.get("sum") {
                    (sum, "sum")
                } else if let Some(histogram) = metric.get("histogram") {
                    (histogram, "histogram")
                } else if let Some(gauge) = metric.get("gauge") {
                    (gauge, "sum")
                } else {
                    continue;
                };
                for point in array(data, "dataPoints") {
                    let value = if value_key == "histogram" {
                        text(point, "count")
                    } else if point.get("asInt").is_some() {
                        text(point, "asInt")
                    } else {
                        text(point, "asDouble")
                    };
                    points.push(JsonPoint {
                        name: name.clone(),
                        unit: unit.clone(),
                        attributes: attributes(point),
                        value,
                    });
                }
            }
        }
    }
    points
}

/// Every log record of a `logs.jsonl` file, in file order.
pub fn read_logs(path: &Path) -> Vec<JsonLog> {
    let mut logs = Vec::new();
    for request in lines(path) {
        for resource_logs in array(&request, "resourceLogs") {
            for scope_logs in array(resource_logs, "scopeLogs") {
                for record in array(scope_logs, "logRecords") {
                    logs.push(JsonLog {
                        body: record.get("body").map(any_value).unwrap_or_default(),
                        severity_text: text(record, "severityText"),
                        trace_id: text(record, "traceId"),
                        span_id: text(record, "spanId"),
                    });
                }
            }
        }
    }
    logs
}

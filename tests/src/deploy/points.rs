//! The metrics of an OTLP/JSON export request (the embedded default's `metrics.jsonl`) with the
//! kind and unit the program declared, to check the kit's catalogue against what is exported.

use super::series::Kind;
use serde_json::Value;
use std::collections::BTreeMap;

/// One metric of an export request: its name, kind and unit as the program declared them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Declared {
    /// OpenTelemetry name.
    pub name: String,
    /// Counter (monotonic sum), gauge (non-monotonic sum or gauge) or histogram.
    pub kind: String,
    /// UCUM unit.
    pub unit: String,
}

/// The value of one point.
#[derive(Clone, Debug, PartialEq)]
pub enum PointValue {
    /// A sum's or gauge's value.
    Number(f64),
    /// A histogram's explicit bounds, per-bucket counts, sum and count.
    Histogram {
        bounds: Vec<f64>,
        counts: Vec<f64>,
        sum: f64,
        count: f64,
    },
}

/// One point: the metric, its attributes, its value.
#[derive(Clone, Debug)]
pub struct Point {
    /// The metric it belongs to.
    pub declared: Declared,
    /// Attributes, dotted names.
    pub attributes: BTreeMap<String, String>,
    /// Its value.
    pub value: PointValue,
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Every point of one OTLP/JSON export request.
pub fn points(request: &Value) -> Vec<Point> {
    let mut found = Vec::new();
    for resource in items(request, "resourceMetrics") {
        for scope in items(resource, "scopeMetrics") {
            for metric in items(scope, "metrics") {
                let name = metric["name"].as_str().unwrap_or_default().to_owned();
                let unit = metric["unit"].as_str().unwrap_or_default().to_owned();
                let (kind, data) = if let Some(sum) = metric.get("sum") {
                    let monotonic = sum["isMonotonic"].as_bool().unwrap_or(false);
                    (if monotonic { "counter" } else { "gauge" }, sum)
                } else if let Some(gauge) = metric.get("gauge") {
                    ("gauge", gauge)
                } else if let Some(histogram) = metric.get("histogram") {
                    ("histogram", histogram)
                } else {
                    continue;
                };
                let declared = Declared {
                    name: name.clone(),
                    kind: kind.to_owned(),
                    unit: unit.clone(),
                };
                for point in items(data, "dataPoints") {
                    let attributes = items(point, "attributes")
                        .iter()
                        .map(|kv| {
                            (
                                kv["key"].as_str().unwrap_or_default().to_owned(),
                                any_value(&kv["value"]),
                            )
                        })
                        .collect();
                    let value = if kind == "histogram" {
                        PointValue::Histogram {
                            bounds: items(point, "explicitBounds").iter().map(number).collect(),
                            counts: items(point, "bucketCounts").iter().map(number).collect(),
                            sum: point.get("sum").map(number).unwrap_or(0.0),
                            count: point.get("count").map(number).unwrap_or(0.0),
                        }
                    } else {
                        PointValue::Number(
                            point
                                .get("asDouble")
                                .or_else(|| point.get("asInt"))
                                .map(number)
                                .unwrap_or(0.0),
                        )
                    };
                    found.push(Point {
                        declared: declared.clone(),
                        attributes,
                        value,
                    });
                }
            }
        }
    }
    found
}

/// The kind of [`series::Kind`] a declared kind is.
pub fn kind(declared: &Declared) -> Kind {
    match declared.kind.as_str() {
        "counter" => Kind::Counter,
        "histogram" => Kind::Histogram,
        _ => Kind::Gauge,
    }
}

/// An OTLP/JSON `AnyValue` as text (`{"stringValue":"plan"}` -> `plan`, `{"intValue":"2"}` -> `2`).
fn any_value(value: &Value) -> String {
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

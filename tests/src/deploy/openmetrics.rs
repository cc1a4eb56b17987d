//! OTLP/JSON metric points (the embedded default's `metrics.jsonl`) as the Prometheus series
//! they become, written as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
//!
//! Used by the live proof when no Prometheus endpoint is available to scrape: the factory
//! example's real points, accumulated over repeated runs as one long-lived process would count
//! them, backfilled into a real Prometheus. Names and labels follow [`super::series`].

use super::series::{self, Kind};
use crate::otlp_json::any_value;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// Cumulative series of a process that ran many times: each run's final points added to the
/// totals of the runs before (counters and histograms; gauges take the last value).
#[derive(Default)]
pub struct Accumulator {
    totals: BTreeMap<(Declared, BTreeMap<String, String>), PointValue>,
    /// One OpenMetrics block per [`Accumulator::snapshot`].
    text: String,
}

impl Accumulator {
    /// Adds one process's final points.
    pub fn add(&mut self, points: Vec<Point>) {
        for point in points {
            let key = (point.declared, point.attributes);
            match (self.totals.get_mut(&key), point.value) {
                (Some(PointValue::Number(total)), PointValue::Number(v))
                    if kind(&key.0) != Kind::Gauge =>
                {
                    *total += v
                }
                (
                    Some(PointValue::Histogram {
                        counts, sum, count, ..
                    }),
                    PointValue::Histogram {
                        counts: more,
                        sum: more_sum,
                        count: more_count,
                        ..
                    },
                ) => {
                    for (c, m) in counts.iter_mut().zip(more) {
                        *c += m;
                    }
                    *sum += more_sum;
                    *count += more_count;
                }
                (_, value) => {
                    self.totals.insert(key, value);
                }
            }
        }
    }

    /// Records every total at `timestamp` (seconds since the epoch), labelled `job`.
    pub fn snapshot(&mut self, job: &str, timestamp: f64) {
        for ((declared, attributes), value) in &self.totals {
            let base = series::translate(&declared.name, kind(declared), &declared.unit);
            let mut labels: Vec<(String, String)> = attributes
                .iter()
                .map(|(k, v)| (series::sanitize(k), v.clone()))
                .collect();
            labels.push(("job".to_owned(), job.to_owned()));
            labels.sort();
            match value {
                PointValue::Number(v) => line(&mut self.text, &base, &labels, *v, timestamp),
                PointValue::Histogram {
                    bounds,
                    counts,
                    sum,
                    count,
                } => {
                    let mut cumulative = 0.0;
                    for (i, c) in counts.iter().enumerate() {
                        cumulative += c;
                        let le = bounds
                            .get(i)
                            .map(|b| format_float(*b))
                            .unwrap_or_else(|| "+Inf".to_owned());
                        let mut with_le = labels.clone();
                        with_le.push(("le".to_owned(), le));
                        line(
                            &mut self.text,
                            &format!("{base}_bucket"),
                            &with_le,
                            cumulative,
                            timestamp,
                        );
                    }
                    line(
                        &mut self.text,
                        &format!("{base}_sum"),
                        &labels,
                        *sum,
                        timestamp,
                    );
                    line(
                        &mut self.text,
                        &format!("{base}_count"),
                        &labels,
                        *count,
                        timestamp,
                    );
                }
            }
        }
    }

    /// The OpenMetrics text of every snapshot, samples grouped by series as the format requires.
    pub fn openmetrics(&self) -> String {
        // A family's samples are contiguous, and so are each series' (in time order).
        let mut by_family: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for l in self.text.lines() {
            let name = l.split(['{', ' ']).next().unwrap_or_default();
            let series = l.rsplitn(3, ' ').nth(2).unwrap_or_default();
            by_family
                .entry(family(name))
                .or_default()
                .entry(series)
                .or_default()
                .push(l);
        }
        let mut out = String::new();
        for series in by_family.values() {
            for lines in series.values() {
                for l in lines {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// The family a series name belongs to (`x_bucket`, `x_sum`, `x_count` belong to `x`).
fn family(name: &str) -> &str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            return base;
        }
    }
    name
}

fn format_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

fn line(out: &mut String, name: &str, labels: &[(String, String)], value: f64, timestamp: f64) {
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    let _ = writeln!(out, "{name}{{{}}} {value} {timestamp:.3}", labels.join(","));
}

//! Reading the embedded default's OTLP/JSON files (one export request per line) in tests, through
//! the runtime's own reader ([`factory_observability::model`]), as text the tests compare.

use factory_observability::model::{self, hex, Attributes, Batch};
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

/// Every line's batch of a file; any malformed line fails the test with its message.
fn batches(path: &Path) -> Vec<Batch> {
    let mut batches = Vec::new();
    let stats = model::read::read_files(&[path.to_owned()], |batch| batches.push(batch), |_| {})
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    if let Some(problem) = stats.problems.first() {
        panic!("{problem}");
    }
    batches
}

fn texts(attributes: &Attributes) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|(key, value)| (key.clone(), value.to_string()))
        .collect()
}

/// Every span of `dir/traces.jsonl`, in file order; none when the file was never written.
pub fn read_spans_in(dir: &Path) -> Vec<JsonSpan> {
    let file = dir.join("traces.jsonl");
    if file.exists() {
        read_spans(&file)
    } else {
        Vec::new()
    }
}

/// Every span of a `traces.jsonl` file, in file order.
pub fn read_spans(path: &Path) -> Vec<JsonSpan> {
    batches(path)
        .into_iter()
        .flat_map(|batch| batch.spans)
        .map(|span| JsonSpan {
            trace_id: span.trace_hex(),
            span_id: span.span_hex(),
            parent_span_id: span.parent_span_id.map(|id| hex(&id)).unwrap_or_default(),
            flags: i64::from(span.flags),
            attributes: texts(&span.attributes),
            status_code: span.status_code.number(),
            status_message: span.status_message,
            events: span.events.into_iter().map(|event| event.name).collect(),
            scope: span.scope,
            resource: texts(&span.resource),
            name: span.name,
        })
        .collect()
}

/// Every point of the last export request of a `metrics.jsonl` file (points are cumulative).
pub fn read_last_metrics(path: &Path) -> Vec<JsonPoint> {
    let Some(last) = batches(path).pop() else {
        return Vec::new();
    };
    last.points
        .into_iter()
        .map(|point| JsonPoint {
            attributes: texts(&point.attributes),
            value: point.value.to_string(),
            name: point.name,
            unit: point.unit,
        })
        .collect()
}

/// Every log record of a `logs.jsonl` file, in file order.
pub fn read_logs(path: &Path) -> Vec<JsonLog> {
    batches(path)
        .into_iter()
        .flat_map(|batch| batch.logs)
        .map(|log| JsonLog {
            body: log.body,
            severity_text: log.severity_text,
            trace_id: log.trace_id,
            span_id: log.span_id,
        })
        .collect()
}

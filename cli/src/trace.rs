//! `factory-obs trace`: one run's span tree as a waterfall on a shared time axis, as text or SVG.

use crate::format::{self, xml_escape};
use factory_observability_model::{hex, Role, Run, Span, StatusCode};
use factory_observability_names::{attr, product};
use serde::Serialize;
use std::collections::HashMap;

/// Width of the text waterfall's bar column, in characters.
const BAR_WIDTH: usize = 40;

/// One span of the waterfall.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub depth: usize,
    pub label: String,
    pub span_id: String,
    pub service: String,
    /// From the start of the trace's first span.
    pub offset_ms: f64,
    pub duration_ms: f64,
    #[serde(skip)]
    pub offset_nanos: u64,
    #[serde(skip)]
    pub duration_nanos: u64,
    pub failed: bool,
    /// The attempt number of a retried stage (2 and up).
    pub retry: Option<i64>,
    pub error: Option<String>,
}

/// A run's waterfall.
#[derive(Clone, Debug, Serialize)]
pub struct Waterfall {
    pub run_id: String,
    pub pipeline: String,
    pub trace_id: String,
    pub start: String,
    pub total_ms: f64,
    #[serde(skip)]
    pub total_nanos: u64,
    pub rows: Vec<Row>,
}

fn label(span: &Span) -> String {
    match Role::of(span) {
        Role::Run => format!("run {}", span.text(attr::PIPELINE_NAME)),
        Role::Stage => span.text(attr::STAGE_NAME),
        Role::Llm => format!(
            "llm {}/{}",
            span.text(attr::LLM_PROVIDER),
            span.text(attr::LLM_MODEL)
        ),
        Role::Adjudicate => format!(
            "adjudicate {} -> {}",
            span.text(attr::ADJUDICATION_NAME),
            span.text(attr::ADJUDICATION_SELECTED)
        ),
        Role::Request => format!(
            "[{}] {} {}",
            span.service,
            span.text(product::HTTP_REQUEST_METHOD),
            span.text(product::HTTP_ROUTE)
        ),
        Role::Other
            if !span.service.is_empty() && span.scope != factory_observability_names::SCOPE =>
        {
            format!("[{}] {}", span.service, span.name)
        }
        Role::Other => span.name.clone(),
    }
}

/// The waterfall of a run from its trace's spans (any order): a depth-first walk, children in
/// start order; spans whose parent is not in the trace are roots.
pub fn build(run: &Run, spans: &[Span]) -> Waterfall {
    let ids: HashMap<[u8; 8], usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    let mut children: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (index, span) in spans.iter().enumerate() {
        let parent = span.parent_span_id.and_then(|p| ids.get(&p).copied());
        children.entry(parent).or_default().push(index);
    }
    for list in children.values_mut() {
        list.sort_by_key(|&i| (spans[i].start_unix_nano, spans[i].span_id));
    }
    let start = spans
        .iter()
        .map(|s| s.start_unix_nano)
        .min()
        .unwrap_or(run.start_unix_nano);
    let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start);
    let mut rows = Vec::new();
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    while let Some((index, depth)) = stack.pop() {
        let span = &spans[index];
        let attempt = span.int(attr::STAGE_ATTEMPT);
        let failed = span.status_code == StatusCode::Error;
        let offset_nanos = span.start_unix_nano.saturating_sub(start);
        rows.push(Row {
            depth,
            label: label(span),
            span_id: hex(&span.span_id),
            service: span.service.clone(),
            offset_ms: format::millis(offset_nanos),
            duration_ms: format::millis(span.duration_nanos()),
            offset_nanos,
            duration_nanos: span.duration_nanos(),
            failed,
            retry: (attempt > 1).then_some(attempt),
            error: failed
                .then(|| span.status_message.clone())
                .filter(|m| !m.is_empty()),
        });
        if let Some(kids) = children.get(&Some(index)) {
            stack.extend(kids.iter().rev().map(|&i| (i, depth + 1)));
        }
    }
    Waterfall {
        run_id: run.run_id.clone(),
        pipeline: run.pipeline.clone(),
        trace_id: hex(&run.trace_id),
        start: format::timestamp(start),
        total_ms: format::millis(end - start),
        total_nanos: end - start,
        rows,
    }
}

/// Start and end columns of a span's bar on `width` columns (at least one column).
fn bar_columns(offset: u64, duration: u64, total: u64, width: usize) -> (usize, usize) {
    if total == 0 {
        return (0, 1);
    }
    let scale = |nanos: u64| ((nanos as u128 * width as u128) / total as u128) as usize;
    let from = scale(offset).min(width - 1);
    let to = scale(offset + duration).clamp(from + 1, width);
    (from, to)
}

/// The waterfall as text: indented labels, a bar per span on the shared axis, duration, marks
/// (`x` failed with its message, `retry N`).
pub fn render(waterfall: &Waterfall) -> String {
    let labels: Vec<String> = waterfall
        .rows
        .iter()
        .map(|row| format!("{}{}", "  ".repeat(row.depth), row.label))
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = format!(
        "run {} {} trace {} started {}, {}\n",
        waterfall.run_id,
        waterfall.pipeline,
        waterfall.trace_id,
        waterfall.start,
        format::duration(waterfall.total_nanos)
    );
    out.push_str(&format!(
        "{:width$}  |0{:>w$}|\n",
        "",
        format::duration(waterfall.total_nanos),
        w = BAR_WIDTH - 1
    ));
    for (row, label) in waterfall.rows.iter().zip(labels) {
        let (from, to) = bar_columns(
            row.offset_nanos,
            row.duration_nanos,
            waterfall.total_nanos,
            BAR_WIDTH,
        );
        let fill = if row.failed { '#' } else { '=' };
        let bar: String = (0..BAR_WIDTH)
            .map(|column| {
                if column >= from && column < to {
                    fill
                } else {
                    ' '
                }
            })
            .collect();
        let mut line = format!(
            "{label:width$}  |{bar}| {:>8}",
            format::duration(row.duration_nanos)
        );
        if let Some(attempt) = row.retry {
            line.push_str(&format!("  retry {attempt}"));
        }
        if row.failed {
            line.push_str("  x failed");
            if let Some(error) = &row.error {
                line.push_str(&format!(": {error}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The waterfall as a standalone SVG picture (also inlined in the HTML report).
pub fn svg(waterfall: &Waterfall) -> String {
    const ROW: usize = 20;
    const LABEL: usize = 300;
    const BARS: usize = 560;
    const TAIL: usize = 260;
    let height = (waterfall.rows.len() + 2) * ROW;
    let width = LABEL + BARS + TAIL;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"waterfall\" data-run=\"{}\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n",
        xml_escape(&waterfall.run_id)
    );
    out.push_str(&format!(
        "<title>run {} {} ({})</title>\n",
        xml_escape(&waterfall.run_id),
        xml_escape(&waterfall.pipeline),
        format::duration(waterfall.total_nanos)
    ));
    // The axis: ticks at quarters of the run.
    for quarter in 0..=4 {
        let x = LABEL + BARS * quarter / 4;
        out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{ROW}\" x2=\"{x}\" y2=\"{height}\" stroke=\"#ddd\"/>\
             <text x=\"{x}\" y=\"14\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n",
            format::duration(waterfall.total_nanos * quarter as u64 / 4)
        ));
    }
    for (index, row) in waterfall.rows.iter().enumerate() {
        let y = (index + 1) * ROW;
        let (from, to) = bar_columns(
            row.offset_nanos,
            row.duration_nanos,
            waterfall.total_nanos,
            BARS,
        );
        let fill = if row.failed {
            "#d9534f"
        } else if row.retry.is_some() {
            "#f0ad4e"
        } else {
            "#4a90d9"
        };
        let class = if row.failed { "span failed" } else { "span" };
        out.push_str(&format!(
            "<g class=\"{class}\"><text x=\"{}\" y=\"{}\">{}</text>\
             <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" rx=\"2\">\
             <title>{} {}</title></rect>",
            4 + row.depth * 12,
            y + 14,
            xml_escape(&row.label),
            LABEL + from,
            y + 3,
            to - from,
            ROW - 6,
            xml_escape(&row.label),
            format::duration(row.duration_nanos)
        ));
        let mut note = format::duration(row.duration_nanos);
        if let Some(attempt) = row.retry {
            note.push_str(&format!(" retry {attempt}"));
        }
        if row.failed {
            note.push_str(" failed");
            if let Some(error) = &row.error {
                note.push_str(&format!(": {error}"));
            }
        }
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text></g>\n",
            LABEL + BARS + 6,
            y + 14,
            if row.failed { "#b52b27" } else { "#333" },
            xml_escape(&note)
        ));
    }
    out.push_str("</svg>\n");
    out
}

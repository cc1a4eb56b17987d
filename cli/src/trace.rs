//! `factory-obs trace`: one run's span tree as a waterfall on a shared time axis, as text or SVG.

use crate::format::{self, xml_escape};
use factory_observability_model::{
    escape_for_terminal, hex, Role, Run, SpanKind, SpanRef, StatusCode,
};
use factory_observability_names::{agent, attr, product};
use serde::Serialize;
use std::collections::HashMap;

/// Width of the text waterfall's bar column, in characters.
const BAR_WIDTH: usize = 40;

/// Levels of the tree shown; what lies deeper is summarised in one row per subtree (a chain
/// 1,000,000 spans deep is one row at this depth, not a million lines indented further each).
pub const MAX_DEPTH: usize = 32;

/// Spans of one trace kept for `trace` at most (the run span always among them); more are
/// counted and said to be left out. About 200 bytes each.
pub const MAX_TRACE_SPANS: usize = 100_000;

/// Characters of a label shown in text (a longer one is cut, with `…`).
const MAX_LABEL_CHARS: usize = 120;

/// Span ids in a parent cycle named at most in a warning.
const NAMED_CYCLE_SPANS: usize = 10;

/// `id` as a trace id, when it is one: 32 hex digits, not all zero (a run id is a UUID, with
/// dashes, so the two never meet).
pub fn parse_trace_id(id: &str) -> Option<[u8; 16]> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&id[2 * index..2 * index + 2], 16).ok()?;
    }
    (bytes != [0; 16]).then_some(bytes)
}

/// One span of the waterfall. A waterfall holds up to [`MAX_TRACE_SPANS`] of them: kept small
/// (the id and times as numbers, written as hex and milliseconds in JSON).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub depth: usize,
    pub label: String,
    /// `None` for a row standing for spans deeper than [`MAX_DEPTH`] (`""` in JSON).
    #[serde(serialize_with = "span_id_hex")]
    pub span_id: Option<[u8; 8]>,
    pub service: String,
    /// From the start of the trace's first span.
    #[serde(rename = "offset_ms", serialize_with = "as_millis")]
    pub offset_nanos: u64,
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration_nanos: u64,
    pub failed: bool,
    /// The attempt number of a retried stage (2 and up).
    pub retry: Option<u32>,
    pub error: Option<String>,
    /// Shown as a root though it has a parent: the first span (by start) of a parent cycle.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
    /// A row standing for this many spans deeper than [`MAX_DEPTH`] (their span from the first
    /// start to the last end; failed when one of them failed).
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden_spans: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn span_id_hex<S: serde::Serializer>(id: &Option<[u8; 8]>, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(&id.as_ref().map(|id| hex(id)).unwrap_or_default())
}

fn as_millis<S: serde::Serializer>(nanos: &u64, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_f64(format::millis(*nanos))
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
    /// Ids of the spans whose parents form a cycle (each is still shown, see [`Row::cycle`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle_span_ids: Vec<String>,
    /// Spans of the trace read but not kept (beyond the limit of spans per waterfall).
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted_spans: u64,
    /// The spans a waterfall keeps at most (see [`TraceSpans::new`]).
    #[serde(skip)]
    pub span_limit: usize,
}

impl Waterfall {
    /// What the waterfall shows, for the terminal: `run ID` or, outside any run, `trace ID`.
    fn subject(&self) -> String {
        if self.run_id.is_empty() {
            format!("trace {}", self.trace_id)
        } else {
            format!("run {}", escape_for_terminal(&self.run_id))
        }
    }

    /// What stderr should say about this waterfall: parent cycles and spans left out.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.cycle_span_ids.is_empty() {
            let named = &self.cycle_span_ids[..self.cycle_span_ids.len().min(NAMED_CYCLE_SPANS)];
            let more = self.cycle_span_ids.len() - named.len();
            warnings.push(format!(
                "warning: {}: {} spans' parents form a cycle (shown from the earliest as a root, \
                 marked `cycle`): {}{}",
                self.subject(),
                self.cycle_span_ids.len(),
                named.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if self.omitted_spans > 0 {
            warnings.push(format!(
                "warning: {}: {} more spans of its trace not shown (a waterfall keeps {} at most)",
                self.subject(),
                self.omitted_spans,
                self.span_limit
            ));
        }
        warnings
    }
}

fn label(span: &SpanRef<'_>) -> String {
    match Role::of_ref(span) {
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
        Role::Agent => format!("agent {}", span.text(agent::GEN_AI_AGENT_NAME)),
        Role::Tool => format!("tool {}", span.text(agent::GEN_AI_TOOL_NAME)),
        Role::Request => format!(
            "[{}] {} {}",
            span.service,
            span.text(product::HTTP_REQUEST_METHOD),
            span.text(product::HTTP_ROUTE)
        ),
        // Another program's span (an instrumentation of its own, or a server's side of a
        // call: an MCP server's): named with its service.
        Role::Other
            if !span.service.is_empty()
                && (span.scope != factory_observability_names::SCOPE
                    || span.kind() == SpanKind::Server) =>
        {
            format!("[{}] {}", span.service, span.name())
        }
        Role::Other => span.name().to_owned(),
    }
}

/// One span of a trace, only what its waterfall row needs.
#[derive(Clone, Debug)]
pub struct TraceSpan {
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub start: u64,
    pub end: u64,
    pub label: String,
    pub service: String,
    pub failed: bool,
    pub attempt: i64,
    pub error: Option<String>,
}

impl TraceSpan {
    pub fn of(span: &SpanRef<'_>) -> TraceSpan {
        let failed = span.status_code() == StatusCode::Error;
        let message = span.status_message();
        TraceSpan {
            span_id: span.span_id,
            parent: span.parent_span_id,
            start: span.start_unix_nano(),
            end: span.end_unix_nano(),
            label: label(span),
            service: span.service.to_owned(),
            failed,
            attempt: span.int(attr::STAGE_ATTEMPT),
            error: (failed && !message.is_empty()).then(|| message.to_owned()),
        }
    }
}

/// The spans of one trace as they are read: the first `limit` (and the run span, whenever it
/// comes) kept, the others counted.
#[derive(Clone, Debug)]
pub struct TraceSpans {
    pub spans: Vec<TraceSpan>,
    pub omitted: u64,
    limit: usize,
    run_span: [u8; 8],
}

impl TraceSpans {
    /// Keeps at most `limit` spans besides the span `run_span`.
    pub fn new(limit: usize, run_span: [u8; 8]) -> TraceSpans {
        TraceSpans {
            spans: Vec::new(),
            omitted: 0,
            limit,
            run_span,
        }
    }

    pub fn push(&mut self, span: TraceSpan) {
        if self.spans.len() < self.limit || span.span_id == self.run_span {
            self.spans.push(span);
        } else {
            self.omitted += 1;
        }
    }
}

/// The trace's tree: each span's children in start order, and the roots (spans whose parent is
/// not in the trace).
struct Tree {
    children: Vec<Vec<u32>>,
    roots: Vec<u32>,
    parent: Vec<Option<u32>>,
}

impl Tree {
    fn of(spans: &[TraceSpan]) -> Tree {
        let mut ids: HashMap<[u8; 8], u32> = HashMap::with_capacity(spans.len());
        for (index, span) in spans.iter().enumerate() {
            ids.entry(span.span_id).or_insert(index as u32);
        }
        let parent: Vec<Option<u32>> = spans
            .iter()
            .map(|s| s.parent.and_then(|p| ids.get(&p).copied()))
            .collect();
        drop(ids);
        let mut children = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (index, up) in parent.iter().enumerate() {
            match up {
                Some(up) => children[*up as usize].push(index as u32),
                None => roots.push(index as u32),
            }
        }
        let order = |&i: &u32| (spans[i as usize].start, spans[i as usize].span_id);
        roots.sort_by_key(order);
        for list in &mut children {
            list.sort_by_key(order);
        }
        Tree {
            children,
            roots,
            parent,
        }
    }

    /// The spans on a parent cycle, among those no root reaches; the earliest of each cycle
    /// first.
    fn cycles(&self, spans: &[TraceSpan], reached: &[bool]) -> Vec<Vec<u32>> {
        // 0: not looked at, 1: on the chain being followed, 2: done.
        let mut state = vec![0u8; spans.len()];
        let mut cycles = Vec::new();
        for start in 0..spans.len() {
            if reached[start] || state[start] != 0 {
                continue;
            }
            let mut chain = Vec::new();
            let mut at = Some(start as u32);
            while let Some(index) = at {
                match state[index as usize] {
                    0 => {
                        state[index as usize] = 1;
                        chain.push(index);
                        at = self.parent[index as usize];
                    }
                    1 => {
                        let from = chain.iter().position(|&i| i == index).unwrap_or(0);
                        let mut cycle = chain[from..].to_vec();
                        cycle
                            .sort_by_key(|&i| (spans[i as usize].start, spans[i as usize].span_id));
                        cycles.push(cycle);
                        break;
                    }
                    _ => break,
                }
            }
            for index in chain {
                state[index as usize] = 2;
            }
        }
        cycles.sort_by_key(|c| (spans[c[0] as usize].start, spans[c[0] as usize].span_id));
        cycles
    }
}

/// Builds the rows by a depth-first walk.
struct Walk<'a> {
    spans: &'a mut [TraceSpan],
    tree: &'a Tree,
    start: u64,
    visited: Vec<bool>,
    rows: Vec<Row>,
}

impl Walk<'_> {
    /// The span's row (its texts moved into it: each span has one row).
    fn row(&mut self, index: u32, depth: usize) -> Row {
        let span = &mut self.spans[index as usize];
        let offset_nanos = span.start.saturating_sub(self.start);
        let duration = span.end.saturating_sub(span.start);
        Row {
            depth,
            label: std::mem::take(&mut span.label),
            span_id: Some(span.span_id),
            service: std::mem::take(&mut span.service),
            offset_nanos,
            duration_nanos: duration,
            failed: span.failed,
            retry: u32::try_from(span.attempt)
                .ok()
                .filter(|&attempt| attempt > 1),
            error: span.error.take(),
            cycle: false,
            hidden_spans: 0,
        }
    }

    /// Rows for the subtree of `root` (not visited yet) at `depth`.
    fn subtree(&mut self, root: u32, depth: usize) {
        let mut stack = vec![(root, depth)];
        while let Some((index, depth)) = stack.pop() {
            if std::mem::replace(&mut self.visited[index as usize], true) {
                continue;
            }
            let row = self.row(index, depth);
            self.rows.push(row);
            let kids = &self.tree.children[index as usize];
            if depth + 1 < MAX_DEPTH {
                stack.extend(kids.iter().rev().map(|&i| (i, depth + 1)));
            } else if kids.iter().any(|&i| !self.visited[i as usize]) {
                self.hidden(index, depth + 1);
            }
        }
    }

    /// One row summarising every span below `index` (none visited yet is shown elsewhere).
    fn hidden(&mut self, index: u32, depth: usize) {
        let (mut count, mut first, mut last, mut failed) = (0u64, u64::MAX, 0u64, false);
        let mut stack: Vec<u32> = self.tree.children[index as usize].clone();
        while let Some(next) = stack.pop() {
            if std::mem::replace(&mut self.visited[next as usize], true) {
                continue;
            }
            let span = &self.spans[next as usize];
            count += 1;
            first = first.min(span.start);
            last = last.max(span.end);
            failed |= span.failed;
            stack.extend(&self.tree.children[next as usize]);
        }
        let offset_nanos = first.saturating_sub(self.start);
        let duration = last.saturating_sub(first);
        self.rows.push(Row {
            depth,
            label: format!("... {count} more spans deeper than {MAX_DEPTH} levels"),
            span_id: None,
            service: String::new(),
            offset_nanos,
            duration_nanos: duration,
            failed,
            retry: None,
            error: None,
            cycle: false,
            hidden_spans: count,
        });
    }
}

/// The waterfall of a run from its trace's spans (any order): a depth-first walk, children in
/// start order; spans whose parent is not in the trace are roots. Spans whose parents form a
/// cycle are shown after the rest, from each cycle's earliest span as a root, and named in
/// [`Waterfall::cycle_span_ids`]. Levels deeper than [`MAX_DEPTH`] are summarised.
pub fn build(run: &Run, trace: TraceSpans) -> Waterfall {
    let mut waterfall = build_trace(run.trace_id, trace, run.start_unix_nano);
    waterfall.run_id = run.run_id.clone();
    waterfall.pipeline = run.pipeline.clone();
    waterfall
}

/// The waterfall of any trace (a product's request and what its page did before it; no run
/// need be in it), as [`build`] draws a run's; `fallback_start` when no span was read.
pub fn build_trace(trace_id: [u8; 16], trace: TraceSpans, fallback_start: u64) -> Waterfall {
    let mut spans = trace.spans;
    let start = spans
        .iter()
        .map(|s| s.start)
        .min()
        .unwrap_or(fallback_start);
    let end = spans
        .iter()
        .map(|s| s.end)
        .max()
        .unwrap_or(start)
        .max(start);
    let tree = Tree::of(&spans);
    let visited = vec![false; spans.len()];
    let mut walk = Walk {
        spans: &mut spans,
        tree: &tree,
        start,
        visited,
        rows: Vec::with_capacity(tree.parent.len()),
    };
    for &root in &tree.roots {
        walk.subtree(root, 0);
    }
    let cycles = tree.cycles(walk.spans, &walk.visited);
    let mut cycle_span_ids = Vec::new();
    for cycle in &cycles {
        cycle_span_ids.extend(cycle.iter().map(|&i| hex(&walk.spans[i as usize].span_id)));
        let first_row = walk.rows.len();
        walk.subtree(cycle[0], 0);
        if let Some(row) = walk.rows.get_mut(first_row) {
            row.cycle = true;
        }
    }
    let rows = walk.rows;
    Waterfall {
        run_id: String::new(),
        pipeline: String::new(),
        trace_id: hex(&trace_id),
        start: format::timestamp(start),
        total_ms: format::millis(end - start),
        total_nanos: end - start,
        rows,
        cycle_span_ids,
        omitted_spans: trace.omitted,
        span_limit: trace.limit,
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

/// A label as text: control characters escaped, at most [`MAX_LABEL_CHARS`] characters.
fn text_label(label: &str) -> String {
    let label = escape_for_terminal(label);
    match label.char_indices().nth(MAX_LABEL_CHARS) {
        Some((cut, _)) => format!("{}…", &label[..cut]),
        None => label.into_owned(),
    }
}

/// Writes the waterfall as text: indented labels, a bar per span on the shared axis, duration, marks
/// (`x` failed with its message, `retry N`, `parent cycle`), then a line for spans left out.
pub fn write_text(waterfall: &Waterfall, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let label = |row: &Row| "  ".repeat(row.depth) + &text_label(&row.label);
    // Bounded by MAX_DEPTH and MAX_LABEL_CHARS: far below the 65,535 a format width allows.
    let width = waterfall.rows.iter().map(|row| label(row).chars().count());
    let width = width.max().unwrap_or(0);
    let mut head = if waterfall.run_id.is_empty() {
        format!("trace {}", waterfall.trace_id)
    } else {
        format!(
            "run {} {} trace {}",
            escape_for_terminal(&waterfall.run_id),
            escape_for_terminal(&waterfall.pipeline),
            waterfall.trace_id,
        )
    };
    head.push_str(&format!(
        " started {}, {}\n",
        waterfall.start,
        format::duration(waterfall.total_nanos)
    ));
    head.push_str(&format!(
        "{:width$}  |0{:>w$}|\n",
        "",
        format::duration(waterfall.total_nanos),
        w = BAR_WIDTH - 1
    ));
    out.write_all(head.as_bytes())?;
    for row in &waterfall.rows {
        let label = label(row);
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
                line.push_str(&format!(": {}", escape_for_terminal(error)));
            }
        }
        if row.cycle {
            line.push_str("  parent cycle");
        }
        // Row by row: the text of 100,000 rows is never held whole.
        writeln!(out, "{}", line.trim_end())?;
    }
    if waterfall.omitted_spans > 0 {
        writeln!(
            out,
            "... {} more spans of the trace not shown (at most {} are kept)",
            waterfall.omitted_spans, waterfall.span_limit
        )?;
    }
    Ok(())
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
    let title = if waterfall.run_id.is_empty() {
        format!("trace {}", waterfall.trace_id)
    } else {
        format!("run {} {}", waterfall.run_id, waterfall.pipeline)
    };
    out.push_str(&format!(
        "<title>{} ({})</title>\n",
        xml_escape(&title),
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

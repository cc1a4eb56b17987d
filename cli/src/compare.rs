//! `factory-obs compare`: two runs stage by stage, then agent by agent and tool by tool.

use crate::format::{self, millis};
use crate::runs::RunRow;
use crate::table::{Align, Row, Table};
use factory_observability_model::Run;
use serde::Serialize;

/// A change smaller than this fraction of the first run's duration is "same".
const SAME_WITHIN: f64 = 0.05;

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub a: RunRow,
    pub b: RunRow,
    pub stages: Vec<StageDiff>,
    /// Agents, then tools, each by name in the order of their first call.
    pub calls: Vec<CallDiff>,
    pub duration_delta_ms: f64,
    pub cost_delta_usd: Option<f64>,
    pub input_tokens_delta: i64,
    pub output_tokens_delta: i64,
    pub llm_calls_delta: i64,
}

/// One stage name in both runs (every attempt summed).
#[derive(Debug, Serialize)]
pub struct StageDiff {
    pub stage: String,
    pub a_ms: Option<f64>,
    pub b_ms: Option<f64>,
    /// `slower`, `faster`, `same`, `new` (only in b) or `gone` (only in a).
    pub change: &'static str,
    pub a_attempts: usize,
    pub b_attempts: usize,
    pub a_failures: usize,
    pub b_failures: usize,
    /// `newly failing`, `fixed`, `still failing` or empty.
    pub status: &'static str,
    #[serde(skip)]
    a_nanos: u64,
    #[serde(skip)]
    b_nanos: u64,
}

/// One agent or tool name in both runs: its calls and failures in each.
#[derive(Debug, Serialize)]
pub struct CallDiff {
    /// `agent` or `tool`.
    pub kind: &'static str,
    pub name: String,
    pub a_calls: usize,
    pub b_calls: usize,
    pub a_failures: usize,
    pub b_failures: usize,
    /// As [`StageDiff::status`].
    pub status: &'static str,
}

/// `(kind, name, calls, failures)` of a run's agents, then its tools, in first-call order.
fn call_counts(run: &Run) -> Vec<(&'static str, String, usize, usize)> {
    let mut found: Vec<(&'static str, String, usize, usize)> = Vec::new();
    let mut count = |kind: &'static str, name: &str, failed: bool| match found
        .iter_mut()
        .find(|(k, n, _, _)| *k == kind && n == name)
    {
        Some(entry) => {
            entry.2 += 1;
            entry.3 += usize::from(failed);
        }
        None => found.push((kind, name.to_owned(), 1, usize::from(failed))),
    };
    run.agents
        .iter()
        .for_each(|a| count("agent", &a.name, a.failed()));
    run.tools
        .iter()
        .for_each(|t| count("tool", &t.name, t.failed()));
    found
}

/// Agents and tools of `a` and `b` side by side (those only in `b` after those of `a`).
fn call_diffs(a: &Run, b: &Run) -> Vec<CallDiff> {
    let mut b_counts = call_counts(b);
    let mut diffs = Vec::new();
    let mut push = |kind, name: String, a: Option<(usize, usize)>, b: Option<(usize, usize)>| {
        let (a_calls, a_failures) = a.unwrap_or((0, 0));
        let (b_calls, b_failures) = b.unwrap_or((0, 0));
        diffs.push(CallDiff {
            kind,
            name,
            a_calls,
            b_calls,
            a_failures,
            b_failures,
            status: failure_status(a_failures, b_failures, b.is_some()),
        });
    };
    for (kind, name, calls, failures) in call_counts(a) {
        let in_b = b_counts
            .iter()
            .position(|(k, n, _, _)| *k == kind && *n == name)
            .map(|i| b_counts.remove(i))
            .map(|(_, _, calls, failures)| (calls, failures));
        push(kind, name, Some((calls, failures)), in_b);
    }
    for (kind, name, calls, failures) in b_counts {
        push(kind, name, None, Some((calls, failures)));
    }
    diffs.sort_by_key(|d| d.kind != "agent");
    diffs
}

/// `newly failing`, `fixed`, `still failing` or empty.
fn failure_status(a_failures: usize, b_failures: usize, in_b: bool) -> &'static str {
    match (a_failures > 0, b_failures > 0) {
        (false, true) => "newly failing",
        (true, false) if in_b => "fixed",
        (true, true) => "still failing",
        _ => "",
    }
}

#[derive(Default)]
struct Side {
    nanos: u64,
    attempts: usize,
    failures: usize,
    first_start: u64,
}

fn sides(run: &Run) -> Vec<(String, Side)> {
    let mut found: Vec<(String, Side)> = Vec::new();
    for stage in &run.stages {
        let index = match found.iter().position(|(name, _)| name == &stage.name) {
            Some(index) => index,
            None => {
                found.push((
                    stage.name.clone(),
                    Side {
                        first_start: stage.start_unix_nano
                            - run.start_unix_nano.min(stage.start_unix_nano),
                        ..Side::default()
                    },
                ));
                found.len() - 1
            }
        };
        let side = &mut found[index].1;
        side.nanos += stage.duration_nanos;
        side.attempts += 1;
        side.failures += usize::from(stage.failed());
    }
    found
}

/// Compares run `b` with run `a`.
pub fn build(a: &Run, b: &Run) -> Comparison {
    let a_sides = sides(a);
    let mut b_sides = sides(b);
    let mut stages = Vec::new();
    let mut order: Vec<(u64, String)> = Vec::new();
    for (name, side) in &a_sides {
        let b_side = b_sides
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| b_sides.remove(i).1);
        let start = b_side
            .as_ref()
            .map(|s| s.first_start)
            .unwrap_or(side.first_start);
        order.push((start, name.clone()));
        stages.push(diff(name, Some(side), b_side.as_ref()));
    }
    for (name, side) in &b_sides {
        order.push((side.first_start, name.clone()));
        stages.push(diff(name, None, Some(side)));
    }
    let position = |name: &str| order.iter().find(|(_, n)| n == name).map(|(s, _)| *s);
    stages.sort_by_key(|d| position(&d.stage));
    Comparison {
        a: RunRow::of(a),
        b: RunRow::of(b),
        duration_delta_ms: millis(b.duration_nanos) - millis(a.duration_nanos),
        cost_delta_usd: match (a.cost_usd, b.cost_usd) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
        input_tokens_delta: b.input_tokens - a.input_tokens,
        output_tokens_delta: b.output_tokens - a.output_tokens,
        llm_calls_delta: b.llm_calls - a.llm_calls,
        stages,
        calls: call_diffs(a, b),
    }
}

fn diff(name: &str, a: Option<&Side>, b: Option<&Side>) -> StageDiff {
    let change = match (a, b) {
        (Some(a), Some(b)) => {
            let delta = b.nanos as f64 - a.nanos as f64;
            if delta.abs() <= SAME_WITHIN * a.nanos as f64 {
                "same"
            } else if delta > 0.0 {
                "slower"
            } else {
                "faster"
            }
        }
        (None, _) => "new",
        (_, None) => "gone",
    };
    let a_failures = a.map(|s| s.failures).unwrap_or(0);
    let b_failures = b.map(|s| s.failures).unwrap_or(0);
    let status = failure_status(a_failures, b_failures, b.is_some());
    StageDiff {
        stage: name.to_owned(),
        a_ms: a.map(|s| millis(s.nanos)),
        b_ms: b.map(|s| millis(s.nanos)),
        change,
        a_attempts: a.map(|s| s.attempts).unwrap_or(0),
        b_attempts: b.map(|s| s.attempts).unwrap_or(0),
        a_failures,
        b_failures,
        status,
        a_nanos: a.map(|s| s.nanos).unwrap_or(0),
        b_nanos: b.map(|s| s.nanos).unwrap_or(0),
    }
}

fn signed(delta: i64) -> String {
    if delta > 0 {
        format!("+{delta}")
    } else {
        delta.to_string()
    }
}

/// The comparison as text.
pub fn render(comparison: &Comparison) -> String {
    use Align::{Left, Right};
    let (a, b) = (&comparison.a, &comparison.b);
    let mut out = format!(
        "a: {} {} {} {} {}\nb: {} {} {} {} {}\n\n",
        a.run_id,
        a.pipeline,
        a.start,
        a.outcome,
        format::duration((a.duration_ms * 1e6) as u64),
        b.run_id,
        b.pipeline,
        b.start,
        b.outcome,
        format::duration((b.duration_ms * 1e6) as u64),
    );
    let rows: Vec<Row> = comparison
        .stages
        .iter()
        .map(|d| {
            let time = |ms: Option<f64>, nanos: u64| {
                ms.map(|_| format::duration(nanos))
                    .unwrap_or_else(|| "-".into())
            };
            Row::new(vec![
                d.stage.clone(),
                time(d.a_ms, d.a_nanos),
                time(d.b_ms, d.b_nanos),
                if d.a_ms.is_some() && d.b_ms.is_some() {
                    format::duration_delta(d.a_nanos, d.b_nanos)
                } else {
                    "-".into()
                },
                d.change.to_owned(),
                format!("{}/{}", d.a_attempts, d.b_attempts),
                format!("{}/{}", d.a_failures, d.b_failures),
                d.status.to_owned(),
            ])
            .failed(d.b_failures > 0)
        })
        .collect();
    let table = Table {
        id: "stages",
        title: "Stages".into(),
        columns: vec![
            ("stage", Left),
            ("a", Right),
            ("b", Right),
            ("delta", Right),
            ("change", Left),
            ("attempts", Right),
            ("failures", Right),
            ("status", Left),
        ],
        notes_title: "",
        rows,
    };
    out.push_str(&table.text());
    if !comparison.calls.is_empty() {
        out.push_str("\nAgents and tools\n");
        out.push_str(&calls_table(&comparison.calls).text());
    }
    let a_nanos = (a.duration_ms * 1e6).round() as u64;
    let b_nanos = (b.duration_ms * 1e6).round() as u64;
    out.push_str(&format!(
        "\nduration {} -> {} ({})\n",
        format::duration(a_nanos),
        format::duration(b_nanos),
        format::duration_delta(a_nanos, b_nanos)
    ));
    out.push_str(&format!(
        "cost {} -> {}{}\n",
        format::cost(a.cost_usd),
        format::cost(b.cost_usd),
        comparison
            .cost_delta_usd
            .map(|d| format!(
                " ({}{})",
                if d >= 0.0 { "+" } else { "-" },
                format::cost(Some(d.abs()))
            ))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "tokens in {} -> {} ({}), out {} -> {} ({})\nLLM calls {} -> {} ({})\n",
        a.input_tokens,
        b.input_tokens,
        signed(comparison.input_tokens_delta),
        a.output_tokens,
        b.output_tokens,
        signed(comparison.output_tokens_delta),
        a.llm_calls,
        b.llm_calls,
        signed(comparison.llm_calls_delta)
    ));
    out
}

/// The agents and tools of both runs: calls and failures, a/b.
fn calls_table(calls: &[CallDiff]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "calls",
        title: "Agents and tools".into(),
        columns: vec![
            ("kind", Left),
            ("name", Left),
            ("calls", Right),
            ("failures", Right),
            ("status", Left),
        ],
        notes_title: "",
        rows: calls
            .iter()
            .map(|d| {
                Row::new(vec![
                    d.kind.to_owned(),
                    d.name.clone(),
                    format!("{}/{}", d.a_calls, d.b_calls),
                    format!("{}/{}", d.a_failures, d.b_failures),
                    d.status.to_owned(),
                ])
                .failed(d.b_failures > 0)
            })
            .collect(),
    }
}

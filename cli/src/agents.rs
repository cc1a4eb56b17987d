//! `report`'s agents and tools: per agent (`gen_ai.agent.name`) and per tool
//! (`gen_ai.tool.name`), calls, failures, durations and the most frequent errors, as data
//! (the `--json` output) and as tables.

use crate::aggregate::Summary;
use crate::format::{self, ms};
use crate::quantiles::{Durations, Latency};
use crate::table::{Align, Row, Table};
use serde::Serialize;

/// How many error messages are shown per agent or tool.
const TOP_ERRORS: usize = 3;

/// How many calling agents are named per tool.
const NAMED_AGENTS: usize = 3;

/// One agent's invocations.
#[derive(Debug, Serialize)]
pub struct AgentRow {
    pub agent: String,
    pub invocations: u64,
    pub failures: u64,
    #[serde(flatten)]
    pub latency: Latency,
    /// The LLM calls under its invocations, its sub-agents' included (as the next four).
    pub llm_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub tool_calls: i64,
    pub tool_failures: i64,
    /// `(message, occurrences)`, most frequent first.
    pub top_errors: Vec<(String, u64)>,
}

/// One tool's calls.
#[derive(Debug, Serialize)]
pub struct ToolRow {
    pub tool: String,
    /// `function`, `extension` or `datastore`.
    pub tool_type: String,
    pub calls: u64,
    pub failures: u64,
    pub failure_ratio: f64,
    #[serde(flatten)]
    pub latency: Latency,
    /// The agents that called it, most calls first.
    pub agents: Vec<(String, u64)>,
    /// `(message, occurrences)`, most frequent first.
    pub top_errors: Vec<(String, u64)>,
}

/// The agents, most failures first, then the slowest p95.
pub fn agent_rows(
    summary: &Summary,
    latency: &mut impl FnMut(&Durations) -> Latency,
) -> Vec<AgentRow> {
    let mut rows: Vec<AgentRow> = summary
        .agents
        .iter()
        .map(|(name, acc)| AgentRow {
            agent: name.clone(),
            invocations: acc.durations.count(),
            failures: acc.failures,
            latency: latency(&acc.durations),
            llm_calls: acc.llm_calls,
            input_tokens: acc.input_tokens,
            output_tokens: acc.output_tokens,
            cost_usd: acc.cost_usd,
            tool_calls: acc.tool_calls,
            tool_failures: acc.tool_failures,
            top_errors: acc.messages.top(TOP_ERRORS),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.failures
            .cmp(&a.failures)
            .then(b.latency.p95_ms.total_cmp(&a.latency.p95_ms))
            .then_with(|| a.agent.cmp(&b.agent))
    });
    rows
}

/// The tools, highest failure ratio first, then the slowest p95.
pub fn tool_rows(
    summary: &Summary,
    latency: &mut impl FnMut(&Durations) -> Latency,
) -> Vec<ToolRow> {
    let mut rows: Vec<ToolRow> = summary
        .tools
        .iter()
        .map(|(name, acc)| ToolRow {
            tool: name.clone(),
            tool_type: acc.tool_type.clone(),
            calls: acc.durations.count(),
            failures: acc.failures,
            failure_ratio: acc.failures as f64 / acc.durations.count().max(1) as f64,
            latency: latency(&acc.durations),
            agents: acc.agents.top(NAMED_AGENTS),
            top_errors: acc.messages.top(TOP_ERRORS),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.failure_ratio
            .total_cmp(&a.failure_ratio)
            .then(b.latency.p95_ms.total_cmp(&a.latency.p95_ms))
            .then_with(|| a.tool.cmp(&b.tool))
    });
    rows
}

/// Top errors as a table's notes: `3x message`.
fn error_notes(top: &[(String, u64)]) -> Vec<String> {
    top.iter()
        .map(|(message, count)| format!("{count}x {message}"))
        .collect()
}

/// The agents table.
pub fn agents_table(rows: &[AgentRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "agents",
        title: "Agents (most failing first, top errors)".into(),
        columns: vec![
            ("agent", Left),
            ("calls", Right),
            ("failures", Right),
            ("p50", Right),
            ("p95", Right),
            ("p99", Right),
            ("LLM calls", Right),
            ("tool calls", Right),
            ("tool failures", Right),
            ("cost", Right),
        ],
        notes_title: "top errors",
        rows: rows
            .iter()
            .map(|a| {
                Row::new(vec![
                    a.agent.clone(),
                    a.invocations.to_string(),
                    a.failures.to_string(),
                    ms(a.latency.p50_ms),
                    ms(a.latency.p95_ms),
                    ms(a.latency.p99_ms),
                    a.llm_calls.to_string(),
                    a.tool_calls.to_string(),
                    a.tool_failures.to_string(),
                    format::cost(Some(a.cost_usd)),
                ])
                .failed(a.failures > 0)
                .notes(error_notes(&a.top_errors))
            })
            .collect(),
    }
}

/// The tools table.
pub fn tools_table(rows: &[ToolRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "tools",
        title: "Tools (most failing first, top errors)".into(),
        columns: vec![
            ("tool", Left),
            ("type", Left),
            ("agents", Left),
            ("calls", Right),
            ("failures", Right),
            ("failure ratio", Right),
            ("p50", Right),
            ("p95", Right),
            ("p99", Right),
        ],
        notes_title: "top errors",
        rows: rows
            .iter()
            .map(|t| {
                let agents: Vec<&str> = t.agents.iter().map(|(name, _)| name.as_str()).collect();
                Row::new(vec![
                    t.tool.clone(),
                    t.tool_type.clone(),
                    agents.join(", "),
                    t.calls.to_string(),
                    t.failures.to_string(),
                    format::percent(t.failure_ratio),
                    ms(t.latency.p50_ms),
                    ms(t.latency.p95_ms),
                    ms(t.latency.p99_ms),
                ])
                .failed(t.failures > 0)
                .notes(error_notes(&t.top_errors))
            })
            .collect(),
    }
}

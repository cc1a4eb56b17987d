//! `factory-obs runs`: one line per run, and finding a run by its id or a prefix.

use crate::error::CliError;
use crate::format::{self, millis};
use crate::table::{Align, Row, Table};
use factory_observability_model::{hex, Run};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub pipeline: String,
    /// RFC 3339, UTC.
    pub start: String,
    pub duration_ms: f64,
    #[serde(skip)]
    pub duration_nanos: u64,
    pub outcome: String,
    pub cost_usd: Option<f64>,
    pub llm_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub trace_id: String,
}

impl RunRow {
    pub fn of(run: &Run) -> RunRow {
        RunRow {
            run_id: run.run_id.clone(),
            pipeline: run.pipeline.clone(),
            start: format::timestamp(run.start_unix_nano),
            duration_ms: millis(run.duration_nanos),
            duration_nanos: run.duration_nanos,
            outcome: run.outcome.clone(),
            cost_usd: run.cost_usd,
            llm_calls: run.llm_calls,
            input_tokens: run.input_tokens,
            output_tokens: run.output_tokens,
            trace_id: hex(&run.trace_id),
        }
    }
}

/// The runs' rows.
pub fn rows(runs: &[Run]) -> Vec<RunRow> {
    runs.iter().map(RunRow::of).collect()
}

/// The runs' rows as a JSON array, each made as it is written (the `runs --json` output).
pub struct Rows<'a>(pub &'a [Run]);

impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(RunRow::of))
    }
}

impl RunRow {
    /// The run's line of the table.
    pub fn row(&self) -> Row {
        line(
            self.run_id.clone(),
            self.pipeline.clone(),
            self.start.clone(),
            self.duration_nanos,
            self.outcome.clone(),
            self.cost_usd,
            self.llm_calls,
        )
    }
}

/// A run's line of the table.
pub fn row(run: &Run) -> Row {
    line(
        run.run_id.clone(),
        run.pipeline.clone(),
        format::timestamp(run.start_unix_nano),
        run.duration_nanos,
        run.outcome.clone(),
        run.cost_usd,
        run.llm_calls,
    )
}

fn line(
    run_id: String,
    pipeline: String,
    start: String,
    duration_nanos: u64,
    outcome: String,
    cost_usd: Option<f64>,
    llm_calls: i64,
) -> Row {
    let failed = outcome != "success";
    Row::new(vec![
        run_id,
        pipeline,
        start,
        format::duration(duration_nanos),
        outcome,
        format::cost(cost_usd),
        llm_calls.to_string(),
    ])
    .failed(failed)
}

/// The rows as a table (the `runs` command's output, the HTML page's runs).
pub fn table(rows: impl IntoIterator<Item = Row>) -> Table {
    use Align::{Left, Right};
    Table {
        id: "runs",
        title: "Runs".into(),
        columns: vec![
            ("run", Left),
            ("pipeline", Left),
            ("start", Left),
            ("duration", Right),
            ("outcome", Left),
            ("cost", Right),
            ("LLM calls", Right),
        ],
        notes_title: "",
        rows: rows.into_iter().collect(),
    }
}

/// How many ambiguous candidates an error names at most.
const NAMED: usize = 10;

/// The run whose id is `id` or starts with it, among `runs` (those kept for the ids asked for,
/// of which `matched` start with `id`) of the `read` runs; an unknown or ambiguous id is an
/// error naming the candidates.
pub fn find<'a>(runs: &'a [Run], read: u64, id: &str, matched: u64) -> Result<&'a Run, CliError> {
    if id.is_empty() {
        return Err(CliError::usage(
            "the run id is empty: give an id or a prefix of one",
        ));
    }
    if let Some(run) = runs.iter().find(|r| r.run_id == id) {
        return Ok(run);
    }
    let matching: Vec<&Run> = runs.iter().filter(|r| r.run_id.starts_with(id)).collect();
    match matching.as_slice() {
        [run] if matched <= 1 => Ok(run),
        [] => Err(CliError::no_data(format!(
            "no run {id:?} among the {read} runs read (see `factory-obs runs`)"
        ))),
        several => {
            let named: Vec<&str> = several
                .iter()
                .take(NAMED)
                .map(|r| r.run_id.as_str())
                .collect();
            let more = matched.max(several.len() as u64) - named.len() as u64;
            Err(CliError::no_data(format!(
                "run id prefix {id:?} is ambiguous: {}{}",
                named.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )))
        }
    }
}

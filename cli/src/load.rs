//! Reading the inputs into the model, with a progress bar on a terminal.

use crate::aggregate::{Aggregator, Keep, Record, Summary};
use crate::error::CliError;
use crate::filter::Filters;
use crate::trace::{TraceSpan, TraceSpans};
use aho_corasick::AhoCorasick;
use factory_observability_model::read::{input_files, read_files_with, ReadOptions, ReadStats};
use factory_observability_model::{escape_for_terminal, hex, Run};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;

/// A progress bar over the input's bytes, drawn on stderr only when it is a terminal.
fn progress(files: &[PathBuf]) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "reading {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    input_files(paths).map_err(|error| CliError::no_data(error.to_string()))
}

/// Reads every file once, folding each span into an [`Aggregator`] (bounded memory: see
/// [`crate::aggregate`]). `threads` parse; their records are folded in line order, so the
/// summary is the same whatever their number.
pub fn aggregate(
    paths: &[PathBuf],
    filters: Filters,
    keep: Keep,
    threads: usize,
) -> Result<Summary, CliError> {
    let files = files(paths)?;
    let bar = progress(&files);
    let mut aggregator = Aggregator::new(filters, keep);
    let options = ReadOptions {
        threads,
        wanted: None,
    };
    let stats = read_files_with(
        &files,
        &options,
        |line| -> Vec<Record> {
            line.spans()
                .flatten()
                .filter_map(|s| Record::of(&s))
                .collect()
        },
        |records| {
            records
                .into_iter()
                .for_each(|record| aggregator.observe_record(record));
            Vec::new()
        },
        |bytes| bar.set_position(bytes),
    )
    .map_err(|error| CliError::no_data(error.to_string()))?;
    bar.finish_and_clear();
    Ok(aggregator.finish(stats))
}

/// The spans of these runs' traces (a second pass over the files), each trace's in file order,
/// at most `limit` of a trace besides its run span (see [`TraceSpans`]). Only lines that hold
/// one of the trace ids (in hex, either case) are parsed.
pub fn traces(
    paths: &[PathBuf],
    runs: &[&Run],
    limit: usize,
    threads: usize,
) -> Result<HashMap<[u8; 16], TraceSpans>, CliError> {
    let wanted: Vec<([u8; 16], [u8; 8])> = runs.iter().map(|r| (r.trace_id, r.span_id)).collect();
    spans_of_traces(paths, &wanted, limit, threads)
}

/// The spans of the traces `wanted` (trace id, a span always kept), as [`traces`] reads them.
pub fn spans_of_traces(
    paths: &[PathBuf],
    wanted: &[([u8; 16], [u8; 8])],
    limit: usize,
    threads: usize,
) -> Result<HashMap<[u8; 16], TraceSpans>, CliError> {
    let mut traces: HashMap<[u8; 16], TraceSpans> = HashMap::new();
    for &(trace_id, kept_span) in wanted {
        traces
            .entry(trace_id)
            .or_insert_with(|| TraceSpans::new(limit, kept_span));
    }
    if traces.is_empty() {
        return Ok(traces);
    }
    let ids: Vec<String> = traces.keys().map(|id| hex(id)).collect();
    let finder = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&ids)
        .map_err(|error| CliError::no_data(format!("cannot search for trace ids: {error}")))?;
    let wanted = |line: &[u8]| finder.is_match(line);
    let options = ReadOptions {
        threads,
        wanted: Some(&wanted),
    };
    let files = files(paths)?;
    let bar = progress(&files);
    let wanted_ids: HashSet<[u8; 16]> = traces.keys().copied().collect();
    read_files_with(
        &files,
        &options,
        |line| -> Vec<([u8; 16], TraceSpan)> {
            line.spans()
                .flatten()
                .filter(|s| wanted_ids.contains(&s.trace_id))
                .map(|s| (s.trace_id, TraceSpan::of(&s)))
                .collect()
        },
        |spans| {
            for (trace_id, span) in spans {
                if let Some(trace) = traces.get_mut(&trace_id) {
                    trace.push(span);
                }
            }
            Vec::new()
        },
        |bytes| bar.set_position(bytes),
    )
    .map_err(|error| CliError::no_data(error.to_string()))?;
    bar.finish_and_clear();
    Ok(traces)
}

/// The malformed lines, for stderr: each kept one, then how many more.
pub fn warnings(stats: &ReadStats) -> Vec<String> {
    let mut lines: Vec<String> = stats
        .problems
        .iter()
        .map(|problem| format!("warning: {}", escape_for_terminal(&problem.to_string())))
        .collect();
    let more = stats.problem_count - stats.problems.len() as u64;
    if more > 0 {
        lines.push(format!("warning: {more} more malformed lines not shown"));
    }
    lines
}

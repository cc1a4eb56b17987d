//! Reading the inputs into the model, with a progress bar on a terminal.

use crate::aggregate::{Aggregator, Keep, Summary};
use crate::error::CliError;
use crate::filter::Filters;
use factory_observability_model::read::{input_files, read_files, ReadStats};
use factory_observability_model::Span;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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
/// [`crate::aggregate`]).
pub fn aggregate(paths: &[PathBuf], filters: Filters, keep: Keep) -> Result<Summary, CliError> {
    let files = files(paths)?;
    let bar = progress(&files);
    let mut aggregator = Aggregator::new(filters, keep);
    let stats = read_files(
        &files,
        |batch| {
            for span in &batch.spans {
                aggregator.observe(span);
            }
        },
        |bytes| bar.set_position(bytes),
    )
    .map_err(|error| CliError::no_data(error.to_string()))?;
    bar.finish_and_clear();
    Ok(aggregator.finish(stats))
}

/// Every span of one trace, in file order (a second pass over the files).
pub fn trace_spans(paths: &[PathBuf], trace_id: [u8; 16]) -> Result<Vec<Span>, CliError> {
    let files = files(paths)?;
    let bar = progress(&files);
    let mut spans = Vec::new();
    read_files(
        &files,
        |batch| spans.extend(batch.spans.into_iter().filter(|s| s.trace_id == trace_id)),
        |bytes| bar.set_position(bytes),
    )
    .map_err(|error| CliError::no_data(error.to_string()))?;
    bar.finish_and_clear();
    Ok(spans)
}

/// The malformed lines, for stderr: each kept one, then how many more.
pub fn warnings(stats: &ReadStats) -> Vec<String> {
    let mut lines: Vec<String> = stats
        .problems
        .iter()
        .map(|problem| format!("warning: {problem}"))
        .collect();
    let more = stats.problem_count - stats.problems.len() as u64;
    if more > 0 {
        lines.push(format!("warning: {more} more malformed lines not shown"));
    }
    lines
}

/// Every span of each of these traces (one pass over the files).
pub fn spans_of_traces(
    paths: &[PathBuf],
    trace_ids: &std::collections::HashSet<[u8; 16]>,
) -> Result<std::collections::HashMap<[u8; 16], Vec<Span>>, CliError> {
    let files = files(paths)?;
    let bar = progress(&files);
    let mut spans: std::collections::HashMap<[u8; 16], Vec<Span>> = Default::default();
    read_files(
        &files,
        |batch| {
            for span in batch.spans {
                if trace_ids.contains(&span.trace_id) {
                    spans.entry(span.trace_id).or_default().push(span);
                }
            }
        },
        |bytes| bar.set_position(bytes),
    )
    .map_err(|error| CliError::no_data(error.to_string()))?;
    bar.finish_and_clear();
    Ok(spans)
}

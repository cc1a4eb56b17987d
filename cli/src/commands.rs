//! Running a parsed command: what goes to stdout, what to stderr, and the exit code.

use crate::aggregate::{Keep, Summary};
use crate::args::{Cli, Command, Common};
use crate::error::{exit, CliError};
use crate::filter::Filters;
use crate::{compare, html, load, report, runs, trace};
use factory_observability_model::terminal::is_unsafe_for_terminal;
use factory_observability_model::{escape_for_terminal, Run};
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

/// The HTML report's runs table and cost chart show at most this many runs (the latest).
pub const HTML_RUNS: usize = 500;

/// Spans drawn in the HTML report's waterfalls, all together at most (each run's share, and at
/// least 100 a run; the rest of each trace is counted and said to be left out).
pub const HTML_WATERFALL_SPANS: usize = 20_000;

/// Runs the command; returns the process exit code (see [`crate::error::exit`]).
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match execute(cli, out, err) {
        Ok(()) => exit::OK,
        Err(error) => {
            let _ = writeln!(err, "factory-obs: {}", escape_for_terminal(&error.message));
            error.code
        }
    }
}

/// Warnings on stderr, one a line.
fn warn(err: &mut dyn Write, warnings: impl IntoIterator<Item = String>) {
    for warning in warnings {
        let _ = writeln!(err, "{warning}");
    }
}

fn write_text(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .map_err(|error| CliError::no_data(format!("cannot write the output: {error}")))
}

/// Pretty JSON, written as it is encoded. serde_json escapes the C0 controls; DEL, the C1
/// controls and bidi overrides (legal in a JSON string, unsafe on a terminal) are written as
/// `\uXXXX` escapes too ([`TerminalSafe`]): they occur only inside strings, so the text stays
/// the same JSON.
fn write_json<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), CliError> {
    let mut safe = TerminalSafe(out);
    serde_json::to_writer_pretty(&mut safe, value)
        .and_then(|()| safe.write_all(b"\n").map_err(serde_json::Error::io))
        .map_err(|error| CliError::no_data(format!("cannot write the JSON output: {error}")))
}

/// A writer that escapes what [`is_unsafe_for_terminal`] and serde_json does not (see
/// [`write_json`]). serde_json writes string contents in slices cut at escapes, never inside a
/// character, so each write is whole UTF-8.
struct TerminalSafe<'a>(&'a mut dyn Write);

impl Write for TerminalSafe<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) if text.contains(|c: char| is_unsafe_for_terminal(c) && c >= ' ') => text,
            _ => return self.0.write_all(bytes),
        };
        let mut escaped = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if is_unsafe_for_terminal(c) && c >= ' ' {
                escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
            } else {
                escaped.push(c);
            }
        }
        self.0.write_all(escaped.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|error| CliError::no_data(format!("cannot write {}: {error}", path.display())))
}

/// Reads the inputs once (filters applied, the runs of `keep` kept), warns about malformed
/// lines; no run or request read, or none matching, is an error.
fn summary(common: &Common, keep: Keep, err: &mut dyn Write) -> Result<Summary, CliError> {
    let filters = Filters::from_args(common)?;
    let filtered = filters.any();
    let paths = common.paths();
    let summary = load::aggregate(&paths, filters, keep, common.threads())?;
    warn(err, load::warnings(&summary.stats));
    if summary.runs_read == 0 && summary.requests_read == 0 {
        return Err(CliError::no_data(format!(
            "no pipeline runs or product requests in {} ({} files, {} spans read)",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            summary.stats.files.len(),
            summary.stats.spans
        )));
    }
    if filtered && summary.runs_matched == 0 && summary.requests_matched == 0 {
        return Err(CliError::no_data(format!(
            "no run matches the filters ({} runs read)",
            summary.runs_read
        )));
    }
    Ok(summary)
}

fn execute(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    match cli.command {
        Command::Report {
            common,
            html,
            waterfalls,
        } => {
            let keep = if html.is_some() {
                Keep::Latest(waterfalls.max(HTML_RUNS))
            } else {
                Keep::None
            };
            let summary = summary(&common, keep, err)?;
            let report = report::build(&summary);
            if common.json {
                write_json(out, &report)?;
            } else {
                write_text(out, &report::render(&report))?;
            }
            if let Some(path) = html {
                write_html_report(&common, &summary, &report, waterfalls, &path, err)?;
            }
        }
        Command::Builds { common } => {
            let summary = summary(&common, Keep::None, err)?;
            let report = report::build(&summary);
            if report.builds.is_empty() {
                return Err(CliError::no_data(format!(
                    "none of the {} product requests read names the build that served it: a \
                     product gets factory.run.id in its resource when a factory deploys it with \
                     its provenance (docs/provenance.md)",
                    summary.requests_read
                )));
            }
            if common.json {
                write_json(out, &report.builds)?;
            } else {
                let mut text = report::builds_table(&report.builds).text();
                text.push_str("\n`factory-obs trace RUN` shows the run that built a product.\n");
                write_text(out, &text)?;
            }
        }
        Command::Runs { common } => {
            // Every run's line is the output: made from the runs as it is written, never held.
            let runs = summary(&common, Keep::All, err)?.runs;
            if common.json {
                write_json(out, &runs::Rows(&runs))?;
            } else {
                let written = runs::table([]).write_rows(|| runs.iter().map(runs::row), out);
                written.map_err(|error| {
                    CliError::no_data(format!("cannot write the output: {error}"))
                })?;
            }
        }
        Command::Trace { id, common, svg } => {
            let waterfall = match trace::parse_trace_id(&id) {
                Some(trace_id) => trace_waterfall(&common, trace_id)?,
                None => run_waterfall(&common, &id, err)?,
            };
            warn(err, waterfall.warnings());
            if common.json {
                write_json(out, &waterfall)?;
            } else {
                trace::write_text(&waterfall, out).map_err(|error| {
                    CliError::no_data(format!("cannot write the output: {error}"))
                })?;
            }
            if let Some(path) = svg {
                write_file(&path, &trace::svg(&waterfall))?;
                let _ = writeln!(err, "factory-obs: waterfall written to {}", path.display());
            }
        }
        Command::Compare {
            run_a,
            run_b,
            common,
        } => {
            let keep = Keep::Matching(vec![run_a.clone(), run_b.clone()]);
            let summary = summary(&common, keep, err)?;
            let find = |id: &str| {
                let matched = summary.matches.get(id).copied().unwrap_or(0);
                runs::find(&summary.runs, summary.runs_read, id, matched)
            };
            let (a, b) = (find(&run_a)?, find(&run_b)?);
            let comparison = compare::build(a, b);
            if common.json {
                write_json(out, &comparison)?;
            } else {
                write_text(out, &compare::render(&comparison))?;
            }
        }
    }
    Ok(())
}

/// `report --html FILE`: the page, with a waterfall for each of the latest `waterfalls` runs
/// (a second pass over the files for their spans).
fn write_html_report(
    common: &Common,
    summary: &Summary,
    report: &report::Report,
    waterfalls: usize,
    path: &Path,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let latest = &summary.runs[summary.runs.len().saturating_sub(waterfalls)..];
    let latest: Vec<&Run> = latest.iter().rev().collect();
    // One budget of spans for the page's waterfalls, at least 100 a run.
    let limit = (HTML_WATERFALL_SPANS / latest.len().max(1)).max(100);
    let mut traces = load::traces(&common.paths(), &latest, limit, common.threads())?;
    let waterfalls: Vec<trace::Waterfall> = latest
        .iter()
        .map(|run| {
            let spans = traces.remove(&run.trace_id);
            let spans = spans.unwrap_or_else(|| trace::TraceSpans::new(0, run.span_id));
            trace::build(run, spans)
        })
        .collect();
    warn(err, waterfalls.iter().flat_map(trace::Waterfall::warnings));
    let shown = &summary.runs[summary.runs.len().saturating_sub(HTML_RUNS)..];
    write_file(
        path,
        &html::page(
            report,
            &runs::rows(shown),
            summary.runs_matched,
            &waterfalls,
        ),
    )?;
    let _ = writeln!(err, "factory-obs: report written to {}", path.display());
    Ok(())
}

/// `trace RUN`: the run's waterfall, its id or a unique prefix of it among the runs read.
fn run_waterfall(
    common: &Common,
    run_id: &str,
    err: &mut dyn Write,
) -> Result<trace::Waterfall, CliError> {
    let summary = summary(common, Keep::Matching(vec![run_id.to_owned()]), err)?;
    let matched = summary.matches.get(run_id).copied().unwrap_or(0);
    let run = runs::find(&summary.runs, summary.runs_read, run_id, matched)?;
    let threads = common.threads();
    let mut traces = load::traces(&common.paths(), &[run], trace::MAX_TRACE_SPANS, threads)?;
    let spans = traces.remove(&run.trace_id);
    let spans = spans.unwrap_or_else(|| trace::TraceSpans::new(0, run.span_id));
    Ok(trace::build(run, spans))
}

/// `trace TRACE_ID`: any trace's waterfall, run or not (a product's request with what its
/// browser page did before it); one pass over the files.
fn trace_waterfall(common: &Common, trace_id: [u8; 16]) -> Result<trace::Waterfall, CliError> {
    let wanted = [(trace_id, [0; 8])];
    let threads = common.threads();
    let mut traces =
        load::spans_of_traces(&common.paths(), &wanted, trace::MAX_TRACE_SPANS, threads)?;
    let spans = traces.remove(&trace_id).filter(|t| !t.spans.is_empty());
    let spans = spans.ok_or_else(|| {
        CliError::no_data(format!(
            "no span of trace {} in the files read",
            factory_observability_model::hex(&trace_id)
        ))
    })?;
    Ok(trace::build_trace(trace_id, spans, 0))
}

//! Running a parsed command: what goes to stdout, what to stderr, and the exit code.

use crate::args::{Cli, Command, Common};
use crate::error::{exit, CliError};
use crate::filter::Filters;
use crate::{compare, html, load, report, runs, trace};
use factory_observability::model::Model;
use serde::Serialize;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// At most this many runs (the latest) get a waterfall in the HTML report.
pub const MAX_WATERFALLS: usize = 50;

/// Runs the command; returns the process exit code (see [`crate::error::exit`]).
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match execute(cli, out, err) {
        Ok(()) => exit::OK,
        Err(error) => {
            let _ = writeln!(err, "factory-obs: {error}");
            error.code
        }
    }
}

fn write_text(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .map_err(|error| CliError::no_data(format!("cannot write the output: {error}")))
}

fn write_json<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|error| CliError::no_data(format!("cannot encode JSON: {error}")))?;
    text.push('\n');
    write_text(out, &text)
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|error| CliError::no_data(format!("cannot write {}: {error}", path.display())))
}

/// Reads the inputs, warns about malformed lines, applies the filters.
fn model(common: &Common, err: &mut dyn Write) -> Result<(Model, load::Loaded), CliError> {
    let filters = Filters::from_args(common)?;
    let paths = common.paths();
    let loaded = load::load(&paths)?;
    for warning in load::warnings(&loaded.stats) {
        let _ = writeln!(err, "{warning}");
    }
    let mut model = loaded.model.clone();
    if model.runs.is_empty() && model.requests.is_empty() {
        return Err(CliError::no_data(format!(
            "no pipeline runs or product requests in {} ({} files, {} spans read)",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            loaded.stats.files.len(),
            loaded.stats.spans
        )));
    }
    filters.apply(&mut model);
    if filters.any() && model.runs.is_empty() && model.requests.is_empty() {
        return Err(CliError::no_data(format!(
            "no run matches the filters ({} runs read)",
            loaded.model.runs.len()
        )));
    }
    Ok((model, loaded))
}

fn execute(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    match cli.command {
        Command::Report { common, html } => {
            let (model, loaded) = model(&common, err)?;
            let report = report::build(&model, &loaded.stats);
            if common.json {
                write_json(out, &report)?;
            } else {
                write_text(out, &report::render(&report))?;
            }
            if let Some(path) = html {
                let latest = &model.runs[model.runs.len().saturating_sub(MAX_WATERFALLS)..];
                let ids: HashSet<[u8; 16]> = latest.iter().map(|r| r.trace_id).collect();
                let spans = load::spans_of_traces(&common.paths(), &ids)?;
                let waterfalls: Vec<trace::Waterfall> = latest
                    .iter()
                    .rev()
                    .map(|run| {
                        trace::build(
                            run,
                            spans.get(&run.trace_id).map(Vec::as_slice).unwrap_or(&[]),
                        )
                    })
                    .collect();
                write_file(
                    &path,
                    &html::page(&report, &runs::rows(&model), &waterfalls),
                )?;
                let _ = writeln!(err, "factory-obs: report written to {}", path.display());
            }
        }
        Command::Runs { common } => {
            let (model, _) = model(&common, err)?;
            if common.json {
                write_json(out, &runs::rows(&model))?;
            } else {
                write_text(out, &runs::render(&model))?;
            }
        }
        Command::Trace {
            run_id,
            common,
            svg,
        } => {
            let (model, _) = model(&common, err)?;
            let run = runs::find(&model, &run_id)?;
            let spans = load::trace_spans(&common.paths(), run.trace_id)?;
            let waterfall = trace::build(run, &spans);
            if common.json {
                write_json(out, &waterfall)?;
            } else {
                write_text(out, &trace::render(&waterfall))?;
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
            let (model, _) = model(&common, err)?;
            let a = runs::find(&model, &run_a)?;
            let b = runs::find(&model, &run_b)?;
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

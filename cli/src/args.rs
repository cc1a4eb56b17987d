//! The command line (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Answers a software factory's questions from local OTLP/JSON telemetry: slow and failing
/// stages, exceptions, LLM cost per model, adjudication winners, flaky tests, product routes.
///
/// PATH is a directory (every `*.jsonl`, `*.json`, rotated and `.gz` file in it) or a file;
/// the default is `./telemetry`, where the embedded default writes.
///
/// Exit codes: 0 ok; 1 bad input or no data (missing path, no telemetry, no run matching,
/// unknown run id); 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "factory-obs", version)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per pipeline, stage, model, candidate, test stage and product route: counts, rates,
    /// durations (p50/p95/max), failures, retries, top exception messages, tokens and cost.
    Report {
        #[command(flatten)]
        common: Common,
        /// Also write the report as one self-contained HTML page (tables, a waterfall per run,
        /// charts of stage durations and cost per run).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// With --html: how many runs (the latest) get a waterfall; each costs a second read of
        /// its trace's spans and a few KiB of the page.
        #[arg(long, value_name = "N", default_value_t = 50, requires = "html")]
        waterfalls: usize,
    },
    /// The factory runs that built the products serving requests: per build (the run, its
    /// commit, the winning candidate, the models that wrote it) and route, requests, errors and
    /// the error ratio, most errors first. Read from the products' resources, so it answers for
    /// traffic long after the run; `factory-obs trace RUN_ID` then shows the run itself.
    Builds {
        #[command(flatten)]
        common: Common,
    },
    /// One line per run: id, pipeline, start, duration, outcome, cost, LLM calls.
    Runs {
        #[command(flatten)]
        common: Common,
    },
    /// One run's span tree (or any trace's, by its id) as a waterfall on a shared time axis.
    Trace {
        /// The run's id or a unique prefix of it; or a trace id (32 hex digits), for any trace,
        /// such as a product's request with the browser spans that led to it.
        #[arg(value_name = "RUN_OR_TRACE_ID")]
        id: String,
        #[command(flatten)]
        common: Common,
        /// Also write the waterfall as an SVG picture.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Two runs stage by stage: slower or faster, newly failing, cost and token differences.
    Compare {
        /// The first (reference) run's id or a unique prefix.
        run_a: String,
        /// The second run's id or a unique prefix.
        run_b: String,
        #[command(flatten)]
        common: Common,
    },
}

/// Inputs, filters and output format shared by every command.
#[derive(Debug, Args, Clone, Default)]
pub struct Common {
    /// Telemetry directories or files [default: ./telemetry]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only runs of this pipeline (`pipeline.name`).
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// Only stages of this name (`stage.name`).
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// Only runs that started at or after this time: RFC 3339 (`2026-01-31T12:00:00Z`) or a
    /// duration ago (`2h`, `30min`, `7days`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only runs with this outcome (`success`, `failure`, ...).
    #[arg(long, value_name = "OUTCOME")]
    pub outcome: Option<String>,
    /// Machine-readable JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Threads that parse the input [default: the machine's cores]. The output is the same
    /// whatever their number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

impl Common {
    /// The threads that parse: `--threads`, or the cores this process may use.
    pub fn threads(&self) -> usize {
        match self.threads {
            Some(n) => usize::from(n),
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// The paths given, or `./telemetry`.
    pub fn paths(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from("./telemetry")]
        } else {
            self.paths.clone()
        }
    }
}

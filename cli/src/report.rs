//! `factory-obs report`: the factory's questions answered over every run read, as data
//! ([`Report`], the `--json` output) and as [`Table`]s (rendered to text here, to HTML in
//! [`crate::html`]).

use crate::agents::{self, AgentRow, ToolRow};
use crate::aggregate::{RouteAcc, Summary};
use crate::format::{self, ms};
use crate::quantiles::{Durations, Latency, RELATIVE_ACCURACY};
use crate::table::{Align, Row, Table};
use serde::Serialize;

/// How many exception messages are shown per stage.
const TOP_MESSAGES: usize = 3;

/// How many flaky test names are shown per stage.
const TOP_FLAKY: usize = 5;

#[derive(Debug, Serialize)]
pub struct Report {
    pub input: Input,
    pub pipelines: Vec<PipelineRow>,
    /// Slowest (p95) first.
    pub stages: Vec<StageRow>,
    /// Most failures first; stages that never failed are left out.
    pub failures: Vec<FailureRow>,
    /// Most expensive first.
    pub models: Vec<ModelRow>,
    pub candidates: Vec<CandidateRow>,
    /// Lowest pass rate first.
    pub tests: Vec<TestRow>,
    /// Highest error ratio first, then slowest.
    pub routes: Vec<RouteRow>,
    /// A product's requests by the factory run that built it: most errors first.
    pub builds: Vec<BuildRow>,
    /// Most failing first.
    pub agents: Vec<AgentRow>,
    /// Highest failure ratio first.
    pub tools: Vec<ToolRow>,
}

#[derive(Debug, Serialize)]
pub struct Input {
    pub files: usize,
    pub lines: u64,
    pub spans: u64,
    pub malformed_lines: u64,
    /// Runs the filters kept.
    pub runs: u64,
    /// Stages and calls whose run span was not found.
    pub orphans: u64,
    /// Whether some percentiles come from a sketch (more than
    /// [`crate::quantiles::EXACT_UP_TO`] values): within `quantile_relative_error` of exact.
    pub approximate_percentiles: bool,
    pub quantile_relative_error: f64,
}

#[derive(Debug, Serialize)]
pub struct PipelineRow {
    pub pipeline: String,
    pub runs: u64,
    pub succeeded: u64,
    pub success_rate: f64,
    #[serde(flatten)]
    pub latency: Latency,
    pub cost_usd: f64,
}

#[derive(Debug, Serialize)]
pub struct StageRow {
    pub stage: String,
    /// Attempts.
    pub count: u64,
    #[serde(flatten)]
    pub latency: Latency,
    /// Failed attempts.
    pub failures: u64,
    /// Attempts after the first.
    pub retries: u64,
}

#[derive(Debug, Serialize)]
pub struct FailureRow {
    pub stage: String,
    pub failures: u64,
    pub count: u64,
    /// `(message, occurrences)`, most frequent first.
    pub top_messages: Vec<(String, u64)>,
}

#[derive(Debug, Serialize)]
pub struct ModelRow {
    pub provider: String,
    pub model: String,
    pub calls: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Cost of the priced calls.
    pub cost_usd: f64,
    pub unpriced_calls: u64,
    #[serde(flatten)]
    pub latency: Latency,
}

#[derive(Debug, Serialize)]
pub struct CandidateRow {
    pub adjudication: String,
    pub candidate: String,
    pub wins: u64,
    /// Decisions the candidate took part in.
    pub decisions: u64,
    /// Mean score over its decisions.
    pub average_score: Option<f64>,
    /// Mean margin of its wins.
    pub average_margin: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct TestRow {
    pub stage: String,
    /// Stage attempts that reported tests.
    pub attempts: u64,
    pub passed: i64,
    pub failed: i64,
    pub skipped: i64,
    pub pass_rate: Option<f64>,
    /// Flaky tests counted by the runtime (`test.flaky`).
    pub flaky: i64,
    /// `(test name, times counted flaky)`, most often first: the tests that failed in an earlier
    /// attempt of the stage in the same run and no longer failed (named in the failed attempt's
    /// status description).
    pub flaky_tests: Vec<(String, u64)>,
    /// Flaky counts with no name (reported by the test runner itself, or not attributable).
    pub flaky_unnamed: i64,
}

#[derive(Debug, Serialize)]
pub struct RouteRow {
    pub service: String,
    pub route: String,
    pub requests: u64,
    pub errors: u64,
    pub error_ratio: f64,
    #[serde(flatten)]
    pub latency: Latency,
}

impl RouteRow {
    /// The requests `acc` counted on `(service, route)`.
    fn of(
        (service, route): &(String, String),
        acc: &RouteAcc,
        latency: &mut impl FnMut(&Durations) -> Latency,
    ) -> RouteRow {
        RouteRow {
            service: service.clone(),
            route: route.clone(),
            requests: acc.durations.count(),
            errors: acc.errors,
            error_ratio: acc.errors as f64 / acc.durations.count().max(1) as f64,
            latency: latency(&acc.durations),
        }
    }
}

/// A product's requests on one route, served by one build: the factory run, commit, winning
/// candidate and models behind them (docs/provenance.md).
#[derive(Debug, Serialize)]
pub struct BuildRow {
    /// The `run.id` of the run that built the product (`factory-obs trace <run_id>`).
    pub run_id: String,
    /// Whether that run's span was read, so that `trace` can show it.
    pub run_read: bool,
    pub pipeline: String,
    /// `vcs.ref.head.revision`, empty when unknown.
    pub revision: String,
    pub candidate: String,
    /// The models that wrote it, comma-separated.
    pub models: String,
    /// The route's requests served by this build.
    #[serde(flatten)]
    pub requests: RouteRow,
}

/// The builds behind a product's requests, most errors first, then the highest error ratio.
fn build_rows(summary: &Summary, latency: &mut impl FnMut(&Durations) -> Latency) -> Vec<BuildRow> {
    let mut rows: Vec<BuildRow> = summary
        .builds
        .iter()
        .map(|((build, service, route), acc)| BuildRow {
            run_id: build.run_id.clone(),
            run_read: summary.build_runs_read.contains(&build.run_id),
            pipeline: build.pipeline.clone(),
            revision: build.revision.clone(),
            candidate: build.candidate.clone(),
            models: build.models.clone(),
            requests: RouteRow::of(&(service.clone(), route.clone()), acc, latency),
        })
        .collect();
    rows.sort_by(|a, b| {
        let (ra, rb) = (&a.requests, &b.requests);
        rb.errors
            .cmp(&ra.errors)
            .then(rb.error_ratio.total_cmp(&ra.error_ratio))
            .then_with(|| (&a.run_id, &ra.route).cmp(&(&b.run_id, &rb.route)))
    });
    rows
}

/// The builds table: `report`'s and the `builds` command's.
pub fn builds_table(rows: &[BuildRow]) -> Table {
    use Align::*;
    Table {
        id: "builds",
        title: "Builds behind product requests (most errors first)".into(),
        columns: vec![
            ("run", Left),
            ("revision", Left),
            ("candidate", Left),
            ("models", Left),
            ("service", Left),
            ("route", Left),
            ("requests", Right),
            ("errors", Right),
            ("error ratio", Right),
            ("p95", Right),
        ],
        notes_title: "",
        rows: rows
            .iter()
            .map(|b| {
                let run = if b.run_read {
                    b.run_id.clone()
                } else {
                    format!("{} (not read)", b.run_id)
                };
                Row::new(vec![
                    run,
                    b.revision.chars().take(12).collect(),
                    b.candidate.clone(),
                    b.models.clone(),
                    b.requests.service.clone(),
                    b.requests.route.clone(),
                    b.requests.requests.to_string(),
                    b.requests.errors.to_string(),
                    format::percent(b.requests.error_ratio),
                    ms(b.requests.latency.p95_ms),
                ])
                .failed(b.requests.errors > 0)
            })
            .collect(),
    }
}

/// The report of a pass (already filtered).
pub fn build(summary: &Summary) -> Report {
    let mut approximate = false;
    let mut latency = |durations: &Durations| {
        approximate |= durations.is_sketched();
        Latency::of(durations)
    };
    let pipelines = pipeline_rows(summary, &mut latency);
    let (stages, failures, tests) = stage_rows(summary, &mut latency);
    let models = model_rows(summary, &mut latency);
    let candidates = candidate_rows(summary);
    let routes = route_rows(summary, &mut latency);
    let builds = build_rows(summary, &mut latency);
    let agents = agents::agent_rows(summary, &mut latency);
    let tools = agents::tool_rows(summary, &mut latency);

    Report {
        input: Input {
            files: summary.stats.files.len(),
            lines: summary.stats.lines,
            spans: summary.stats.spans,
            malformed_lines: summary.stats.problem_count,
            runs: summary.runs_matched,
            orphans: summary.orphans,
            approximate_percentiles: approximate,
            quantile_relative_error: if approximate { RELATIVE_ACCURACY } else { 0.0 },
        },
        pipelines,
        stages,
        failures,
        models,
        candidates,
        tests,
        routes,
        builds,
        agents,
        tools,
    }
}

/// Per pipeline, least successful first.
fn pipeline_rows(
    summary: &Summary,
    latency: &mut impl FnMut(&Durations) -> Latency,
) -> Vec<PipelineRow> {
    let mut pipelines: Vec<PipelineRow> = summary
        .pipelines
        .iter()
        .map(|(pipeline, acc)| PipelineRow {
            pipeline: pipeline.clone(),
            runs: acc.durations.count(),
            succeeded: acc.succeeded,
            success_rate: acc.succeeded as f64 / acc.durations.count().max(1) as f64,
            latency: latency(&acc.durations),
            cost_usd: acc.cost_usd,
        })
        .collect();
    pipelines.sort_by(|a, b| {
        a.success_rate
            .total_cmp(&b.success_rate)
            .then(b.runs.cmp(&a.runs))
    });
    pipelines
}

/// Per stage (slowest p95 first), the failing ones with their top messages (most failing
/// first) and the test stages (lowest pass rate first).
fn stage_rows(
    summary: &Summary,
    latency: &mut impl FnMut(&Durations) -> Latency,
) -> (Vec<StageRow>, Vec<FailureRow>, Vec<TestRow>) {
    let mut stages = Vec::new();
    let mut failures = Vec::new();
    let mut tests = Vec::new();
    for (name, acc) in &summary.stages {
        let count = acc.durations.count();
        stages.push(StageRow {
            stage: name.clone(),
            count,
            latency: latency(&acc.durations),
            failures: acc.failures,
            retries: acc.retries,
        });
        if acc.failures > 0 {
            failures.push(FailureRow {
                stage: name.clone(),
                failures: acc.failures,
                count,
                top_messages: acc.messages.top(TOP_MESSAGES),
            });
        }
        if let Some(t) = &acc.tests {
            let executed = t.passed + t.failed;
            let named: i64 =
                t.flaky_names.counts.values().sum::<u64>() as i64 + t.flaky_names.other as i64;
            tests.push(TestRow {
                stage: name.clone(),
                attempts: t.attempts,
                passed: t.passed,
                failed: t.failed,
                skipped: t.skipped,
                pass_rate: (executed > 0).then(|| t.passed as f64 / executed as f64),
                flaky: t.flaky,
                flaky_tests: t.flaky_names.top(TOP_FLAKY),
                flaky_unnamed: (t.flaky - named).max(0),
            });
        }
    }
    stages.sort_by(|a, b| {
        b.latency
            .p95_ms
            .total_cmp(&a.latency.p95_ms)
            .then_with(|| a.stage.cmp(&b.stage))
    });
    failures.sort_by(|a, b| {
        b.failures
            .cmp(&a.failures)
            .then_with(|| a.stage.cmp(&b.stage))
    });
    tests.sort_by(|a, b| {
        a.pass_rate
            .unwrap_or(1.0)
            .total_cmp(&b.pass_rate.unwrap_or(1.0))
            .then(b.flaky.cmp(&a.flaky))
    });
    (stages, failures, tests)
}

/// Per provider and model, most expensive first.
fn model_rows(summary: &Summary, latency: &mut impl FnMut(&Durations) -> Latency) -> Vec<ModelRow> {
    let mut models: Vec<ModelRow> = summary
        .models
        .iter()
        .map(|((provider, model), acc)| ModelRow {
            provider: provider.clone(),
            model: model.clone(),
            calls: acc.durations.count(),
            input_tokens: acc.input_tokens,
            output_tokens: acc.output_tokens,
            cost_usd: acc.cost_usd,
            unpriced_calls: acc.unpriced,
            latency: latency(&acc.durations),
        })
        .collect();
    models.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.calls.cmp(&a.calls))
    });
    models
}

/// Per adjudication and candidate, most wins first.
fn candidate_rows(summary: &Summary) -> Vec<CandidateRow> {
    let mut candidates: Vec<CandidateRow> = summary
        .candidates
        .iter()
        .map(|((adjudication, candidate), acc)| CandidateRow {
            adjudication: adjudication.clone(),
            candidate: candidate.clone(),
            wins: acc.wins,
            decisions: acc.decisions,
            average_score: (acc.scores > 0).then(|| acc.score_sum / acc.scores as f64),
            average_margin: (acc.margins > 0).then(|| acc.margin_sum / acc.margins as f64),
        })
        .collect();
    candidates.sort_by(|a, b| {
        a.adjudication
            .cmp(&b.adjudication)
            .then(b.wins.cmp(&a.wins))
            .then_with(|| a.candidate.cmp(&b.candidate))
    });
    candidates
}

/// A product's routes, highest error ratio first, then slowest.
fn route_rows(summary: &Summary, latency: &mut impl FnMut(&Durations) -> Latency) -> Vec<RouteRow> {
    let mut routes: Vec<RouteRow> = summary
        .routes
        .iter()
        .map(|(key, acc)| RouteRow::of(key, acc, latency))
        .collect();
    routes.sort_by(|a, b| {
        b.error_ratio
            .total_cmp(&a.error_ratio)
            .then(b.latency.p95_ms.total_cmp(&a.latency.p95_ms))
            .then_with(|| a.route.cmp(&b.route))
    });
    routes
}

fn score(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.4}"))
        .unwrap_or_else(|| "-".into())
}

/// The report's tables, in the order they are shown (empty ones included: the HTML page shows
/// every table, the text leaves the empty ones out).
pub fn tables(report: &Report) -> Vec<Table> {
    vec![
        pipelines_table(&report.pipelines),
        stages_table(&report.stages),
        failures_table(&report.failures),
        models_table(&report.models),
        candidates_table(&report.candidates),
        agents::agents_table(&report.agents),
        agents::tools_table(&report.tools),
        tests_table(&report.tests),
        routes_table(&report.routes),
        builds_table(&report.builds),
    ]
}

/// Per pipeline: runs, success rate, durations and cost.
fn pipelines_table(rows: &[PipelineRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "pipelines",
        title: "Pipelines (least successful first)".into(),
        columns: vec![
            ("pipeline", Left),
            ("runs", Right),
            ("success", Right),
            ("p50", Right),
            ("p95", Right),
            ("p99", Right),
            ("max", Right),
            ("cost", Right),
        ],
        notes_title: "",
        rows: rows
            .iter()
            .map(|p| {
                Row::new(vec![
                    p.pipeline.clone(),
                    p.runs.to_string(),
                    format::percent(p.success_rate),
                    ms(p.latency.p50_ms),
                    ms(p.latency.p95_ms),
                    ms(p.latency.p99_ms),
                    ms(p.latency.max_ms),
                    format::cost(Some(p.cost_usd)),
                ])
                .failed(p.succeeded < p.runs)
            })
            .collect(),
    }
}

/// Per stage: attempts, durations, failures and retries.
fn stages_table(rows: &[StageRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "stages",
        title: "Stages (slowest p95 first)".into(),
        columns: vec![
            ("stage", Left),
            ("count", Right),
            ("p50", Right),
            ("p95", Right),
            ("p99", Right),
            ("max", Right),
            ("failures", Right),
            ("retries", Right),
        ],
        notes_title: "",
        rows: rows
            .iter()
            .map(|s| {
                Row::new(vec![
                    s.stage.clone(),
                    s.count.to_string(),
                    ms(s.latency.p50_ms),
                    ms(s.latency.p95_ms),
                    ms(s.latency.p99_ms),
                    ms(s.latency.max_ms),
                    s.failures.to_string(),
                    s.retries.to_string(),
                ])
                .failed(s.failures > 0)
            })
            .collect(),
    }
}

/// The failing stages with their top exception messages.
fn failures_table(rows: &[FailureRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "failures",
        title: "Failures (most failing first, top exception messages)".into(),
        columns: vec![("stage", Left), ("failures", Right), ("attempts", Right)],
        notes_title: "top messages",
        rows: rows
            .iter()
            .map(|f| {
                Row::new(vec![
                    f.stage.clone(),
                    f.failures.to_string(),
                    f.count.to_string(),
                ])
                .failed(true)
                .notes(
                    f.top_messages
                        .iter()
                        .map(|(message, count)| format!("{count}x {message}"))
                        .collect(),
                )
            })
            .collect(),
    }
}

/// LLM calls per provider/model: tokens, cost and durations.
fn models_table(rows: &[ModelRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "models",
        title: "LLM calls by provider/model (most expensive first)".into(),
        columns: vec![
            ("provider/model", Left),
            ("calls", Right),
            ("input", Right),
            ("output", Right),
            ("cost", Right),
            ("p50", Right),
            ("p95", Right),
            ("p99", Right),
        ],
        notes_title: "",
        rows: rows
            .iter()
            .map(|m| {
                let mut cost = format::cost(Some(m.cost_usd));
                if m.unpriced_calls > 0 {
                    cost.push_str(&format!(" + {} unpriced", m.unpriced_calls));
                }
                Row::new(vec![
                    format!("{}/{}", m.provider, m.model),
                    m.calls.to_string(),
                    m.input_tokens.to_string(),
                    m.output_tokens.to_string(),
                    cost,
                    ms(m.latency.p50_ms),
                    ms(m.latency.p95_ms),
                    ms(m.latency.p99_ms),
                ])
            })
            .collect(),
    }
}

/// Per adjudication and candidate: wins, average score and margin.
fn candidates_table(rows: &[CandidateRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "candidates",
        title: "Adjudications: wins per candidate".into(),
        columns: vec![
            ("adjudication", Left),
            ("candidate", Left),
            ("wins", Right),
            ("of", Right),
            ("avg score", Right),
            ("avg margin", Right),
        ],
        notes_title: "",
        rows: rows
            .iter()
            .map(|c| {
                Row::new(vec![
                    c.adjudication.clone(),
                    c.candidate.clone(),
                    c.wins.to_string(),
                    c.decisions.to_string(),
                    score(c.average_score),
                    score(c.average_margin),
                ])
            })
            .collect(),
    }
}

/// Per test stage: counts, pass rate and the flaky tests by name.
fn tests_table(rows: &[TestRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "tests",
        title: "Tests (lowest pass rate first)".into(),
        columns: vec![
            ("stage", Left),
            ("attempts", Right),
            ("passed", Right),
            ("failed", Right),
            ("skipped", Right),
            ("pass rate", Right),
            ("flaky", Right),
        ],
        notes_title: "flaky tests",
        rows: rows
            .iter()
            .map(|t| {
                let mut notes: Vec<String> = t
                    .flaky_tests
                    .iter()
                    .map(|(name, count)| format!("flaky {count}x: {name}"))
                    .collect();
                if t.flaky_unnamed > 0 && !notes.is_empty() {
                    notes.push(format!(
                        "flaky {}x: (no test name recorded)",
                        t.flaky_unnamed
                    ));
                }
                Row::new(vec![
                    t.stage.clone(),
                    t.attempts.to_string(),
                    t.passed.to_string(),
                    t.failed.to_string(),
                    t.skipped.to_string(),
                    t.pass_rate
                        .map(format::percent)
                        .unwrap_or_else(|| "-".into()),
                    t.flaky.to_string(),
                ])
                .failed(t.failed > 0)
                .notes(notes)
            })
            .collect(),
    }
}

/// A product's routes: requests, errors and durations.
fn routes_table(rows: &[RouteRow]) -> Table {
    use Align::{Left, Right};
    Table {
        id: "routes",
        title: "Product routes (most failing first)".into(),
        columns: vec![
            ("service", Left),
            ("route", Left),
            ("requests", Right),
            ("errors", Right),
            ("error ratio", Right),
            ("p50", Right),
            ("p95", Right),
            ("p99", Right),
        ],
        notes_title: "",
        rows: rows
            .iter()
            .map(|r| {
                Row::new(vec![
                    r.service.clone(),
                    r.route.clone(),
                    r.requests.to_string(),
                    r.errors.to_string(),
                    format::percent(r.error_ratio),
                    ms(r.latency.p50_ms),
                    ms(r.latency.p95_ms),
                    ms(r.latency.p99_ms),
                ])
                .failed(r.errors > 0)
            })
            .collect(),
    }
}

/// The line that says what was read.
pub fn headline(report: &Report) -> String {
    let input = &report.input;
    let mut line = format!(
        "{} runs from {} files ({} lines, {} spans, {} malformed lines)",
        input.runs, input.files, input.lines, input.spans, input.malformed_lines
    );
    if input.approximate_percentiles {
        line.push_str(&format!(
            "; percentiles within {}% (sketched)",
            input.quantile_relative_error * 100.0
        ));
    }
    line
}

/// The report as text: the headline, then one titled table per question that has rows.
pub fn render(report: &Report) -> String {
    let mut out = headline(report);
    out.push('\n');
    if report.input.orphans > 0 {
        out.push_str(&format!(
            "{} stages, calls, adjudications, agents and tools belong to runs whose run span was not found\n",
            report.input.orphans
        ));
    }
    for table in tables(report) {
        if table.rows.is_empty() {
            continue;
        }
        out.push('\n');
        out.push_str(&table.title);
        out.push('\n');
        out.push_str(&table.text());
    }
    out
}

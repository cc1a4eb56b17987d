//! `factory-obs report`: the factory's questions answered over every run read.

use crate::format::{self, millis, percentile, table, Align};
use factory_observability::model::read::ReadStats;
use factory_observability::model::{Model, Run};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many exception messages are shown per stage.
const TOP_MESSAGES: usize = 3;

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
}

#[derive(Debug, Serialize)]
pub struct Input {
    pub files: usize,
    pub lines: u64,
    pub spans: u64,
    pub malformed_lines: u64,
    pub runs: usize,
    /// Stages and calls whose run span was not found.
    pub orphans: u64,
}

#[derive(Debug, Serialize)]
pub struct PipelineRow {
    pub pipeline: String,
    pub runs: usize,
    pub succeeded: usize,
    pub success_rate: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    pub cost_usd: f64,
}

#[derive(Debug, Serialize)]
pub struct StageRow {
    pub stage: String,
    /// Attempts.
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Failed attempts.
    pub failures: usize,
    /// Attempts after the first.
    pub retries: usize,
}

#[derive(Debug, Serialize)]
pub struct FailureRow {
    pub stage: String,
    pub failures: usize,
    pub count: usize,
    /// `(message, occurrences)`, most frequent first.
    pub top_messages: Vec<(String, usize)>,
}

#[derive(Debug, Serialize)]
pub struct ModelRow {
    pub provider: String,
    pub model: String,
    pub calls: usize,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Cost of the priced calls.
    pub cost_usd: f64,
    pub unpriced_calls: usize,
    pub p95_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct CandidateRow {
    pub adjudication: String,
    pub candidate: String,
    pub wins: usize,
    /// Decisions the candidate took part in.
    pub decisions: usize,
    /// Mean score over its decisions.
    pub average_score: Option<f64>,
    /// Mean margin of its wins.
    pub average_margin: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct TestRow {
    pub stage: String,
    /// Stage attempts that reported tests.
    pub attempts: usize,
    pub passed: i64,
    pub failed: i64,
    pub skipped: i64,
    pub pass_rate: Option<f64>,
    pub flaky: i64,
}

#[derive(Debug, Serialize)]
pub struct RouteRow {
    pub service: String,
    pub route: String,
    pub requests: usize,
    pub errors: usize,
    pub error_ratio: f64,
    pub p95_ms: f64,
}

fn sorted(mut values: Vec<u64>) -> Vec<u64> {
    values.sort_unstable();
    values
}

/// The report of a model (already filtered).
pub fn build(model: &Model, stats: &ReadStats) -> Report {
    let mut per_pipeline: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for run in &model.runs {
        per_pipeline.entry(&run.pipeline).or_default().push(run);
    }
    let mut pipelines: Vec<PipelineRow> = per_pipeline
        .into_iter()
        .map(|(pipeline, runs)| {
            let durations = sorted(runs.iter().map(|r| r.duration_nanos).collect());
            let succeeded = runs.iter().filter(|r| r.succeeded()).count();
            PipelineRow {
                pipeline: pipeline.to_owned(),
                runs: runs.len(),
                succeeded,
                success_rate: succeeded as f64 / runs.len() as f64,
                p50_ms: millis(percentile(&durations, 50.0)),
                p95_ms: millis(percentile(&durations, 95.0)),
                max_ms: millis(durations.last().copied().unwrap_or(0)),
                cost_usd: runs.iter().filter_map(|r| r.cost_usd).sum(),
            }
        })
        .collect();
    pipelines.sort_by(|a, b| {
        a.success_rate
            .total_cmp(&b.success_rate)
            .then(b.runs.cmp(&a.runs))
    });

    #[derive(Default)]
    struct StageAcc {
        durations: Vec<u64>,
        failures: usize,
        retries: usize,
        messages: BTreeMap<String, usize>,
        tests: Option<(usize, i64, i64, i64, i64)>,
    }
    let mut per_stage: BTreeMap<&str, StageAcc> = BTreeMap::new();
    for stage in model.runs.iter().flat_map(|r| &r.stages) {
        let acc = per_stage.entry(&stage.name).or_default();
        acc.durations.push(stage.duration_nanos);
        if stage.failed() {
            acc.failures += 1;
            for message in stage.failure_messages() {
                *acc.messages.entry(message).or_default() += 1;
            }
        }
        if stage.attempt > 1 {
            acc.retries += 1;
        }
        if let Some(tests) = &stage.tests {
            let t = acc.tests.get_or_insert((0, 0, 0, 0, 0));
            t.0 += 1;
            t.1 += tests.passed;
            t.2 += tests.failed;
            t.3 += tests.skipped;
            t.4 += tests.flaky;
        }
    }
    let mut stages = Vec::new();
    let mut failures = Vec::new();
    let mut tests = Vec::new();
    for (name, acc) in per_stage {
        let durations = sorted(acc.durations);
        stages.push(StageRow {
            stage: name.to_owned(),
            count: durations.len(),
            p50_ms: millis(percentile(&durations, 50.0)),
            p95_ms: millis(percentile(&durations, 95.0)),
            max_ms: millis(durations.last().copied().unwrap_or(0)),
            failures: acc.failures,
            retries: acc.retries,
        });
        if acc.failures > 0 {
            let mut top: Vec<(String, usize)> = acc.messages.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top.truncate(TOP_MESSAGES);
            failures.push(FailureRow {
                stage: name.to_owned(),
                failures: acc.failures,
                count: durations.len(),
                top_messages: top,
            });
        }
        if let Some((attempts, passed, failed, skipped, flaky)) = acc.tests {
            let executed = passed + failed;
            tests.push(TestRow {
                stage: name.to_owned(),
                attempts,
                passed,
                failed,
                skipped,
                pass_rate: (executed > 0).then(|| passed as f64 / executed as f64),
                flaky,
            });
        }
    }
    stages.sort_by(|a, b| {
        b.p95_ms
            .total_cmp(&a.p95_ms)
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

    #[derive(Default)]
    struct ModelAcc {
        durations: Vec<u64>,
        input: i64,
        output: i64,
        cost: f64,
        unpriced: usize,
    }
    let mut per_model: BTreeMap<(&str, &str), ModelAcc> = BTreeMap::new();
    for call in model.runs.iter().flat_map(|r| &r.calls) {
        let acc = per_model.entry((&call.provider, &call.model)).or_default();
        acc.durations.push(call.duration_nanos);
        acc.input += call.input_tokens;
        acc.output += call.output_tokens;
        match call.cost_usd {
            Some(usd) => acc.cost += usd,
            None => acc.unpriced += 1,
        }
    }
    let mut models: Vec<ModelRow> = per_model
        .into_iter()
        .map(|((provider, model), acc)| {
            let durations = sorted(acc.durations);
            ModelRow {
                provider: provider.to_owned(),
                model: model.to_owned(),
                calls: durations.len(),
                input_tokens: acc.input,
                output_tokens: acc.output,
                cost_usd: acc.cost,
                unpriced_calls: acc.unpriced,
                p95_ms: millis(percentile(&durations, 95.0)),
            }
        })
        .collect();
    models.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.calls.cmp(&a.calls))
    });

    #[derive(Default)]
    struct CandidateAcc {
        wins: usize,
        decisions: usize,
        scores: Vec<f64>,
        margins: Vec<f64>,
    }
    let mut per_candidate: BTreeMap<(&str, &str), CandidateAcc> = BTreeMap::new();
    for decision in model.runs.iter().flat_map(|r| &r.adjudications) {
        for (candidate, score) in &decision.scores {
            let acc = per_candidate
                .entry((&decision.name, candidate))
                .or_default();
            acc.decisions += 1;
            acc.scores.push(*score);
        }
        if !decision.selected.is_empty() {
            let acc = per_candidate
                .entry((&decision.name, &decision.selected))
                .or_default();
            acc.wins += 1;
            if decision.scores.is_empty() {
                acc.decisions += 1;
            }
            acc.margins.extend(decision.margin);
        }
    }
    let mean = |values: &[f64]| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let mut candidates: Vec<CandidateRow> = per_candidate
        .into_iter()
        .map(|((adjudication, candidate), acc)| CandidateRow {
            adjudication: adjudication.to_owned(),
            candidate: candidate.to_owned(),
            wins: acc.wins,
            decisions: acc.decisions,
            average_score: mean(&acc.scores),
            average_margin: mean(&acc.margins),
        })
        .collect();
    candidates.sort_by(|a, b| {
        a.adjudication
            .cmp(&b.adjudication)
            .then(b.wins.cmp(&a.wins))
            .then_with(|| a.candidate.cmp(&b.candidate))
    });

    let mut per_route: BTreeMap<(&str, String), (Vec<u64>, usize)> = BTreeMap::new();
    for request in &model.requests {
        let route = if request.method.is_empty() {
            request.route.clone()
        } else {
            format!("{} {}", request.method, request.route)
        };
        let acc = per_route.entry((&request.service, route)).or_default();
        acc.0.push(request.duration_nanos);
        acc.1 += usize::from(request.error);
    }
    let mut routes: Vec<RouteRow> = per_route
        .into_iter()
        .map(|((service, route), (durations, errors))| {
            let durations = sorted(durations);
            RouteRow {
                service: service.to_owned(),
                route,
                requests: durations.len(),
                errors,
                error_ratio: errors as f64 / durations.len() as f64,
                p95_ms: millis(percentile(&durations, 95.0)),
            }
        })
        .collect();
    routes.sort_by(|a, b| {
        b.error_ratio
            .total_cmp(&a.error_ratio)
            .then(b.p95_ms.total_cmp(&a.p95_ms))
            .then_with(|| a.route.cmp(&b.route))
    });

    Report {
        input: Input {
            files: stats.files.len(),
            lines: stats.lines,
            spans: stats.spans,
            malformed_lines: stats.problem_count,
            runs: model.runs.len(),
            orphans: model.orphans,
        },
        pipelines,
        stages,
        failures,
        models,
        candidates,
        tests,
        routes,
    }
}

fn ms(value: f64) -> String {
    format::duration((value * 1e6).round() as u64)
}

/// The report as text: one titled table per question.
pub fn render(report: &Report) -> String {
    use Align::{Left, Right};
    let mut out = format!(
        "{} runs from {} files ({} lines, {} spans, {} malformed lines)\n",
        report.input.runs,
        report.input.files,
        report.input.lines,
        report.input.spans,
        report.input.malformed_lines
    );
    if report.input.orphans > 0 {
        out.push_str(&format!(
            "{} stages, calls and adjudications belong to runs whose run span was not found\n",
            report.input.orphans
        ));
    }
    let mut section = |title: &str, body: String| {
        out.push('\n');
        out.push_str(title);
        out.push('\n');
        out.push_str(&body);
    };
    if !report.pipelines.is_empty() {
        section(
            "Pipelines (least successful first)",
            table(
                &[
                    ("pipeline", Left),
                    ("runs", Right),
                    ("success", Right),
                    ("p50", Right),
                    ("p95", Right),
                    ("max", Right),
                    ("cost", Right),
                ],
                &report
                    .pipelines
                    .iter()
                    .map(|p| {
                        vec![
                            p.pipeline.clone(),
                            p.runs.to_string(),
                            format::percent(p.success_rate),
                            ms(p.p50_ms),
                            ms(p.p95_ms),
                            ms(p.max_ms),
                            format::cost(Some(p.cost_usd)),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if !report.stages.is_empty() {
        section(
            "Stages (slowest p95 first)",
            table(
                &[
                    ("stage", Left),
                    ("count", Right),
                    ("p50", Right),
                    ("p95", Right),
                    ("max", Right),
                    ("failures", Right),
                    ("retries", Right),
                ],
                &report
                    .stages
                    .iter()
                    .map(|s| {
                        vec![
                            s.stage.clone(),
                            s.count.to_string(),
                            ms(s.p50_ms),
                            ms(s.p95_ms),
                            ms(s.max_ms),
                            s.failures.to_string(),
                            s.retries.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if !report.failures.is_empty() {
        let mut body = String::new();
        for failure in &report.failures {
            body.push_str(&format!(
                "{}: {} of {} attempts failed\n",
                failure.stage, failure.failures, failure.count
            ));
            for (message, count) in &failure.top_messages {
                body.push_str(&format!("  {count}x {message}\n"));
            }
        }
        section(
            "Failures (most failing first, top exception messages)",
            body,
        );
    }
    if !report.models.is_empty() {
        section(
            "LLM calls by provider/model (most expensive first)",
            table(
                &[
                    ("provider/model", Left),
                    ("calls", Right),
                    ("input", Right),
                    ("output", Right),
                    ("cost", Right),
                    ("p95", Right),
                ],
                &report
                    .models
                    .iter()
                    .map(|m| {
                        let mut cost = format::cost(Some(m.cost_usd));
                        if m.unpriced_calls > 0 {
                            cost.push_str(&format!(" + {} unpriced", m.unpriced_calls));
                        }
                        vec![
                            format!("{}/{}", m.provider, m.model),
                            m.calls.to_string(),
                            m.input_tokens.to_string(),
                            m.output_tokens.to_string(),
                            cost,
                            ms(m.p95_ms),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if !report.candidates.is_empty() {
        let score = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
        section(
            "Adjudications: wins per candidate",
            table(
                &[
                    ("adjudication", Left),
                    ("candidate", Left),
                    ("wins", Right),
                    ("of", Right),
                    ("avg score", Right),
                    ("avg margin", Right),
                ],
                &report
                    .candidates
                    .iter()
                    .map(|c| {
                        vec![
                            c.adjudication.clone(),
                            c.candidate.clone(),
                            c.wins.to_string(),
                            c.decisions.to_string(),
                            score(c.average_score),
                            score(c.average_margin),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if !report.tests.is_empty() {
        section(
            "Tests (lowest pass rate first)",
            table(
                &[
                    ("stage", Left),
                    ("attempts", Right),
                    ("passed", Right),
                    ("failed", Right),
                    ("skipped", Right),
                    ("pass rate", Right),
                    ("flaky", Right),
                ],
                &report
                    .tests
                    .iter()
                    .map(|t| {
                        vec![
                            t.stage.clone(),
                            t.attempts.to_string(),
                            t.passed.to_string(),
                            t.failed.to_string(),
                            t.skipped.to_string(),
                            t.pass_rate
                                .map(format::percent)
                                .unwrap_or_else(|| "-".into()),
                            t.flaky.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if !report.routes.is_empty() {
        section(
            "Product routes (most failing first)",
            table(
                &[
                    ("service", Left),
                    ("route", Left),
                    ("requests", Right),
                    ("errors", Right),
                    ("error ratio", Right),
                    ("p95", Right),
                ],
                &report
                    .routes
                    .iter()
                    .map(|r| {
                        vec![
                            r.service.clone(),
                            r.route.clone(),
                            r.requests.to_string(),
                            r.errors.to_string(),
                            format::percent(r.error_ratio),
                            ms(r.p95_ms),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        );
    }
    out
}

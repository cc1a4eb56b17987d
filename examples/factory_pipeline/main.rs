//! A deterministic software-factory run: plan, implement, typecheck and test a product.
//!
//! Two simulated LLMs do the thinking: "claude" plans, then "codex" and "claude" each implement
//! the product, the test suite runs against both, and an adjudication picks the winner by pass
//! rate. Both models are deterministic (no network), so every run records the same tokens and
//! cost. Codex implements as a coding agent ([`coding_agent`]: tools, an MCP linter served by a
//! child process of this executable, a reviewer sub-agent); its first attempt fails (it forgets
//! a semicolon, the linter says so) and is retried.
//! Run it with no collector and the telemetry lands in `./telemetry` with a summary on stderr:
//!
//! ```text
//! cargo run --bin factory_pipeline
//! ```
//!
//! Point `OTEL_EXPORTER_OTLP_ENDPOINT` at a collector to export over OTLP instead.
//!
//! The run ends with a smoke stage ([`smoke`]): it starts the product example `product_service`
//! as a child process (its own binary when built, else this executable serving it) or calls the
//! product at `PRODUCT_URL`, and calls it over HTTP, so that the product's spans are in the
//! run's trace. `FACTORY_PIPELINE_SMOKE=off` leaves it out.

use factory_observability::{
    adjudicate, llm_call, pipeline, pipeline_run, pipeline_stage, retry_stage, CandidateScore,
    TestReport, TokenUsage, Usage, Verdict,
};
use std::fmt;
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::Duration;

// The product the smoke stage deploys, compiled in so that `cargo run --bin factory_pipeline`
// alone can start it (`factory_pipeline product_service`, see `smoke`).
#[path = "../product_service/main.rs"]
mod product_service;
mod smoke;
// The implement step's coding agent, and the MCP linter it starts (`factory_pipeline mcp_server`).
mod coding_agent;

/// What the factory is asked to build.
struct ProductSpec {
    name: &'static str,
    features: Vec<&'static str>,
}

/// What a stage can go wrong with.
#[derive(Debug)]
enum FactoryError {
    Compile(String),
    TestsFailed { failed: u64 },
    Smoke(smoke::SmokeError),
}

impl fmt::Display for FactoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactoryError::Compile(message) => write!(f, "compile error: {message}"),
            FactoryError::TestsFailed { failed } => write!(f, "{failed} tests failed"),
            FactoryError::Smoke(error) => write!(f, "smoke test failed: {error}"),
        }
    }
}

impl std::error::Error for FactoryError {}

struct Plan {
    tasks: Vec<String>,
}

struct Code {
    author: &'static str,
    files: usize,
}

/// What a simulated model answers.
struct Completion {
    text: String,
    usage: Usage,
}

impl TokenUsage for Completion {
    fn usage(&self) -> Option<Usage> {
        Some(self.usage)
    }
    fn finish_reason(&self) -> Option<&str> {
        Some("stop")
    }
}

/// A deterministic stand-in for an LLM client: it answers after a short pause with a fixed
/// number of output tokens per prompt.
struct SimulatedLlm {
    provider: &'static str,
    model: &'static str,
    output_tokens: u64,
}

impl SimulatedLlm {
    #[llm_call(provider = self.provider, model = self.model, prompt = prompt)]
    fn complete(&self, prompt: &str) -> Completion {
        sleep(Duration::from_millis(5));
        let input_tokens = prompt.len() as u64 * 25;
        Completion {
            text: format!("{} says: {prompt}", self.model),
            usage: Usage::new(input_tokens, self.output_tokens),
        }
    }

    /// A short answer (a tool call the model asks for, a verdict) of `output_tokens` tokens.
    #[llm_call(provider = self.provider, model = self.model, prompt = prompt)]
    fn answer_briefly(&self, prompt: &str, output_tokens: u64) -> Completion {
        sleep(Duration::from_millis(5));
        Completion {
            text: format!("{} says: {prompt}", self.model),
            usage: Usage::new(prompt.len() as u64 * 25, output_tokens),
        }
    }
}

/// A factory whose LLMs are deterministic: codex writes broken code on its first attempt.
struct Factory {
    attempts: u32,
    planner: SimulatedLlm,
    coder: SimulatedLlm,
}

#[pipeline]
impl Factory {
    #[skip_stage]
    fn new() -> Self {
        Factory {
            attempts: 0,
            planner: SimulatedLlm {
                provider: "anthropic",
                model: "claude-opus-4-5",
                output_tokens: 800,
            },
            coder: SimulatedLlm {
                provider: "openai",
                model: "gpt-5.3-codex",
                output_tokens: 2400,
            },
        }
    }

    fn plan(&self, spec: &ProductSpec) -> Result<Plan, FactoryError> {
        sleep(Duration::from_millis(15));
        let answer = self.planner.complete(&format!("plan {}", spec.name));
        let tasks: Vec<String> = spec
            .features
            .iter()
            .map(|feature| format!("implement {feature} ({} chars of plan)", answer.text.len()))
            .collect();
        tracing::info!(tasks = tasks.len(), "planned {}", spec.name);
        Ok(Plan { tasks })
    }

    /// One attempt of the coding agent (`coding_agent::coder`); the linter finds that the
    /// first attempt's code does not compile.
    fn implement(&mut self, plan: &Plan) -> Result<Code, FactoryError> {
        self.attempts += 1;
        sleep(Duration::from_millis(20));
        let written = coding_agent::coder(
            &self.coder,
            &self.planner,
            &plan.tasks,
            self.attempts,
            "todo-app-implement",
        );
        match written {
            Ok(_) => Ok(Code {
                author: "codex",
                files: plan.tasks.len() + 1,
            }),
            Err(error) => {
                tracing::warn!(attempt = self.attempts, "generated code does not compile");
                Err(FactoryError::Compile(error.to_string()))
            }
        }
    }

    /// The rival implementation of the tournament, written by the planner's model.
    fn implement_rival(&self, plan: &Plan) -> Result<Code, FactoryError> {
        sleep(Duration::from_millis(20));
        for task in &plan.tasks {
            self.planner.complete(task);
        }
        Ok(Code {
            author: "claude",
            files: plan.tasks.len() + 1,
        })
    }

    fn typecheck(&self, candidates: &[&Code]) -> Result<(), FactoryError> {
        sleep(Duration::from_millis(10));
        let files: usize = candidates.iter().map(|code| code.files).sum();
        tracing::info!(files, "typecheck clean");
        Ok(())
    }

    /// Runs the product's test suite against one candidate. Codex's candidate breaks one test
    /// (a failure, not a flaky test: claude's candidate passing it is another candidate, not a
    /// retry). On claude's candidate the runner re-runs one timing-dependent test that failed
    /// and passes it: the runner reports it flaky (`with_flaky`).
    #[pipeline_stage(name = "test", fields(candidate = code.author))]
    fn test(&self, code: &Code, spec: &ProductSpec) -> Result<TestReport, FactoryError> {
        sleep(Duration::from_millis(20));
        let rerun_passed = u64::from(code.author == "claude");
        let mut report = TestReport::default()
            .passed_test("app starts")
            .with_flaky(rerun_passed);
        for feature in &spec.features {
            for case in [
                "happy path",
                "empty input",
                "unicode",
                "persistence",
                "undo",
            ] {
                let name = format!("{feature}: {case}");
                let broken = code.author == "codex" && name == "complete task: undo";
                report = if broken {
                    report.failed_test(name)
                } else {
                    report.passed_test(name)
                };
            }
        }
        Ok(report)
    }
}

/// Picks the candidate whose tests pass best (the first on a tie).
#[adjudicate]
fn pick_winner(candidates: Vec<(Code, TestReport)>) -> Verdict<Code> {
    let scored = candidates
        .into_iter()
        .map(|(code, report)| {
            let score = CandidateScore::new(code.author, report.pass_rate().unwrap_or(0.0))
                .tests_passed(report.passed)
                .tests_total(report.passed + report.failed);
            (score, code)
        })
        .collect();
    Verdict::highest(scored).expect("two candidates")
}

#[pipeline_run(name = "new_product", fields(product.features = spec.features.len()))]
fn run_factory(spec: &ProductSpec, product: Option<&smoke::Target>) -> Result<u64, FactoryError> {
    let mut factory = Factory::new();
    let plan = factory.plan(spec)?;
    let codex = retry_stage(NonZeroU32::new(3).expect("non-zero"), || {
        factory.implement(&plan)
    })?;
    let claude = factory.implement_rival(&plan)?;
    factory.typecheck(&[&codex, &claude])?;
    let codex_tests = factory.test(&codex, spec)?;
    let claude_tests = factory.test(&claude, spec)?;
    let verdict = pick_winner(vec![
        (codex, codex_tests.clone()),
        (claude, claude_tests.clone()),
    ]);
    let winner = verdict.into_winner();
    let tests = if winner.author == "codex" {
        codex_tests
    } else {
        claude_tests
    };
    if tests.failed > 0 {
        return Err(FactoryError::TestsFailed {
            failed: tests.failed,
        });
    }
    // Deploys the winner and calls it: the product's spans join this run's trace.
    if let Some(product) = product {
        smoke::smoke(product).map_err(FactoryError::Smoke)?;
    }
    Ok(tests.passed)
}

/// `FACTORY_PIPELINE_RUNS`: how many runs one process makes (default 1), e.g. to be scraped
/// by Prometheus while it runs (`OTEL_METRICS_EXPORTER=prometheus`, deploy/PROVEN.md).
const RUNS_ENV: &str = "FACTORY_PIPELINE_RUNS";

/// `FACTORY_PIPELINE_LINGER_MS`: how long to wait after the last run before shutting down
/// (default 0), so that a Prometheus scraping `/metrics` sees the last run.
const LINGER_ENV: &str = "FACTORY_PIPELINE_LINGER_MS";

/// A whole number from `variable`, `default` when unset, at least `min`.
fn number_from_env(variable: &str, default: u32, min: u32) -> Result<u32, String> {
    match std::env::var(variable) {
        Err(_) => Ok(default),
        Ok(value) => value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n >= min)
            .ok_or_else(|| format!("{variable}={value:?}: expected a whole number, {min} or more")),
    }
}

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == smoke::PRODUCT_ARG)
    {
        return product_service::main();
    }
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == coding_agent::MCP_SERVER_ARG)
    {
        return coding_agent::serve_linter();
    }
    let product = match smoke::Target::from_env() {
        Ok(product) => product,
        Err(message) => {
            eprintln!("factory_pipeline: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = coding_agent::configure() {
        eprintln!("factory_pipeline: {message}");
        return ExitCode::from(2);
    }
    let telemetry = match factory_observability::init("sf-factory") {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("factory_pipeline: {error}");
            return ExitCode::from(2);
        }
    };
    let spec = ProductSpec {
        name: "todo-app",
        features: vec!["create task", "list tasks", "complete task"],
    };
    let (runs, linger_ms) = match (
        number_from_env(RUNS_ENV, 1, 1),
        number_from_env(LINGER_ENV, 0, 0),
    ) {
        (Ok(runs), Ok(linger_ms)) => (runs, linger_ms),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("factory_pipeline: {message}");
            return ExitCode::from(2);
        }
    };
    let mut result = Ok(0);
    for _ in 0..runs {
        result = run_factory(&spec, product.as_ref());
        match &result {
            Ok(passed) => println!("built {}: {passed} tests passed", spec.name),
            Err(error) => println!("factory run failed: {error}"),
        }
    }
    sleep(Duration::from_millis(linger_ms.into()));
    coding_agent::stop_linter();
    let report = telemetry.shutdown();
    if report.undelivered() > 0 {
        return ExitCode::from(3);
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

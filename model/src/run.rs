//! Runs, their stages, LLM calls, adjudications, agents and tools, and a product's requests,
//! built from spans.

use super::{Span, SpanKind, SpanRef, StatusCode, ValueRef};
use crate::json::find_ref;
use factory_observability_names::{
    agent, attr, cicd, event, product, provenance, span as span_name, vcs,
};
use std::collections::HashMap;

/// What a span is to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `pipeline.run`.
    Run,
    /// `pipeline.stage`.
    Stage,
    /// Any span with `llm.provider` (whatever its name: GenAI-style names vary per model).
    Llm,
    /// `pipeline.adjudicate`.
    Adjudicate,
    /// `invoke_agent {gen_ai.agent.name}`: an agent's invocation.
    Agent,
    /// `execute_tool {gen_ai.tool.name}`: a tool call made in the process (a tool server's own
    /// SERVER span for the same call is not counted twice).
    Tool,
    /// A product's SERVER span with `http.route`.
    Request,
    /// Anything else: kept only in a trace's tree.
    Other,
}

impl Role {
    /// The span's role, by its name, kind and attributes.
    pub fn of(span: &Span) -> Role {
        Role::classify(&span.name, span.kind, |key| span.attribute(key).is_some())
    }

    /// The role of a borrowed span.
    pub fn of_ref(span: &SpanRef<'_>) -> Role {
        Role::classify(span.name(), span.kind(), |key| {
            span.attribute(key).is_some()
        })
    }

    /// The role of a span with this name and kind, `has` telling whether it has an attribute
    /// (lets the summary classify an SDK span before converting it).
    /// Runs and stages are known by the seed's span names, or, recorded with the CI/CD
    /// conventions' names alone (`FACTORY_OBS_PIPELINE_SEMCONV=cicd`: `BUILD {pipeline}`, the
    /// task's name), by the attributes those conventions require.
    pub fn classify(name: &str, kind: SpanKind, has: impl Fn(&str) -> bool) -> Role {
        if name == span_name::PIPELINE_RUN || has(cicd::CICD_PIPELINE_RUN_ID) {
            Role::Run
        } else if name == span_name::PIPELINE_STAGE || has(cicd::CICD_PIPELINE_TASK_NAME) {
            Role::Stage
        } else if name == span_name::PIPELINE_ADJUDICATE {
            Role::Adjudicate
        } else if name.starts_with(agent::INVOKE_AGENT) && has(agent::GEN_AI_AGENT_NAME) {
            Role::Agent
        } else if name.starts_with(agent::EXECUTE_TOOL)
            && kind != SpanKind::Server
            && has(agent::GEN_AI_TOOL_NAME)
        {
            Role::Tool
        } else if has(attr::LLM_PROVIDER) {
            Role::Llm
        } else if kind == SpanKind::Server && has(product::HTTP_ROUTE) {
            Role::Request
        } else {
            Role::Other
        }
    }
}

/// The status description of a span that failed, when it has one.
fn error_of(span: &SpanRef<'_>) -> Option<String> {
    (span.status_code() == StatusCode::Error && !span.status_message().is_empty())
        .then(|| span.status_message().to_owned())
}

/// Tests counted by a stage that returned a `TestReport`. Signed as the attributes are (OTLP
/// integers are `i64`); a count the span lacks is 0.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestCounts {
    /// `test.passed`.
    pub passed: i64,
    /// `test.failed`.
    pub failed: i64,
    /// `test.skipped`.
    pub skipped: i64,
    /// `test.flaky`: the runner's own count of flaky tests plus, for a stage retried with
    /// `retry_stage`, the named tests that failed in an earlier attempt and pass in this one.
    pub flaky: i64,
}

/// One stage attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// `stage.name`.
    pub name: String,
    /// 1 for a first attempt.
    pub attempt: i64,
    /// `success`, `failure`, `skip`, ... (`stage.outcome`).
    pub outcome: String,
    /// Nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The span's end minus its start, 0 when the end is before the start.
    pub duration_nanos: u64,
    /// The status description when the stage failed.
    pub error: Option<String>,
    /// `exception.message` of its `exception` events.
    pub exceptions: Vec<String>,
    /// `None` when the stage did not report tests (its span has no `test.passed`).
    pub tests: Option<TestCounts>,
    /// The attempt's span: a call or an adjudication finds its stage through its parent ids.
    pub span_id: [u8; 8],
}

impl Stage {
    /// The attempt a `pipeline.stage` span records.
    pub fn from_span(span: &SpanRef<'_>) -> Stage {
        let tests = span.attribute(attr::TEST_PASSED).map(|_| TestCounts {
            passed: span.int(attr::TEST_PASSED),
            failed: span.int(attr::TEST_FAILED),
            skipped: span.int(attr::TEST_SKIPPED),
            flaky: span.int(attr::TEST_FLAKY),
        });
        Stage {
            name: span.text_or(attr::STAGE_NAME, cicd::CICD_PIPELINE_TASK_NAME),
            attempt: span.int(attr::STAGE_ATTEMPT).max(1),
            outcome: span.text_or(attr::STAGE_OUTCOME, cicd::CICD_PIPELINE_TASK_RUN_RESULT),
            start_unix_nano: span.start_unix_nano(),
            duration_nanos: span.duration_nanos(),
            error: error_of(span),
            exceptions: span
                .events()
                .iter()
                .filter(|e| e.name == event::EXCEPTION)
                .filter_map(|e| e.attribute(attr::EXCEPTION_MESSAGE))
                .map(ValueRef::to_string)
                .collect(),
            tests,
            span_id: span.span_id,
        }
    }

    /// Whether the attempt failed (its outcome is not success or skip, or its status is error).
    pub fn failed(&self) -> bool {
        self.error.is_some() || !matches!(self.outcome.as_str(), "success" | "skip" | "")
    }

    /// What went wrong, in words: the exceptions, else the status description.
    pub fn failure_messages(&self) -> Vec<String> {
        if !self.exceptions.is_empty() {
            self.exceptions.clone()
        } else {
            self.error.iter().cloned().collect()
        }
    }
}

/// One LLM interaction.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmCall {
    /// `llm.provider` (`openai`, `anthropic`, ...).
    pub provider: String,
    /// `llm.model`: the model requested.
    pub model: String,
    /// `llm.prompt_tokens`, 0 when absent.
    pub input_tokens: i64,
    /// `llm.completion_tokens`, 0 when absent.
    pub output_tokens: i64,
    /// `llm.cost_usd`; `None` for an unpriced model.
    pub cost_usd: Option<f64>,
    /// Nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The span's end minus its start, 0 when the end is before the start.
    pub duration_nanos: u64,
    /// The status description when the call failed (status ERROR with a description).
    pub error: Option<String>,
}

impl LlmCall {
    /// The call a span with `llm.provider` records.
    pub fn from_span(span: &SpanRef<'_>) -> LlmCall {
        LlmCall {
            provider: span.text(attr::LLM_PROVIDER),
            model: span.text(attr::LLM_MODEL),
            input_tokens: span.int(attr::LLM_PROMPT_TOKENS),
            output_tokens: span.int(attr::LLM_COMPLETION_TOKENS),
            cost_usd: span.double(attr::LLM_COST_USD),
            start_unix_nano: span.start_unix_nano(),
            duration_nanos: span.duration_nanos(),
            error: error_of(span),
        }
    }

    /// `provider/model`.
    pub fn provider_model(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

/// One invocation of an agent (`#[agent]`), with the totals of the LLM and tool calls under it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentCall {
    /// `gen_ai.agent.name`.
    pub name: String,
    /// `gen_ai.request.model`, empty when the agent names none.
    pub model: String,
    /// `agent.outcome`: `success`, `failure`, `error`, ...
    pub outcome: String,
    /// Nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The span's end minus its start, 0 when the end is before the start.
    pub duration_nanos: u64,
    /// What went wrong: the status description, else `error.type`.
    pub error: Option<String>,
    /// `agent.llm.calls`: LLM calls under it, its sub-agents' included (as the next five).
    pub llm_calls: i64,
    /// `gen_ai.usage.input_tokens`.
    pub input_tokens: i64,
    /// `gen_ai.usage.output_tokens`.
    pub output_tokens: i64,
    /// `agent.cost_usd`.
    pub cost_usd: Option<f64>,
    /// `agent.tool.calls`.
    pub tool_calls: i64,
    /// `agent.tool.failures`.
    pub tool_failures: i64,
    /// Its span: a tool or a sub-agent finds its agent through its parent ids.
    pub span_id: [u8; 8],
}

impl AgentCall {
    /// The invocation an `invoke_agent` span records.
    pub fn from_span(span: &SpanRef<'_>) -> AgentCall {
        AgentCall {
            name: span.text(agent::GEN_AI_AGENT_NAME),
            model: span.text(attr::GEN_AI_REQUEST_MODEL),
            outcome: span.text(agent::AGENT_OUTCOME),
            start_unix_nano: span.start_unix_nano(),
            duration_nanos: span.duration_nanos(),
            error: failure_of(span),
            llm_calls: span.int(agent::AGENT_LLM_CALLS),
            input_tokens: span.int(attr::GEN_AI_USAGE_INPUT_TOKENS),
            output_tokens: span.int(attr::GEN_AI_USAGE_OUTPUT_TOKENS),
            cost_usd: span.double(agent::AGENT_COST_USD),
            tool_calls: span.int(agent::AGENT_TOOL_CALLS),
            tool_failures: span.int(agent::AGENT_TOOL_FAILURES),
            span_id: span.span_id,
        }
    }

    /// Whether it failed (an outcome other than success, or status error).
    pub fn failed(&self) -> bool {
        self.error.is_some() || !matches!(self.outcome.as_str(), "success" | "")
    }
}

/// One tool call (`#[tool]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    /// `gen_ai.tool.name`.
    pub name: String,
    /// `gen_ai.tool.type`: `function`, `extension` or `datastore`.
    pub tool_type: String,
    /// `tool.outcome`.
    pub outcome: String,
    /// Nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The span's end minus its start, 0 when the end is before the start.
    pub duration_nanos: u64,
    /// What went wrong: the status description, else `error.type`.
    pub error: Option<String>,
    /// The name of the agent it was called under (the nearest `invoke_agent` above it), empty
    /// when none was found: filled by whoever sees the run's spans together
    /// ([`ModelBuilder::finish`], the CLI's aggregator).
    pub agent: String,
}

impl ToolCall {
    /// The call an `execute_tool` span records (its agent not known yet).
    pub fn from_span(span: &SpanRef<'_>) -> ToolCall {
        ToolCall {
            name: span.text(agent::GEN_AI_TOOL_NAME),
            tool_type: span.text(agent::GEN_AI_TOOL_TYPE),
            outcome: span.text(agent::TOOL_OUTCOME),
            start_unix_nano: span.start_unix_nano(),
            duration_nanos: span.duration_nanos(),
            error: failure_of(span),
            agent: String::new(),
        }
    }

    /// Whether it failed (an outcome other than success, or status error).
    pub fn failed(&self) -> bool {
        self.error.is_some() || !matches!(self.outcome.as_str(), "success" | "")
    }
}

/// What went wrong in a failed span: its status description, else its `error.type`.
fn failure_of(span: &SpanRef<'_>) -> Option<String> {
    if span.status_code() != StatusCode::Error {
        return None;
    }
    error_of(span).or_else(|| {
        let error_type = span.text(attr::ERROR_TYPE);
        (!error_type.is_empty()).then_some(error_type)
    })
}

/// The name of the agent whose span is the nearest above `parent`, following `links` (a span's
/// parent, for the spans between).
pub fn agent_above(
    agents: &HashMap<[u8; 8], String>,
    links: &HashMap<[u8; 8], [u8; 8]>,
    parent: Option<[u8; 8]>,
) -> Option<String> {
    nearest_above(links, parent, |id| agents.get(&id).cloned())
}

/// What `found` gives for the nearest span at or above `parent` for which it gives anything,
/// following `links` (each span's parent) at most 64 levels up: how a call finds its stage or a
/// tool its agent through the spans between.
pub fn nearest_above<T>(
    links: &HashMap<[u8; 8], [u8; 8]>,
    mut parent: Option<[u8; 8]>,
    mut found: impl FnMut([u8; 8]) -> Option<T>,
) -> Option<T> {
    for _ in 0..64 {
        let id = parent?;
        if let Some(value) = found(id) {
            return Some(value);
        }
        parent = links.get(&id).copied();
    }
    None
}

/// One adjudication among candidates.
#[derive(Clone, Debug, PartialEq)]
pub struct Adjudication {
    /// `adjudication.name`: which decision it is (a run can make several).
    pub name: String,
    /// `adjudication.selected`: the winning candidate, empty when absent.
    pub selected: String,
    /// `adjudication.candidates`: how many were compared, 0 when absent.
    pub candidates: i64,
    /// Winner's score minus the runner-up's.
    pub margin: Option<f64>,
    /// `(candidate, score)` from the `gen_ai.evaluation.result` events.
    pub scores: Vec<(String, f64)>,
    /// Nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The status description when the adjudication failed.
    pub error: Option<String>,
}

impl Adjudication {
    /// The decision a `pipeline.adjudicate` span records, with the scores of its
    /// `gen_ai.evaluation.result` events.
    pub fn from_span(span: &SpanRef<'_>) -> Adjudication {
        let scores = span
            .events()
            .iter()
            .filter(|e| e.name == event::GEN_AI_EVALUATION_RESULT)
            .filter_map(|e| {
                let candidate = e.attribute(attr::ADJUDICATION_CANDIDATE)?.to_string();
                let score = e.attribute(attr::GEN_AI_EVALUATION_SCORE_VALUE)?.as_f64()?;
                Some((candidate, score))
            })
            .collect();
        Adjudication {
            name: span.text(attr::ADJUDICATION_NAME),
            selected: span.text(attr::ADJUDICATION_SELECTED),
            candidates: span.int(attr::ADJUDICATION_CANDIDATES),
            margin: span.double(attr::ADJUDICATION_MARGIN),
            scores,
            start_unix_nano: span.start_unix_nano(),
            error: error_of(span),
        }
    }
}

/// One pipeline run (a `pipeline.run` span and what was recorded under its `run.id`).
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// `run.id`: what the run's stages, calls and adjudications carry to be grouped with it
    /// (they may be read before the run span, which ends last).
    pub run_id: String,
    /// `pipeline.name`.
    pub pipeline: String,
    /// `service.name` of the run span's resource, empty when absent.
    pub service: String,
    /// The run's trace: product requests made during the run share it.
    pub trace_id: [u8; 16],
    /// The run span's id: the parent (or an ancestor) of the run's stages, calls and
    /// adjudications.
    pub span_id: [u8; 8],
    /// Nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The span's end minus its start, 0 when the end is before the start.
    pub duration_nanos: u64,
    /// `run.outcome`.
    pub outcome: String,
    /// The status description when the run failed.
    pub error: Option<String>,
    /// Totals the runtime put on the run span (`run.llm.calls`, 0 when absent, as the next
    /// three): counted as each call ended, so they include calls whose spans were not read.
    pub llm_calls: i64,
    /// `run.tokens.input`.
    pub input_tokens: i64,
    /// `run.tokens.output`.
    pub output_tokens: i64,
    /// `run.cost_usd`: the priced calls' cost; `None` when the run span does not carry it.
    pub cost_usd: Option<f64>,
    /// `run.llm.unpriced_calls`: calls with tokens but no price, left out of `cost_usd`.
    pub unpriced_calls: i64,
    /// In start order.
    pub stages: Vec<Stage>,
    /// Empty from [`Run::from_span`]; [`ModelBuilder::finish`] fills them in start order, as
    /// the adjudications.
    pub calls: Vec<LlmCall>,
    /// See [`Run::calls`].
    pub adjudications: Vec<Adjudication>,
    /// Agent invocations, in start order (filled as [`Run::calls`]).
    pub agents: Vec<AgentCall>,
    /// Tool calls, in start order (filled as [`Run::calls`]).
    pub tools: Vec<ToolCall>,
}

impl Run {
    /// The run a `pipeline.run` span records, with no stages, calls or adjudications yet.
    pub fn from_span(span: &SpanRef<'_>) -> Run {
        Run {
            run_id: span.text_or(attr::RUN_ID, cicd::CICD_PIPELINE_RUN_ID),
            pipeline: span.text_or(attr::PIPELINE_NAME, cicd::CICD_PIPELINE_NAME),
            service: span.service.to_owned(),
            trace_id: span.trace_id,
            span_id: span.span_id,
            start_unix_nano: span.start_unix_nano(),
            duration_nanos: span.duration_nanos(),
            outcome: span.text_or(attr::RUN_OUTCOME, cicd::CICD_PIPELINE_RESULT),
            error: error_of(span),
            llm_calls: span.int(attr::RUN_LLM_CALLS),
            input_tokens: span.int(attr::RUN_TOKENS_INPUT),
            output_tokens: span.int(attr::RUN_TOKENS_OUTPUT),
            cost_usd: span.double(attr::RUN_COST_USD),
            unpriced_calls: span.int(attr::RUN_LLM_UNPRICED_CALLS),
            stages: Vec::new(),
            calls: Vec::new(),
            adjudications: Vec::new(),
            agents: Vec::new(),
            tools: Vec::new(),
        }
    }

    /// Whether the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome == "success"
    }
}

/// One request served by a product (a SERVER span with `http.route`).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerRequest {
    /// `service.name` of the span's resource: which product served it.
    pub service: String,
    /// `http.request.method`.
    pub method: String,
    /// `http.route`: the route template (`/tasks/{id}`), never the raw path, so requests group
    /// by route.
    pub route: String,
    /// `http.response.status_code`; `None` when no response was sent (or it was not recorded).
    pub status_code: Option<i64>,
    /// Status ERROR (5xx, or a failure the server recorded).
    pub error: bool,
    /// Nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The span's end minus its start, 0 when the end is before the start.
    pub duration_nanos: u64,
    /// The request's trace: a run's when the factory called the product within the run.
    pub trace_id: [u8; 16],
    /// The factory run that built the product serving it, when a factory deployed the product
    /// with its provenance (docs/provenance.md).
    pub build: Option<Build>,
}

/// The factory run that built a product, as its deploy wrote it into the product's resource
/// (`factory.*`, `vcs.*`): what joins a product's requests and errors, long after the run, to
/// the run, commit, candidate and models behind them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Build {
    /// `factory.run.id`: the `run.id` of the run that built it.
    pub run_id: String,
    /// `factory.pipeline.name`.
    pub pipeline: String,
    /// `vcs.ref.head.revision`: the commit the run built from, empty when unknown.
    pub revision: String,
    /// `factory.candidate`: the adjudication's winner whose code the product runs.
    pub candidate: String,
    /// `factory.models`: the models that wrote it, comma-separated.
    pub models: String,
}

impl Build {
    /// The build a span's resource names; `None` without `factory.run.id`.
    pub fn of(span: &SpanRef<'_>) -> Option<Build> {
        let text = |key: &str| {
            find_ref(span.resource, key)
                .map(ValueRef::to_string)
                .unwrap_or_default()
        };
        let run_id = text(provenance::FACTORY_RUN_ID);
        (!run_id.is_empty()).then(|| Build {
            run_id,
            pipeline: text(provenance::FACTORY_PIPELINE_NAME),
            revision: text(vcs::VCS_REF_HEAD_REVISION),
            candidate: text(provenance::FACTORY_CANDIDATE),
            models: text(provenance::FACTORY_MODELS),
        })
    }
}

impl ServerRequest {
    /// The request a product's SERVER span with `http.route` records.
    pub fn from_span(span: &SpanRef<'_>) -> ServerRequest {
        ServerRequest {
            service: span.service.to_owned(),
            method: span.text(product::HTTP_REQUEST_METHOD),
            route: span.text(product::HTTP_ROUTE),
            status_code: span
                .attribute(product::HTTP_RESPONSE_STATUS_CODE)
                .and_then(ValueRef::as_i64),
            error: span.status_code() == StatusCode::Error,
            start_unix_nano: span.start_unix_nano(),
            duration_nanos: span.duration_nanos(),
            trace_id: span.trace_id,
            build: Build::of(span),
        }
    }
}

/// The names of the failed tests in a stage's status description, as a stage returning a
/// `factory_observability::TestReport` with named failures words it (`"2 of 16 tests failed: a, b"`, see
/// `TestReport`'s `Outcome::message`); `None` when the description is not of that form or its
/// names cannot be told apart (a name holding ", ").
pub fn failed_test_names(description: &str) -> Option<Vec<String>> {
    let (count, rest) = description.split_once(" of ")?;
    let failed: usize = count.parse().ok()?;
    let (total, names) = rest.split_once(" tests failed: ")?;
    total.parse::<u64>().ok()?;
    if failed == 1 {
        return Some(vec![names.to_owned()]);
    }
    let names: Vec<String> = names.split(", ").map(str::to_owned).collect();
    (names.len() == failed).then_some(names)
}

/// What was read, grouped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    /// Runs in start order.
    pub runs: Vec<Run>,
    /// Product requests in start order, whether or not their trace holds a run.
    pub requests: Vec<ServerRequest>,
    /// Stages, calls, adjudications, agents and tools whose run span was never seen (the run
    /// is still going, was cut off, or its span was lost).
    pub orphans: u64,
}

#[derive(Clone, Default)]
struct Parts {
    run: Option<Run>,
    stages: Vec<Stage>,
    calls: Vec<LlmCall>,
    adjudications: Vec<Adjudication>,
    agents: Vec<AgentCall>,
    /// With the span's parent (to find its agent).
    tools: Vec<(ToolCall, Option<[u8; 8]>)>,
    /// The parents of the run's spans (a tool's agent may be further up than its parent).
    links: HashMap<[u8; 8], [u8; 8]>,
}

impl Parts {
    fn records(&self) -> u64 {
        (self.stages.len()
            + self.calls.len()
            + self.adjudications.len()
            + self.agents.len()
            + self.tools.len()) as u64
    }
}

/// Collects the spans of interest; [`ModelBuilder::finish`] groups them into a [`Model`].
/// Keeps per span only the few fields the model needs, never the span.
#[derive(Clone, Default)]
pub struct ModelBuilder {
    parts: Vec<Parts>,
    by_run_id: HashMap<String, usize>,
    requests: Vec<ServerRequest>,
}

impl ModelBuilder {
    /// A builder with nothing yet.
    pub fn new() -> ModelBuilder {
        ModelBuilder::default()
    }

    fn parts(&mut self, run_id: String) -> &mut Parts {
        let next = self.parts.len();
        let index = *self.by_run_id.entry(run_id).or_insert(next);
        if index == next {
            self.parts.push(Parts::default());
        }
        &mut self.parts[index]
    }

    /// Takes in one span; returns its role (spans of role `Other` are not kept).
    pub fn observe(&mut self, span: &Span) -> Role {
        span.with_ref(|span| self.observe_ref(span))
    }

    /// Takes in one borrowed span; returns its role.
    pub fn observe_ref(&mut self, span: &SpanRef<'_>) -> Role {
        let role = Role::of_ref(span);
        let run_id = || span.text(attr::RUN_ID);
        if let (Some(parent), false) = (
            span.parent_span_id,
            matches!(role, Role::Run | Role::Request),
        ) {
            let id = run_id();
            if !id.is_empty() {
                self.parts(id).links.insert(span.span_id, parent);
            }
        }
        match role {
            Role::Run => {
                let run = Run::from_span(span);
                let id = run.run_id.clone();
                self.parts(id).run = Some(run);
            }
            Role::Stage => {
                let stage = Stage::from_span(span);
                self.parts(run_id()).stages.push(stage);
            }
            Role::Llm => {
                let call = LlmCall::from_span(span);
                self.parts(run_id()).calls.push(call);
            }
            Role::Adjudicate => {
                let decision = Adjudication::from_span(span);
                self.parts(run_id()).adjudications.push(decision);
            }
            Role::Agent => {
                let invocation = AgentCall::from_span(span);
                self.parts(run_id()).agents.push(invocation);
            }
            Role::Tool => {
                let call = ToolCall::from_span(span);
                self.parts(run_id()).tools.push((call, span.parent_span_id));
            }
            Role::Request => self.requests.push(ServerRequest::from_span(span)),
            Role::Other => {}
        }
        role
    }

    /// The runs (in start order, each one's records in start order) and requests.
    pub fn finish(self) -> Model {
        let mut model = Model {
            requests: self.requests,
            ..Model::default()
        };
        for parts in self.parts {
            let records = parts.records();
            let Some(mut run) = parts.run else {
                model.orphans += records;
                continue;
            };
            let agents: HashMap<[u8; 8], String> = parts
                .agents
                .iter()
                .map(|a| (a.span_id, a.name.clone()))
                .collect();
            run.tools = parts
                .tools
                .into_iter()
                .map(|(mut call, parent)| {
                    call.agent = agent_above(&agents, &parts.links, parent).unwrap_or_default();
                    call
                })
                .collect();
            run.stages = parts.stages;
            run.calls = parts.calls;
            run.adjudications = parts.adjudications;
            run.agents = parts.agents;
            run.agents.sort_by_key(|a| a.start_unix_nano);
            run.tools.sort_by_key(|t| t.start_unix_nano);
            // Stable sorts: records that started together stay in export order.
            run.stages.sort_by_key(|s| s.start_unix_nano);
            run.calls.sort_by_key(|c| c.start_unix_nano);
            run.adjudications.sort_by_key(|a| a.start_unix_nano);
            model.runs.push(run);
        }
        model.runs.sort_by_key(|r| r.start_unix_nano);
        model.requests.sort_by_key(|r| r.start_unix_nano);
        model
    }
}

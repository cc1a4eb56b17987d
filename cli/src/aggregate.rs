//! One streaming pass over the spans: per pipeline, stage, model, candidate, agent, tool and
//! route aggregates in bounded memory, and only the runs a command shows.
//!
//! A run's stages, calls and adjudications end before the run does, so they are read before its
//! `pipeline.run` span (in the same line or an earlier one). They wait in [`Pending`] until it
//! comes; then the filters decide, the records are folded into the aggregates and dropped. The
//! decision is remembered for the latest [`REMEMBERED_RUNS`] runs (for a record that comes after
//! its run span), and the run's [`Run`] summary is kept only for the runs a command shows
//! (`runs`: all; `report --html`: the latest few; `trace`, `compare`: those asked for).
//!
//! Memory is bounded by: the aggregates (one per pipeline, stage name, model, candidate, route,
//! each with [`Durations`] of at most a few KiB and at most [`MAX_DISTINCT`] messages or test
//! names), at most [`MAX_PENDING_RUNS`] runs and [`MAX_PENDING_RECORDS`] records waiting for
//! their run span (the oldest run is given up as orphans beyond either), at most
//! [`MAX_PENDING_REQUESTS`] product requests waiting for their trace's run (only with
//! `--pipeline`, `--outcome` or `--stage`), the [`REMEMBERED_RUNS`] latest decisions, and the runs
//! a command shows.

use crate::filter::Filters;
use crate::quantiles::Durations;
use factory_observability_model::read::ReadStats;
use factory_observability_model::{
    agent_above, failed_test_names, nearest_above, Adjudication, AgentCall, Build, LlmCall, Role,
    Run, ServerRequest, SpanRef, Stage, ToolCall,
};
use factory_observability_names::attr;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

/// Runs waiting for their run span at most; beyond, the oldest one's records become orphans.
pub const MAX_PENDING_RUNS: usize = 10_000;

/// Stages, calls, adjudications, agents and tools waiting for their run span at most (all runs together);
/// beyond, the oldest run's records become orphans.
pub const MAX_PENDING_RECORDS: usize = 200_000;

/// The filters' decision is remembered for this many runs (the latest), for records and
/// requests that come after their run span; an older run's late record is an orphan.
pub const REMEMBERED_RUNS: usize = 100_000;

/// Product requests waiting for their trace's run at most (only when a filter needs the run).
pub const MAX_PENDING_REQUESTS: usize = 100_000;

/// Runs kept per id prefix that is not a whole id (see [`Keep::Matching`]).
pub const KEPT_PER_PREFIX: u64 = 11;

/// Distinct exception messages (or flaky test names) counted per stage at most; more are
/// counted together as "other".
pub const MAX_DISTINCT: usize = 256;

/// Which runs' summaries a command keeps.
#[derive(Clone, Debug)]
pub enum Keep {
    /// None (the report's tables need only the aggregates).
    None,
    /// Every run (`runs`).
    All,
    /// The latest `n` by start (`report --html`).
    Latest(usize),
    /// Runs whose id starts with one of these, with their stages (`trace`, `compare`): every
    /// run whose id is one of them, and the first [`KEPT_PER_PREFIX`] of those that only start
    /// with it (enough to name an ambiguous prefix's candidates; [`Summary::matches`] counts
    /// them all).
    Matching(Vec<String>),
}

/// Counts of strings, at most [`MAX_DISTINCT`] of them; the rest counted as `other`.
#[derive(Clone, Debug, Default)]
pub struct Counter {
    pub counts: BTreeMap<String, u64>,
    pub other: u64,
}

impl Counter {
    pub fn add(&mut self, key: &str, n: u64) {
        if let Some(count) = self.counts.get_mut(key) {
            *count += n;
        } else if self.counts.len() < MAX_DISTINCT {
            self.counts.insert(key.to_owned(), n);
        } else {
            self.other += n;
        }
    }

    /// The `n` most frequent, most frequent first (ties by name).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .counts
            .iter()
            .map(|(key, count)| (key.clone(), *count))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

#[derive(Debug, Default)]
pub struct PipelineAcc {
    pub durations: Durations,
    pub succeeded: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Default)]
pub struct TestAcc {
    /// Stage attempts that reported tests.
    pub attempts: u64,
    pub passed: i64,
    pub failed: i64,
    pub skipped: i64,
    pub flaky: i64,
    /// Flaky tests by name: failed in an earlier attempt of the stage in the run, not failing
    /// in the attempt that counted them flaky.
    pub flaky_names: Counter,
}

#[derive(Debug, Default)]
pub struct StageAcc {
    pub durations: Durations,
    pub failures: u64,
    pub retries: u64,
    pub messages: Counter,
    pub tests: Option<TestAcc>,
}

#[derive(Debug, Default)]
pub struct ModelAcc {
    pub durations: Durations,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub unpriced: u64,
}

#[derive(Debug, Default)]
pub struct CandidateAcc {
    pub wins: u64,
    pub decisions: u64,
    pub score_sum: f64,
    pub scores: u64,
    pub margin_sum: f64,
    pub margins: u64,
}

/// One agent's invocations (by `gen_ai.agent.name`).
#[derive(Debug, Default)]
pub struct AgentAcc {
    pub durations: Durations,
    pub failures: u64,
    pub messages: Counter,
    pub llm_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub tool_calls: i64,
    pub tool_failures: i64,
}

/// One tool's calls (by `gen_ai.tool.name`).
#[derive(Debug, Default)]
pub struct ToolAcc {
    /// `gen_ai.tool.type` of its first call.
    pub tool_type: String,
    pub durations: Durations,
    pub failures: u64,
    pub messages: Counter,
    /// The agents that called it.
    pub agents: Counter,
}

#[derive(Debug, Default)]
pub struct RouteAcc {
    pub durations: Durations,
    pub errors: u64,
}

/// What a pass found: the aggregates, the runs kept, and counts.
#[derive(Debug, Default)]
pub struct Summary {
    pub stats: ReadStats,
    pub pipelines: BTreeMap<String, PipelineAcc>,
    pub stages: BTreeMap<String, StageAcc>,
    /// By `(provider, model)`.
    pub models: BTreeMap<(String, String), ModelAcc>,
    /// By `(adjudication, candidate)`.
    pub candidates: BTreeMap<(String, String), CandidateAcc>,
    /// By `gen_ai.agent.name`.
    pub agents: BTreeMap<String, AgentAcc>,
    /// By `gen_ai.tool.name`.
    pub tools: BTreeMap<String, ToolAcc>,
    /// By `(service, "METHOD route")`.
    pub routes: BTreeMap<(String, String), RouteAcc>,
    /// A product's requests by the factory run that built it, then `(service, "METHOD route")`:
    /// every request whose product's resource names its build, whatever trace it is in.
    pub builds: BTreeMap<(Build, String, String), RouteAcc>,
    /// The run ids of [`Summary::builds`] whose run span was read (`trace` can show them).
    pub build_runs_read: HashSet<String>,
    /// The runs kept (see [`Keep`]), in start order.
    pub runs: Vec<Run>,
    /// With [`Keep::Matching`]: per id asked for, how many runs (kept by the filters) start
    /// with it.
    pub matches: HashMap<String, u64>,
    /// Every run span read, and those the filters kept.
    pub runs_read: u64,
    pub runs_matched: u64,
    pub requests_read: u64,
    pub requests_matched: u64,
    /// Stages, calls, adjudications, agents and tools whose run span was not found.
    pub orphans: u64,
}

/// A run's records read before its run span.
#[derive(Default)]
struct Pending {
    /// Its place in [`Aggregator::pending_order`].
    seq: u64,
    stages: Vec<Stage>,
    /// With the span's parent (to find its stage).
    calls: Vec<(LlmCall, Option<[u8; 8]>)>,
    adjudications: Vec<(Adjudication, Option<[u8; 8]>)>,
    /// With the span's parent, as the calls.
    agents: Vec<(AgentCall, Option<[u8; 8]>)>,
    tools: Vec<(ToolCall, Option<[u8; 8]>)>,
    /// Parents of the run's other spans (`#[traced]` functions between a stage and a call) and
    /// of its agents and tools (a tool under a tool).
    links: HashMap<[u8; 8], [u8; 8]>,
}

impl Pending {
    /// Stages, calls, adjudications, agents and tools (orphans if their run span never comes).
    fn records(&self) -> u64 {
        (self.stages.len()
            + self.calls.len()
            + self.adjudications.len()
            + self.agents.len()
            + self.tools.len()) as u64
    }

    /// Everything held, links included (what [`MAX_PENDING_RECORDS`] bounds).
    fn held(&self) -> usize {
        self.records() as usize + self.links.len()
    }

    /// The stage a span is under (its parent, or an ancestor through the run's other spans).
    fn stage_of(&self, stages: &HashMap<[u8; 8], usize>, parent: Option<[u8; 8]>) -> Option<&str> {
        let index = nearest_above(&self.links, parent, |id| stages.get(&id).copied())?;
        Some(&self.stages[index].name)
    }
}

/// A map of the latest `capacity` keys inserted to a flag; inserting beyond forgets the oldest.
struct Recent<K> {
    flags: HashMap<K, bool>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Hash + Eq + Copy> Recent<K> {
    fn new(capacity: usize) -> Recent<K> {
        Recent {
            flags: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    fn get(&self, key: &K) -> Option<bool> {
        self.flags.get(key).copied()
    }

    fn insert(&mut self, key: K, flag: bool) {
        if self.flags.insert(key, flag).is_none() {
            self.order.push_back(key);
            if self.order.len() > self.capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.flags.remove(&oldest);
                }
            }
        }
    }
}

/// `METHOD route` (the route alone when the method was not recorded).
fn route_of(request: &ServerRequest) -> String {
    if request.method.is_empty() {
        request.route.clone()
    } else {
        format!("{} {}", request.method, request.route)
    }
}

fn key_of(text: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// What a span is to the aggregates: built from the borrowed span where it is parsed (on a parser
/// thread), folded in line order by [`Aggregator::observe_record`].
#[derive(Clone, Debug)]
pub enum Record {
    Run(Run),
    Request(ServerRequest),
    /// A stage, call or adjudication outside any run (an orphan at once).
    Outside,
    InRun {
        run_id: String,
        part: Part,
    },
}

/// A span under a run.
#[derive(Clone, Debug)]
pub enum Part {
    Stage(Stage),
    /// With the span's parent (to find its stage).
    Call(LlmCall, Option<[u8; 8]>),
    Decision(Adjudication, Option<[u8; 8]>),
    /// With the span's id and parent (to find the tools' agents and their stage).
    Agent(AgentCall, [u8; 8], Option<[u8; 8]>),
    Tool(ToolCall, [u8; 8], Option<[u8; 8]>),
    /// Any other span: its id and parent (`#[traced]` functions between a stage and a call).
    Other([u8; 8], Option<[u8; 8]>),
}

impl Record {
    /// The record of a span; `None` for a span of no interest (outside any run, no role).
    pub fn of(span: &SpanRef<'_>) -> Option<Record> {
        let role = Role::of_ref(span);
        match role {
            Role::Request => return Some(Record::Request(ServerRequest::from_span(span))),
            Role::Run => return Some(Record::Run(Run::from_span(span))),
            _ => {}
        }
        let run_id = span.text(attr::RUN_ID);
        if run_id.is_empty() {
            // Outside any run: no run span will ever claim it.
            return (role != Role::Other).then_some(Record::Outside);
        }
        let parent = span.parent_span_id;
        let part = match role {
            Role::Stage => Part::Stage(Stage::from_span(span)),
            Role::Llm => Part::Call(LlmCall::from_span(span), parent),
            Role::Adjudicate => Part::Decision(Adjudication::from_span(span), parent),
            Role::Agent => Part::Agent(AgentCall::from_span(span), span.span_id, parent),
            Role::Tool => Part::Tool(ToolCall::from_span(span), span.span_id, parent),
            _ => Part::Other(span.span_id, parent),
        };
        Some(Record::InRun { run_id, part })
    }
}

/// Folds spans in; [`Aggregator::finish`] gives the [`Summary`].
pub struct Aggregator {
    filters: Filters,
    keep: Keep,
    summary: Summary,
    pending: HashMap<String, Pending>,
    /// The pending runs' ids by the order their first record came (to give up the oldest);
    /// an entry leaves with its run.
    pending_order: BTreeMap<u64, String>,
    next_seq: u64,
    /// Per run read (the latest): whether the filters kept it (by a hash of its id).
    finished: Recent<u64>,
    /// Per trace with a run (the latest): whether a run of it was kept (only when requests
    /// need it).
    traces: Recent<[u8; 16]>,
    /// Records in `pending`.
    pending_records: usize,
    /// Per trace: its place in `pending_request_order`, and its requests.
    pending_requests: HashMap<[u8; 16], (u64, Vec<ServerRequest>)>,
    pending_request_order: BTreeMap<u64, [u8; 16]>,
    pending_request_count: usize,
    latest: BTreeMap<(u64, u64), Run>,
    /// With [`Keep::All`]: every run kept, by `(start, order)`.
    every: Vec<((u64, u64), Run)>,
    max_pending_runs: usize,
    max_pending_records: usize,
}

impl Aggregator {
    pub fn new(filters: Filters, keep: Keep) -> Aggregator {
        Aggregator {
            filters,
            keep,
            summary: Summary::default(),
            pending: HashMap::new(),
            pending_order: BTreeMap::new(),
            next_seq: 0,
            finished: Recent::new(REMEMBERED_RUNS),
            traces: Recent::new(REMEMBERED_RUNS),
            pending_records: 0,
            pending_requests: HashMap::new(),
            pending_request_order: BTreeMap::new(),
            pending_request_count: 0,
            latest: BTreeMap::new(),
            every: Vec::new(),
            max_pending_runs: MAX_PENDING_RUNS,
            max_pending_records: MAX_PENDING_RECORDS,
        }
    }

    /// At most `runs` runs and `records` records wait for their run span (default
    /// [`MAX_PENDING_RUNS`], [`MAX_PENDING_RECORDS`]): the tests' way to reach the limits.
    #[cfg(test)]
    pub fn with_pending_limits(mut self, runs: usize, records: usize) -> Aggregator {
        self.max_pending_runs = runs.max(1);
        self.max_pending_records = records.max(1);
        self
    }

    /// Runs whose records wait for their run span now.
    #[cfg(test)]
    pub fn pending_runs(&self) -> usize {
        self.pending.len()
    }

    /// Whether a request needs its trace's run to be decided (a filter on runs is set).
    fn requests_follow_runs(&self) -> bool {
        self.filters.pipeline.is_some()
            || self.filters.outcome.is_some()
            || self.filters.stage.is_some()
            || self.filters.agent.is_some()
            || self.filters.tool.is_some()
    }

    fn pending(&mut self, run_id: &str) -> &mut Pending {
        if !self.pending.contains_key(run_id) {
            if self.pending.len() >= self.max_pending_runs {
                self.give_up_oldest();
            }
            self.next_seq += 1;
            self.pending_order.insert(self.next_seq, run_id.to_owned());
            let pending = Pending {
                seq: self.next_seq,
                ..Pending::default()
            };
            self.pending.insert(run_id.to_owned(), pending);
        }
        self.pending.get_mut(run_id).expect("inserted above")
    }

    /// The run waiting longest for its run span: its records become orphans.
    fn give_up_oldest(&mut self) {
        if let Some((_, oldest)) = self.pending_order.pop_first() {
            if let Some(given_up) = self.pending.remove(&oldest) {
                self.pending_records -= given_up.held();
                self.summary.orphans += given_up.records();
            }
        }
    }

    /// Takes in one owned span (the tests' way; the commands make each span's [`Record`] where
    /// it is parsed and fold it with [`Aggregator::observe_record`]).
    #[cfg(test)]
    pub fn observe(&mut self, span: &factory_observability_model::Span) {
        if let Some(record) = span.with_ref(Record::of) {
            self.observe_record(record);
        }
    }

    /// Takes in one span's record.
    pub fn observe_record(&mut self, record: Record) {
        let (run_id, part) = match record {
            Record::Request(request) => return self.request(request),
            Record::Run(run) => return self.run(run),
            Record::Outside => {
                self.summary.orphans += 1;
                return;
            }
            Record::InRun { run_id, part } => (run_id, part),
        };
        // A record of a run already decided (it came after its run span).
        if let Some(kept) = self.finished.get(&key_of(&run_id)) {
            if kept {
                self.late(part);
            }
            return;
        }
        let pending = self.pending(&run_id);
        let before = pending.held();
        match part {
            Part::Stage(stage) => pending.stages.push(stage),
            Part::Call(call, parent) => pending.calls.push((call, parent)),
            Part::Decision(decision, parent) => pending.adjudications.push((decision, parent)),
            Part::Agent(invocation, span_id, parent) => {
                pending.agents.push((invocation, parent));
                if let Some(parent) = parent {
                    pending.links.insert(span_id, parent);
                }
            }
            Part::Tool(call, span_id, parent) => {
                pending.tools.push((call, parent));
                if let Some(parent) = parent {
                    pending.links.insert(span_id, parent);
                }
            }
            Part::Other(span_id, parent) => {
                if let Some(parent) = parent {
                    pending.links.insert(span_id, parent);
                }
            }
        }
        self.pending_records += pending.held() - before;
        while self.pending_records > self.max_pending_records {
            self.give_up_oldest();
        }
    }

    /// A record of a run already kept: folded without its stage or agent (its siblings are
    /// gone): only counted when no stage (or agent) is asked for.
    fn late(&mut self, part: Part) {
        let stage_filter = self.filters.stage.clone();
        let agent_filter = self.filters.agent.clone();
        let tool_filter = self.filters.tool.clone();
        match part {
            Part::Agent(invocation, _, _)
                if stage_filter.is_none()
                    && agent_filter.as_ref().is_none_or(|a| a == &invocation.name) =>
            {
                self.fold_agent(&invocation)
            }
            Part::Tool(call, _, _)
                if stage_filter.is_none()
                    && agent_filter.is_none()
                    && tool_filter.as_ref().is_none_or(|t| t == &call.name) =>
            {
                self.fold_tool(&call)
            }
            Part::Stage(stage) if stage_filter.as_ref().is_none_or(|s| s == &stage.name) => {
                self.fold_stage(&stage, Vec::new())
            }
            // Its stage is not known any more: only counted when no stage is asked for.
            Part::Call(call, _) if stage_filter.is_none() => self.fold_call(&call),
            Part::Decision(decision, _) if stage_filter.is_none() => {
                self.fold_adjudication(&decision)
            }
            _ => {}
        }
    }

    /// A run span: the filters decide on the run, its pending records are folded in (or
    /// dropped), and its summary is kept when the command shows it.
    fn run(&mut self, mut run: Run) {
        self.summary.runs_read += 1;
        let mut pending = self.pending.remove(&run.run_id).unwrap_or_default();
        self.pending_order.remove(&pending.seq);
        self.pending_records -= pending.held();
        pending.stages.sort_by_key(|s| s.start_unix_nano);
        let filters = &self.filters;
        let kept = filters.pipeline.as_ref().is_none_or(|p| &run.pipeline == p)
            && filters.outcome.as_ref().is_none_or(|o| &run.outcome == o)
            && filters
                .since
                .is_none_or(|since| run.start_unix_nano >= since)
            && filters
                .stage
                .as_ref()
                .is_none_or(|wanted| pending.stages.iter().any(|s| &s.name == wanted))
            && filters
                .agent
                .as_ref()
                .is_none_or(|wanted| pending.agents.iter().any(|(a, _)| &a.name == wanted))
            && filters
                .tool
                .as_ref()
                .is_none_or(|wanted| pending.tools.iter().any(|(t, _)| &t.name == wanted));
        self.finished.insert(key_of(&run.run_id), kept);
        if self.requests_follow_runs() {
            self.release_requests(run.trace_id, kept);
        }
        if !kept {
            return;
        }
        self.summary.runs_matched += 1;
        let acc = self
            .summary
            .pipelines
            .entry(run.pipeline.clone())
            .or_default();
        acc.durations.add(run.duration_nanos);
        acc.succeeded += u64::from(run.succeeded());
        acc.cost_usd += run.cost_usd.unwrap_or(0.0);

        // What `--stage` keeps: its attempts, and the calls and decisions made under them.
        let stage_filter = self.filters.stage.clone();
        let pending_calls = std::mem::take(&mut pending.calls);
        let pending_adjudications = std::mem::take(&mut pending.adjudications);
        let pending_agents = std::mem::take(&mut pending.agents);
        let pending_tools = std::mem::take(&mut pending.tools);
        let wanted = |name: &str| stage_filter.as_deref().is_none_or(|s| s == name);
        let by_span: HashMap<[u8; 8], usize> = pending
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| (stage.span_id, index))
            .collect();
        let under_wanted_stage = |parent: Option<[u8; 8]>| {
            stage_filter.is_none() || pending.stage_of(&by_span, parent).is_some_and(wanted)
        };
        let calls: Vec<LlmCall> = pending_calls
            .into_iter()
            .filter(|(_, parent)| under_wanted_stage(*parent))
            .map(|(call, _)| call)
            .collect();
        let adjudications: Vec<Adjudication> = pending_adjudications
            .into_iter()
            .filter(|(_, parent)| under_wanted_stage(*parent))
            .map(|(decision, _)| decision)
            .collect();
        let (agents, tools) = agents_and_tools(
            &self.filters,
            pending_agents,
            pending_tools,
            &pending.links,
            &under_wanted_stage,
        );
        let mut flaky = flaky_names(&pending.stages);
        let stages: Vec<Stage> = std::mem::take(&mut pending.stages)
            .into_iter()
            .enumerate()
            .filter(|(_, stage)| wanted(&stage.name))
            .map(|(index, stage)| {
                self.fold_stage(&stage, flaky.remove(&index).unwrap_or_default());
                stage
            })
            .collect();
        calls.iter().for_each(|call| self.fold_call(call));
        adjudications
            .iter()
            .for_each(|decision| self.fold_adjudication(decision));
        agents
            .iter()
            .for_each(|invocation| self.fold_agent(invocation));
        tools.iter().for_each(|call| self.fold_tool(call));

        let shown = match &self.keep {
            Keep::None => false,
            Keep::All | Keep::Latest(_) => true,
            Keep::Matching(ids) => {
                let mut keep = false;
                for id in ids.iter().filter(|id| run.run_id.starts_with(id.as_str())) {
                    let count = self.summary.matches.entry(id.clone()).or_default();
                    *count += 1;
                    keep |= run.run_id == *id || *count <= KEPT_PER_PREFIX;
                }
                keep
            }
        };
        if !shown {
            return;
        }
        if let Keep::Matching(_) = self.keep {
            run.stages = stages;
            run.calls = calls;
            run.adjudications = adjudications;
            run.agents = agents;
            run.tools = tools;
        }
        let key = (run.start_unix_nano, self.summary.runs_matched);
        if let Keep::All = self.keep {
            // Sorted once at the end: a map of every run costs twice the room.
            self.every.push((key, run));
            return;
        }
        self.latest.insert(key, run);
        if let Keep::Latest(n) = self.keep {
            while self.latest.len() > n {
                self.latest.pop_first();
            }
        }
    }

    /// A trace's run was decided: its waiting requests are folded in (when a run of the trace
    /// was kept) or dropped.
    fn release_requests(&mut self, trace_id: [u8; 16], kept: bool) {
        let any_kept = kept || self.traces.get(&trace_id) == Some(true);
        self.traces.insert(trace_id, any_kept);
        if let Some((seq, requests)) = self.pending_requests.remove(&trace_id) {
            self.pending_request_order.remove(&seq);
            self.pending_request_count -= requests.len();
            if any_kept {
                requests.iter().for_each(|r| self.fold_request(r));
            }
        }
    }

    fn fold_agent(&mut self, invocation: &AgentCall) {
        let acc = self
            .summary
            .agents
            .entry(invocation.name.clone())
            .or_default();
        acc.durations.add(invocation.duration_nanos);
        if invocation.failed() {
            acc.failures += 1;
            acc.messages.add(
                invocation.error.as_deref().unwrap_or(&invocation.outcome),
                1,
            );
        }
        acc.llm_calls += invocation.llm_calls;
        acc.input_tokens += invocation.input_tokens;
        acc.output_tokens += invocation.output_tokens;
        acc.cost_usd += invocation.cost_usd.unwrap_or(0.0);
        acc.tool_calls += invocation.tool_calls;
        acc.tool_failures += invocation.tool_failures;
    }

    fn fold_tool(&mut self, call: &ToolCall) {
        let acc = self.summary.tools.entry(call.name.clone()).or_default();
        if acc.tool_type.is_empty() {
            acc.tool_type = call.tool_type.clone();
        }
        acc.durations.add(call.duration_nanos);
        if call.failed() {
            acc.failures += 1;
            acc.messages
                .add(call.error.as_deref().unwrap_or(&call.outcome), 1);
        }
        if !call.agent.is_empty() {
            acc.agents.add(&call.agent, 1);
        }
    }

    fn fold_stage(&mut self, stage: &Stage, flaky_names: Vec<String>) {
        let acc = self.summary.stages.entry(stage.name.clone()).or_default();
        acc.durations.add(stage.duration_nanos);
        if stage.failed() {
            acc.failures += 1;
            for message in stage.failure_messages() {
                acc.messages.add(&message, 1);
            }
        }
        if stage.attempt > 1 {
            acc.retries += 1;
        }
        if let Some(counts) = &stage.tests {
            let tests = acc.tests.get_or_insert_with(TestAcc::default);
            tests.attempts += 1;
            tests.passed += counts.passed;
            tests.failed += counts.failed;
            tests.skipped += counts.skipped;
            tests.flaky += counts.flaky;
            for name in &flaky_names {
                tests.flaky_names.add(name, 1);
            }
        }
    }

    fn fold_call(&mut self, call: &LlmCall) {
        let acc = self
            .summary
            .models
            .entry((call.provider.clone(), call.model.clone()))
            .or_default();
        acc.durations.add(call.duration_nanos);
        acc.input_tokens += call.input_tokens;
        acc.output_tokens += call.output_tokens;
        match call.cost_usd {
            Some(usd) => acc.cost_usd += usd,
            None => acc.unpriced += 1,
        }
    }

    fn fold_adjudication(&mut self, decision: &Adjudication) {
        for (candidate, score) in &decision.scores {
            let acc = self
                .summary
                .candidates
                .entry((decision.name.clone(), candidate.clone()))
                .or_default();
            acc.decisions += 1;
            acc.score_sum += score;
            acc.scores += 1;
        }
        if !decision.selected.is_empty() {
            let acc = self
                .summary
                .candidates
                .entry((decision.name.clone(), decision.selected.clone()))
                .or_default();
            acc.wins += 1;
            if decision.scores.is_empty() {
                acc.decisions += 1;
            }
            if let Some(margin) = decision.margin {
                acc.margin_sum += margin;
                acc.margins += 1;
            }
        }
    }

    fn request(&mut self, request: ServerRequest) {
        self.summary.requests_read += 1;
        if self
            .filters
            .since
            .is_some_and(|since| request.start_unix_nano < since)
        {
            return;
        }
        // A build is joined to its run by its id, not by the request's trace: the product's
        // traffic after the run is in traces of its own. `--pipeline` keeps the builds of runs
        // of that pipeline.
        if let Some(build) = &request.build {
            if self
                .filters
                .pipeline
                .as_ref()
                .is_none_or(|p| &build.pipeline == p)
            {
                let acc = self
                    .summary
                    .builds
                    .entry((build.clone(), request.service.clone(), route_of(&request)))
                    .or_default();
                acc.durations.add(request.duration_nanos);
                acc.errors += u64::from(request.error);
            }
        }
        if !self.requests_follow_runs() {
            self.fold_request(&request);
            return;
        }
        match self.traces.get(&request.trace_id) {
            Some(true) => self.fold_request(&request),
            Some(false) => {}
            None => {
                if self.pending_request_count >= MAX_PENDING_REQUESTS {
                    // Given up: the oldest trace's requests never found a run kept.
                    if let Some((_, oldest)) = self.pending_request_order.pop_first() {
                        if let Some((_, dropped)) = self.pending_requests.remove(&oldest) {
                            self.pending_request_count -= dropped.len();
                        }
                    }
                }
                let trace_id = request.trace_id;
                let (seq, list) = self.pending_requests.entry(trace_id).or_insert_with(|| {
                    self.next_seq += 1;
                    (self.next_seq, Vec::new())
                });
                if list.is_empty() {
                    self.pending_request_order.insert(*seq, trace_id);
                }
                list.push(request);
                self.pending_request_count += 1;
            }
        }
    }

    fn fold_request(&mut self, request: &ServerRequest) {
        self.summary.requests_matched += 1;
        let acc = self
            .summary
            .routes
            .entry((request.service.clone(), route_of(request)))
            .or_default();
        acc.durations.add(request.duration_nanos);
        acc.errors += u64::from(request.error);
    }

    /// The summary, once every span was observed.
    pub fn finish(mut self, stats: ReadStats) -> Summary {
        let read: HashSet<String> = self
            .summary
            .builds
            .keys()
            .map(|(build, _, _)| &build.run_id)
            .filter(|id| self.finished.get(&key_of(id)).is_some())
            .cloned()
            .collect();
        self.summary.build_runs_read = read;
        self.summary.orphans += self.pending.values().map(Pending::records).sum::<u64>();
        let mut runs = Vec::with_capacity(self.latest.len());
        runs.extend(std::mem::take(&mut self.latest).into_values());
        if runs.is_empty() {
            let mut every = std::mem::take(&mut self.every);
            // The keys are unique (a run's start, then its order among the runs kept).
            every.sort_unstable_by_key(|(key, _)| *key);
            runs = every.into_iter().map(|(_, run)| run).collect();
        }
        self.summary.runs = runs;
        self.summary.stats = stats;
        self.summary
    }
}

/// A run's agents and tools under the stage asked for, each tool with the agent it was
/// called under; `--agent` keeps that agent and the tools it called itself, `--tool` that
/// tool.
fn agents_and_tools(
    filters: &Filters,
    agents: Vec<(AgentCall, Option<[u8; 8]>)>,
    tools: Vec<(ToolCall, Option<[u8; 8]>)>,
    links: &HashMap<[u8; 8], [u8; 8]>,
    under_wanted_stage: &dyn Fn(Option<[u8; 8]>) -> bool,
) -> (Vec<AgentCall>, Vec<ToolCall>) {
    let names: HashMap<[u8; 8], String> = agents
        .iter()
        .map(|(a, _)| (a.span_id, a.name.clone()))
        .collect();
    let agent_filter = filters.agent.as_deref();
    let tool_filter = filters.tool.as_deref();
    let mut agents: Vec<AgentCall> = agents
        .into_iter()
        .filter(|(a, parent)| {
            under_wanted_stage(*parent) && agent_filter.is_none_or(|n| n == a.name)
        })
        .map(|(a, _)| a)
        .collect();
    let mut tools: Vec<ToolCall> = tools
        .into_iter()
        .filter(|(_, parent)| under_wanted_stage(*parent))
        .map(|(mut call, parent)| {
            call.agent = agent_above(&names, links, parent).unwrap_or_default();
            call
        })
        .filter(|call| {
            agent_filter.is_none_or(|n| n == call.agent)
                && tool_filter.is_none_or(|n| n == call.name)
        })
        .collect();
    agents.sort_by_key(|a| a.start_unix_nano);
    tools.sort_by_key(|t| t.start_unix_nano);
    (agents, tools)
}

/// Per stage attempt (index in `stages`, in start order) the tests counted flaky by name: those
/// that failed in an earlier attempt of the same retry loop and do not fail in this one, as the
/// runtime counts them (`runtime/src/call/stage.rs`, `FailingTests`). A loop is read back from
/// the attempt numbers: an attempt 1 starts one, and attempt k continues the latest loop of that
/// stage name whose last attempt is k - 1; another first attempt of the same name (another
/// candidate, an unrelated call) is another loop. Names are given only when the attempt's
/// `test.flaky` covers them all (the runtime counts a recovered test only when it is named as
/// passed; tests the runner itself found flaky have no name on the span).
fn flaky_names(stages: &[Stage]) -> HashMap<usize, Vec<String>> {
    struct Loop<'a> {
        name: &'a str,
        last_attempt: i64,
        failing: HashSet<String>,
    }
    let mut loops: Vec<Loop> = Vec::new();
    let mut found = HashMap::new();
    for (index, stage) in stages.iter().enumerate() {
        let Some(tests) = &stage.tests else {
            continue;
        };
        let failing_now: Vec<String> = match &stage.error {
            Some(message) => failed_test_names(message).unwrap_or_default(),
            None => Vec::new(),
        };
        let continued = (stage.attempt > 1)
            .then(|| {
                loops.iter_mut().rev().find(|retry| {
                    retry.name == stage.name && retry.last_attempt == stage.attempt - 1
                })
            })
            .flatten();
        let Some(retry) = continued else {
            loops.push(Loop {
                name: &stage.name,
                last_attempt: stage.attempt,
                failing: failing_now.into_iter().collect(),
            });
            continue;
        };
        retry.last_attempt = stage.attempt;
        let mut recovered: Vec<String> = retry
            .failing
            .iter()
            .filter(|name| !failing_now.contains(name))
            .cloned()
            .collect();
        recovered.sort();
        if !recovered.is_empty() && recovered.len() as i64 <= tests.flaky {
            for name in &recovered {
                retry.failing.remove(name);
            }
            found.insert(index, recovered);
        }
        retry.failing.extend(failing_now);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::run_request;
    use factory_observability_model::Span;

    /// Run `n`'s spans as the reader gives them (factory spans, then the product's), in the order
    /// the generator wrote them: every record before its run span.
    fn spans_of(n: u64) -> Vec<Span> {
        run_request(n)
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| scope.spans.iter().map(move |s| (scope, s)))
            .map(|(scope, span)| {
                let name = scope.scope.as_ref().map(|s| s.name.as_str()).unwrap_or("");
                Span::from_proto(span, name, &Vec::new()).unwrap()
            })
            .collect()
    }

    fn aggregate(spans: impl IntoIterator<Item = Span>, filters: Filters, keep: Keep) -> Summary {
        let mut aggregator = Aggregator::new(filters, keep);
        spans.into_iter().for_each(|span| aggregator.observe(&span));
        aggregator.finish(ReadStats::default())
    }

    fn stage_counts(summary: &Summary) -> Vec<(String, u64, u64)> {
        summary
            .stages
            .iter()
            .map(|(name, acc)| (name.clone(), acc.durations.count(), acc.failures))
            .collect()
    }

    #[test]
    fn records_after_their_run_span_count_as_if_they_came_before() {
        let in_order: Vec<Span> = (0..6).flat_map(spans_of).collect();
        let mut run_first = Vec::new();
        for n in 0..6 {
            let mut spans = spans_of(n);
            let run = spans.iter().position(|s| Role::of(s) == Role::Run).unwrap();
            run_first.push(spans.remove(run));
            run_first.extend(spans);
        }
        let a = aggregate(in_order, Filters::default(), Keep::None);
        let b = aggregate(run_first, Filters::default(), Keep::None);
        assert_eq!(stage_counts(&a), stage_counts(&b));
        assert_eq!(
            stage_counts(&a).iter().map(|s| s.1).sum::<u64>(),
            6 * 7 + 3,
            "7 stage attempts a run, and 3 retries (runs 1, 3, 5)"
        );
        let calls = |s: &Summary| s.models.values().map(|m| m.durations.count()).sum::<u64>();
        // plan 1, implement 3 (and 3 more when retried), rival 3.
        assert_eq!(calls(&a), 6 * 7 + 3 * 3);
        assert_eq!(calls(&a), calls(&b));
        assert_eq!((a.orphans, b.orphans), (0, 0));
        assert_eq!((a.runs_matched, b.runs_matched), (6, 6));
    }

    #[test]
    fn nothing_is_left_waiting_once_the_runs_came() {
        for filters in [
            Filters::default(),
            Filters {
                pipeline: Some("bugfix".into()),
                ..Filters::default()
            },
        ] {
            let mut aggregator = Aggregator::new(filters, Keep::None);
            for n in 0..50 {
                // The product's requests first: they wait for the run with --pipeline.
                let (requests, factory): (Vec<Span>, Vec<Span>) = spans_of(n)
                    .into_iter()
                    .partition(|s| Role::of(s) == Role::Request);
                for span in requests.iter().chain(&factory) {
                    aggregator.observe(span);
                }
            }
            assert_eq!(aggregator.pending.len(), 0);
            assert_eq!(aggregator.pending_records, 0);
            assert_eq!(aggregator.pending_order.len(), 0);
            assert_eq!(aggregator.pending_requests.len(), 0);
            assert_eq!(aggregator.pending_request_order.len(), 0);
            assert_eq!(aggregator.pending_request_count, 0);
            let summary = aggregator.finish(ReadStats::default());
            let requests: u64 = summary.routes.values().map(|r| r.durations.count()).sum();
            // Three requests a run; with --pipeline bugfix, those of its 25 runs.
            assert_eq!(requests, 3 * summary.runs_matched);
        }
    }

    #[test]
    fn only_the_runs_a_command_shows_are_kept() {
        let spans = || (0..20).flat_map(spans_of);
        let none = aggregate(spans(), Filters::default(), Keep::None);
        assert!(none.runs.is_empty());
        assert_eq!(none.runs_read, 20);
        let latest = aggregate(spans(), Filters::default(), Keep::Latest(5));
        let ids: Vec<&str> = latest.runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "run-000015",
                "run-000016",
                "run-000017",
                "run-000018",
                "run-000019"
            ]
        );
        assert!(latest.runs.iter().all(|r| r.stages.is_empty()));
        let matching = aggregate(
            spans(),
            Filters::default(),
            Keep::Matching(vec!["run-000003".into()]),
        );
        assert_eq!(matching.runs.len(), 1);
        let stages: Vec<&str> = matching.runs[0]
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            stages,
            [
                "plan",
                "implement",
                "implement",
                "implement_rival",
                "typecheck",
                "smoke",
                "test",
                "test"
            ]
        );
    }

    #[test]
    fn runs_whose_span_never_comes_wait_up_to_the_limit_then_are_orphans() {
        let mut aggregator =
            Aggregator::new(Filters::default(), Keep::None).with_pending_limits(2, 1_000);
        let mut records = 0;
        for n in 0..5 {
            for span in spans_of(n) {
                if Role::of(&span) != Role::Run {
                    records += u64::from(matches!(
                        Role::of(&span),
                        Role::Stage | Role::Llm | Role::Adjudicate
                    ));
                    aggregator.observe(&span);
                    assert!(aggregator.pending_runs() <= 2);
                }
            }
        }
        assert_eq!(aggregator.pending_runs(), 2);
        let summary = aggregator.finish(ReadStats::default());
        assert_eq!(summary.orphans, records);
        assert_eq!(summary.runs_read, 0);
        assert!(summary.stages.is_empty());
    }

    #[test]
    fn records_waiting_are_bounded_in_number_and_those_outside_a_run_are_orphans_at_once() {
        let stages: Vec<Span> = (0..3)
            .flat_map(spans_of)
            .filter(|s| Role::of(s) == Role::Stage)
            .collect();
        let mut aggregator =
            Aggregator::new(Filters::default(), Keep::None).with_pending_limits(100, 10);
        for span in &stages {
            aggregator.observe(span);
            assert!(aggregator.pending_records <= 10);
        }
        // Runs 0, 1 and 2 have 7, 8 and 7 stage attempts: the first two were given up.
        assert_eq!(aggregator.pending_runs(), 1);
        assert_eq!(aggregator.pending_records, 7);
        let mut outside = stages[0].clone();
        outside.attributes.retain(|(key, _)| key != attr::RUN_ID);
        aggregator.observe(&outside);
        assert_eq!(aggregator.pending_records, 7);
        let summary = aggregator.finish(ReadStats::default());
        assert_eq!(summary.orphans, 7 + 8 + 7 + 1);
    }

    #[test]
    fn recent_forgets_the_oldest_beyond_its_capacity() {
        let mut recent = Recent::new(2);
        recent.insert(1u64, true);
        recent.insert(2, false);
        recent.insert(1, false);
        assert_eq!((recent.get(&1), recent.get(&2)), (Some(false), Some(false)));
        recent.insert(3, true);
        assert_eq!(recent.get(&1), None);
        assert_eq!((recent.get(&2), recent.get(&3)), (Some(false), Some(true)));
    }

    #[test]
    fn a_call_under_a_helper_span_of_a_stage_counts_for_that_stage() {
        let mut spans = spans_of(0);
        let implement = spans
            .iter()
            .find(|s| s.text(attr::STAGE_NAME) == "implement")
            .unwrap()
            .span_id;
        // A `#[traced]` helper between the stage and its first call.
        let call = spans
            .iter()
            .position(|s| Role::of(s) == Role::Llm && s.parent_span_id == Some(implement))
            .unwrap();
        let mut helper = spans[call].clone();
        helper.name = "generate_patch".into();
        helper.span_id = [0xee; 8];
        helper.attributes.retain(|(key, _)| key == attr::RUN_ID);
        spans[call].parent_span_id = Some(helper.span_id);
        spans.insert(call, helper);
        let filters = Filters {
            stage: Some("implement".into()),
            ..Filters::default()
        };
        let mut aggregator = Aggregator::new(filters, Keep::None);
        spans.iter().for_each(|span| aggregator.observe(span));
        assert_eq!(
            aggregator.pending_records, 0,
            "the helper's link left with its run"
        );
        let summary = aggregator.finish(ReadStats::default());
        let calls: Vec<(String, u64)> = summary
            .models
            .iter()
            .map(|((_, model), acc)| (model.clone(), acc.durations.count()))
            .collect();
        assert_eq!(calls, [("gpt-5.3-codex".to_owned(), 3)]);
        assert!(summary.candidates.is_empty());
    }

    #[test]
    fn flaky_tests_are_named_when_the_count_covers_them() {
        let stage = |attempt: i64, error: Option<&str>, flaky: i64| Stage {
            name: "test".into(),
            attempt,
            outcome: if error.is_some() {
                "failure"
            } else {
                "success"
            }
            .into(),
            start_unix_nano: attempt as u64,
            duration_nanos: 1,
            error: error.map(str::to_owned),
            exceptions: Vec::new(),
            tests: Some(factory_observability_model::TestCounts {
                passed: 10,
                failed: i64::from(error.is_some()),
                skipped: 0,
                flaky,
            }),
            span_id: [attempt as u8; 8],
        };
        let stages = [
            stage(1, Some("2 of 12 tests failed: add, undo"), 0),
            stage(2, Some("1 of 12 tests failed: undo"), 1),
            stage(3, None, 1),
        ];
        let found = flaky_names(&stages);
        assert_eq!(found.get(&1), Some(&vec!["add".to_owned()]));
        assert_eq!(found.get(&2), Some(&vec!["undo".to_owned()]));
        // Another candidate's first attempt is another loop, whatever its recorded count.
        let candidates = [
            stage(1, Some("1 of 12 tests failed: undo"), 0),
            stage(1, None, 1),
        ];
        assert!(flaky_names(&candidates).is_empty());
        // The runtime counted none: the names are not claimed.
        let uncounted = [
            stage(1, Some("1 of 12 tests failed: undo"), 0),
            stage(2, None, 0),
        ];
        assert!(flaky_names(&uncounted).is_empty());
    }
}

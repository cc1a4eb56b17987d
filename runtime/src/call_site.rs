//! What a macro knows at compile time about the function it instruments: its [`CallSite`], a
//! `static` of the expansion. Below both the calls that start from it (`call`) and the span
//! records that name it when they are exported (`export::span_record`).

use crate::outcome::OutcomeKind;
use opentelemetry::metrics::BoundHistogram;
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

/// What kind of call a macro instruments; each kind adds its own attributes and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `#[pipeline_run]`: span `pipeline.run`.
    Run,
    /// `#[pipeline_stage]` and `#[pipeline]` methods: span `pipeline.stage`.
    Stage,
    /// `#[llm_call]`: span `llm.call`, kind CLIENT.
    LlmCall,
    /// `#[adjudicate]`: span `pipeline.adjudicate`.
    Adjudicate,
    /// An HTTP request sent with the `reqwest` feature: span `{method}`, kind CLIENT.
    HttpClient,
    /// `#[handler]`: the request's SERVER span under HTTP, else an INTERNAL span named after the
    /// handler (decided at run time, see `call::handler`).
    Handler,
    /// One HTTP request served through `HttpServerLayer`: span `{method} {http.route}`, kind
    /// SERVER (see `call::http_server`).
    HttpServer,
    /// `#[agent]`: span `invoke_agent {name}`, INTERNAL (CLIENT for a remote agent).
    Agent,
    /// `#[tool]`: span `execute_tool {name}`, INTERNAL.
    Tool,
    /// One MCP request sent through `mcp::McpCall`: span `{mcp.method.name} {target}`, kind
    /// CLIENT (see `call::mcp_client`).
    McpClient,
    /// One MCP request served through `mcp::McpRequest::serve`: the same span, kind SERVER,
    /// child of the span the request carried in `params._meta`.
    McpServer,
}

/// Everything a macro knows at compile time about the function it instruments.
#[derive(Debug)]
pub struct CallSite {
    /// The kind of call.
    pub kind: CallKind,
    /// `pipeline.name`, `stage.name`, `adjudication.name`, the `gen_ai.operation.name` of an
    /// LLM call, `gen_ai.agent.name` or `gen_ai.tool.name`.
    pub name: &'static str,
    /// `code.function.name`: the module path and the function's name.
    pub function: &'static str,
    /// Instruments bound to this site's labels.
    pub cache: SiteCache,
}

/// The duration histogram bound to a call site's labels for each outcome, for the process-wide
/// pipeline: binding resolves the attribute set once, not at every call (~50 ns a call). Calls
/// recorded into a `testing::Capture` take the unbound path.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteCache {
    pub(crate) durations: Durations,
    /// The span name of a kind that names its spans after the site (`execute_tool {name}`,
    /// `invoke_agent {name}`), built at the site's first call.
    pub(crate) span_name: OnceLock<Box<str>>,
    /// Whether a call of this site already warned that it started outside any trace.
    pub(crate) warned_orphan: AtomicBool,
    /// A `#[tool]`'s own, set at its first call (allocated for tool sites only).
    pub(crate) tool: OnceLock<Box<ToolSite>>,
}

/// What a `#[tool]` site always records, from the macro's arguments (literals, the same at every
/// call of the site): kept at the site's first call, so that its spans derive them when they
/// are exported (`export::span_record`) and its calls push nothing for them.
#[derive(Debug)]
pub(crate) struct ToolSite {
    /// `gen_ai.tool.type`.
    pub kind: &'static str,
    /// `gen_ai.tool.description` (empty: not recorded).
    pub description: &'static str,
    /// `gen_ai.execute_tool.duration` bound per enclosing agent (`gen_ai.agent.name`) and
    /// outcome, for the first [`TOOL_BOUND_AGENTS`] agents that call the tool; calls under
    /// others are recorded unbound. A call under no agent uses [`SiteCache::durations`].
    durations_by_agent: [OnceLock<(&'static str, Durations)>; TOOL_BOUND_AGENTS],
}

/// How many agents of one tool get bound duration histograms: a tool is mostly called by one or
/// two agents.
const TOOL_BOUND_AGENTS: usize = 4;

/// One duration histogram per outcome.
pub(crate) type Durations = [OnceLock<BoundHistogram<f64>>; OutcomeKind::COUNT];

impl ToolSite {
    pub(crate) fn new(kind: &'static str, description: &'static str) -> Self {
        ToolSite {
            kind,
            description,
            durations_by_agent: Default::default(),
        }
    }

    /// The duration histograms of calls under the agent named `agent`, unless every slot is
    /// taken by other agents. Slots are claimed without a lock: a thread that loses the race
    /// for one to another agent tries the next.
    pub(crate) fn durations_under(&self, agent: &'static str) -> Option<&Durations> {
        self.durations_by_agent.iter().find_map(|slot| {
            let (name, durations) = slot.get_or_init(|| (agent, Default::default()));
            (std::ptr::eq(*name, agent) || *name == agent).then_some(durations)
        })
    }
}

impl SiteCache {
    /// An empty cache, for the macros' `static` call sites.
    #[allow(clippy::new_without_default)] // used in statics, where only a const fn will do
    pub const fn new() -> Self {
        SiteCache {
            durations: [const { OnceLock::new() }; OutcomeKind::COUNT],
            span_name: OnceLock::new(),
            warned_orphan: AtomicBool::new(false),
            tool: OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_binds_its_durations_for_its_first_agents_and_each_agent_keeps_its_own() {
        let tool = ToolSite::new("function", "");
        let coder = tool.durations_under("coder").unwrap() as *const Durations;
        // The same name from another string (another `#[agent]` site named alike): the same
        // labels, the same histograms.
        let again = String::from("coder").leak();
        assert_eq!(tool.durations_under(again).unwrap() as *const _, coder);
        let others: Vec<*const Durations> = ["reviewer", "planner", "tester"]
            .into_iter()
            .map(|name| tool.durations_under(name).unwrap() as *const _)
            .collect();
        assert!(others.iter().all(|other| *other != coder));
        assert_ne!(others[0], others[1]);
        // Past the slots: recorded unbound.
        assert!(tool.durations_under("fifth").is_none());
        assert_eq!(tool.durations_under("coder").unwrap() as *const _, coder);
    }
}

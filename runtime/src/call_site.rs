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
    pub(crate) durations: [OnceLock<BoundHistogram<f64>>; OutcomeKind::COUNT],
    /// The span name of a kind that names its spans after the site (`execute_tool {name}`,
    /// `invoke_agent {name}`), built at the site's first call.
    pub(crate) span_name: OnceLock<Box<str>>,
    /// Whether a call of this site already warned that it started outside any trace.
    pub(crate) warned_orphan: AtomicBool,
}

impl SiteCache {
    /// An empty cache, for the macros' `static` call sites.
    #[allow(clippy::new_without_default)] // used in statics, where only a const fn will do
    pub const fn new() -> Self {
        SiteCache {
            durations: [const { OnceLock::new() }; OutcomeKind::COUNT],
            span_name: OnceLock::new(),
            warned_orphan: AtomicBool::new(false),
        }
    }
}

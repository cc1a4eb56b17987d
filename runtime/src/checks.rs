//! Compile-time checks of the macros' expansions, which need the runtime's knowledge.
//!
//! **Reserved keys**: the attribute keys each macro records itself, which `fields(...)` may not
//! reuse. The names come from [`crate::names::attr`], their one source of truth. A proc-macro
//! crate cannot read them, so the macros ask at compile time: for every `fields(key = ...)` they
//! emit `const _: () = assert!(!reserved_key(CallKind::Stage, "key"), "...")`, spanned at the
//! key, and a reserved key fails the build there.
//!
//! **Usage functions**: `#[llm_call(usage = f)]` goes through [`usage_with`], whose bound names
//! what `f` must return.

use crate::call::CallKind;
use crate::names::{agent, attr, handler, http_server};
use crate::usage::{LlmResponse, Usage};

/// What a `#[llm_call(usage = ...)]` function may return.
#[diagnostic::on_unimplemented(
    message = "the `usage` function of `#[llm_call]` returns `{Self}`, not token usage",
    label = "this returns `{Self}`",
    note = "return `factory_observability::Usage` or `Option<Usage>`, e.g. `usage = |reply: &Reply| Some(Usage::new(reply.input_tokens, reply.output_tokens))`"
)]
pub trait UsageRead {
    /// The usage, if the response reported one.
    fn into_usage(self) -> Option<Usage>;
}

impl UsageRead for Usage {
    fn into_usage(self) -> Option<Usage> {
        Some(self)
    }
}

impl UsageRead for Option<Usage> {
    fn into_usage(self) -> Option<Usage> {
        self
    }
}

/// `#[llm_call(usage = read)]`: the usage `read` finds in the returned value.
pub fn usage_with<R: ?Sized, U: UsageRead>(value: &R, read: impl FnOnce(&R) -> U) -> LlmResponse {
    LlmResponse::read_with(value, |value| read(value).into_usage())
}

/// Recorded on the span of every kind of call.
const EVERY_CALL: &[&str] = &[attr::CODE_FUNCTION_NAME, attr::ERROR_TYPE, attr::RUN_ID];

/// Recorded by `#[pipeline_run]`.
const RUN: &[&str] = &[
    attr::PIPELINE_NAME,
    attr::RUN_TIMESTAMP,
    attr::RUN_OUTCOME,
    attr::RUN_DURATION_MS,
    attr::RUN_LLM_CALLS,
    attr::RUN_LLM_UNPRICED_CALLS,
    attr::RUN_TOKENS_INPUT,
    attr::RUN_TOKENS_OUTPUT,
    attr::RUN_COST_USD,
];

/// Recorded by `#[pipeline_stage]`, besides the whole `test.*` namespace of `TestReport` stages.
const STAGE: &[&str] = &[
    attr::STAGE_NAME,
    attr::STAGE_OUTCOME,
    attr::STAGE_DURATION_MS,
    attr::STAGE_ATTEMPT,
];

/// Recorded on a request's SERVER span, which a `#[handler]` under HTTP enriches.
const HTTP_SERVER: &[&str] = &[
    http_server::HTTP_REQUEST_METHOD,
    http_server::HTTP_REQUEST_METHOD_ORIGINAL,
    http_server::HTTP_ROUTE,
    http_server::HTTP_RESPONSE_STATUS_CODE,
    http_server::URL_SCHEME,
    http_server::URL_PATH,
    http_server::SERVER_ADDRESS,
    http_server::SERVER_PORT,
    http_server::NETWORK_PROTOCOL_VERSION,
    http_server::USER_AGENT_ORIGINAL,
    http_server::CLIENT_ADDRESS,
];

/// Whether `#[pipeline_run]`, `#[pipeline_stage]`, `#[llm_call]` or `#[adjudicate]` (`kind`)
/// records `key` itself, so that `fields(key = ...)` would collide with it. Whole namespaces are
/// reserved where the macro owns them: `test.*` for stages, `llm.*` and `gen_ai.*` for LLM calls,
/// `adjudication.*` for adjudications.
pub const fn reserved_key(kind: CallKind, key: &str) -> bool {
    let key = key.as_bytes();
    if any_equal(EVERY_CALL, key) {
        return true;
    }
    match kind {
        CallKind::Run => any_equal(RUN, key),
        CallKind::Stage => any_equal(STAGE, key) || same_namespace(key, attr::TEST_PASSED),
        CallKind::LlmCall => {
            same_namespace(key, attr::LLM_PROVIDER)
                || same_namespace(key, attr::GEN_AI_OPERATION_NAME)
        }
        CallKind::Adjudicate => same_namespace(key, attr::ADJUDICATION_PREFIX),
        CallKind::HttpClient | CallKind::McpClient | CallKind::McpServer => false,
        // The conventions' `gen_ai.*` namespace, and our `agent.*` / `tool.*` totals.
        CallKind::Agent => {
            same_namespace(key, attr::GEN_AI_OPERATION_NAME)
                || same_namespace(key, agent::AGENT_OUTCOME)
        }
        CallKind::Tool => {
            same_namespace(key, attr::GEN_AI_OPERATION_NAME)
                || same_namespace(key, agent::TOOL_OUTCOME)
        }
        // A handler under HTTP records onto its request's span: the HTTP attributes are its own.
        CallKind::Handler | CallKind::HttpServer => {
            same_namespace(key, handler::HANDLER_NAME) || any_equal(HTTP_SERVER, key)
        }
    }
}

const fn any_equal(names: &[&str], key: &[u8]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if equal(names[i].as_bytes(), key) {
            return true;
        }
        i += 1;
    }
    false
}

const fn equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `key` lies in the namespace of `name`: both start with the same segment followed by a
/// dot (`test.passed` and `test.mine`).
const fn same_namespace(key: &[u8], name: &str) -> bool {
    let name = name.as_bytes();
    let mut i = 0;
    while i < name.len() {
        if i >= key.len() || key[i] != name[i] {
            return false;
        }
        if name[i] == b'.' {
            return true;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reserves_what_it_records() {
        for key in [
            "stage.name",
            "stage.outcome",
            "stage.duration_ms",
            "stage.attempt",
            "test.passed",
            "test.mine",
            "run.id",
            "code.function.name",
            "error.type",
        ] {
            assert!(reserved_key(CallKind::Stage, key), "{key}");
        }
        for key in [
            "stage.files",
            "stage",
            "tests.passed",
            "test",
            "app.stage_name",
        ] {
            assert!(!reserved_key(CallKind::Stage, key), "{key}");
        }
        for key in [
            "pipeline.name",
            "run.id",
            "run.timestamp",
            "run.outcome",
            "run.duration_ms",
            "run.llm.calls",
            "run.tokens.input",
            "run.tokens.output",
            "run.cost_usd",
            "run.llm.unpriced_calls",
        ] {
            assert!(reserved_key(CallKind::Run, key), "{key}");
        }
        assert!(!reserved_key(CallKind::Run, "run.spec"));
        assert!(!reserved_key(CallKind::Run, "stage.name"));
        for key in [
            "llm.model",
            "llm.anything",
            "gen_ai.request.model",
            "gen_ai.x",
        ] {
            assert!(reserved_key(CallKind::LlmCall, key), "{key}");
        }
        assert!(!reserved_key(CallKind::LlmCall, "llmx.model"));
        assert!(!reserved_key(CallKind::LlmCall, "app.llm"));
        assert!(reserved_key(CallKind::Adjudicate, "adjudication.selected"));
        assert!(reserved_key(
            CallKind::Adjudicate,
            "adjudication.codex_score"
        ));
        assert!(!reserved_key(CallKind::Adjudicate, "adjudicator.name"));
    }

    // What the macros emit, evaluated at compile time.
    #[test]
    fn agents_and_tools_own_the_genai_namespace_and_their_outcome() {
        for key in [
            "gen_ai.agent.name",
            "gen_ai.conversation.id",
            "agent.tool.calls",
        ] {
            assert!(reserved_key(CallKind::Agent, key), "{key}");
        }
        for key in ["gen_ai.tool.call.arguments", "tool.outcome"] {
            assert!(reserved_key(CallKind::Tool, key), "{key}");
        }
        assert!(!reserved_key(CallKind::Agent, "app.task"));
        assert!(!reserved_key(CallKind::Tool, "tool_file.path"));
    }

    const _: () = assert!(reserved_key(CallKind::Stage, "stage.name"));
    const _: () = assert!(!reserved_key(CallKind::Stage, "stage.files"));
}

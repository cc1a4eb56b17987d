//! One MCP request as the client sends it (OpenTelemetry MCP conventions,
//! `semantic-conventions-genai`, `mcp.md`, "Client"): span `{mcp.method.name} {target}`
//! (`tools/call edit_file`), kind CLIENT, with the method, request and session ids, protocol
//! version and transport at the start; the JSON-RPC error or the tool's `isError` at the end,
//! and the histogram `mcp.client.operation.duration`. A request a Rust server serves is the same
//! span of kind SERVER ("Server"), without a metric (`mcp.server.operation.duration` is not
//! recorded).

use super::agent::conversation_of;
use super::span::CallSpan;
use super::{Active, KindState, Opening};
use crate::names::{agent, attr, mcp};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue, StringValue};
use std::borrow::Cow;
use std::time::Duration;

/// How the client reaches the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum McpTransport {
    /// JSON-RPC over a child's stdin and stdout: `network.transport` = `pipe`.
    Stdio,
    /// Streamable HTTP: `network.transport` = `tcp`, `network.protocol.name` = `http`, and the
    /// server's address and port.
    Http {
        /// `server.address`.
        address: String,
        /// `server.port`.
        port: u16,
    },
}

/// What an MCP request is, known before it is sent.
#[derive(Clone, Debug)]
pub(crate) struct McpTarget {
    pub method: StringValue,
    /// `gen_ai.tool.name` of a `tools/call`, `gen_ai.prompt.name` of a `prompts/get`.
    pub target: Option<StringValue>,
    pub request_id: Option<StringValue>,
    pub session_id: Option<StringValue>,
    pub protocol_version: Option<StringValue>,
    pub transport: Option<McpTransport>,
}

/// What the client read in the response.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct McpResponse {
    /// The JSON-RPC error's code, when the response is an error.
    pub error_code: Option<i64>,
}

/// What the end needs of the start: the metric's labels known then.
#[derive(Debug)]
pub(crate) struct McpState {
    labels: Vec<KeyValue>,
    /// A client's request (a server's records no metric).
    client: bool,
}

pub(crate) fn open(
    parent: &Context,
    target: Option<McpTarget>,
    span_kind: SpanKind,
    attributes: &mut Vec<KeyValue>,
) -> Opening {
    let target = target.unwrap_or(McpTarget {
        method: StringValue::from("unknown"),
        target: None,
        request_id: None,
        session_id: None,
        protocol_version: None,
        transport: None,
    });
    let is_tool_call = target.method.as_str() == mcp::TOOLS_CALL;
    let name = match &target.target {
        Some(on) => Cow::Owned(format!("{} {}", target.method.as_str(), on.as_str())),
        None => Cow::Owned(target.method.as_str().to_owned()),
    };
    let mut labels = vec![KeyValue::new(mcp::MCP_METHOD_NAME, target.method.clone())];
    if let Some(on) = &target.target {
        let key = match target.method.as_str() {
            mcp::PROMPTS_GET => mcp::GEN_AI_PROMPT_NAME,
            _ => agent::GEN_AI_TOOL_NAME,
        };
        labels.push(KeyValue::new(key, on.clone()));
    }
    if is_tool_call {
        labels.push(KeyValue::new(
            attr::GEN_AI_OPERATION_NAME,
            agent::EXECUTE_TOOL,
        ));
    }
    if let Some(version) = &target.protocol_version {
        labels.push(KeyValue::new(mcp::MCP_PROTOCOL_VERSION, version.clone()));
    }
    match &target.transport {
        Some(McpTransport::Stdio) => {
            labels.push(KeyValue::new(mcp::NETWORK_TRANSPORT, mcp::TRANSPORT_PIPE));
        }
        Some(McpTransport::Http { address, port }) => {
            labels.push(KeyValue::new(mcp::NETWORK_TRANSPORT, mcp::TRANSPORT_TCP));
            labels.push(KeyValue::new(
                mcp::NETWORK_PROTOCOL_NAME,
                mcp::PROTOCOL_HTTP,
            ));
            // On the span only: an address and a port are not what the metric is cut by.
            attributes.push(KeyValue::new(mcp::SERVER_ADDRESS, address.clone()));
            attributes.push(KeyValue::new(mcp::SERVER_PORT, i64::from(*port)));
        }
        None => {}
    }
    attributes.extend(labels.iter().cloned());
    if let Some(id) = target.request_id {
        attributes.push(KeyValue::new(mcp::JSONRPC_REQUEST_ID, id));
    }
    if let Some(session) = target.session_id {
        attributes.push(KeyValue::new(mcp::MCP_SESSION_ID, session));
    }
    if let Some(conversation) = conversation_of(parent) {
        attributes.push(KeyValue::new(agent::GEN_AI_CONVERSATION_ID, conversation));
    }
    Opening {
        name,
        state: KindState::McpClient(Box::new(McpState {
            labels,
            client: span_kind == SpanKind::Client,
        })),
        span_kind,
        context_value: None,
        opens_span: true,
    }
}

/// The JSON-RPC error code on the span, and the duration histogram.
pub(crate) fn end(
    active: &Active,
    span: &mut CallSpan,
    state: &McpState,
    response: &McpResponse,
    outcome: OutcomeKind,
    error_type: Option<Cow<'static, str>>,
    elapsed: Duration,
) {
    let mut labels = state.labels.clone();
    if let Some(code) = response.error_code {
        let code = KeyValue::new(mcp::RPC_RESPONSE_STATUS_CODE, code.to_string());
        span.set_attribute(code.clone());
        labels.push(code);
    }
    if let Some(error_type) = error_type {
        labels.push(KeyValue::new(
            attr::ERROR_TYPE,
            super::cow_value(error_type),
        ));
    }
    if !state.client {
        return;
    }
    labels.push(KeyValue::new(attr::OUTCOME, outcome.as_str()));
    active
        .dispatch
        .instruments
        .mcp_client_duration
        .record(elapsed.as_secs_f64(), &labels);
}

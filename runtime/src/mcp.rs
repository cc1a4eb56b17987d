//! MCP (Model Context Protocol) requests in the current trace, for any MCP client.
//!
//! MCP carries trace context in each request's `params._meta` as `traceparent`, `tracestate`
//! and `baggage`, in W3C formats (MCP specification, "`_meta`", reserved keys; OpenTelemetry MCP
//! conventions, `mcp.md`, "Context propagation"). The official SDKs' servers (the Python SDK's
//! does) open their SERVER span as a child of the span found there.
//!
//! - [`inject`] writes the current context into a `_meta` map (a `serde_json::Map`, as the
//!   official Rust SDK's `RequestMetaObject` holds), leaving its other keys alone;
//!   [`inject_into_request`] into a JSON-RPC request, creating `params._meta` if needed.
//! - [`McpRequest`] sends one request under a CLIENT span `{mcp.method.name} {target}`
//!   (`tools/call edit_file`) with the MCP conventions' attributes, injects that span's
//!   context (so the server's span is its child), and reads the response: a JSON-RPC error is
//!   `error.type` and `rpc.response.status_code` (its code), a tool result with `isError: true`
//!   is `error.type` = `tool_error`; the histogram `mcp.client.operation.duration`.
//! - [`McpRequest::serve`] serves a request in a Rust MCP server under a SERVER span whose
//!   parent is the span in `params._meta`; [`extract`] gives the context a request carries to
//!   any other server code.
//!
//! ```
//! use factory_observability::mcp::McpRequest;
//! use serde_json::json;
//!
//! # fn write_line(_: &serde_json::Value) -> std::io::Result<serde_json::Value> {
//! #     Ok(json!({"jsonrpc": "2.0", "id": 7, "result": {"content": [], "isError": false}}))
//! # }
//! let mut request = json!({
//!     "jsonrpc": "2.0", "id": 7, "method": "tools/call",
//!     "params": {"name": "lint", "arguments": {"path": "src/lib.rs"}},
//! });
//! // `McpRequest::of` reads the method, the id and the tool's name from the request.
//! let response = McpRequest::of(&request)
//!     .stdio()
//!     .send(&mut request, |request| write_line(request))?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub use crate::call::mcp_client::McpTransport;
use crate::call::mcp_client::{McpResponse, McpTarget};
use crate::call::{Call, CallKind, CallSite, Ending, SiteCache, SyncCall};
use crate::names::mcp;
use crate::outcome::{ErrorDetails, OutcomeKind, Report};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::{Context, StringValue};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;

/// Every request sent through [`McpRequest`] is one call of this site.
static SITE: CallSite = CallSite {
    kind: CallKind::McpClient,
    name: "mcp.client",
    function: "",
    cache: SiteCache::new(),
};

/// Every request served through [`McpRequest::serve`] is one call of this site.
static SERVER_SITE: CallSite = CallSite {
    kind: CallKind::McpServer,
    name: "mcp.server",
    function: "",
    cache: SiteCache::new(),
};

/// Writes the current context into a request's `_meta` map (see [`inject_context`]).
pub fn inject(meta: &mut Map<String, Value>) {
    inject_context(&Context::current(), meta);
}

/// Writes `cx` into a request's `_meta` map through the process-wide propagator (W3C
/// `traceparent`, `tracestate`, `baggage` unless the program installed another one). Stale
/// values of those three keys are removed first; other keys are left alone.
pub fn inject_context(cx: &Context, meta: &mut Map<String, Value>) {
    for key in [
        mcp::META_TRACEPARENT,
        mcp::META_TRACESTATE,
        mcp::META_BAGGAGE,
    ] {
        meta.remove(key);
    }
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut MetaInjector(meta));
    });
}

/// Writes the current context into a JSON-RPC request's `params._meta`, creating `params` and
/// `_meta` when the request has none. A request whose `params` is not an object (MCP requests
/// always have an object) is left as it is.
pub fn inject_into_request(request: &mut Value) {
    inject_into_request_with(&Context::current(), request);
}

fn inject_into_request_with(cx: &Context, request: &mut Value) {
    let Some(request) = request.as_object_mut() else {
        return;
    };
    let params = request
        .entry("params")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(params) = params.as_object_mut() else {
        return;
    };
    let meta = params
        .entry(mcp::META)
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        inject_context(cx, meta);
    }
}

/// The context a request's `_meta` map carries, on top of the current one: for a Rust MCP
/// server, the parent of its span. Values that are not strings are ignored.
pub fn extract(meta: &Map<String, Value>) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&MetaExtractor(meta))
    })
}

/// The context a JSON-RPC request carries in `params._meta` (the current one when it has none).
pub fn extract_from_request(request: &Value) -> Context {
    match request
        .get("params")
        .and_then(|params| params.get(mcp::META))
        .and_then(Value::as_object)
    {
        Some(meta) => extract(meta),
        None => Context::current(),
    }
}

struct MetaInjector<'a>(&'a mut Map<String, Value>);

impl Injector for MetaInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), Value::String(value));
    }
}

struct MetaExtractor<'a>(&'a Map<String, Value>);

impl Extractor for MetaExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// One MCP request, sent under a CLIENT span (see the [module](self)).
#[derive(Clone, Debug)]
#[must_use = "a request is traced only when it is sent through `send` or `send_async`"]
pub struct McpRequest {
    target: McpTarget,
}

impl McpRequest {
    /// A request of `method` (`tools/call`, `initialize`, ...).
    pub fn new(method: impl Into<String>) -> McpRequest {
        McpRequest {
            target: McpTarget {
                method: StringValue::from(method.into()),
                target: None,
                request_id: None,
                session_id: None,
                protocol_version: None,
                transport: None,
            },
        }
    }

    /// What a JSON-RPC request says of itself: its `method`, its `id` (absent for a
    /// notification), and for `tools/call` and `prompts/get` the `params.name` they target.
    pub fn of(request: &Value) -> McpRequest {
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let mut built = McpRequest::new(method);
        if let Some(id) = request.get("id").filter(|id| !id.is_null()) {
            built.target.request_id = Some(StringValue::from(match id {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            }));
        }
        if matches!(method, mcp::TOOLS_CALL | mcp::PROMPTS_GET) {
            if let Some(name) = request
                .get("params")
                .and_then(|params| params.get("name"))
                .and_then(Value::as_str)
            {
                built.target.target = Some(StringValue::from(name.to_owned()));
            }
        }
        built
    }

    /// The tool (`tools/call`) or prompt (`prompts/get`) the request targets: the span is named
    /// `{method} {target}`.
    pub fn target(mut self, name: impl Into<String>) -> McpRequest {
        self.target.target = Some(StringValue::from(name.into()));
        self
    }

    /// `jsonrpc.request.id`.
    pub fn request_id(mut self, id: impl Display) -> McpRequest {
        self.target.request_id = Some(StringValue::from(id.to_string()));
        self
    }

    /// `mcp.session.id`: the session the server gave (`Mcp-Session-Id` over HTTP).
    pub fn session_id(mut self, id: impl Into<String>) -> McpRequest {
        self.target.session_id = Some(StringValue::from(id.into()));
        self
    }

    /// `mcp.protocol.version`: the version negotiated at `initialize`.
    pub fn protocol_version(mut self, version: impl Into<String>) -> McpRequest {
        self.target.protocol_version = Some(StringValue::from(version.into()));
        self
    }

    /// Sent over stdio (`network.transport` = `pipe`).
    pub fn stdio(mut self) -> McpRequest {
        self.target.transport = Some(McpTransport::Stdio);
        self
    }

    /// Sent over streamable HTTP to `address:port` (`network.transport` = `tcp`).
    pub fn http(mut self, address: impl Into<String>, port: u16) -> McpRequest {
        self.target.transport = Some(McpTransport::Http {
            address: address.into(),
            port,
        });
        self
    }

    /// Sends `request` with `send` under the request's CLIENT span: the span's context is
    /// injected into `request`'s `params._meta` first; `send` returns the JSON-RPC response
    /// (`Value::Null` for a notification), or a transport error.
    pub fn send<E: Display>(
        self,
        request: &mut Value,
        send: impl FnOnce(&Value) -> Result<Value, E>,
    ) -> Result<Value, E> {
        let target = self.target;
        SyncCall::start(&SITE, |fields| fields.mcp_target(target)).run(
            || {
                // The current context is the CLIENT span's (the caller's when nothing is
                // installed, still propagated).
                inject_into_request(request);
                send(request)
            },
            ending,
        )
    }

    /// Serves `request` (a Rust MCP server's side) under a SERVER span `{method} {target}`
    /// whose parent is the span the request carries in `params._meta`, with the conversation
    /// its baggage names; `handle` runs in that span's context and returns the JSON-RPC
    /// response, whose error or `isError` the span records as the client's does.
    pub fn serve(self, request: &Value, handle: impl FnOnce() -> Value) -> Value {
        let _parent = extract_from_request(request).attach();
        let target = self.target;
        SyncCall::start(&SERVER_SITE, |fields| fields.mcp_target(target))
            .run(handle, response_ending)
    }

    /// As [`McpRequest::send`], for an async transport.
    pub async fn send_async<E, F>(
        self,
        mut request: Value,
        send: impl FnOnce(Value) -> F,
    ) -> Result<Value, E>
    where
        E: Display,
        F: Future<Output = Result<Value, E>>,
    {
        let target = self.target;
        Call::start(&SITE, |fields| fields.mcp_target(target))
            .instrument(
                async move {
                    inject_into_request(&mut request);
                    send(request).await
                },
                ending,
            )
            .await
    }
}

/// The call's ending: a JSON-RPC error is a failure whose `error.type` is its code; a tool
/// result with `isError: true` a failure of type `tool_error`; a transport error a failure of
/// its type.
fn ending<E: Display>(result: &Result<Value, E>) -> Ending {
    match result {
        Ok(response) => response_ending(response),
        Err(error) => Ending::from((
            failure(
                Cow::Borrowed(std::any::type_name::<E>()),
                crate::faults::guarded_text("Display", || error.to_string()),
            ),
            McpResponse::default(),
        )),
    }
}

fn failure(type_name: Cow<'static, str>, message: String) -> Report {
    Report {
        outcome: OutcomeKind::Failure,
        error: Some(ErrorDetails { type_name, message }),
        message: None,
    }
}

/// The ending of a response (OpenTelemetry MCP conventions, "Client": `error.type` is the
/// JSON-RPC error code, or `tool_error` for a `CallToolResult` with `isError`; the status
/// description is the error's message).
fn response_ending(response: &Value) -> Ending {
    if let Some(error) = response.get("error") {
        let code = error.get("code").and_then(Value::as_i64);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let type_name = code.map_or(Cow::Borrowed("_OTHER"), |code| Cow::Owned(code.to_string()));
        return Ending::from((
            failure(type_name, message),
            McpResponse { error_code: code },
        ));
    }
    let result = response.get("result");
    if result
        .and_then(|r| r.get("isError"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        // The tool's own error text, when it gave one.
        let message = result
            .and_then(|r| r.get("content"))
            .and_then(Value::as_array)
            .and_then(|content| content.iter().find_map(|c| c.get("text")?.as_str()))
            .unwrap_or_default()
            .to_owned();
        return Ending::from((
            failure(Cow::Borrowed(mcp::ERROR_TOOL), message),
            McpResponse::default(),
        ));
    }
    Ending::from((Report::of(OutcomeKind::Success), McpResponse::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carriers::W3cPropagator;
    use crate::testing::Capture;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::KeyValue;
    use serde_json::json;

    fn remote() -> Context {
        Context::new()
            .with_remote_span_context(SpanContext::new(
                TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
                SpanId::from(0x00f0_67aa_0ba9_02b7),
                TraceFlags::SAMPLED,
                true,
                TraceState::from_key_value([("rojo", "00f067aa0ba902b7")]).unwrap(),
            ))
            .with_baggage([KeyValue::new("gen_ai.conversation.id", "conv-7")])
    }

    /// MCP specification, `_meta` reserved keys: `traceparent`, `tracestate`, `baggage`,
    /// unprefixed, in W3C formats; the other keys of `_meta` are the client's.
    #[test]
    fn the_three_reserved_keys_are_written_and_the_others_kept() {
        opentelemetry::global::set_text_map_propagator(W3cPropagator::default());
        let mut meta = Map::new();
        meta.insert("progressToken".into(), json!(7));
        meta.insert("traceparent".into(), json!("00-stale"));
        inject_context(&remote(), &mut meta);
        assert_eq!(
            Value::Object(meta.clone()),
            json!({
                "progressToken": 7,
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "tracestate": "rojo=00f067aa0ba902b7",
                "baggage": "gen_ai.conversation.id=conv-7",
            })
        );
        let cx = extract(&meta);
        assert_eq!(
            cx.span().span_context().span_id(),
            SpanId::from(0x00f0_67aa_0ba9_02b7)
        );
        assert!(cx.span().span_context().is_remote());
        assert_eq!(
            cx.baggage()
                .get("gen_ai.conversation.id")
                .map(|v| v.as_str()),
            Some("conv-7")
        );
        // A request without params gets them.
        let mut request = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        inject_into_request_with(&remote(), &mut request);
        assert_eq!(
            request["params"]["_meta"]["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let _ = W3cPropagator::default().fields();
    }

    #[test]
    fn a_request_is_a_client_span_whose_context_the_request_carries() {
        opentelemetry::global::set_text_map_propagator(W3cPropagator::default());
        let capture = Capture::new();
        let mut request = json!({
            "jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "lint", "arguments": {}},
        });
        let mut sent = Value::Null;
        let response = capture
            .run(|| {
                McpRequest::of(&request)
                    .session_id("s-1")
                    .protocol_version("2025-11-25")
                    .http("127.0.0.1", 8931)
                    .send(&mut request, |request| {
                        sent = request.clone();
                        Ok::<_, std::io::Error>(json!({"jsonrpc": "2.0", "id": 3,
                            "result": {"isError": true, "content": [{"type": "text", "text": "lint failed"}]}}))
                    })
            })
            .unwrap();
        assert_eq!(response["result"]["isError"], true);
        let spans = capture.spans();
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.name, "tools/call lint");
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.status, Status::error("lint failed"));
        for (key, value) in [
            ("mcp.method.name", "tools/call"),
            ("gen_ai.tool.name", "lint"),
            ("gen_ai.operation.name", "execute_tool"),
            ("jsonrpc.request.id", "3"),
            ("mcp.session.id", "s-1"),
            ("mcp.protocol.version", "2025-11-25"),
            ("network.transport", "tcp"),
            ("network.protocol.name", "http"),
            ("server.address", "127.0.0.1"),
            ("server.port", "8931"),
            ("error.type", "tool_error"),
        ] {
            assert_eq!(span.attr(key).as_deref(), Some(value), "{key}: {span:#?}");
        }
        // Flags `03`: sampled, and a trace id that is random (W3C Trace Context Level 2).
        assert_eq!(
            sent["params"]["_meta"]["traceparent"],
            format!("00-{}-{}-03", span.trace_id, span.span_id)
        );
        let points = capture.metric("mcp.client.operation.duration");
        assert_eq!(points.len(), 1);
        assert_eq!(
            format!("{:?}", points[0].attributes),
            r#"{"error.type": "tool_error", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lint", "mcp.method.name": "tools/call", "mcp.protocol.version": "2025-11-25", "network.protocol.name": "http", "network.transport": "tcp", "outcome": "failure"}"#
        );
    }

    #[test]
    fn a_jsonrpc_error_is_its_code() {
        let capture = Capture::new();
        let mut request = json!({"jsonrpc": "2.0", "id": "a-1", "method": "prompts/get",
            "params": {"name": "review"}});
        capture
            .run(|| {
                McpRequest::of(&request).stdio().send(&mut request, |_| {
                    Ok::<_, std::io::Error>(json!({"jsonrpc": "2.0", "id": "a-1",
                        "error": {"code": -32602, "message": "Unknown prompt: review"}}))
                })
            })
            .unwrap();
        let span = &capture.spans()[0];
        assert_eq!(span.name, "prompts/get review");
        assert_eq!(span.status, Status::error("Unknown prompt: review"));
        assert_eq!(span.attr("error.type").as_deref(), Some("-32602"));
        assert_eq!(
            span.attr("rpc.response.status_code").as_deref(),
            Some("-32602")
        );
        assert_eq!(span.attr("gen_ai.prompt.name").as_deref(), Some("review"));
        assert_eq!(span.attr("jsonrpc.request.id").as_deref(), Some("a-1"));
        assert_eq!(span.attr("network.transport").as_deref(), Some("pipe"));
        assert_eq!(span.attr("gen_ai.operation.name"), None);
    }
}

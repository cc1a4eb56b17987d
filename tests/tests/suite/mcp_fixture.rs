//! The real MCP peer of the agent tests (`tests/fixtures/mcp_server.py`: the official MCP Python
//! SDK, traced with OpenTelemetry Python) takes its parent from `params._meta` over both
//! transports, as the texts the agent tests rely on say:
//! - MCP specification, "General fields" / `_meta`, reserved keys: `traceparent`, `tracestate`
//!   and `baggage` are reserved for OpenTelemetry, unprefixed, in W3C formats;
//! - OpenTelemetry MCP conventions (`semantic-conventions-genai`, `mcp.md`), "Context
//!   propagation": the receiver extracts the context from `params._meta` and uses it as the
//!   remote parent; "Server": span `{mcp.method.name} {target}`, kind SERVER, attributes
//!   `mcp.method.name`, `jsonrpc.request.id`, `gen_ai.tool.name`, `gen_ai.operation.name` =
//!   `execute_tool` for `tools/call`, `error.type` = `tool_error` for a result with `isError`.
//!
//! The requests here are written by hand (JSON-RPC lines on stdin, POSTs for streamable HTTP)
//! with fixed trace ids, so that the parent ids are exact: what the runtime's MCP client sends
//! is proven against the same peer by the agent tests.

use factory_observability_tests::mcp_python::{McpPython, SERVICE_NAME};
use factory_observability_tests::{parse_spans, Collector, ReceivedSpan};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const CONVERSATION: &str = "conv-7f3a";

fn meta(span_id: &str) -> Value {
    json!({
        "traceparent": format!("00-{TRACE_ID}-{span_id}-01"),
        "tracestate": "rojo=00f067aa0ba902b7",
        "baggage": format!("gen_ai.conversation.id={CONVERSATION}"),
    })
}

fn initialize(id: u64) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "factory-observability-tests", "version": "0"},
        },
    })
}

fn tools_call(id: u64, tool: &str, arguments: Value, span_id: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": meta(span_id)},
    })
}

/// The JSON a tool returned, from the result's first text content.
fn tool_output(response: &Value) -> Value {
    let text = response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {response}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

/// The fixture's spans the collector received, once `count` of them are there.
fn fixture_spans(collector: &Collector, count: usize) -> Vec<ReceivedSpan> {
    let received = |output: &str| {
        parse_spans(output)
            .into_iter()
            .filter(|s| {
                s.resource.get("service.name").map(String::as_str)
                    == Some(&format!("Str({SERVICE_NAME})"))
            })
            .collect::<Vec<_>>()
    };
    collector.wait_for(
        |output| received(output).len() >= count,
        Duration::from_secs(30),
    );
    received(&collector.output())
}

fn span<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {spans:#?}"))
}

/// The `tools/call` server spans: parent = the span in `_meta`, conversation from its baggage.
fn assert_tool_spans(spans: &[ReceivedSpan]) {
    let ok = span(spans, "tools/call count_words");
    assert_eq!(ok.kind, "SPAN_KIND_SERVER");
    assert_eq!(ok.trace_id, TRACE_ID);
    assert_eq!(ok.parent_id, CLIENT_SPAN);
    assert_eq!(ok.attributes["mcp.method.name"], "Str(tools/call)");
    assert_eq!(ok.attributes["jsonrpc.request.id"], "Str(2)");
    assert_eq!(ok.attributes["gen_ai.operation.name"], "Str(execute_tool)");
    assert_eq!(ok.attributes["gen_ai.tool.name"], "Str(count_words)");
    assert_eq!(
        ok.attributes["gen_ai.conversation.id"],
        format!("Str({CONVERSATION})")
    );
    assert!(!ok.attributes.contains_key("error.type"), "{ok:#?}");

    let failed = span(spans, "tools/call fail");
    assert_eq!(failed.trace_id, TRACE_ID);
    assert_eq!(failed.parent_id, "00f067aa0ba902b8");
    assert_eq!(failed.attributes["error.type"], "Str(tool_error)");
    assert_eq!(failed.status_code, "STATUS_CODE_ERROR");
}

#[test]
fn stdio_server_spans_are_children_of_the_span_in_meta() {
    let collector = Collector::start();
    let mut server = McpPython::find()
        .stdio(&collector.endpoint())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut exchange = |request: Value| -> Value {
        writeln!(stdin, "{request}").unwrap();
        stdin.flush().unwrap();
        if request.get("id").is_none() {
            return Value::Null;
        }
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    };
    let init = exchange(initialize(1));
    assert!(init["result"]["protocolVersion"].is_string(), "{init}");
    exchange(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let words = exchange(tools_call(
        2,
        "count_words",
        json!({"text": "a b c"}),
        CLIENT_SPAN,
    ));
    assert_eq!(tool_output(&words)["words"], 3, "{words}");
    let failed = exchange(tools_call(
        3,
        "fail",
        json!({"reason": "no"}),
        "00f067aa0ba902b8",
    ));
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    drop(stdin);
    server.wait().unwrap();

    let spans = fixture_spans(&collector, 4);
    assert_tool_spans(&spans);
}

#[test]
fn streamable_http_server_spans_are_children_of_the_span_in_meta() {
    let collector = Collector::start();
    let server = McpPython::find().http(&collector.endpoint());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::new();
    let mut session: Option<String> = None;
    let mut post = |request: Value| -> Value {
        let mut builder = client
            .post(server.url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25");
        if let Some(session) = &session {
            builder = builder.header("mcp-session-id", session);
        }
        let response = builder.body(request.to_string()).send().unwrap();
        if let Some(id) = response.headers().get("mcp-session-id") {
            session = Some(id.to_str().unwrap().to_owned());
        }
        let is_sse = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/event-stream"));
        let text = response.text().unwrap();
        if request.get("id").is_none() {
            return Value::Null;
        }
        // A streamed response: the `data:` line of the event that answers the request.
        let body = if is_sse {
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .find(|d| d.contains("\"result\"") || d.contains("\"error\""))
                .unwrap_or_else(|| panic!("no answer in {text:?}"))
                .to_owned()
        } else {
            text
        };
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body:?}\n{}", server.stderr()))
    };
    let init = post(initialize(1));
    assert!(init["result"]["protocolVersion"].is_string(), "{init}");
    post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let words = post(tools_call(
        2,
        "count_words",
        json!({"text": "a b c"}),
        CLIENT_SPAN,
    ));
    assert_eq!(tool_output(&words)["words"], 3, "{words}");
    let failed = post(tools_call(
        3,
        "fail",
        json!({"reason": "no"}),
        "00f067aa0ba902b8",
    ));
    assert_eq!(failed["result"]["isError"], true, "{failed}");

    let spans = fixture_spans(&collector, 4);
    assert_tool_spans(&spans);
}

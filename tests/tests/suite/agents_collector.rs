//! Agents and tools against the real collector (Rotel on loopback) and the real MCP peer (the
//! official MCP Python SDK, `tests/fixtures/mcp_server.py`), with exact parent ids:
//!
//! - **The conventions' spans and metrics** (`semantic-conventions-genai`,
//!   `gen-ai-agent-spans.md` "Invoke agent internal span", `gen-ai-spans.md` "Execute tool
//!   span", `gen-ai-metrics.md` "Metric: `gen_ai.invoke_agent.duration`" and "Metric:
//!   `gen_ai.execute_tool.duration`"), nested agents, the conversation on every span under the
//!   agent, content off by default and on with redaction, a huge result cut to valid JSON.
//! - **MCP** (`mcp.md` "Context propagation" and "Client"; MCP specification `_meta` reserved
//!   keys): over stdio and streamable HTTP, the Python server's SERVER span is the child of the
//!   request's CLIENT span, itself the child of the `#[tool]` span, in the agent's trace; the
//!   server reads the conversation from the request's baggage.
//!
//! Each scenario runs in a child process ([`scenario`], this test binary again) that calls
//! `init`; the test reads what the collector received. The concurrency shapes are
//! `agents_concurrency.rs`.

use factory_observability::mcp::McpRequest;
use factory_observability::{agent, llm_call, pipeline_run, tool, TokenUsage, Usage};
use factory_observability_tests::collector::{parse_metrics, parse_spans, Collector, ReceivedSpan};
use factory_observability_tests::isolated::{test_command, test_name};
use factory_observability_tests::mcp_python::{McpPython, SERVICE_NAME as MCP_SERVICE};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const SCENARIO_ENV: &str = "FO_AGENT_SCENARIO";
const ANTHROPIC_KEY: &str = "sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK0lM2nP4qR6sT8uV";

// ------------------------------------------------------------------------------------------
// The scenarios (run in the child process).
// ------------------------------------------------------------------------------------------

/// Reads a file of the workspace.
#[tool(name = "read_file")]
fn read_file(path: &str) -> usize {
    path.len()
}

struct Reply(u64, u64);

impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(self.0, self.1))
    }
}

#[llm_call(provider = "anthropic", model = "claude-opus-4-5")]
fn ask(input: u64, output: u64) -> Reply {
    Reply(input, output)
}

#[derive(Debug)]
struct ToolError(String);

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(serde::Serialize)]
struct Edit {
    path: String,
    text: String,
}

/// Replaces the text of a file.
#[tool(name = "edit_file", call_id = call_id, capture_content)]
fn edit_file(call_id: &str, edit: &Edit) -> Result<Vec<String>, ToolError> {
    Ok(edit.text.lines().map(|line| format!("+{line}")).collect())
}

/// Runs the tests and returns their whole log.
#[tool(name = "run_tests", kind = "extension", capture_content)]
fn run_tests(failing: bool) -> Result<Vec<String>, ToolError> {
    if failing {
        return Err(ToolError("2 tests failed".into()));
    }
    Ok((0..50_000)
        .map(|i| format!("test case_{i} ... ok"))
        .collect())
}

/// Reviews the change.
#[agent(name = "reviewer", provider = "openai", model = "gpt-5")]
fn reviewer() -> bool {
    ask(300, 20);
    read_file("src/lib.rs") > 0
}

/// Writes the code of a task and gets it reviewed.
#[agent(name = "coder", version = "2.1", model = "claude-opus-4-5", conversation_id = conversation)]
fn coder(conversation: &str) -> Result<bool, ToolError> {
    ask(1000, 100);
    read_file("src/lib.rs");
    edit_file(
        "call_edit",
        &Edit {
            path: "deploy.env".into(),
            text: format!("ANTHROPIC_API_KEY={ANTHROPIC_KEY}\nPORT=8080"),
        },
    )?;
    let _ = run_tests(true);
    run_tests(false)?;
    Ok(reviewer())
}

#[pipeline_run(name = "agents")]
fn agents_run() -> Result<bool, ToolError> {
    coder("conv-agents")
}

/// The MCP server over stdio: JSON-RPC lines on its stdin and stdout.
struct StdioPeer {
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl StdioPeer {
    /// Sends `request` under its CLIENT span.
    fn send(&mut self, mut request: Value) -> std::io::Result<Value> {
        McpRequest::of(&request)
            .stdio()
            .protocol_version("2025-11-25")
            .send(&mut request, |request| self.exchange(request))
    }

    /// One JSON-RPC exchange (a request's answer; nothing for a notification).
    fn exchange(&mut self, request: &Value) -> std::io::Result<Value> {
        writeln!(self.stdin, "{request}")?;
        self.stdin.flush()?;
        if request.get("id").is_none() {
            return Ok(Value::Null);
        }
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        serde_json::from_str(&line).map_err(std::io::Error::other)
    }
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

fn count_words_request(id: u64, text: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "count_words", "arguments": {"text": text}},
    })
}

/// Counts words through the MCP server over stdio.
#[tool(name = "count_words_stdio")]
fn count_words_stdio(server: &mut StdioPeer, text: &str) -> Result<u64, std::io::Error> {
    let response = server.send(count_words_request(2, text))?;
    Ok(words_of(&response))
}

fn words_of(response: &Value) -> u64 {
    let text = response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("{}");
    serde_json::from_str::<Value>(text).unwrap_or_default()["words"]
        .as_u64()
        .unwrap_or(0)
}

/// The MCP server over streamable HTTP: a session and its POSTs.
struct HttpSession {
    client: reqwest::blocking::Client,
    url: String,
    session: Option<String>,
}

impl HttpSession {
    /// Sends `request` under its CLIENT span.
    fn send(&mut self, mut request: Value) -> Result<Value, reqwest::Error> {
        let url = reqwest::Url::parse(&self.url).unwrap();
        let mut traced = McpRequest::of(&request)
            .http(url.host_str().unwrap_or_default(), url.port().unwrap_or(80))
            .protocol_version("2025-11-25");
        if let Some(session) = &self.session {
            traced = traced.session_id(session.clone());
        }
        traced.send(&mut request, |request| self.post(request))
    }

    fn post(&mut self, request: &Value) -> Result<Value, reqwest::Error> {
        let mut builder = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25");
        if let Some(session) = &self.session {
            builder = builder.header("mcp-session-id", session);
        }
        let response = builder.body(request.to_string()).send()?;
        if let Some(id) = response.headers().get("mcp-session-id") {
            self.session = Some(id.to_str().unwrap_or_default().to_owned());
        }
        let text = response.text()?;
        if request.get("id").is_none() {
            return Ok(Value::Null);
        }
        // A streamed response: the `data:` line of the event that answers the request.
        let body = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .find(|d| d.contains("\"result\"") || d.contains("\"error\""))
            .unwrap_or(&text);
        Ok(serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

/// Counts words through the MCP server over streamable HTTP.
#[tool(name = "count_words_http")]
fn count_words_http(server: &mut HttpSession, text: &str) -> Result<u64, reqwest::Error> {
    let response = server.send(count_words_request(2, text))?;
    Ok(words_of(&response))
}

/// Counts words with tools served by MCP.
#[agent(name = "mcp_agent", conversation_id = "conv-mcp")]
fn mcp_agent(endpoint: &str) -> u64 {
    let python = McpPython::find();
    let mut child = python
        .stdio(endpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdio = StdioPeer {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
    };
    stdio.send(initialize(1)).unwrap();
    stdio
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .unwrap();
    let over_stdio = count_words_stdio(&mut stdio, "a b c").unwrap();
    drop(stdio);
    child.wait().unwrap();

    let server = python.http(endpoint);
    let mut http = HttpSession {
        client: reqwest::blocking::Client::new(),
        url: server.url().to_owned(),
        session: None,
    };
    http.send(initialize(1)).unwrap();
    http.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .unwrap();
    let over_http = count_words_http(&mut http, "d e f g").unwrap();
    over_stdio + over_http
}

/// The program of one scenario, run in a child process; does nothing in the test run itself.
#[test]
#[ignore = "run by the tests of this file in a child process"]
fn scenario() {
    let Ok(shape) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let telemetry = factory_observability::Telemetry::builder(&shape)
        .shutdown_timeout(Duration::from_secs(10))
        .summary(false)
        .init()
        .expect("init");
    let total = match shape.as_str() {
        "agents" | "agents-capture-off" => usize::from(agents_run().expect("the agents run")),
        "mcp" => {
            let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap();
            mcp_agent(&endpoint) as usize
        }
        other => panic!("no scenario {other}"),
    };
    assert!(total > 0);
    let report = telemetry.shutdown();
    assert_eq!(report.undelivered(), 0, "{report}");
}

// ------------------------------------------------------------------------------------------
// The tests.
// ------------------------------------------------------------------------------------------

/// Runs the scenario `shape` against `collector` (its service name is `shape`); returns the
/// child's output once the collector holds `spans` of its spans.
fn run_scenario(collector: &Collector, shape: &str, env: &[(&str, &str)], spans: usize) -> Output {
    run_scenario_of(module_path!(), collector, shape, env, spans)
}

/// [`run_scenario`] of the test `scenario` of the module `module` (its `module_path!()`).
pub(crate) fn run_scenario_of(
    module: &str,
    collector: &Collector,
    shape: &str,
    env: &[(&str, &str)],
    spans: usize,
) -> Output {
    let mut command = test_command(&test_name(module, "scenario"));
    command
        .env(SCENARIO_ENV, shape)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .env("OTEL_SERVICE_NAME", shape)
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env_remove("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
        .env_remove("FACTORY_OBS_CAPTURE_MAX_CHARS")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run the scenario");
    assert!(
        output.status.success(),
        "{shape}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while service_spans(collector, shape).len() < spans && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    output
}

pub(crate) fn service_spans(collector: &Collector, service: &str) -> Vec<ReceivedSpan> {
    let service = format!("Str({service})");
    parse_spans(&collector.output())
        .into_iter()
        .filter(|span| span.resource.get("service.name") == Some(&service))
        .collect()
}

pub(crate) fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|span| span.name == name).collect()
}

pub(crate) fn only<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "{name}: {spans:#?}");
    found[0]
}

#[test]
fn an_agent_run_reaches_the_collector_with_the_conventions_names_totals_and_content() {
    let collector = Collector::start();
    run_scenario(
        &collector,
        "agents",
        &[("FACTORY_OBS_CAPTURE_MAX_CHARS", "2000")],
        10,
    );
    let spans = service_spans(&collector, "agents");
    assert_eq!(spans.len(), 10, "{spans:#?}");
    let run = only(&spans, "pipeline.run");
    let coder = only(&spans, "invoke_agent coder");
    let reviewer = only(&spans, "invoke_agent reviewer");
    assert_eq!(coder.parent_id, run.span_id);
    assert_eq!(reviewer.parent_id, coder.span_id);
    assert_eq!(coder.kind, "SPAN_KIND_INTERNAL");
    for (key, value) in [
        ("gen_ai.operation.name", "Str(invoke_agent)"),
        ("gen_ai.agent.name", "Str(coder)"),
        ("gen_ai.agent.version", "Str(2.1)"),
        (
            "gen_ai.agent.description",
            "Str(Writes the code of a task and gets it reviewed.)",
        ),
        ("gen_ai.provider.name", "Str(anthropic)"),
        ("gen_ai.request.model", "Str(claude-opus-4-5)"),
        ("gen_ai.conversation.id", "Str(conv-agents)"),
        ("gen_ai.usage.input_tokens", "Int(1300)"),
        ("gen_ai.usage.output_tokens", "Int(120)"),
        ("agent.llm.calls", "Int(2)"),
        ("agent.tool.calls", "Int(5)"),
        ("agent.tool.failures", "Int(1)"),
        ("agent.outcome", "Str(success)"),
    ] {
        assert_eq!(
            coder.attributes.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    assert_eq!(run.attributes["run.tool.calls"], "Int(5)");
    assert_eq!(run.attributes["run.tool.failures"], "Int(1)");
    // Every LLM and tool span under the agent is in its conversation.
    for span in spans
        .iter()
        .filter(|s| s.name == "llm.call" || s.name.starts_with("execute_tool "))
    {
        assert_eq!(
            span.attributes
                .get("gen_ai.conversation.id")
                .map(String::as_str),
            Some("Str(conv-agents)"),
            "{span:#?}"
        );
    }

    // Content: only the sites that opt in; redacted; cut to valid JSON.
    let read = named(&spans, "execute_tool read_file");
    assert!(read
        .iter()
        .all(|s| !s.attributes.contains_key("gen_ai.tool.call.arguments")));
    let edit = only(&spans, "execute_tool edit_file");
    assert_eq!(edit.attributes["gen_ai.tool.call.id"], "Str(call_edit)");
    let arguments = json_attribute(edit, "gen_ai.tool.call.arguments");
    assert_eq!(
        arguments,
        json!({
            "call_id": "call_edit",
            "edit": {"path": "deploy.env", "text": "ANTHROPIC_API_KEY=[REDACTED:api_key]\nPORT=8080"},
        })
    );
    let result = json_attribute(edit, "gen_ai.tool.call.result");
    assert_eq!(
        result,
        json!(["+ANTHROPIC_API_KEY=[REDACTED:api_key]", "+PORT=8080"])
    );
    assert!(!collector.output().contains("Xq9vL2mN8pR4"));
    let tests = named(&spans, "execute_tool run_tests");
    let failed = tests
        .iter()
        .find(|s| s.status_code == "STATUS_CODE_ERROR")
        .unwrap();
    assert_eq!(failed.status_message, "2 tests failed");
    assert_eq!(
        failed.attributes["error.type"],
        "Str(suite::agents_collector::ToolError)"
    );
    assert!(!failed.attributes.contains_key("gen_ai.tool.call.result"));
    let passed = tests
        .iter()
        .find(|s| s.status_code == "STATUS_CODE_OK")
        .unwrap();
    let log = json_attribute(passed, "gen_ai.tool.call.result");
    let lines = log.as_array().unwrap();
    assert_eq!(lines[0], "test case_0 ... ok");
    assert!(lines.len() > 10 && lines.len() < 50_000, "{}", lines.len());

    // The duration histograms: names and outcome, never a call id or an argument.
    let points = parse_metrics(&collector.output());
    let tool_points: Vec<_> = points
        .iter()
        .filter(|p| p.name == "gen_ai.execute_tool.duration")
        .filter(|p| p.resource.get("service.name").map(String::as_str) == Some("Str(agents)"))
        .collect();
    let failure = tool_points
        .iter()
        .find(|p| p.attributes.get("outcome").map(String::as_str) == Some("Str(failure)"))
        .unwrap_or_else(|| panic!("{tool_points:#?}"));
    assert_eq!(
        failure.attributes,
        [
            ("error.type", "Str(suite::agents_collector::ToolError)"),
            ("gen_ai.agent.name", "Str(coder)"),
            ("gen_ai.operation.name", "Str(execute_tool)"),
            ("gen_ai.tool.name", "Str(run_tests)"),
            ("gen_ai.tool.type", "Str(extension)"),
            ("outcome", "Str(failure)"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    );
    assert_eq!(failure.value, "1");
    assert!(tool_points
        .iter()
        .all(|p| !p.attributes.contains_key("gen_ai.tool.call.id")));
    let reviewer_tools = tool_points
        .iter()
        .find(|p| {
            p.attributes.get("gen_ai.agent.name").map(String::as_str) == Some("Str(reviewer)")
        })
        .unwrap();
    // A success under an agent: recorded through the histogram the tool binds per agent and
    // outcome, with the same labels.
    assert_eq!(
        reviewer_tools.attributes,
        [
            ("gen_ai.agent.name", "Str(reviewer)"),
            ("gen_ai.operation.name", "Str(execute_tool)"),
            ("gen_ai.tool.name", "Str(read_file)"),
            ("gen_ai.tool.type", "Str(function)"),
            ("outcome", "Str(success)"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    );
    assert_eq!(reviewer_tools.value, "1");
    let agent_points: Vec<_> = points
        .iter()
        .filter(|p| p.name == "gen_ai.invoke_agent.duration")
        .filter(|p| p.resource.get("service.name").map(String::as_str) == Some("Str(agents)"))
        .collect();
    assert_eq!(agent_points.len(), 2, "{agent_points:#?}");
    assert!(agent_points.iter().all(|p| p.value == "1"));
}

#[test]
fn content_capture_off_records_no_tool_content() {
    let collector = Collector::start();
    run_scenario(
        &collector,
        "agents-capture-off",
        &[(
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "false",
        )],
        10,
    );
    let spans = service_spans(&collector, "agents-capture-off");
    // The run, two agents, two LLM calls, five tool calls.
    assert_eq!(spans.len(), 10, "{spans:#?}");
    for span in &spans {
        assert!(
            !span.attributes.contains_key("gen_ai.tool.call.arguments")
                && !span.attributes.contains_key("gen_ai.tool.call.result"),
            "{span:#?}"
        );
    }
    assert!(!collector.output().contains("deploy.env"));
}

fn json_attribute(span: &ReceivedSpan, key: &str) -> Value {
    let text = span
        .attributes
        .get(key)
        .unwrap_or_else(|| panic!("no {key} on {span:#?}"));
    let text = text
        .strip_prefix("Str(")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(text);
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{key} is not JSON ({e}): {text}"))
}

#[test]
fn mcp_servers_spans_join_the_agents_trace_under_the_requests_client_span() {
    let collector = Collector::start();
    // The agent, its two tools, and three requests over each transport.
    run_scenario(&collector, "mcp", &[], 1 + 2 + 6);
    let spans = service_spans(&collector, "mcp");
    let agent = only(&spans, "invoke_agent mcp_agent");
    // The Python server's spans: one per message (initialize, notifications/initialized,
    // tools/call) and transport.
    let deadline = Instant::now() + Duration::from_secs(20);
    while service_spans(&collector, MCP_SERVICE).len() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let server_spans = service_spans(&collector, MCP_SERVICE);
    let server_calls = named(&server_spans, "tools/call count_words");
    assert_eq!(server_calls.len(), 2, "{server_spans:#?}");
    for (transport, tool_name) in [("pipe", "count_words_stdio"), ("tcp", "count_words_http")] {
        let tool = only(&spans, &format!("execute_tool {tool_name}"));
        assert_eq!(tool.parent_id, agent.span_id);
        let client = spans
            .iter()
            .find(|s| {
                s.name == "tools/call count_words"
                    && s.attributes.get("network.transport").map(String::as_str)
                        == Some(&format!("Str({transport})"))
            })
            .unwrap_or_else(|| panic!("no {transport} client span in {spans:#?}"));
        assert_eq!(client.kind, "SPAN_KIND_CLIENT");
        assert_eq!(client.parent_id, tool.span_id, "{client:#?}");
        assert_eq!(client.trace_id, agent.trace_id);
        for (key, value) in [
            ("mcp.method.name", "Str(tools/call)"),
            ("gen_ai.tool.name", "Str(count_words)"),
            ("gen_ai.operation.name", "Str(execute_tool)"),
            ("jsonrpc.request.id", "Str(2)"),
            ("mcp.protocol.version", "Str(2025-11-25)"),
            ("gen_ai.conversation.id", "Str(conv-mcp)"),
        ] {
            assert_eq!(
                client.attributes.get(key).map(String::as_str),
                Some(value),
                "{key}"
            );
        }
        // The server's span of that request is the client span's child, in the agent's trace.
        let server = server_calls
            .iter()
            .find(|s| s.parent_id == client.span_id)
            .unwrap_or_else(|| panic!("no server span under {client:#?} in {server_calls:#?}"));
        assert_eq!(server.kind, "SPAN_KIND_SERVER");
        assert_eq!(server.trace_id, agent.trace_id);
        assert_eq!(server.attributes["jsonrpc.request.id"], "Str(2)");
        // The conversation crossed the process boundary as baggage.
        assert_eq!(server.attributes["gen_ai.conversation.id"], "Str(conv-mcp)");
    }
    assert_eq!(spans.len(), 9, "{spans:#?}");
    // `initialize` and the notification are CLIENT spans under the agent too; over HTTP the
    // tool call carries the session the server gave at `initialize`.
    assert_eq!(named(&spans, "initialize").len(), 2);
    let notified = named(&spans, "notifications/initialized");
    assert_eq!(notified.len(), 2);
    assert!(notified
        .iter()
        .all(|s| s.parent_id == agent.span_id && !s.attributes.contains_key("jsonrpc.request.id")));
    let http_call = spans
        .iter()
        .find(|s| {
            s.name == "tools/call count_words"
                && s.attributes.get("network.transport").map(String::as_str) == Some("Str(tcp)")
        })
        .unwrap();
    assert_eq!(http_call.attributes["server.address"], "Str(127.0.0.1)");
    assert_eq!(http_call.attributes["network.protocol.name"], "Str(http)");
    assert!(
        http_call.attributes.contains_key("mcp.session.id"),
        "{http_call:#?}"
    );
}

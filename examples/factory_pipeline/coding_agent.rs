//! The implement step as a coding agent: `#[agent]` and `#[tool]` (docs/agents.md).
//!
//! Each attempt of `implement` invokes the agent `coder`, which loops as a coding agent does:
//! the model asks for tools (`read_file`, then one `edit_file` per file, two of them run in
//! parallel on scoped threads that keep the agent as their parent), it writes each task's code,
//! a linter served by an MCP server checks it (`lint`, over stdio, the server a child process
//! of this executable started at the first lint and kept for the process's life:
//! `factory_pipeline mcp_server`, see [`serve_linter`]), the tests run (`run_tests`: its first
//! call fails, a flaky harness, and is retried), the model is called again with the results, and
//! a sub-agent `reviewer` reviews the change. The deterministic models write code that does not
//! compile on the first attempt: the linter says so, and the attempt fails as the stage did
//! before.
//!
//! ```text
//! pipeline.stage implement (attempt 2)
//! └── invoke_agent coder
//!     ├── chat (llm.call)                     the model asks for tools
//!     ├── execute_tool read_file
//!     ├── chat × 3                            one per task
//!     ├── execute_tool edit_file × 2          in parallel
//!     ├── execute_tool lint
//!     │   └── tools/call lint (CLIENT)        (on the first lint, `initialize` and
//!     │       └── tools/call lint (SERVER,     `notifications/initialized` before it)
//!     │           service sf-mcp-linter)
//!     ├── execute_tool run_tests × 2          failed, retried
//!     ├── chat                                the results, back to the model
//!     └── invoke_agent reviewer
//!         └── chat
//! ```

use super::SimulatedLlm;
use factory_observability::mcp::McpRequest;
use factory_observability::task::in_current_trace;
use factory_observability::{agent, tool};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::Duration;

/// The argument that makes this executable serve the linter over MCP (stdio).
pub const MCP_SERVER_ARG: &str = "mcp_server";

/// `FACTORY_PIPELINE_MCP`: `on` (default) or `off`. Off, `lint` asks the linter in this process
/// instead of the MCP server (no child process, no MCP spans): the export tests run the factory
/// as one exporting process, as they turn the smoke stage off.
pub const MCP_ENV: &str = "FACTORY_PIPELINE_MCP";

/// Whether `lint` goes through the MCP server, from [`MCP_ENV`] (read by [`configure`]).
static THROUGH_MCP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Reads [`MCP_ENV`]; an error names the variable and the values it accepts.
pub fn configure() -> Result<(), String> {
    let through_mcp = match std::env::var(MCP_ENV) {
        Err(_) => true,
        Ok(value) => match value.trim() {
            "on" | "" => true,
            "off" => false,
            _ => return Err(format!("{MCP_ENV}={value:?}: expected on or off")),
        },
    };
    let _ = THROUGH_MCP.set(through_mcp);
    Ok(())
}

/// The MCP protocol version the linter speaks.
const PROTOCOL_VERSION: &str = "2025-11-25";

/// What the agent can go wrong with.
#[derive(Debug)]
pub enum AgentError {
    /// The linter found an error: the code does not compile.
    Compile(String),
    /// A tool could not run.
    Tool(String),
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentError::Compile(message) | AgentError::Tool(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for AgentError {}

/// What a tool can go wrong with.
#[derive(Debug)]
pub struct ToolError(String);

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToolError {}

/// The files the agent works on, in memory.
struct Workspace {
    files: Mutex<BTreeMap<String, String>>,
    /// Calls of `run_tests` so far: the harness fails on the first.
    test_runs: Mutex<u32>,
}

impl Workspace {
    fn new() -> Workspace {
        let files = BTreeMap::from([(
            "src/main.rs".to_owned(),
            "fn main() {\n    todo_app::serve();\n}\n".to_owned(),
        )]);
        Workspace {
            files: Mutex::new(files),
            test_runs: Mutex::new(0),
        }
    }

    /// Reads a file of the workspace.
    #[tool(name = "read_file", call_id = call_id)]
    fn read_file(&self, call_id: &str, path: &str) -> Result<String, ToolError> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files
            .get(path)
            .cloned()
            .ok_or_else(|| ToolError(format!("no such file: {path}")))
    }

    /// Replaces the text of a file; returns its number of lines.
    #[tool(name = "edit_file", call_id = call_id, capture_content)]
    fn edit_file(&self, call_id: &str, path: &str, text: &str) -> Result<usize, ToolError> {
        sleep(Duration::from_millis(3));
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.insert(path.to_owned(), text.to_owned());
        Ok(text.lines().count())
    }

    /// Runs the product's test suite; the harness fails to start on its first run.
    #[tool(name = "run_tests", kind = "extension")]
    fn run_tests(&self) -> Result<u32, ToolError> {
        sleep(Duration::from_millis(5));
        let mut runs = self.test_runs.lock().unwrap_or_else(|e| e.into_inner());
        *runs += 1;
        if *runs == 1 {
            return Err(ToolError("test harness did not start within 5s".into()));
        }
        Ok(16)
    }
}

/// The tool calls the simulated model asks for: one `edit_file` per file it writes.
fn files_for(tasks: &[String], attempt: u32) -> Vec<(String, String)> {
    // The first attempt forgets a semicolon in `src/main.rs`, line 12.
    let statement_end = if attempt == 1 { "" } else { ";" };
    let mut main = String::from("fn main() {\n");
    for (n, task) in tasks.iter().enumerate() {
        main.push_str(&format!("    // {task}\n    tasks::register({n});\n"));
    }
    main.push_str(&"    // ...\n".repeat(4));
    main.push_str(&format!("    todo_app::serve(){statement_end}\n"));
    main.push_str("    tasks::flush();\n}\n");
    let tasks_rs = tasks
        .iter()
        .enumerate()
        .map(|(n, task)| format!("pub fn task_{n}() {{ /* {task} */ }}\n"))
        .collect();
    vec![
        ("src/main.rs".to_owned(), main),
        ("src/tasks.rs".to_owned(), tasks_rs),
    ]
}

/// Implements the plan's tasks with the tools the model asks for, lints the code through the
/// MCP linter, runs the tests and gets the change reviewed; returns the number of files written.
#[agent(name = "coder", version = "1.0", conversation_id = conversation)]
pub fn coder(
    llm: &SimulatedLlm,
    reviewer_llm: &SimulatedLlm,
    tasks: &[String],
    attempt: u32,
    conversation: &str,
) -> Result<usize, AgentError> {
    let workspace = Workspace::new();
    // The model asks for tools.
    llm.answer_briefly(&format!("tools for {} tasks", tasks.len()), 60);
    let current = workspace
        .read_file("call_read_1", "src/main.rs")
        .map_err(|error| AgentError::Tool(error.to_string()))?;
    for task in tasks {
        llm.complete(task);
    }
    // Two edits in parallel, each on a thread of its own that keeps the agent as its parent.
    let files = files_for(tasks, attempt);
    let written: Vec<Result<usize, ToolError>> = std::thread::scope(|scope| {
        let workspace = &workspace;
        let edits: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(n, (path, text))| {
                let call_id = format!("call_edit_{}", n + 1);
                scope.spawn(in_current_trace(move || {
                    workspace.edit_file(&call_id, path, text)
                }))
            })
            .collect();
        edits
            .into_iter()
            .map(|edit| edit.join().expect("an edit thread"))
            .collect()
    });
    for result in written {
        result.map_err(|error| AgentError::Tool(error.to_string()))?;
    }
    let main = files
        .first()
        .map(|(_, text)| text.as_str())
        .unwrap_or(&current);
    if let Err(error) = lint("src/main.rs", main) {
        return Err(AgentError::Compile(error.to_string()));
    }
    // A flaky harness: the first run fails, the agent runs the tests again.
    let passed = match workspace.run_tests() {
        Ok(passed) => passed,
        Err(_) => workspace
            .run_tests()
            .map_err(|error| AgentError::Tool(error.to_string()))?,
    };
    llm.answer_briefly(&format!("{passed} passed"), 80);
    if !reviewer(reviewer_llm, &files) {
        return Err(AgentError::Compile(
            "the reviewer rejected the change".into(),
        ));
    }
    Ok(files.len())
}

/// Reviews the files the coder wrote.
#[agent(name = "reviewer")]
fn reviewer(llm: &SimulatedLlm, files: &[(String, String)]) -> bool {
    let answer = llm.answer_briefly(&format!("review {} files", files.len()), 120);
    !answer.text.is_empty()
}

/// The MCP linter's session, from the first lint to [`stop_linter`].
static LINTER: Mutex<Option<Linter>> = Mutex::new(None);

/// Lints a file with the linter the MCP server serves (started at the first call); the
/// linter's error is the tool's.
#[tool(name = "lint", kind = "extension")]
fn lint(path: &str, text: &str) -> Result<(), ToolError> {
    let arguments = json!({"path": path, "text": text});
    let response = if *THROUGH_MCP.get().unwrap_or(&true) {
        let mut session = LINTER.lock().unwrap_or_else(|e| e.into_inner());
        let linter = match &mut *session {
            Some(linter) => linter,
            None => session.insert(Linter::start().map_err(ToolError)?),
        };
        linter.call_tool("lint", arguments).map_err(ToolError)?
    } else {
        answer(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "lint", "arguments": arguments}}))
    };
    let result = &response["result"];
    if result["isError"] == true {
        let message = result["content"][0]["text"]
            .as_str()
            .unwrap_or("lint failed");
        return Err(ToolError(message.to_owned()));
    }
    Ok(())
}

/// Ends the MCP linter's session, if one was started: the server flushes its telemetry and
/// exits. Called before the factory's own telemetry shuts down.
pub fn stop_linter() {
    let linter = LINTER.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(linter);
}

/// The MCP linter: this executable serving MCP on a child's stdin and stdout.
struct Linter {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Linter {
    /// Starts the server and initialises the session.
    fn start() -> Result<Linter, String> {
        let this = std::env::current_exe().map_err(|error| format!("{error}"))?;
        let mut command = Command::new(this);
        command
            .arg(MCP_SERVER_ARG)
            // A service of its own, with no run summary on this terminal and its /metrics (if
            // Prometheus is configured) on a port of its own.
            .env_remove("OTEL_SERVICE_NAME")
            .env("FACTORY_OBS_SUMMARY", "0")
            .env("OTEL_EXPORTER_PROMETHEUS_PORT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Ok(attributes) = std::env::var("OTEL_RESOURCE_ATTRIBUTES") {
            let kept: Vec<&str> = attributes
                .split(',')
                .filter(|entry| !entry.trim_start().starts_with("service.name="))
                .collect();
            command.env("OTEL_RESOURCE_ATTRIBUTES", kept.join(","));
        }
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start the MCP linter: {error}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        // What the linter prints (its own telemetry warnings) is shown, marked as its own.
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("factory_pipeline {MCP_SERVER_ARG}: {line}");
            }
        });
        let mut linter = Linter {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        linter.request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "factory_pipeline", "version": env!("CARGO_PKG_VERSION")},
            }),
        )?;
        linter.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        Ok(linter)
    }

    fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Value, String> {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
    }

    /// Sends one message under its CLIENT span (whose context its `params._meta` carries) and
    /// reads the answer of a request.
    fn send(&mut self, mut message: Value) -> Result<Value, String> {
        let (stdin, stdout) = (&mut self.stdin, &mut self.stdout);
        McpRequest::of(&message)
            .stdio()
            .protocol_version(PROTOCOL_VERSION)
            .send(&mut message, |message| {
                let stdin = stdin.as_mut().ok_or("the linter's stdin is closed")?;
                writeln!(stdin, "{message}").map_err(|e| e.to_string())?;
                stdin.flush().map_err(|e| e.to_string())?;
                if message.get("id").is_none() {
                    return Ok(Value::Null);
                }
                let mut line = String::new();
                stdout.read_line(&mut line).map_err(|e| e.to_string())?;
                serde_json::from_str(&line).map_err(|e| format!("{e}: {line:?}"))
            })
    }
}

impl Drop for Linter {
    fn drop(&mut self) {
        // End of input ends the session: the server flushes its telemetry and exits.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// `factory_pipeline mcp_server`: the linter, an MCP server on stdin and stdout (one JSON-RPC
/// message a line). Each request is a SERVER span `{method} {target}`, child of the span its
/// `params._meta` carries.
pub fn serve_linter() -> ExitCode {
    let telemetry = match factory_observability::init("sf-mcp-linter") {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("factory_pipeline {MCP_SERVER_ARG}: {error}");
            return ExitCode::from(2);
        }
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            eprintln!("factory_pipeline {MCP_SERVER_ARG}: skipped a line that is not JSON");
            continue;
        };
        let response = McpRequest::of(&message)
            .stdio()
            .protocol_version(PROTOCOL_VERSION)
            .serve(&message, || answer(&message));
        if message.get("id").is_some()
            && writeln!(stdout, "{response}")
                .and_then(|()| stdout.flush())
                .is_err()
        {
            break;
        }
    }
    telemetry.shutdown();
    ExitCode::SUCCESS
}

/// The linter's answer to one message (`Value::Null` for a notification).
fn answer(message: &Value) -> Value {
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let result = match message["method"].as_str().unwrap_or_default() {
        "initialize" => json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "sf-mcp-linter", "version": env!("CARGO_PKG_VERSION")},
        }),
        "tools/list" => json!({"tools": [{
            "name": "lint",
            "description": "Finds statements that do not end where they should.",
            "inputSchema": {"type": "object", "properties": {
                "path": {"type": "string"}, "text": {"type": "string"}}},
        }]}),
        "tools/call" if message["params"]["name"] == "lint" => {
            let path = message["params"]["arguments"]["path"]
                .as_str()
                .unwrap_or("");
            let text = message["params"]["arguments"]["text"]
                .as_str()
                .unwrap_or("");
            match missing_semicolon(text) {
                Some(line) => json!({"isError": true, "content": [{"type": "text",
                    "text": format!("expected `;` at {path}:{line}")}]}),
                None => json!({"isError": false, "content": [{"type": "text", "text": "clean"}]}),
            }
        }
        // A notification (`notifications/initialized`) has no answer.
        _ if message.get("id").is_none() => return Value::Null,
        method => {
            return json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": format!("Method not found: {method}")}});
        }
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// The line (from 1) of the first call that another statement follows without a `;` between.
fn missing_semicolon(text: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.iter().enumerate().find_map(|(n, line)| {
        let is_call = line.ends_with(')') && !line.starts_with("fn ") && !line.starts_with("//");
        let next = lines.get(n + 1).copied().unwrap_or("}");
        (is_call && next != "}").then_some(n + 1)
    })
}

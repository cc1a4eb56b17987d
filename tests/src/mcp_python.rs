//! The real MCP server of the agent tests: `tests/fixtures/mcp_server.py`, built with the official
//! MCP Python SDK (PyPI `mcp`) and traced with OpenTelemetry Python, exporting to a [`Collector`]
//! over OTLP/HTTP.
//!
//! The SDK's server opens one SERVER span per message whose parent is the context the request
//! carries in `params._meta` (`traceparent`, `tracestate`, `baggage`), and the fixture puts the
//! `gen_ai.conversation.id` of the request's baggage on it. [`McpPython::stdio`] gives the
//! command a client starts (JSON-RPC over the child's stdin and stdout); [`McpPython::http`]
//! starts the server on a free port (streamable HTTP) and waits until it listens.
//!
//! The interpreter is the one `scripts/install-mcp-python.sh` installs (a virtualenv with pinned
//! versions), named by `MCP_PYTHON` as `scripts/test.sh` exports it, or found by running that
//! installer.
//!
//! [`Collector`]: crate::Collector

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the fixture's python, as `scripts/test.sh` exports it.
pub const MCP_PYTHON_ENV: &str = "MCP_PYTHON";

/// The `service.name` of the fixture's spans.
pub const SERVICE_NAME: &str = "mcp-python-fixture";

/// How long [`McpPython::http`] waits for the server to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The fixture: its interpreter and script.
pub struct McpPython {
    python: PathBuf,
    script: PathBuf,
}

/// The fixture serving streamable HTTP; stopped (killed) when dropped.
pub struct McpPythonHttp {
    child: Child,
    url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl McpPython {
    /// Finds the interpreter (see the module's documentation).
    ///
    /// # Panics
    ///
    /// When `MCP_PYTHON` names no file and the installer cannot install it.
    pub fn find() -> McpPython {
        McpPython {
            python: find_python(),
            script: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/mcp_server.py"
            )),
        }
    }

    /// The command that serves MCP over its stdin and stdout, exporting its spans to
    /// `otlp_endpoint` (an OTLP/HTTP base URL, `Collector::endpoint`).
    pub fn stdio(&self, otlp_endpoint: &str) -> Command {
        let mut command = Command::new(&self.python);
        command.arg(&self.script).arg("stdio");
        clean_environment(&mut command, otlp_endpoint);
        command
    }

    /// Starts the server on a free loopback port, serving streamable HTTP at `/mcp`, exporting
    /// its spans to `otlp_endpoint`; returns once it listens.
    ///
    /// # Panics
    ///
    /// When it cannot start or does not listen within 30 s (with what it printed).
    pub fn http(&self, otlp_endpoint: &str) -> McpPythonHttp {
        let mut command = Command::new(&self.python);
        command.arg(&self.script).arg("http");
        clean_environment(&mut command, otlp_endpoint);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python.display()));
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let sink = std::sync::Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap_or_else(|e| e.into_inner());
                text.push_str(&line);
                text.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = sender.send(first);
        });
        let deadline = Instant::now() + READY_TIMEOUT;
        let first = receiver
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        let Some(url) = first.trim().strip_prefix("listening ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the MCP fixture did not listen within {READY_TIMEOUT:?} (first line {first:?}):\n{}",
                stderr.lock().unwrap_or_else(|e| e.into_inner())
            );
        };
        McpPythonHttp { child, url, stderr }
    }
}

impl McpPythonHttp {
    /// The server's MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the server printed on stderr so far (the SDK's logs, tracebacks of failing tools).
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for McpPythonHttp {
    fn drop(&mut self) {
        // The fixture exports each span as it ends: nothing is lost by killing it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Only the variables the fixture needs: no `OTEL_*` of the test's own environment leaks in.
fn clean_environment(command: &mut Command, otlp_endpoint: &str) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("PYTHONUNBUFFERED", "1");
}

fn find_python() -> PathBuf {
    crate::peer::find_installed(
        MCP_PYTHON_ENV,
        "the python of scripts/install-mcp-python.sh",
        "install-mcp-python.sh",
        "python3 with venv and the `mcp` and `opentelemetry-sdk` packages from PyPI",
    )
}

//! Runs a program of the workspace (an example) with a clean `OTEL_*` environment, bounded in
//! time, and keeps what it printed.

use crate::collector::{parse_logs, parse_metrics, parse_spans, Collector};
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a run printed, and how it ended.
pub struct Run {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Run {
    /// Status, stdout and stderr, for an assertion's message.
    pub fn describe(&self) -> String {
        format!(
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    /// Asserts that the shutdown report of this run of the factory example says every signal
    /// was delivered ([`FACTORY_RUN_DELIVERED`]).
    pub fn expect_all_delivered(&self) {
        assert!(
            self.stderr.contains(FACTORY_RUN_DELIVERED),
            "{}",
            self.describe()
        );
    }
}

/// Runs `program` in `dir` (created afresh) with every inherited `OTEL_*` and proxy variable
/// (`HTTP_PROXY`, `NO_PROXY`, ...) removed and
/// `envs` set; kills it after `timeout`. The factory example runs alone: its smoke stage, which
/// starts the product example as a second exporting process, is off
/// (`FACTORY_PIPELINE_SMOKE=off`), and so is its coding agent's MCP linter, another exporting
/// process (`FACTORY_PIPELINE_MCP=off`: the linter answers in the factory's process), unless
/// `envs` turns them on; `examples/tests/suite/e2e_collector.rs` tests the three together.
///
/// # Panics
///
/// When the program cannot be started or does not exit within `timeout`.
pub fn run(program: &Path, dir: &Path, envs: &[(&str, String)], timeout: Duration) -> Run {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create the run's working directory");
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        // Proxies too: a test that wants one says so.
        if name.starts_with("OTEL_") || name.to_ascii_uppercase().ends_with("_PROXY") {
            command.env_remove(key);
        }
    }
    command.env("FACTORY_PIPELINE_SMOKE", "off");
    command.env("FACTORY_PIPELINE_MCP", "off");
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()));
    let read_all = |mut source: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = source.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the program") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not exit within {timeout:?}; stderr:\n{}",
                program.display(),
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// What the shutdown report of one run of the factory example says when everything arrived
/// (the smoke stage and the MCP linter off, as [`run`] sets them).
pub const FACTORY_RUN_DELIVERED: &str =
    "traces 36/36 delivered; metrics 1/1 exports delivered; logs 3/3 delivered";

/// Waits (at most 15 s) until `collector` holds exactly one run of the factory example (as
/// [`run`] runs it): its 36 spans, the run metric and its 3 log records.
pub fn expect_one_factory_run(collector: &Collector) {
    collector.expect(
        "36 spans, the run metric and 3 log records",
        |output| {
            parse_spans(output).len() == 36
                && parse_metrics(output)
                    .iter()
                    .any(|point| point.name == "pipeline.runs.total")
                && parse_logs(output).len() == 3
        },
        Duration::from_secs(15),
    );
}

//! Helpers of the fault suite (`tests/tests/faults_*.rs`): a collector of the test's own that
//! misbehaves on demand, the measurements the docs/reliability.md table reports (slowest call,
//! peak memory), and the child-process runner every scenario uses (`init` installs process-wide
//! state, so each scenario runs in a process of its own).

use crate::isolated;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The environment variable naming the scenario a child process runs.
pub const SCENARIO_ENV: &str = "FO_FAULT_SCENARIO";

/// The prefix of a figure line a child prints for its parent.
const FIGURE_PREFIX: &str = "figure: ";

/// Prints a measured figure for the parent process (and the docs/reliability.md table).
pub fn figure(key: &str, value: impl std::fmt::Display) {
    println!("{FIGURE_PREFIX}{key}={value}");
}

/// What a scenario's child process printed.
#[derive(Debug)]
pub struct ChildRun {
    pub stdout: String,
    pub stderr: String,
    /// The `figure: key=value` lines, in order of their keys.
    pub figures: BTreeMap<String, String>,
}

impl ChildRun {
    /// The figure `key` parsed as a number.
    ///
    /// # Panics
    ///
    /// When the child printed no such figure, with its output.
    pub fn number(&self, key: &str) -> f64 {
        self.figures
            .get(key)
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no numeric figure {key}; the child printed:\n{self}"))
    }

    /// The figures on one line, `key=value` separated by spaces.
    pub fn figures_line(&self) -> String {
        self.figures
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for ChildRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        )
    }
}

/// The scenarios of one test module, each run by the module's ignored test named `child` in a
/// child process: `const SCENARIOS: Scenarios = Scenarios::of(module_path!());`.
#[derive(Clone, Copy, Debug)]
pub struct Scenarios {
    module_path: &'static str,
}

impl Scenarios {
    /// The scenarios of the module `module_path` (pass `module_path!()`).
    pub const fn of(module_path: &'static str) -> Scenarios {
        Scenarios { module_path }
    }

    /// The command that runs `scenario` in a child process: this test binary again, running
    /// only the module's ignored test named `child`, with `env`.
    pub fn command(&self, scenario: &str, env: &[(&str, &str)]) -> Command {
        let mut command = isolated::test_command(&isolated::test_name(self.module_path, "child"));
        command
            .env(SCENARIO_ENV, scenario)
            .envs(env.iter().copied());
        command
    }

    /// Runs `scenario` in a child process ([`Scenarios::command`]). Panics (with the child's
    /// output) when the child fails; prints the figures on stderr, where `cargo test --
    /// --nocapture` shows them.
    ///
    /// One child at a time per test binary: the scenarios measure memory and delay, and load
    /// of their own would blur both (and lose spans a quieter machine would not).
    pub fn run(&self, scenario: &str, env: &[(&str, &str)]) -> ChildRun {
        let (run, success) = self.run_to_end(scenario, env);
        assert!(success, "scenario {scenario} failed:\n{run}");
        run
    }

    /// Like [`Scenarios::run`], for a scenario that must fail (a panic that unwinds out of
    /// the test).
    pub fn run_failing(&self, scenario: &str, env: &[(&str, &str)]) -> ChildRun {
        let (run, success) = self.run_to_end(scenario, env);
        assert!(!success, "scenario {scenario} was expected to fail:\n{run}");
        run
    }

    fn run_to_end(&self, scenario: &str, env: &[(&str, &str)]) -> (ChildRun, bool) {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _turn = lock(&ONE_AT_A_TIME);
        let output = self
            .command(scenario, env)
            .output()
            .expect("run the child process");
        let run = ChildRun::from_output(
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        eprintln!("{scenario}: {}", run.figures_line());
        (run, output.status.success())
    }
}

impl ChildRun {
    /// Reads the figures a child printed.
    pub fn from_output(stdout: String, stderr: String) -> ChildRun {
        let figures = stdout
            .lines()
            // The test harness prints `test child ... ` before the first line of output.
            .filter_map(|line| {
                let at = line.find(FIGURE_PREFIX)?;
                line[at + FIGURE_PREFIX.len()..].split_once('=')
            })
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        ChildRun {
            stdout,
            stderr,
            figures,
        }
    }
}

/// The scenario this child process runs.
///
/// # Panics
///
/// When the process was not started by [`Scenarios::run`].
pub fn scenario() -> String {
    std::env::var(SCENARIO_ENV).expect("run by Scenarios::run (the `child` test is ignored)")
}

/// A line of `/proc/self/status` in KiB (e.g. `VmHWM`, `VmRSS`); 0 where there is none.
fn proc_status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(key)?.strip_prefix(':')?;
                rest.trim().trim_end_matches("kB").trim().parse().ok()
            })
        })
        .unwrap_or(0)
}

/// The process's peak resident memory so far (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> u64 {
    proc_status_kib("VmHWM")
}

/// The process's resident memory now (`VmRSS`), in KiB.
pub fn rss_kib() -> u64 {
    proc_status_kib("VmRSS")
}

/// The longest any timed call took, across threads.
#[derive(Debug, Default)]
pub struct SlowestCall(AtomicU64);

impl SlowestCall {
    /// Runs `call`, keeping its duration if it is the longest so far.
    pub fn time<T>(&self, call: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let value = call();
        self.note(started.elapsed());
        value
    }

    /// Keeps `took` if it is the longest so far.
    pub fn note(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_max(nanos, Ordering::Relaxed);
    }

    /// The longest call so far.
    pub fn get(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// How a [`FaultyCollector`] answers OTLP/HTTP requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// `200 OK` with an empty response (full success); what was sent is counted.
    Accept,
    /// `status` (e.g. 503, 429), with `Retry-After: seconds` when given; nothing is counted
    /// as received.
    Refuse {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Trace requests: `status` (with `Retry-After: seconds` when given) the first `times`,
    /// then `200 OK`; other requests: `200 OK`.
    RefuseTraces {
        status: u16,
        retry_after: Option<u64>,
        times: u32,
    },
    /// `200 OK` after `delay`; counted as received when answered.
    Slow(Duration),
    /// Reads every request and never answers.
    Silent,
}

/// One request a [`FaultyCollector`] saw.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// When it had been read, since the collector started.
    pub at: Duration,
    /// E.g. `/v1/traces`.
    pub path: String,
    /// The status answered; `None` when it was never answered.
    pub status: Option<u16>,
    /// Spans or log records in it, counted when accepted (0 for metrics, refused requests and
    /// what could not be decoded).
    pub items: u64,
    /// The size of its body: a retried request has the size of the one it repeats.
    pub body_len: usize,
}

#[derive(Debug)]
struct Shared {
    started: Instant,
    behaviour: Mutex<Behaviour>,
    requests: Mutex<Vec<SeenRequest>>,
    /// Trace requests refused so far under [`Behaviour::RefuseTraces`].
    traces_refused: AtomicU64,
    spans: AtomicU64,
    logs: AtomicU64,
}

/// An OTLP/HTTP (protobuf) endpoint of the test's own on loopback that answers as told
/// ([`Behaviour`]), can change its behaviour while the program runs, and counts every request
/// and the spans and log records of the ones it accepted. The real collector ([`crate::Collector`])
/// cannot be made to answer 503, 429 or slowly; this one does, and is only used for that.
pub struct FaultyCollector {
    port: u16,
    shared: Arc<Shared>,
}

impl FaultyCollector {
    /// Starts listening on a free local port, answering as `behaviour`.
    pub fn start(behaviour: Behaviour) -> FaultyCollector {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            started: Instant::now(),
            behaviour: Mutex::new(behaviour),
            requests: Mutex::new(Vec::new()),
            traces_refused: AtomicU64::new(0),
            spans: AtomicU64::new(0),
            logs: AtomicU64::new(0),
        });
        let accepting = Arc::clone(&shared);
        thread::Builder::new()
            .name("faulty-collector".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let shared = Arc::clone(&accepting);
                    let _ = thread::Builder::new()
                        .name("faulty-collector-conn".into())
                        .spawn(move || serve(stream, &shared));
                }
            })
            .expect("spawn the accepting thread");
        FaultyCollector { port, shared }
    }

    /// The endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers from now on as `behaviour`.
    pub fn set(&self, behaviour: Behaviour) {
        *lock(&self.shared.behaviour) = behaviour;
    }

    /// Spans in the trace requests it accepted.
    pub fn spans(&self) -> u64 {
        self.shared.spans.load(Ordering::SeqCst)
    }

    /// Log records in the log requests it accepted.
    pub fn logs(&self) -> u64 {
        self.shared.logs.load(Ordering::SeqCst)
    }

    /// Every request so far, in the order they were read.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The requests to `path` so far.
    pub fn requests_to(&self, path: &str) -> Vec<SeenRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.path == path)
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves one connection: HTTP/1.1 requests with a `Content-Length` body, kept alive.
fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((path, body)) = read_request(&mut reader) {
        let behaviour = lock(&shared.behaviour).clone();
        let index = {
            let mut requests = lock(&shared.requests);
            requests.push(SeenRequest {
                at: shared.started.elapsed(),
                path: path.clone(),
                status: None,
                items: 0,
                body_len: body.len(),
            });
            requests.len() - 1
        };
        let (status, extra) = match behaviour {
            Behaviour::Silent => {
                // Keep reading (and ignoring) until the client gives up.
                let mut sink = [0u8; 4096];
                while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
            Behaviour::Accept => (200, String::new()),
            Behaviour::RefuseTraces {
                status,
                retry_after,
                times,
            } if path == "/v1/traces"
                && shared.traces_refused.fetch_add(1, Ordering::SeqCst) < u64::from(times) =>
            {
                (
                    status,
                    retry_after
                        .map(|seconds| format!("Retry-After: {seconds}\r\n"))
                        .unwrap_or_default(),
                )
            }
            Behaviour::RefuseTraces { .. } => (200, String::new()),
            Behaviour::Slow(delay) => {
                thread::sleep(delay);
                (200, String::new())
            }
            Behaviour::Refuse {
                status,
                retry_after,
            } => (
                status,
                retry_after
                    .map(|seconds| format!("Retry-After: {seconds}\r\n"))
                    .unwrap_or_default(),
            ),
        };
        let items = if status == 200 {
            count(&path, &body, shared)
        } else {
            0
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-protobuf\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        // Record the answer before sending it: a client that sees it finds it counted.
        {
            let mut requests = lock(&shared.requests);
            requests[index].status = Some(status);
            requests[index].items = items;
        }
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Counts the spans or log records of an accepted request.
fn count(path: &str, body: &[u8], shared: &Shared) -> u64 {
    match path {
        "/v1/traces" => {
            let spans = ExportTraceServiceRequest::decode(body)
                .map(|request| {
                    request
                        .resource_spans
                        .iter()
                        .flat_map(|resource| &resource.scope_spans)
                        .map(|scope| scope.spans.len() as u64)
                        .sum()
                })
                .unwrap_or(0);
            shared.spans.fetch_add(spans, Ordering::SeqCst);
            spans
        }
        "/v1/logs" => {
            let logs = ExportLogsServiceRequest::decode(body)
                .map(|request| {
                    request
                        .resource_logs
                        .iter()
                        .flat_map(|resource| &resource.scope_logs)
                        .map(|scope| scope.log_records.len() as u64)
                        .sum()
                })
                .unwrap_or(0);
            shared.logs.fetch_add(logs, Ordering::SeqCst);
            logs
        }
        _ => 0,
    }
}

/// Reads one request: its path and body; `None` at the end of the connection or on a request
/// this server does not understand.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, body))
}

//! The OTLP transport against real peers on loopback: endpoints as people write them, a rejected
//! export that names its URL and status, and retries of a server that is briefly unavailable.
//!
//! Needs `rotel-agent` (`scripts/test.sh` installs it) and `python3` (its `http.server` plays a
//! collector that answers 503 once).

use factory_observability_tests::collector::Collector;
use factory_observability_tests::program::{expect_one_factory_run, run, Run};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_transport-{name}"));
    let run = run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &dir,
        envs,
        RUN_TIMEOUT,
    );
    assert!(
        run.stdout.contains("built todo-app"),
        "the product was not built: {}",
        run.describe()
    );
    run
}

#[test]
fn a_generic_endpoint_ending_in_a_signal_path_is_warned_about_and_the_404_names_the_url() {
    let collector = Collector::start();
    let written = format!("{}/v1/traces", collector.endpoint());
    let run = run_pipeline(
        "signal-path",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", written.clone()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".into()),
        ],
    );
    let warning = format!(
        "factory-observability: warning: OTEL_EXPORTER_OTLP_ENDPOINT={written} ends in \
         /v1/traces, but OTEL_EXPORTER_OTLP_ENDPOINT is a base URL that every signal's path is \
         appended to (traces would go to {written}/v1/traces); set \
         OTEL_EXPORTER_OTLP_ENDPOINT={base}, or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={written} \
         to send only traces there",
        base = collector.endpoint()
    );
    assert_eq!(
        run.stderr.matches(&warning).count(),
        1,
        "one warning expected: {}",
        run.describe()
    );
    for (signal, unit) in [("traces", ""), ("metrics", " exports"), ("logs", "")] {
        let lost =
            format!("failed to export; last error: POST {written}/v1/{signal}: 404 Not Found)");
        let line = run
            .stderr
            .lines()
            .find(|line| line.contains(&format!("{signal} 0/")))
            .unwrap_or_else(|| panic!("no {signal} report: {}", run.describe()));
        assert!(line.contains(&lost), "{signal}{unit}: {}", run.describe());
    }
}

#[test]
fn gzip_and_json_requests_reach_the_real_collector_intact() {
    let collector = Collector::start();
    let run = run_pipeline(
        "gzip-json",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json".into()),
            ("OTEL_SERVICE_NAME", "factory-gzip".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    run.expect_all_delivered();
    expect_one_factory_run(&collector);
    assert!(collector
        .output()
        .contains("service.name: Str(factory-gzip)"));
}

#[test]
fn per_signal_endpoints_are_used_as_written() {
    let collector = Collector::start();
    let base = collector.endpoint();
    let run = run_pipeline(
        "per-signal",
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("{base}/v1/traces"),
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                format!("{base}/v1/metrics"),
            ),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                format!("{base}/v1/logs"),
            ),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert!(
        !run.stderr.contains("warning: OTEL_EXPORTER"),
        "{}",
        run.describe()
    );
    run.expect_all_delivered();
    expect_one_factory_run(&collector);
}

/// A collector that answers each path's first request `503 Service Unavailable` with
/// `Retry-After: 1`, and every later one `200 OK`; it prints `POST {path} {status} {encoding}
/// {client port}` per request (the client's port tells its connections apart).
const FLAKY_COLLECTOR: &str = r#"
import http.server, sys, threading
seen = set()
# One line per request, whole: `print` writes the text and the newline separately, and the
# server's threads would interleave them.
out = threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        first = self.path not in seen
        seen.add(self.path)
        if first:
            self.send_response(503)
            self.send_header("Retry-After", "1")
        else:
            self.send_response(200)
            self.send_header("Content-Type", self.headers.get("Content-Type", ""))
        self.send_header("Content-Length", "0")
        self.end_headers()
        encoding = self.headers.get("Content-Encoding", "identity")
        with out:
            sys.stdout.write(f"POST {self.path} {503 if first else 200} {encoding} {self.client_address[1]}\n")
            sys.stdout.flush()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

struct Flaky {
    child: Child,
    port: u16,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Flaky {
    fn start() -> Flaky {
        let mut child = Command::new("python3")
            .args(["-c", FLAKY_COLLECTOR])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run python3");
        let (send, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let port = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the flaky collector's port")
            .trim()
            .parse()
            .expect("a port number");
        Flaky { child, port, lines }
    }

    fn requests(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Flaky {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The retry also proves keep-alive: each signal's client (ureq's agent) sends the retry, and
/// any later batch, on the connection of its first request.
#[test]
fn a_503_is_retried_after_retry_after_and_nothing_is_lost_with_gzip_bodies() {
    let flaky = Flaky::start();
    let run = run_pipeline(
        "retry",
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", flaky.port),
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    run.expect_all_delivered();
    // Each signal's first request is refused and retried; on a slow run a signal may export
    // more than one batch, each accepted at once.
    let requests = flaky.requests();
    for signal in ["traces", "metrics", "logs"] {
        let seen: Vec<(&str, &str)> = requests
            .iter()
            .filter(|line| line.starts_with(&format!("POST /v1/{signal} ")))
            .map(|line| line.rsplit_once(' ').expect("a client port"))
            .collect();
        let refused = format!("POST /v1/{signal} 503 gzip");
        let accepted = format!("POST /v1/{signal} 200 gzip");
        assert!(seen.len() >= 2, "{signal}: {requests:?}");
        assert_eq!(seen[0].0, refused, "{signal}: {requests:?}");
        assert!(
            seen[1..].iter().all(|(line, _)| *line == accepted),
            "{signal}: {requests:?}"
        );
        let first_connection = seen[0].1;
        assert!(
            seen.iter().all(|(_, port)| *port == first_connection),
            "{signal}: one kept-alive connection: {requests:?}"
        );
    }
}

/// A server that answers every request `308 Permanent Redirect` to `sys.argv[1]` + its path.
const REDIRECTING_SERVER: &str = r#"
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(308)
        self.send_header("Location", sys.argv[1] + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Redirects are not followed (the OTLP specification lets a client choose): the 3xx is the
/// answer, counted as lost with the URL and the status, and nothing reaches where it points.
#[test]
fn a_redirect_is_not_followed_and_is_counted_lost_with_its_url_and_status() {
    let collector = Collector::start();
    let mut server = Command::new("python3")
        .args(["-c", REDIRECTING_SERVER, &collector.endpoint()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run python3");
    let mut first_line = String::new();
    BufReader::new(server.stdout.take().expect("piped stdout"))
        .read_line(&mut first_line)
        .expect("the server's port");
    let endpoint = format!("http://127.0.0.1:{}", first_line.trim());
    let run = run_pipeline(
        "redirect",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".into()),
        ],
    );
    let _ = server.kill();
    let _ = server.wait();
    for signal in ["traces", "metrics", "logs"] {
        let lost = format!(
            "failed to export; last error: POST {endpoint}/v1/{signal}: 308 Permanent Redirect)"
        );
        assert!(run.stderr.contains(&lost), "{signal}: {}", run.describe());
    }
    let received = factory_observability_tests::collector::received_counts(&collector.output());
    assert_eq!(
        (received.spans, received.logs, received.metric_requests),
        (0, 0, 0),
        "{}",
        collector.output()
    );
}

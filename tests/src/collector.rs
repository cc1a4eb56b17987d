//! A real OpenTelemetry collector for end-to-end tests, and a reader of what it received.
//!
//! [`Collector`] runs `rotel-agent` (the Rotel collector, installed from PyPI by
//! `scripts/test.sh`) with a blackhole exporter and its debug dump of traces, metrics and logs
//! at `detailed` verbosity on stdout. [`parse_spans`], [`parse_metrics`] and [`parse_logs`] turn
//! that dump back into plain values, keeping attribute values exactly as the collector prints
//! them (`Str(plan)`, `Int(1)`, `Bool(true)`, `Double(0.5)`), so that a test asserts on what
//! actually went over the wire.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Environment variable naming the `rotel-agent` binary to run, overriding the lookup through
/// the `rotel` Python package.
pub const ROTEL_AGENT_ENV: &str = "ROTEL_AGENT";

/// How long [`Collector::start`] waits for the collector to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times [`Collector::start`] tries fresh ports when the collector dies at start-up
/// (another process may take a port between picking it and the collector binding it).
const START_ATTEMPTS: usize = 3;

/// The line the collector prints once it is up.
const READY_LINE: &str = "Starting Rotel.";

/// A running `rotel-agent` listening for OTLP/HTTP and OTLP/gRPC on free local ports.
///
/// Everything it prints is accumulated and available through [`Collector::output`]. It is
/// stopped (SIGTERM, then SIGKILL if it lingers) when dropped.
pub struct Collector {
    child: Mutex<Child>,
    output: Arc<Mutex<String>>,
    http_port: u16,
    grpc_port: u16,
}

/// How much of what it receives the collector prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dump {
    /// Every span, metric point and log record, for [`parse_spans`], [`parse_metrics`] and
    /// [`parse_logs`].
    #[default]
    Detailed,
    /// One line per batch it received, with its counts, for [`received_counts`]: a run of
    /// 100,000 spans prints a few hundred lines rather than millions.
    Basic,
}

impl Dump {
    fn verbosity(self) -> &'static str {
        match self {
            Dump::Detailed => "detailed",
            Dump::Basic => "basic",
        }
    }
}

impl Collector {
    /// Starts a collector and waits (at most 10 s) until it accepts connections.
    ///
    /// # Panics
    ///
    /// When `rotel-agent` cannot be found (run `scripts/test.sh`, which installs it), cannot be
    /// started, or does not become ready in time; the message carries its output so far.
    pub fn start() -> Collector {
        Collector::start_with(Dump::Detailed)
    }

    /// Starts a collector printing `dump` on free local ports; see [`Collector::start`].
    pub fn start_with(dump: Dump) -> Collector {
        let agent = find_rotel_agent();
        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            match Collector::try_start(&agent, two_free_ports(), dump) {
                Ok(collector) => return collector,
                Err(failure) => last_failure = failure,
            }
        }
        panic!(
            "the collector {} did not start after {START_ATTEMPTS} attempts: {last_failure}",
            agent.display()
        );
    }

    /// Starts a collector on the given ports (OTLP/HTTP, OTLP/gRPC): one that comes up where a
    /// program already sends, or comes back where a killed one was. Retries for at most 10 s
    /// while the ports are still taken (e.g. by the process being replaced).
    ///
    /// # Panics
    ///
    /// As [`Collector::start`], when it is not up on these ports within 10 s.
    pub fn start_on(http_port: u16, grpc_port: u16, dump: Dump) -> Collector {
        let agent = find_rotel_agent();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match Collector::try_start(&agent, (http_port, grpc_port), dump) {
                Ok(collector) => return collector,
                Err(failure) if Instant::now() >= deadline => panic!(
                    "the collector {} did not start on ports {http_port}/{grpc_port} within \
                     {READY_TIMEOUT:?}: {failure}",
                    agent.display()
                ),
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Two ports that were free a moment ago, to start a collector on later with
    /// [`Collector::start_on`] (a program can be pointed at them before anything listens).
    pub fn free_ports() -> (u16, u16) {
        two_free_ports()
    }

    /// The OTLP/HTTP and OTLP/gRPC ports it listens on.
    pub fn ports(&self) -> (u16, u16) {
        (self.http_port, self.grpc_port)
    }

    /// Kills the collector at once (SIGKILL: no flush, no goodbye), as a crash would, and waits
    /// until it is gone. What it printed stays readable through [`Collector::output`].
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }

    /// One attempt: `Err` when the process exited before being ready (e.g. a port was taken).
    fn try_start(agent: &PathBuf, ports: (u16, u16), dump: Dump) -> Result<Collector, String> {
        let (http_port, grpc_port) = ports;
        let mut child = Command::new(agent)
            .args(["start", "--exporter", "blackhole"])
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{grpc_port}"))
            .args([
                "--debug-log",
                "traces",
                "--debug-log",
                "metrics",
                "--debug-log",
                "logs",
            ])
            .args(["--debug-log-verbosity", dump.verbosity()])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", agent.display()));

        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        spawn_reader("rotel-stdout", stdout, Arc::clone(&output));
        spawn_reader("rotel-stderr", stderr, Arc::clone(&output));

        let collector = Collector {
            child: Mutex::new(child),
            output,
            http_port,
            grpc_port,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if collector.output().contains(READY_LINE) && collector.accepts_connections() {
                return Ok(collector);
            }
            if let Some(status) = collector.exit_status() {
                // Give the readers a moment to collect the last words.
                thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "it exited with {status} before being ready; its output:\n{}",
                    collector.output()
                ));
            }
            if Instant::now() >= deadline {
                panic!(
                    "the collector was not ready within {READY_TIMEOUT:?} \
                     (http port {http_port}, grpc port {grpc_port}); its output so far:\n{}",
                    collector.output()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The OTLP/HTTP endpoint, e.g. `http://127.0.0.1:41234`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The OTLP/gRPC endpoint, e.g. `http://127.0.0.1:41235`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Everything the collector printed so far (stdout and stderr, line by line).
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Polls the output until `predicate` holds on it, for at most `timeout`.
    ///
    /// Returns whether it held; gives up early (returning `false`) if the collector exits.
    pub fn wait_for(&self, predicate: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if predicate(&self.output()) {
                return true;
            }
            if self.exit_status().is_some() {
                thread::sleep(Duration::from_millis(100));
                return predicate(&self.output());
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    /// Like [`Collector::wait_for`], but panics with `what` and the output when it times out.
    pub fn expect(&self, what: &str, predicate: impl Fn(&str) -> bool, timeout: Duration) {
        if !self.wait_for(predicate, timeout) {
            panic!(
                "the collector did not receive {what} within {timeout:?}; its output:\n{}",
                self.output()
            );
        }
    }

    fn exit_status(&self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        child.try_wait().ok().flatten()
    }

    fn accepts_connections(&self) -> bool {
        let address = SocketAddr::from(([127, 0, 0, 1], self.http_port));
        TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        // SIGTERM first: the collector shuts down cleanly (and quickly) on it.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Finds `rotel-agent`: `$ROTEL_AGENT`, else next to the `rotel` Python package.
fn find_rotel_agent() -> PathBuf {
    crate::peer::find_installed(
        ROTEL_AGENT_ENV,
        "the rotel-agent binary",
        "install-collector.sh",
        "python3 with venv and the `rotel` package from PyPI",
    )
}

/// Two distinct ports that were free a moment ago (both are held while picking them).
fn two_free_ports() -> (u16, u16) {
    let first = TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
    let second = TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
    let ports = (
        first.local_addr().expect("local address").port(),
        second.local_addr().expect("local address").port(),
    );
    drop(first);
    drop(second);
    ports
}

/// `(key, value)` pairs as the attribute map a metric point is compared with.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// A local port with nothing listening on it (free a moment ago), to test failed deliveries.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
    listener.local_addr().expect("local address").port()
}

/// Appends what `source` prints, whole lines at a time, to `output`.
fn spawn_reader(name: &str, source: impl Read + Send + 'static, output: Arc<Mutex<String>>) {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut reader = BufReader::new(source);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let mut output = output.lock().unwrap_or_else(|e| e.into_inner());
                        output.push_str(&text);
                        if !text.ends_with('\n') {
                            output.push('\n');
                        }
                    }
                }
            }
        })
        .expect("spawn a reader thread");
}

/// What a collector printing [`Dump::Basic`] received, summed over its batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceivedCounts {
    /// Spans in all `Received traces.` lines.
    pub spans: u64,
    /// Log records in all `Received logs.` lines.
    pub logs: u64,
    /// Metric export requests (`Received metrics.` lines).
    pub metric_requests: u64,
}

/// Sums the counts of a basic dump's `Received traces. ... spans=2` and `Received logs. ...
/// logs=1` lines, and counts its `Received metrics.` lines.
pub fn received_counts(output: &str) -> ReceivedCounts {
    let mut counts = ReceivedCounts::default();
    let field = |line: &str, key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    for line in output.lines() {
        if line.contains("Received traces.") {
            counts.spans += field(line, "spans");
        } else if line.contains("Received logs.") {
            counts.logs += field(line, "logs");
        } else if line.contains("Received metrics.") {
            counts.metric_requests += 1;
        }
    }
    counts
}

/// A span as the collector printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits; empty for a root span.
    pub parent_id: String,
    /// 16 hex digits.
    pub span_id: String,
    pub name: String,
    /// E.g. `SPAN_KIND_INTERNAL`.
    pub kind: String,
    /// E.g. `STATUS_CODE_ERROR`; empty when the span had no status at all.
    pub status_code: String,
    pub status_message: String,
    /// Start time in nanoseconds since the epoch, as printed.
    pub start_time: String,
    /// End time in nanoseconds since the epoch, as printed.
    pub end_time: String,
    /// Values as printed, e.g. `Str(plan)`, `Int(1)`.
    pub attributes: BTreeMap<String, String>,
    /// Names of the span's events, in order.
    pub events: Vec<String>,
    /// Resource attributes, values as printed.
    pub resource: BTreeMap<String, String>,
    /// The instrumentation scope line's text, e.g. `factory-observability 0.1.0`.
    pub scope: String,
}

/// A metric data point as the collector printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedMetricPoint {
    /// The metric's name, e.g. `pipeline.runs.total`.
    pub name: String,
    /// The metric's data type, e.g. `Sum`, `Gauge`, `Histogram`.
    pub data_type: String,
    /// Data point attributes, values as printed.
    pub attributes: BTreeMap<String, String>,
    /// The `Value:` text of a sum or gauge point, the `Count:` text of a histogram point;
    /// empty when the collector printed neither.
    pub value: String,
    /// The `Sum:` text of a histogram point; empty otherwise.
    pub sum: String,
    /// Resource attributes, values as printed.
    pub resource: BTreeMap<String, String>,
}

/// A log record as the collector printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedLog {
    /// As printed, e.g. `Str(pipeline started)`.
    pub body: String,
    /// 32 hex digits; empty when the record carried none.
    pub trace_id: String,
    /// 16 hex digits; empty when the record carried none.
    pub span_id: String,
    /// E.g. `INFO`.
    pub severity_text: String,
    /// E.g. `SEVERITY_NUMBER_INFO(9)`.
    pub severity_number: String,
    /// Values as printed.
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes, values as printed.
    pub resource: BTreeMap<String, String>,
}

/// Where an attribute line (`     -> key: value`) belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Attribute lines here are not collected (descriptors, events, links, ...).
    Other,
    Item,
    /// A span's events: their `Name` lines are collected.
    Events,
}

/// The signal of the request being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    None,
    Traces,
    Metrics,
    Logs,
}

/// `     -> key: value` (exactly five spaces: deeper lines belong to events, links, ...).
fn attribute_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("     -> ")?;
    let (key, value) = rest.split_once(':')?;
    Some((key, value.strip_prefix(' ').unwrap_or(value)))
}

/// `    Key      : value` (a span's or log record's identification lines).
fn padded_field(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("    ")?;
    if rest.starts_with(' ') {
        return None;
    }
    let (key, value) = rest.split_once(':')?;
    Some((key.trim_end(), value.strip_prefix(' ').unwrap_or(value)))
}

/// `Key: value` at the start of a line.
fn plain_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?.strip_prefix(':')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Which signal a `Resource... #n` header starts, if the line is one.
fn resource_header(line: &str) -> Option<Signal> {
    if line.starts_with("ResourceSpans #") {
        Some(Signal::Traces)
    } else if line.starts_with("ResourceMetrics #") {
        Some(Signal::Metrics)
    } else if line.starts_with("ResourceLog #") || line.starts_with("ResourceLogs #") {
        Some(Signal::Logs)
    } else {
        None
    }
}

/// What [`walk_signal`] hands a parser.
enum Step<'a> {
    /// A `Resource... #n` header: what the parser was reading is complete.
    NewResource,
    /// A line of the wanted signal, neither a resource header nor a resource attribute.
    Line(&'a str),
}

/// Walks a collector's dump for the parsers: keeps track of which signal each line belongs to
/// and of the current resource's attributes, and hands `parse` the lines of `wanted` with them.
fn walk_signal<'a>(
    output: &'a str,
    wanted: Signal,
    mut parse: impl FnMut(Step<'a>, &BTreeMap<String, String>),
) {
    let mut signal = Signal::None;
    let mut resource = BTreeMap::new();
    let mut in_resource_attributes = false;
    for line in output.lines() {
        if let Some(next) = resource_header(line) {
            signal = next;
            resource.clear();
            in_resource_attributes = false;
            parse(Step::NewResource, &resource);
            continue;
        }
        if signal != wanted {
            continue;
        }
        if line == "Resource attributes:" {
            in_resource_attributes = true;
            continue;
        }
        if in_resource_attributes {
            if let Some((key, value)) = attribute_line(line) {
                resource.insert(key.to_owned(), value.to_owned());
                continue;
            }
            in_resource_attributes = false;
        }
        parse(Step::Line(line), &resource);
    }
}

/// The spans in a collector's detailed debug dump, in the order they were printed.
pub fn parse_spans(output: &str) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    let mut section = Section::Other;
    let mut scope = String::new();
    let mut current: Option<ReceivedSpan> = None;
    walk_signal(output, Signal::Traces, |step, resource| {
        let Step::Line(line) = step else {
            spans.extend(current.take());
            section = Section::Other;
            scope.clear();
            return;
        };
        if line.starts_with("ScopeSpans #") {
            spans.extend(current.take());
            section = Section::Other;
        } else if let Some(text) = line.strip_prefix("InstrumentationScope ") {
            scope = text.trim_end().to_owned();
        } else if line.starts_with("Span #") {
            spans.extend(current.take());
            section = Section::Other;
            current = Some(ReceivedSpan {
                resource: resource.clone(),
                scope: scope.clone(),
                ..ReceivedSpan::default()
            });
        } else if let Some((key, value)) = attribute_line(line) {
            match (section, current.as_mut()) {
                (Section::Item, Some(span)) => {
                    span.attributes.insert(key.to_owned(), value.to_owned());
                }
                (Section::Events, Some(span)) if key == "Name" => {
                    span.events.push(value.to_owned());
                }
                _ => {}
            }
        } else if let Some(span) = current.as_mut() {
            if line == "Attributes:" {
                section = Section::Item;
            } else if line == "Events:" {
                section = Section::Events;
            } else if line.starts_with("SpanEvent #") {
                // The event's name follows as `     -> Name: ...`.
            } else if line == "Links:" {
                section = Section::Other;
            } else if let Some(value) = plain_field(line, "Start time") {
                span.start_time = value.to_owned();
            } else if let Some(value) = plain_field(line, "End time") {
                span.end_time = value.to_owned();
            } else if let Some((key, value)) = padded_field(line) {
                let value = value.to_owned();
                match key {
                    "Trace ID" => span.trace_id = value,
                    "Parent ID" => span.parent_id = value,
                    "ID" => span.span_id = value,
                    "Name" => span.name = value,
                    "Kind" => span.kind = value,
                    "Status code" => span.status_code = value,
                    "Status message" => span.status_message = value,
                    _ => {}
                }
            }
        }
    });
    spans.extend(current.take());
    spans
}

/// The metric data points in a collector's detailed debug dump, in the order they were printed.
pub fn parse_metrics(output: &str) -> Vec<ReceivedMetricPoint> {
    let mut points = Vec::new();
    let mut section = Section::Other;
    let mut name = String::new();
    let mut data_type = String::new();
    let mut current: Option<ReceivedMetricPoint> = None;
    walk_signal(output, Signal::Metrics, |step, resource| {
        let Step::Line(line) = step else {
            points.extend(current.take());
            section = Section::Other;
            return;
        };
        if line.starts_with("ScopeMetrics #") || line.starts_with("Metric #") {
            points.extend(current.take());
            section = Section::Other;
            name.clear();
            data_type.clear();
        } else if line == "Descriptor:" {
            section = Section::Other;
        } else if line.contains("DataPoints #") && !line.starts_with(' ') {
            points.extend(current.take());
            section = Section::Other;
            current = Some(ReceivedMetricPoint {
                name: name.clone(),
                data_type: data_type.clone(),
                resource: resource.clone(),
                ..ReceivedMetricPoint::default()
            });
        } else if line == "Data point attributes:" {
            section = Section::Item;
        } else if let Some((key, value)) = attribute_line(line) {
            match (section, current.as_mut()) {
                (Section::Item, Some(point)) => {
                    point.attributes.insert(key.to_owned(), value.to_owned());
                }
                (Section::Other, None) if key == "Name" => name = value.to_owned(),
                (Section::Other, None) if key == "DataType" => data_type = value.to_owned(),
                _ => {}
            }
        } else if let Some(point) = current.as_mut() {
            if let Some(value) = plain_field(line, "Value") {
                point.value = value.to_owned();
            } else if let Some(value) = plain_field(line, "Count") {
                point.value = value.to_owned();
            } else if let Some(value) = plain_field(line, "Sum") {
                point.sum = value.to_owned();
            }
            if !line.starts_with(' ') {
                section = Section::Other;
            }
        }
    });
    points.extend(current.take());
    points
}

/// The log records in a collector's detailed debug dump, in the order they were printed.
pub fn parse_logs(output: &str) -> Vec<ReceivedLog> {
    let mut logs = Vec::new();
    let mut section = Section::Other;
    let mut current: Option<ReceivedLog> = None;
    walk_signal(output, Signal::Logs, |step, resource| {
        let Step::Line(line) = step else {
            logs.extend(current.take());
            section = Section::Other;
            return;
        };
        if line.starts_with("ScopeLogs #") {
            logs.extend(current.take());
            section = Section::Other;
        } else if line.starts_with("LogRecord #") {
            logs.extend(current.take());
            section = Section::Other;
            current = Some(ReceivedLog {
                resource: resource.clone(),
                ..ReceivedLog::default()
            });
        } else if let Some((key, value)) = attribute_line(line) {
            if let (Section::Item, Some(log)) = (section, current.as_mut()) {
                log.attributes.insert(key.to_owned(), value.to_owned());
            }
        } else if let Some(log) = current.as_mut() {
            if line == "Attributes:" {
                section = Section::Item;
                return;
            }
            section = Section::Other;
            if let Some(value) = plain_field(line, "Body") {
                log.body = value.to_owned();
            } else if let Some(value) = plain_field(line, "SeverityText") {
                log.severity_text = value.to_owned();
            } else if let Some(value) = plain_field(line, "SeverityNumber") {
                log.severity_number = value.to_owned();
            } else if let Some((key, value)) = padded_field(line) {
                match key {
                    "Trace ID" => log.trace_id = value.to_owned(),
                    "Span ID" => log.span_id = value.to_owned(),
                    _ => {}
                }
            }
        }
    });
    logs.extend(current.take());
    logs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verbatim dumps of `rotel-agent` 0.0.1a15 (`--debug-log-verbosity detailed`, `NO_COLOR=1`),
    /// including its own log lines, trailing spaces preserved.
    const TRACES: &str = "\
2026-11-24T20:21:33.607251Z  INFO Starting Rotel. grpc_endpoint=\"127.0.0.1:14317\" http_endpoint=\"127.0.0.1:14318\"
ResourceSpans #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(probe)
ScopeSpans #0
ScopeSpans SchemaURL: 
InstrumentationScope probe-scope 1.0
Span #0
    Trace ID       : 5b8efff798038103d269b633813fc60c
    Parent ID      : 
    ID             : eee19b7ec3c1b174
    Name           : pipeline.run
    Kind           : SPAN_KIND_INTERNAL
Start time: 1700000000000000000
End time: 1700000001000000000
    Status code    : STATUS_CODE_OK
    Status message : 
Attributes:
     -> pipeline.name: Str(demo)
     -> pipeline.steps: Int(3)
Span #1
    Trace ID       : 5b8efff798038103d269b633813fc60c
    Parent ID      : eee19b7ec3c1b174
    ID             : eee19b7ec3c1b175
    Name           : step.exec
    Kind           : SPAN_KIND_INTERNAL
Start time: 1700000000100000000
End time: 1700000000900000000
    Status code    : STATUS_CODE_ERROR
    Status message : boom
Attributes:
     -> step.index: Int(0)
     -> ok: Bool(true)
     -> ratio: Double(0.5)
";

    const TRACES_WITH_EVENTS: &str = "\
ResourceSpans #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(probe)
     -> host.name: Str(h1)
ScopeSpans #0
ScopeSpans SchemaURL: 
InstrumentationScope sc 
Span #0
    Trace ID       : 5b8efff798038103d269b633813fc60c
    Parent ID      : 
    ID             : eee19b7ec3c1b177
    Name           : ev
    Kind           : SPAN_KIND_CLIENT
Start time: 1
End time: 2
    Status code    : STATUS_CODE_UNSET
    Status message : 
Events:
SpanEvent #0
     -> Name: exception
     -> Timestamp: 1
     -> DroppedAttributesCount: 0
     -> Attributes::
          -> exception.message: Str(bad)
Links:
SpanLink #0
     -> Trace ID: 00000000000000000000000000000001
     -> ID: 0000000000000002
     -> TraceState: 
     -> DroppedAttributesCount: 0
";

    /// Two spans of the example pipeline as received (some attribute lines left out): the
    /// failed attempt has an exception event after its attributes.
    const FAILED_STAGE: &str = "\
ResourceSpans #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(factory-e2e)
ScopeSpans #0
ScopeSpans SchemaURL: 
InstrumentationScope factory-observability 0.1.0
Span #1
    Trace ID       : c61efa5b5cf9f8f75739bd5f998deac3
    Parent ID      : 17b852c1a0c76192
    ID             : 5f23e7c1f4501245
    Name           : pipeline.stage
    Kind           : SPAN_KIND_INTERNAL
Start time: 1795552260616878130
End time: 1795552260642121280
    Status code    : STATUS_CODE_ERROR
    Status message : compile error: expected `;` at src/main.rs:12
Attributes:
     -> stage.name: Str(implement)
     -> stage.attempt: Int(1)
     -> error.type: Str(factory_pipeline::FactoryError)
Events:
SpanEvent #0
     -> Name: exception
     -> Timestamp: 1795552260642116903
     -> DroppedAttributesCount: 0
     -> Attributes::
          -> exception.type: Str(factory_pipeline::FactoryError)
          -> exception.message: Str(compile error: expected `;` at src/main.rs:12)
Span #2
    Trace ID       : c61efa5b5cf9f8f75739bd5f998deac3
    Parent ID      : 17b852c1a0c76192
    ID             : caf1542b7d48c30a
    Name           : pipeline.stage
    Kind           : SPAN_KIND_INTERNAL
Start time: 1795552260642178425
End time: 1795552260667319463
    Status code    : STATUS_CODE_OK
    Status message : 
Attributes:
     -> stage.name: Str(implement)
     -> stage.attempt: Int(2)
";

    const METRICS: &str = "\
ResourceMetrics #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(probe)
ScopeMetrics #0
ScopeMetrics SchemaURL: 
InstrumentationScope probe-scope 
Metric #0
Descriptor:
     -> Name: pipeline.runs
     -> Description: runs
     -> Unit: 1
     -> DataType: Sum
     -> IsMonotonic: true
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
NumberDataPoints #0
Data point attributes:
     -> pipeline.name: Str(demo)
StartTimestamp: 1700000000000000000
Timestamp: 1700000001000000000
Value: 7
Metric #1
Descriptor:
     -> Name: pipeline.duration
     -> Description: 
     -> Unit: ms
     -> DataType: Histogram
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
HistogramDataPoints #0
Data point attributes:
     -> pipeline.name: Str(demo)
StartTimestamp: 1700000000000000000
Timestamp: 1700000001000000000
Count: 3
Sum: 12.5
Min: 0.5
Max: 8
ExplicitBounds #0: 1
ExplicitBounds #1: 5
Buckets #0, Count: 1
Buckets #1, Count: 1
Buckets #2, Count: 1
";

    const LOGS: &str = "\
ResourceLog #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(probe)
ScopeLogs #0
ScopeLogs SchemaURL: 
InstrumentationScope probe-scope 
LogRecord #0
ObservedTimestamp: 1700000000500000000
Timestamp: 1700000000500000000
SeverityText: INFO
SeverityNumber: SEVERITY_NUMBER_INFO(9)
Body: Str(pipeline started)
Attributes:
     -> pipeline.name: Str(demo)
    Trace ID       : 5b8efff798038103d269b633813fc60c
    Span ID        : eee19b7ec3c1b174
Flags: 0
2026-11-24T20:21:34.222931Z  INFO Shutdown signal received.
";

    #[test]
    fn sums_the_counts_of_a_basic_dump() {
        let dump = "\
2026-12-02T01:28:03.432466Z  INFO Starting Rotel. grpc_endpoint=\"127.0.0.1:14998\" http_endpoint=\"127.0.0.1:14999\"
2026-12-02T01:28:07.039686Z  INFO Received traces. data_type=\"traces\" resource_spans=1 spans=2
2026-12-02T01:28:07.091290Z  INFO Received logs. data_type=\"logs\" resource_logs=1 logs=1
2026-12-02T01:28:07.139686Z  INFO Received traces. data_type=\"traces\" resource_spans=3 spans=510
";
        assert_eq!(
            received_counts(dump),
            ReceivedCounts {
                spans: 512,
                logs: 1,
                metric_requests: 0
            }
        );
    }

    #[test]
    fn samples_keep_their_trailing_spaces() {
        assert!(TRACES.contains("    Parent ID      : \n"));
        assert!(METRICS.contains("Resource SchemaURL: \n"));
    }

    #[test]
    fn parses_spans() {
        let spans = parse_spans(TRACES);
        assert_eq!(
            spans,
            vec![
                ReceivedSpan {
                    trace_id: "5b8efff798038103d269b633813fc60c".into(),
                    parent_id: String::new(),
                    span_id: "eee19b7ec3c1b174".into(),
                    name: "pipeline.run".into(),
                    kind: "SPAN_KIND_INTERNAL".into(),
                    status_code: "STATUS_CODE_OK".into(),
                    status_message: String::new(),
                    start_time: "1700000000000000000".into(),
                    end_time: "1700000001000000000".into(),
                    attributes: labels(&[
                        ("pipeline.name", "Str(demo)"),
                        ("pipeline.steps", "Int(3)")
                    ]),
                    events: vec![],
                    resource: labels(&[("service.name", "Str(probe)")]),
                    scope: "probe-scope 1.0".into(),
                },
                ReceivedSpan {
                    trace_id: "5b8efff798038103d269b633813fc60c".into(),
                    parent_id: "eee19b7ec3c1b174".into(),
                    span_id: "eee19b7ec3c1b175".into(),
                    name: "step.exec".into(),
                    kind: "SPAN_KIND_INTERNAL".into(),
                    status_code: "STATUS_CODE_ERROR".into(),
                    status_message: "boom".into(),
                    start_time: "1700000000100000000".into(),
                    end_time: "1700000000900000000".into(),
                    attributes: labels(&[
                        ("step.index", "Int(0)"),
                        ("ok", "Bool(true)"),
                        ("ratio", "Double(0.5)")
                    ]),
                    events: vec![],
                    resource: labels(&[("service.name", "Str(probe)")]),
                    scope: "probe-scope 1.0".into(),
                },
            ]
        );
    }

    #[test]
    fn events_and_links_do_not_leak_into_attributes() {
        let spans = parse_spans(TRACES_WITH_EVENTS);
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.name, "ev");
        assert_eq!(span.kind, "SPAN_KIND_CLIENT");
        assert_eq!(span.status_code, "STATUS_CODE_UNSET");
        assert!(span.attributes.is_empty(), "{:?}", span.attributes);
        assert_eq!(span.events, vec!["exception".to_string()]);
        assert_eq!(
            span.resource,
            labels(&[("service.name", "Str(probe)"), ("host.name", "Str(h1)")])
        );
        assert_eq!(span.scope, "sc");
    }

    #[test]
    fn a_status_message_keeps_its_colons_and_an_event_ends_the_attributes() {
        let spans = parse_spans(FAILED_STAGE);
        assert_eq!(spans.len(), 2);
        assert_eq!(
            spans[0].status_message,
            "compile error: expected `;` at src/main.rs:12"
        );
        assert_eq!(
            spans[0].attributes,
            labels(&[
                ("stage.name", "Str(implement)"),
                ("stage.attempt", "Int(1)"),
                ("error.type", "Str(factory_pipeline::FactoryError)"),
            ])
        );
        assert_eq!(spans[0].events, vec!["exception".to_string()]);
        assert_eq!(spans[1].span_id, "caf1542b7d48c30a");
        assert_eq!(spans[1].status_code, "STATUS_CODE_OK");
        assert_eq!(spans[1].attributes["stage.attempt"], "Int(2)");
        assert!(spans[1].events.is_empty());
    }

    #[test]
    fn parses_metric_points() {
        let points = parse_metrics(METRICS);
        assert_eq!(
            points,
            vec![
                ReceivedMetricPoint {
                    name: "pipeline.runs".into(),
                    data_type: "Sum".into(),
                    attributes: labels(&[("pipeline.name", "Str(demo)")]),
                    value: "7".into(),
                    sum: String::new(),
                    resource: labels(&[("service.name", "Str(probe)")]),
                },
                ReceivedMetricPoint {
                    name: "pipeline.duration".into(),
                    data_type: "Histogram".into(),
                    attributes: labels(&[("pipeline.name", "Str(demo)")]),
                    value: "3".into(),
                    sum: "12.5".into(),
                    resource: labels(&[("service.name", "Str(probe)")]),
                },
            ]
        );
    }

    #[test]
    fn parses_log_records() {
        let logs = parse_logs(LOGS);
        assert_eq!(
            logs,
            vec![ReceivedLog {
                body: "Str(pipeline started)".into(),
                trace_id: "5b8efff798038103d269b633813fc60c".into(),
                span_id: "eee19b7ec3c1b174".into(),
                severity_text: "INFO".into(),
                severity_number: "SEVERITY_NUMBER_INFO(9)".into(),
                attributes: labels(&[("pipeline.name", "Str(demo)")]),
                resource: labels(&[("service.name", "Str(probe)")]),
            }]
        );
    }

    #[test]
    fn each_parser_reads_only_its_signal() {
        let all = format!("{TRACES}{METRICS}{LOGS}{TRACES_WITH_EVENTS}");
        let spans = parse_spans(&all);
        assert_eq!(
            spans.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["pipeline.run", "step.exec", "ev"]
        );
        assert_eq!(spans[1].attributes.len(), 3);
        let points = parse_metrics(&all);
        assert_eq!(
            points.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["pipeline.runs", "pipeline.duration"]
        );
        assert_eq!(points[1].value, "3");
        let logs = parse_logs(&all);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].body, "Str(pipeline started)");
    }

    #[test]
    fn a_point_without_a_value_line_has_an_empty_value() {
        let dump = "\
ResourceMetrics #0
Resource SchemaURL: 
ScopeMetrics #0
ScopeMetrics SchemaURL: 
InstrumentationScope probe-scope 
Metric #0
Descriptor:
     -> Name: pipeline.runs
     -> Description: runs
     -> Unit: 1
     -> DataType: Sum
     -> IsMonotonic: true
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
NumberDataPoints #0
Data point attributes:
     -> pipeline.name: Str(demo)
StartTimestamp: 1700000000000000000
Timestamp: 1700000001000000000
";
        let points = parse_metrics(dump);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].value, "");
        assert!(points[0].resource.is_empty());
        assert_eq!(
            points[0].attributes,
            labels(&[("pipeline.name", "Str(demo)")])
        );
    }
}

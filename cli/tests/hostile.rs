//! `factory-obs` on hostile telemetry (issue 24): a parent chain 50,000 deep, parents in a cycle,
//! one trace of 150,000 spans, control characters in names and messages. The real binary runs
//! as a child; its peak memory is its own `ru_maxrss`, read with `wait4` (not timed).
#![cfg(target_os = "linux")]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const TRACE: &str = "5b8aa5a2d2c872e8321cf37308d69df2";
const RUN_SPAN: u64 = 1;

/// What a run of the binary gave.
struct Ran {
    code: i32,
    /// The file holding its stdout (read back line by line: the test process stays small, see
    /// [`obs`]).
    stdout: PathBuf,
    stderr: String,
    /// Peak resident set size, KiB.
    peak_rss_kib: i64,
}

impl Ran {
    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).expect("UTF-8 output")
    }

    /// The number of lines of stdout, and its first `n` and last line.
    fn stdout_lines(&self, n: usize) -> (usize, Vec<String>, String) {
        let mut count = 0;
        let (mut first, mut last) = (Vec::new(), String::new());
        for line in BufReader::new(File::open(&self.stdout).unwrap()).lines() {
            let line = line.unwrap();
            count += 1;
            if first.len() < n {
                first.push(line.clone());
            }
            last = line;
        }
        (count, first, last)
    }
}

/// Runs the binary, its stdout to a file, and waits for it with `wait4`, whose `rusage` is this
/// child's alone (tests run in parallel: `RUSAGE_CHILDREN` would mix them). A child spawned by
/// this process starts with this process's peak in its `ru_maxrss` (Linux keeps the larger across
/// `execve`), so the tests write their inputs and read outputs streaming: the figure is then the
/// child's own, give or take this process's few MiB.
// The child is reaped by `wait4`, for its own rusage; `Child::wait` would reap it first.
#[allow(clippy::zombie_processes)]
fn obs(args: &[&str]) -> Ran {
    let stdout = temp(&format!("stdout-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let mut child = Command::new(env!("CARGO_BIN_EXE_factory-obs"))
        .args(args)
        .stdout(File::create(&stdout).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .expect("factory-obs starts");
    let mut pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).expect("UTF-8 stderr");
        text
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill; the pid is our child's, not
    // waited for by anything else (the `Child` is never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as libc::pid_t, "wait4 failed");
    assert!(libc::WIFEXITED(status), "killed by a signal: {status}");
    eprintln!(
        "factory-obs {}: peak RSS {} KiB",
        args.join(" "),
        usage.ru_maxrss
    );
    Ran {
        code: libc::WEXITSTATUS(status),
        stdout,
        stderr: stderr.join().unwrap(),
        peak_rss_kib: usage.ru_maxrss,
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("factory-obs-hostile-{}-{name}", std::process::id()))
}

/// One span of the trace as OTLP/JSON.
struct SpanJson<'a> {
    id: u64,
    parent: Option<u64>,
    name: &'a str,
    start_ms: u64,
    attributes: &'a str,
    error: Option<&'a str>,
}

impl SpanJson<'_> {
    fn write(&self, out: &mut String) {
        let start = 1_767_225_600_000_000_000 + self.start_ms * 1_000_000;
        let parent = self.parent.map(|p| format!("{p:016x}")).unwrap_or_default();
        let (code, message) = match self.error {
            Some(message) => (2, serde_json::to_string(message).unwrap()),
            None => (1, "\"\"".to_owned()),
        };
        let _ = write!(
            out,
            r#"{{"traceId":"{TRACE}","spanId":"{:016x}","parentSpanId":"{parent}","name":{},"kind":1,"startTimeUnixNano":"{start}","endTimeUnixNano":"{}","attributes":[{}{{"key":"run.id","value":{{"stringValue":"run-1"}}}}],"status":{{"code":{code},"message":{message}}}}}"#,
            self.id,
            serde_json::to_string(self.name).unwrap(),
            start + 1_000_000,
            self.attributes,
        );
    }
}

/// A file of export requests of `per_line` spans each: `spans` (any order), then the run span;
/// written as it is made.
fn telemetry(name: &str, spans: impl Iterator<Item = String>, per_line: usize) -> PathBuf {
    let path = temp(&format!("{name}.jsonl"));
    let mut out = BufWriter::new(File::create(&path).unwrap());
    let line_start = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"sf-factory"}}]},"scopeSpans":[{"scope":{"name":"factory-observability"},"spans":["#;
    let mut in_line = 0;
    let mut run = String::new();
    SpanJson {
        id: RUN_SPAN,
        parent: None,
        name: "pipeline.run",
        start_ms: 0,
        attributes: r#"{"key":"pipeline.name","value":{"stringValue":"deep"}},{"key":"run.outcome","value":{"stringValue":"success"}},"#,
        error: None,
    }
    .write(&mut run);
    for span in spans.chain(std::iter::once(run)) {
        out.write_all(if in_line == 0 { line_start } else { "," }.as_bytes())
            .unwrap();
        out.write_all(span.as_bytes()).unwrap();
        in_line += 1;
        if in_line == per_line {
            out.write_all(b"]}]}]}\n").unwrap();
            in_line = 0;
        }
    }
    if in_line > 0 {
        out.write_all(b"]}]}]}\n").unwrap();
    }
    out.flush().unwrap();
    path
}

fn span(id: u64, parent: u64, name: &str) -> String {
    let mut out = String::new();
    SpanJson {
        id,
        parent: Some(parent),
        name,
        start_ms: id,
        attributes: "",
        error: None,
    }
    .write(&mut out);
    out
}

/// Before: the labels' indentation grew with depth (1.3 GB at 20,000 deep) and a chain 40,000
/// deep panicked on a format width above 65,535.
#[test]
fn a_chain_50000_deep_is_summarised_below_the_depth_cap_in_bounded_memory() {
    const DEPTH: u64 = 50_000;
    let path = telemetry(
        "deep",
        (2..DEPTH + 2).map(|id| span(id, id - 1, "step")),
        1_000,
    );
    let ran = obs(&["trace", "run-1", path.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stderr, "");
    let stdout = ran.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    // The header, the axis, the run span and 31 levels of steps, then one summary row.
    assert_eq!(lines.len(), 2 + 32 + 1, "{stdout}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!(
            "{}... {} more spans deeper than 32 levels",
            "  ".repeat(32),
            DEPTH - 31
        )),
        "{last}"
    );
    assert!(
        ran.peak_rss_kib < 64 * 1024,
        "peak RSS {} KiB",
        ran.peak_rss_kib
    );
    let json = obs(&["trace", "--json", "run-1", path.to_str().unwrap()]);
    let waterfall: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    let rows = waterfall["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 33);
    assert_eq!(rows[32]["hidden_spans"], DEPTH - 31);
    assert_eq!(rows[32]["depth"], 32);
    let _ = std::fs::remove_file(path);
}

/// Before: spans whose parents form a cycle vanished from the waterfall without a word.
#[test]
fn spans_in_a_parent_cycle_are_shown_and_named_in_a_warning() {
    let spans = [
        span(2, RUN_SPAN, "plan"),
        // 3 -> 4 -> 5 -> 3, and 6 under 5.
        span(3, 5, "a"),
        span(4, 3, "b"),
        span(5, 4, "c"),
        span(6, 5, "under c"),
        // Its own parent.
        span(7, 7, "self"),
    ];
    let path = telemetry("cycle", spans.into_iter(), 10);
    let ran = obs(&["trace", "run-1", path.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stderr,
        "warning: run run-1: 4 spans' parents form a cycle (shown from the earliest as a root, \
         marked `cycle`): 0000000000000003, 0000000000000004, 0000000000000005, \
         0000000000000007\n"
    );
    let stdout = ran.stdout();
    let labels: Vec<(&str, bool)> = stdout
        .lines()
        .skip(2)
        .map(|l| {
            (
                l.split("  |").next().unwrap().trim_end(),
                l.ends_with("parent cycle"),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("run deep", false),
            ("  plan", false),
            ("a", true),
            ("  b", false),
            ("    c", false),
            ("      under c", false),
            ("self", true),
        ]
    );
}

/// Before: one trace of 1,000,000 spans took 1.4-1.7 GB. A waterfall keeps 100,000 spans (and
/// its run span); the rest are counted and said to be left out.
#[test]
fn one_huge_trace_is_cut_at_the_span_limit_with_a_warning_in_bounded_memory() {
    const SPANS: u64 = 150_000;
    let path = telemetry(
        "huge",
        (2..SPANS + 2).map(|id| span(id, RUN_SPAN, "call")),
        1_000,
    );
    let ran = obs(&["trace", "run-1", path.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stderr,
        "warning: run run-1: 50000 more spans of its trace not shown (a waterfall keeps 100000 \
         at most)\n"
    );
    let (count, first, last) = ran.stdout_lines(3);
    assert_eq!(count, 2 + 100_001 + 1);
    assert_eq!(first[2].split("  |").next().unwrap(), "run deep");
    assert_eq!(
        last,
        "... 50000 more spans of the trace not shown (at most 100000 are kept)"
    );
    assert!(
        ran.peak_rss_kib < 64 * 1024,
        "peak RSS {} KiB",
        ran.peak_rss_kib
    );
    let html = temp("report.html");
    let ran = obs(&[
        "report",
        "--html",
        html.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.starts_with(
            "warning: run run-1: 130000 more spans of its trace not shown (a waterfall keeps \
             20000 at most)\n"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.peak_rss_kib < 64 * 1024,
        "peak RSS {} KiB",
        ran.peak_rss_kib
    );
    let _ = std::fs::remove_file(html);
    let _ = std::fs::remove_file(path);
}

/// Before: ESC, CR, BEL in span names and messages reached the terminal raw.
#[test]
fn control_characters_never_reach_the_terminal() {
    let hostile = "</b>x\u{1b}[2K\rtraces 99/99 delivered\u{7}\u{9b}\u{202e}";
    let mut failing = String::new();
    SpanJson {
        id: 2,
        parent: Some(RUN_SPAN),
        name: "pipeline.stage",
        start_ms: 2,
        attributes: &format!(
            r#"{{"key":"stage.name","value":{{"stringValue":{}}}}},{{"key":"stage.outcome","value":{{"stringValue":"failure"}}}},"#,
            serde_json::to_string(hostile).unwrap()
        ),
        error: Some(hostile),
    }
    .write(&mut failing);
    let path = telemetry("controls", [failing, span(3, 2, hostile)].into_iter(), 10);
    let path = path.to_str().unwrap();
    let escaped = "</b>x\\u{1b}[2K\\rtraces 99/99 delivered\\u{7}\\u{9b}\\u{202e}";
    for args in [
        &["trace", "run-1", path][..],
        &["report", path][..],
        &["runs", path][..],
        &["trace", "--json", "run-1", path][..],
        &["report", "--json", path][..],
    ] {
        let ran = obs(args);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
        let stdout = ran.stdout();
        for c in stdout.chars().chain(ran.stderr.chars()) {
            assert!(
                c == '\n' || !factory_observability_model::terminal::is_unsafe_for_terminal(c),
                "{args:?} wrote {c:?}"
            );
        }
        if !args.contains(&"--json") && args[0] != "runs" {
            assert!(stdout.contains(escaped), "{args:?}: {stdout}");
        }
    }
    let json = obs(&["trace", "--json", "run-1", path]);
    let waterfall: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(
        waterfall["rows"][1]["error"], hostile,
        "the JSON still says what was sent"
    );
    // The HTML page and the SVG: markup escaped, control characters written visibly (XML 1.0
    // forbids them even as character references).
    let page = temp("controls.html");
    let svg = temp("controls.svg");
    let ran = obs(&["report", "--html", page.to_str().unwrap(), path]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = obs(&["trace", "--svg", svg.to_str().unwrap(), "run-1", path]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for file in [page, svg] {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("&lt;/b&gt;x\\u{1b}[2K\\rtraces"),
            "{}",
            file.display()
        );
        assert!(!text.contains("</b>x"), "{}", file.display());
        for c in text.chars() {
            assert!(
                c == '\n' || !factory_observability_model::terminal::is_unsafe_for_terminal(c),
                "{} holds {c:?}",
                file.display()
            );
        }
    }
}

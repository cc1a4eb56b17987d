//! `factory-obs` run as a child process on recorded and generated telemetry; its output compared
//! with `tests/golden/*`. `UPDATE_GOLDEN=1 cargo test -p factory-obs --test golden` rewrites the
//! files (read every changed line before committing them).
//!
//! - `fixtures/recorded`: three runs of `cargo run --bin factory_pipeline` (a retried stage and a
//!   failing test stage each).
//! - generated: `factory_obs::synthetic` (two pipelines, failing runs, retries, product routes
//!   joined to the trace, a 500).
//! - `fixtures/malformed`: the recorded first run's line, then broken lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary in `cli/tests` (so relative paths in messages are stable).
fn obs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_factory-obs"))
        .args(args)
        .current_dir(manifest().join("tests"))
        .output()
        .expect("factory-obs runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Compares with `tests/golden/{name}` (or writes it with `UPDATE_GOLDEN=1`).
fn golden(name: &str, actual: &str) {
    let path = manifest().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from line {}:\n--- expected\n{}\n--- actual\n{}",
            path.display(),
            first + 1,
            expected
                .lines()
                .skip(first)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
            actual
                .lines()
                .skip(first)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
}

/// Succeeds, prints nothing on stderr, and its stdout is the golden file.
fn ok_golden(args: &[&str], name: &str) -> String {
    let output = obs(args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    assert_eq!(text(&output.stderr), "");
    let stdout = text(&output.stdout);
    golden(name, &stdout);
    stdout
}

/// Generated telemetry of `runs` runs, in a directory of its own.
fn synthetic(runs: u64) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("factory-obs-golden-{}-{runs}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut file = std::fs::File::create(dir.join("traces.jsonl")).unwrap();
    factory_obs::synthetic::write_runs(&mut file, runs, u64::MAX).unwrap();
    dir
}

const RUN_1: &str = "01a23474-0b22-757e-b755-e390a7e43f5c";
const RUN_2: &str = "01a23474-157a-76d6-a72c-111676eaafb6";

#[test]
fn report_of_recorded_runs() {
    let stdout = ok_golden(&["report", "fixtures/recorded"], "recorded_report.txt");
    assert!(stdout.starts_with("3 runs from 3 files (9 lines, 57 spans, 0 malformed lines)\n"));
    assert!(stdout.contains(
        "implement         3         6\n  3x compile error: expected `;` at src/main.rs:12\n"
    ));
    // A recording of runs made before flaky tests belonged to one retry loop: codex's `test`
    // failed "complete task: undo" and claude's passed it, which the runtime then counted
    // flaky (it no longer does). The report keeps the recorded count but names no test: the
    // passing call is another candidate's first attempt, not a retry of the failed one.
    assert!(stdout.ends_with("test          6      93       3        0      96.9%      3\n"));
    let json = obs(&["report", "--json", "fixtures/recorded"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["tests"][0]["flaky"], 3);
    assert_eq!(report["tests"][0]["flaky_tests"], serde_json::json!([]));
    assert_eq!(report["tests"][0]["flaky_unnamed"], 3);
}

#[test]
fn runs_of_recorded_runs() {
    let stdout = ok_golden(&["runs", "fixtures/recorded"], "recorded_runs.txt");
    assert_eq!(stdout.lines().count(), 4);
}

#[test]
fn waterfall_of_a_recorded_run_by_prefix() {
    let stdout = ok_golden(
        &["trace", &RUN_1[..12], "fixtures/recorded"],
        "recorded_trace.txt",
    );
    let labels: Vec<&str> = stdout
        .lines()
        .skip(2)
        .map(|l| l.split("  |").next().unwrap().trim_end())
        .collect();
    assert_eq!(
        labels[..4],
        [
            "run new_product",
            "  plan",
            "    llm anthropic/claude-opus-4-5",
            "  implement"
        ]
    );
    assert!(stdout.contains("retry 2"));
    assert!(stdout.contains("x failed: 1 of 16 tests failed: complete task: undo"));
}

#[test]
fn compare_two_recorded_runs() {
    ok_golden(
        &["compare", RUN_1, RUN_2, "fixtures/recorded"],
        "recorded_compare.txt",
    );
}

#[test]
fn report_of_generated_runs_with_failures_retries_and_product_routes() {
    let dir = synthetic(12);
    let dir = dir.to_str().unwrap();
    let stdout = ok_golden(&["report", dir], "synthetic_report.txt");
    assert!(stdout.contains("todo-api  POST /tasks"));
    ok_golden(&["report", "--json", dir], "synthetic_report.json");
    ok_golden(
        &["runs", "--pipeline", "bugfix", "--outcome", "failure", dir],
        "synthetic_runs_filtered.txt",
    );
    let implement = ok_golden(
        &["report", "--stage", "implement", dir],
        "synthetic_report_implement.txt",
    );
    assert_stage_narrows_every_table(&implement, dir);
    ok_golden(
        &["compare", "run-000000", "run-000002", dir],
        "synthetic_compare.txt",
    );
    ok_golden(
        &["compare", "--json", "run-000000", "run-000002", dir],
        "synthetic_compare.json",
    );
}

/// `--stage implement`: the stage, failure and test tables hold that stage only; the model table
/// only the calls made under it (codex implements, claude plans and writes the rival); the
/// adjudications (made under the run, not a stage) are gone; pipelines and routes are those of
/// the runs that went through it (all of them here).
fn assert_stage_narrows_every_table(shown: &str, dir: &str) {
    let output = obs(&["report", "--json", "--stage", "implement", dir]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names = |table: &str, key: &str| -> Vec<String> {
        report[table]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row[key].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("stages", "stage"), ["implement"]);
    assert_eq!(names("failures", "stage"), ["implement"]);
    assert_eq!(names("models", "model"), ["gpt-5.3-codex"]);
    // 12 runs: 6 implement once, 6 twice; three codex calls each.
    assert_eq!(report["models"][0]["calls"], 54);
    assert_eq!(report["candidates"], serde_json::json!([]));
    assert_eq!(report["tests"], serde_json::json!([]));
    assert_eq!(report["input"]["runs"], 12);
    assert_eq!(names("routes", "route").len(), 3);
    assert!(!shown.contains("claude-opus"));
    assert!(!shown.contains("Adjudications"));

    let smoke = obs(&["report", "--json", "--stage", "smoke", dir]);
    let report: serde_json::Value = serde_json::from_slice(&smoke.stdout).unwrap();
    assert_eq!(
        report["models"],
        serde_json::json!([]),
        "smoke calls no model"
    );
    assert_eq!(report["stages"][0]["count"], 12);
}

#[test]
fn waterfall_of_a_generated_run_joins_the_products_spans_and_writes_svg() {
    let dir = synthetic(4);
    let svg = dir.join("run-3.svg");
    let output = obs(&[
        "trace",
        "run-000003",
        dir.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    golden("synthetic_trace.txt", &stdout);
    assert!(stdout.contains("    [todo-api] POST /tasks"));
    assert!(stdout.contains("x failed: 500"));
    assert_eq!(
        text(&output.stderr),
        format!("factory-obs: waterfall written to {}\n", svg.display())
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    golden("synthetic_trace.svg", &picture);
    assert_eq!(picture.matches("<g class=\"span failed\">").count(), 3);
    ok_golden(
        &["trace", "--json", "run-000003", dir.to_str().unwrap()],
        "synthetic_trace.json",
    );
}

#[test]
fn malformed_lines_are_reported_with_file_and_line_and_the_rest_is_read() {
    let output = obs(&["runs", "fixtures/malformed/traces.jsonl"]);
    assert_eq!(output.status.code(), Some(0));
    golden("malformed_stderr.txt", &text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with(
        "warning: fixtures/malformed/traces.jsonl:2: truncated JSON: EOF while parsing"
    ));
    assert_eq!(
        text(&output.stdout).lines().count(),
        4,
        "the three runs are still read"
    );
}

#[test]
fn missing_and_empty_inputs_and_unknown_runs_exit_1_with_a_message() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["report", "fixtures/nowhere"],
            "factory-obs: fixtures/nowhere: no such file or directory (run the factory with the \
             embedded default to create ./telemetry, or give the directory or files to read)\n",
        ),
        (
            &["report", "golden/empty"],
            "factory-obs: golden/empty: no telemetry files in this directory (expected \
             traces.jsonl, metrics.jsonl, logs.jsonl, rotated or .gz variants, or *.json)\n",
        ),
        (
            &["trace", "01a23474", "fixtures/recorded"],
            "factory-obs: run id prefix \"01a23474\" is ambiguous: 01a23474-0b22-757e-b755-e390a7e43f5c, \
             01a23474-157a-76d6-a72c-111676eaafb6, 01a23474-207f-7761-bfdf-d8d1161b167f\n",
        ),
        (
            &["runs", "--outcome", "failure", "fixtures/recorded"],
            "factory-obs: no run matches the filters (3 runs read)\n",
        ),
    ];
    let _ = std::fs::create_dir_all(manifest().join("tests/golden/empty"));
    for (args, message) in cases {
        let output = obs(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&output.stderr), message, "{args:?}");
        assert_eq!(text(&output.stdout), "", "{args:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["bogus"][..],
        &["report", "--since", "yesterday", "fixtures/recorded"][..],
        &["trace"][..],
    ] {
        let output = obs(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    let output = obs(&["report", "--since", "yesterday", "fixtures/recorded"]);
    assert!(text(&output.stderr)
        .starts_with("factory-obs: --since \"yesterday\": expected an RFC 3339 time"));
}

#[test]
fn gzip_and_rotated_files_read_like_plain_ones() {
    use std::io::Write;
    let dir = synthetic(6);
    let lines = std::fs::read_to_string(dir.join("traces.jsonl")).unwrap();
    let (old, new): (Vec<&str>, Vec<&str>) =
        lines.lines().enumerate().partition_map_by(|(i, _)| *i < 3);
    std::fs::write(dir.join("traces.jsonl"), new.join("\n") + "\n").unwrap();
    let mut gz = flate2_writer(&dir.join("traces-2026-01-01T00-00-00.000.jsonl.gz"));
    gz.write_all((old.join("\n") + "\n").as_bytes()).unwrap();
    drop(gz);
    let output = obs(&["runs", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let ids: Vec<String> = text(&output.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        [
            "run-000000",
            "run-000001",
            "run-000002",
            "run-000003",
            "run-000004",
            "run-000005"
        ]
    );
}

/// Splits lines by a predicate on (index, line).
trait PartitionBy<'a> {
    fn partition_map_by(
        self,
        keep_left: impl Fn(&(usize, &'a str)) -> bool,
    ) -> (Vec<&'a str>, Vec<&'a str>);
}

impl<'a, I: Iterator<Item = (usize, &'a str)>> PartitionBy<'a> for I {
    fn partition_map_by(
        self,
        keep_left: impl Fn(&(usize, &'a str)) -> bool,
    ) -> (Vec<&'a str>, Vec<&'a str>) {
        let (left, right): (Vec<_>, Vec<_>) = self.partition(|item| keep_left(item));
        (
            left.into_iter().map(|(_, l)| l).collect(),
            right.into_iter().map(|(_, l)| l).collect(),
        )
    }
}

/// A gzip writer (flate2, as the reader uses).
fn flate2_writer(path: &Path) -> impl std::io::Write {
    flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    )
}

#[test]
fn the_html_page_draws_a_waterfall_for_the_latest_runs_given_by_the_flag() {
    let dir = synthetic(5);
    let page = dir.join("report.html");
    let page_arg = page.to_str().unwrap();
    let dir_arg = dir.to_str().unwrap();
    let count = |html: &str| {
        html.matches("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"waterfall\"")
            .count()
    };

    let output = obs(&["report", "--html", page_arg, "--waterfalls", "2", dir_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(count(&html), 2);
    assert!(html.contains("<h2>Waterfalls (the latest 2 runs)</h2>"));
    // Latest first.
    let first = html.find("data-run=\"run-000004\"").unwrap();
    let second = html.find("data-run=\"run-000003\"").unwrap();
    assert!(first < second);
    assert!(!html.contains("data-run=\"run-000002\""));

    // The default (50) covers the 5 runs.
    let output = obs(&["report", "--html", page_arg, dir_arg]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(count(&std::fs::read_to_string(&page).unwrap()), 5);

    let output = obs(&["report", "--waterfalls", "2", dir_arg]);
    assert_eq!(output.status.code(), Some(2), "--waterfalls needs --html");
    assert!(
        text(&output.stderr).contains("--html"),
        "{}",
        text(&output.stderr)
    );
}

/// Beyond 1,024 values a group's percentiles come from a sketch: the report says so, and each
/// is within 1 % of the exact nearest-rank percentile of the same spans (read here with the
/// runtime's reader, sorted).
#[test]
fn sketched_percentiles_are_within_one_percent_of_exact_ones() {
    let dir = synthetic(300);
    let output = obs(&["report", "--json", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["input"]["approximate_percentiles"], true);
    assert_eq!(report["input"]["quantile_relative_error"], 0.01);

    let mut durations: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    factory_observability_model::read_paths(std::slice::from_ref(&dir), |batch| {
        for span in batch.spans {
            if let Some(model) = span.attribute("llm.model") {
                durations
                    .entry(model.to_string())
                    .or_default()
                    .push(span.duration_nanos());
            }
        }
    })
    .unwrap();
    let mut sketched = 0;
    for row in report["models"].as_array().unwrap() {
        let values = durations.get_mut(row["model"].as_str().unwrap()).unwrap();
        values.sort_unstable();
        assert_eq!(row["calls"], values.len());
        sketched += usize::from(values.len() > 1024);
        for (key, p) in [("p50_ms", 50.0), ("p95_ms", 95.0), ("p99_ms", 99.0)] {
            let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
            let exact = values[rank - 1] as f64 / 1e6;
            let got = row[key].as_f64().unwrap();
            assert!(
                (got - exact).abs() <= 0.01 * exact + 0.001,
                "{} {key}: {got} ms, exact {exact} ms",
                row["model"]
            );
        }
        assert_eq!(
            row["max_ms"].as_f64().unwrap(),
            (*values.last().unwrap() as f64 / 1e3).round() / 1e3
        );
    }
    assert_eq!(sketched, 2, "both models have more than 1,024 calls");
    assert!(text(&output.stdout).contains("\"approximate_percentiles\": true"));
    let plain = obs(&["report", dir.to_str().unwrap()]);
    assert!(text(&plain.stdout)
        .lines()
        .next()
        .unwrap()
        .ends_with("; percentiles within 1% (sketched)"));
}

/// A short prefix matching many runs keeps only a few of them (not every run's stages) and
/// names ten, counting the rest.
#[test]
fn an_ambiguous_prefix_names_ten_runs_and_counts_the_others() {
    let dir = synthetic(30);
    let output = obs(&["trace", "run-0000", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "factory-obs: run id prefix \"run-0000\" is ambiguous: run-000000, run-000001, \
         run-000002, run-000003, run-000004, run-000005, run-000006, run-000007, run-000008, \
         run-000009 and 20 more\n"
    );
    let output = obs(&["compare", "run-000029", "run-00002", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let ten: Vec<String> = (20..30).map(|n| format!("run-{n:06}")).collect();
    assert_eq!(
        text(&output.stderr),
        format!(
            "factory-obs: run id prefix \"run-00002\" is ambiguous: {}\n",
            ten.join(", ")
        )
    );
    let output = obs(&["compare", "run-000029", "run-000021", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

/// Issue 25: lines are parsed on `--threads` threads and folded in line order, so every command
/// prints the same bytes (stdout and stderr) whatever their number. The input spans several
/// chunks (1 MiB each) of a plain file, a gzip file and malformed lines.
#[test]
fn output_is_the_same_whatever_the_number_of_threads() {
    use std::io::Write;
    let dir = synthetic(400);
    let mut gz = flate2_writer(&dir.join("traces-2026-01-01T00-00-00.000.jsonl.gz"));
    let malformed =
        std::fs::read(manifest().join("tests/fixtures/malformed/traces.jsonl")).unwrap();
    gz.write_all(&malformed).unwrap();
    drop(gz);
    let dir = dir.to_str().unwrap();
    let html =
        std::env::temp_dir().join(format!("factory-obs-threads-{}.html", std::process::id()));
    let html = html.to_str().unwrap();
    let commands: [&[&str]; 7] = [
        &["report", dir],
        &["report", "--json", "--stage", "implement", dir],
        &["runs", "--pipeline", "bugfix", dir],
        &["trace", "run-000123", dir],
        &["trace", "--json", "run-000399", dir],
        &["compare", "run-000001", "run-000398", dir],
        &["report", "--html", html, "--waterfalls", "7", dir],
    ];
    for command in commands {
        let mut outputs = Vec::new();
        for threads in ["1", "2", "3", "8"] {
            let mut args = command.to_vec();
            args.extend(["--threads", threads]);
            let output = obs(&args);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{args:?}: {}",
                text(&output.stderr)
            );
            let page = command
                .contains(&"--html")
                .then(|| std::fs::read_to_string(html).unwrap());
            outputs.push((threads, text(&output.stdout), text(&output.stderr), page));
        }
        let (_, stdout, stderr, page) = &outputs[0];
        assert!(
            stderr.contains("traces-2026-01-01T00-00-00.000.jsonl.gz:5: not JSON"),
            "{stderr}"
        );
        for (threads, other_stdout, other_stderr, other_page) in &outputs[1..] {
            assert!(
                other_stdout == stdout,
                "{command:?} --threads {threads}: stdout differs"
            );
            assert!(
                other_stderr == stderr,
                "{command:?} --threads {threads}: stderr differs"
            );
            assert!(
                other_page == page,
                "{command:?} --threads {threads}: page differs"
            );
        }
    }
}

/// One OTLP/JSON export request line: `spans` of a resource with `resource` attributes.
fn export_line(resource: &[(&str, &str)], spans: Vec<serde_json::Value>) -> String {
    export_line_of_scope("factory-observability", resource, spans)
}

/// [`export_line`] with the spans of the instrumentation scope `scope`.
fn export_line_of_scope(
    scope: &str,
    resource: &[(&str, &str)],
    spans: Vec<serde_json::Value>,
) -> String {
    let attributes = |pairs: &[(&str, &str)]| -> Vec<serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| serde_json::json!({"key": k, "value": {"stringValue": v}}))
            .collect()
    };
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": attributes(resource)},
        "scopeSpans": [{"scope": {"name": scope}, "spans": spans}]
    }]})
    .to_string()
}

/// A span of `[trace, id, parent]`, starting `start_ms` after the epoch of the test's day, with
/// string and integer attributes.
fn span_json(
    [trace, id, parent]: [&str; 3],
    name: &str,
    kind: u8,
    start_ms: u64,
    strings: &[(&str, &str)],
    status_error: bool,
) -> serde_json::Value {
    let start = 1_780_000_000_000_000_000u64 + start_ms * 1_000_000;
    let attributes: Vec<serde_json::Value> = strings
        .iter()
        .map(|(k, v)| match v.parse::<i64>() {
            Ok(n) => serde_json::json!({"key": k, "value": {"intValue": n.to_string()}}),
            Err(_) => serde_json::json!({"key": k, "value": {"stringValue": v}}),
        })
        .collect();
    serde_json::json!({
        "traceId": trace, "spanId": id, "parentSpanId": parent, "name": name, "kind": kind,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + 40_000_000).to_string(),
        "attributes": attributes,
        "status": if status_error { serde_json::json!({"code": 2}) } else { serde_json::json!({}) },
    })
}

/// Issue 20: a run recorded with the CI/CD conventions' names alone
/// (`FACTORY_OBS_PIPELINE_SEMCONV=cicd`: `BUILD {pipeline}`, the stage by its task name) is a run
/// to every command; and a product's requests long after it, in traces of their own, are joined
/// to it by the `factory.run.id` of the product's resource (`builds`, and `report`'s table).
#[test]
fn builds_join_a_products_later_requests_to_the_run_that_built_it() {
    const RUN: &str = "01a24000-0000-7000-8000-000000000001";
    const RUN_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    let dir = std::env::temp_dir().join(format!("factory-obs-builds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run_span = span_json(
        [RUN_TRACE, "b7ad6b7169203331", ""],
        "BUILD new_product",
        2,
        0,
        &[
            ("cicd.pipeline.name", "new_product"),
            ("cicd.pipeline.run.id", RUN),
            ("cicd.pipeline.result", "success"),
        ],
        false,
    );
    let stage_span = span_json(
        [RUN_TRACE, "00f067aa0ba902b7", "b7ad6b7169203331"],
        "implement",
        1,
        1,
        &[
            ("cicd.pipeline.task.name", "implement"),
            ("cicd.pipeline.task.run.result", "success"),
            ("run.id", RUN),
        ],
        false,
    );
    let factory = export_line(
        &[("service.name", "sf-factory")],
        vec![run_span, stage_span],
    );
    let build = [
        ("service.name", "product-api"),
        ("factory.run.id", RUN),
        ("factory.pipeline.name", "new_product"),
        ("factory.candidate", "claude"),
        ("factory.models", "claude-opus-4-5,gpt-5.3-codex"),
        (
            "vcs.ref.head.revision",
            "9f2c1e7d4b3a29180f6e5d4c3b2a190817263544",
        ),
    ];
    let request = |n: u64, route: &str, status: &str| {
        span_json(
            [&format!("{n:032x}"), &format!("{n:016x}"), ""],
            &format!("GET {route}"),
            2,
            1000 + n,
            &[
                ("http.request.method", "GET"),
                ("http.route", route),
                ("http.response.status_code", status),
            ],
            status.starts_with('5'),
        )
    };
    let later: Vec<_> = (1..=4)
        .map(|n| request(n, "/health", "200"))
        .chain((5..=7).map(|n| request(n, "/reports/export", "503")))
        .chain([request(8, "/reports/export", "200")])
        .collect();
    // A product no factory deployed: its requests are in `report`'s routes, not in any build.
    let unbuilt = export_line(
        &[("service.name", "other-api")],
        vec![request(9, "/x", "500")],
    );
    let lines = [factory, export_line(&build, later), unbuilt].join("\n") + "\n";
    std::fs::write(dir.join("traces.jsonl"), lines).unwrap();
    let dir = dir.display().to_string();

    let runs = obs(&["runs", &dir]);
    assert_eq!(runs.status.code(), Some(0), "{}", text(&runs.stderr));
    let runs = text(&runs.stdout);
    assert!(runs.contains(RUN) && runs.contains("new_product"), "{runs}");
    assert!(runs.contains("success"), "{runs}");

    let builds = obs(&["builds", &dir]);
    assert_eq!(builds.status.code(), Some(0), "{}", text(&builds.stderr));
    let builds = text(&builds.stdout);
    let lines: Vec<&str> = builds.lines().collect();
    assert!(lines[0].starts_with("run "), "{builds}");
    // Most errors first: the failing route, then the healthy one; the run was read.
    let export = lines
        .iter()
        .position(|l| l.contains("/reports/export"))
        .unwrap();
    let health = lines.iter().position(|l| l.contains("/health")).unwrap();
    assert!(export < health, "{builds}");
    let row: Vec<&str> = lines[export].split_whitespace().collect();
    assert_eq!(
        row,
        [
            RUN,
            "9f2c1e7d4b3a",
            "claude",
            "claude-opus-4-5,gpt-5.3-codex",
            "product-api",
            "GET",
            "/reports/export",
            "4",
            "3",
            "75.0%",
            "40",
            "ms"
        ],
        "{builds}"
    );
    assert!(!builds.contains("other-api"), "{builds}");
    assert!(builds.ends_with("`factory-obs trace RUN` shows the run that built a product.\n"));

    let json = obs(&["builds", "--json", &dir]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    assert_eq!(rows[0]["run_id"], RUN);
    assert_eq!(rows[0]["run_read"], true);
    assert_eq!(
        (rows[0]["requests"].as_u64(), rows[0]["errors"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(
        (rows[1]["route"].as_str(), rows[1]["errors"].as_u64()),
        (Some("GET /health"), Some(0))
    );

    // `report` has the same table; the stage recorded by its task name is a stage.
    let report = obs(&["report", "--json", &dir]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["builds"], rows);
    assert_eq!(report["stages"][0]["stage"], "implement");

    // Files without any build: the command says why, exit 1.
    let none = obs(&["builds", "fixtures/recorded"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none.stderr).starts_with("factory-obs: none of the "),
        "{}",
        text(&none.stderr)
    );
}

/// Issue 23: `trace` takes a trace id as well as a run id, and shows any trace: here a click in
/// a product's page (the web SDK's spans, forwarded by the product) and the product's request it
/// caused, one tree, with the service of each span.
#[test]
fn trace_by_id_shows_a_page_click_above_the_products_request() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let dir = std::env::temp_dir().join(format!("factory-obs-trace-id-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page = [("service.name", "product-webapp")];
    let click = span_json(
        [TRACE, "1000000000000001", ""],
        "user.create_task",
        1,
        0,
        &[("task.id", "7")],
        false,
    );
    let fetch = span_json(
        [TRACE, "1000000000000002", "1000000000000001"],
        "POST",
        3,
        1,
        &[("http.request.method", "POST")],
        false,
    );
    let server = span_json(
        [TRACE, "2000000000000001", "1000000000000002"],
        "POST /tasks",
        2,
        2,
        &[
            ("http.request.method", "POST"),
            ("http.route", "/tasks"),
            ("http.response.status_code", "201"),
        ],
        false,
    );
    let other_trace = span_json(
        ["5bf92f3577b34da6a3ce929d0e0e4736", "3000000000000001", ""],
        "GET /health",
        2,
        3,
        &[("http.route", "/health")],
        false,
    );
    let lines = [
        export_line_of_scope("@opentelemetry/instrumentation-fetch", &page, vec![fetch]),
        export_line_of_scope("product-webapp", &page, vec![click]),
        export_line(
            &[("service.name", "product-api")],
            vec![server, other_trace],
        ),
    ];
    std::fs::write(dir.join("traces.jsonl"), lines.join("\n") + "\n").unwrap();
    let dir = dir.display().to_string();

    let shown = obs(&["trace", TRACE, &dir]);
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace {TRACE} started ")),
        "{shown}"
    );
    let labels: Vec<&str> = lines[2..]
        .iter()
        .map(|line| line.split("  |").next().unwrap().trim_end())
        .collect();
    assert_eq!(
        labels,
        [
            "[product-webapp] user.create_task",
            "  [product-webapp] POST",
            "    [product-api] POST /tasks",
        ],
        "{shown}"
    );

    let json = obs(&["trace", &TRACE.to_uppercase(), "--json", &dir]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["trace_id"], TRACE);
    assert_eq!(json["run_id"], "");
    assert_eq!(json["rows"].as_array().unwrap().len(), 3, "{json}");
    assert_eq!(json["rows"][2]["service"], "product-api");

    let missing = obs(&["trace", "00000000000000000000000000000abc", &dir]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        text(&missing.stderr).trim_end(),
        "factory-obs: no span of trace 00000000000000000000000000000abc in the files read"
    );
}

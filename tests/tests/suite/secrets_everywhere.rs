//! Issue 24, "Secrets that leave": a fake secret of every kind the rules claim
//! (`testing::fake_secrets`), planted in every place text leaves a real child process (a
//! prompt, a completion, a captured argument on one line, on several lines and JSON-quoted, a
//! failing stage's error, a panic, the run's own error), never reaches the embedded default's
//! OTLP/JSON files nor stderr (where the run summary is printed); what is around the secrets
//! does, with a mask naming the kind.
//!
//! `fields(...)` and `tracing` events stay unredacted by default (they are the program's own
//! data); with `FACTORY_OBS_REDACT_ATTRIBUTES=true` they are redacted too, in the files and in
//! the events printed on stderr.
//!
//! `init` installs process-wide state: each scenario runs in a child process (this binary
//! again, running only the ignored test `child`).

use factory_observability::testing::{fake_secrets, FakeSecret};
use factory_observability::{llm_call, pipeline_run, pipeline_stage, TokenUsage, Usage};
use factory_observability_tests::faults::{scenario, Scenarios};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// This file's scenarios, each run by its ignored `child` test in a child process.
const SCENARIOS: Scenarios = Scenarios::of(module_path!());

struct Reply {
    text: String,
}

impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(30, 20))
    }
    fn output_text(&self) -> Option<&str> {
        Some(&self.text)
    }
}

#[llm_call(provider = "anthropic", model = "claude-opus-4-5", prompt = prompt, fields(case = case))]
fn ask(case: usize, prompt: &str, answer: &str) -> Reply {
    let _ = (case, prompt);
    Reply {
        text: format!("Completion {case}: {answer}"),
    }
}

#[pipeline_stage(fields(case = case), capture(args = [one_line, several_lines, json]))]
fn configure(case: usize, one_line: &str, several_lines: &str, json: &str) -> Result<(), String> {
    let _ = (one_line, json);
    let _ = several_lines;
    Err(format!("configure {case} failed: {one_line}"))
}

#[pipeline_stage(fields(case = case))]
fn crash(case: usize, text: &str) {
    panic!("crash {case}: {text}");
}

/// Recorded only with `FACTORY_OBS_REDACT_ATTRIBUTES=true`: a field and a `tracing` event.
#[pipeline_stage(fields(case = case, note = note))]
fn note(case: usize, note: &str) {
    tracing::warn!(note, "noted {case}: {note}");
}

#[pipeline_run(name = "secrets")]
fn run(fakes: &[FakeSecret], with_notes: bool) -> Result<(), String> {
    for (case, fake) in fakes.iter().enumerate() {
        let reply = ask(case, &format!("Prompt {case}: {}", fake.text), &fake.text);
        assert!(reply.text.contains(&fake.secret));
        let several_lines = format!("Step one of {case}:\n{}\nthen go", fake.text);
        let json = serde_json::json!({ "case": case, "note": several_lines }).to_string();
        assert!(configure(case, &fake.text, &several_lines, &json).is_err());
        let crashed = std::panic::catch_unwind(|| crash(case, &fake.text));
        assert!(crashed.is_err());
        if with_notes {
            note(case, &fake.text);
        }
    }
    Err(format!("the run failed after {}", fakes[0].text))
}

/// The program of every scenario; does nothing in the test run itself.
#[test]
#[ignore = "run by the tests below in a child process"]
fn child() {
    let with_notes = scenario() == "with_notes";
    // The program's panic hook would print the panic messages (and their secrets) on stderr:
    // that hook is the program's, not this crate's (docs/security.md).
    std::panic::set_hook(Box::new(|_| {}));
    let telemetry = factory_observability::init("secrets-everywhere").expect("init");
    let _ = run(&fake_secrets(), with_notes);
    telemetry.shutdown();
}

/// Runs scenario `name` in `dir` with the embedded default; returns its stderr.
fn run_scenario(name: &str, dir: &Path, env: &[(&str, &str)]) -> String {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut command = SCENARIOS.command(name, &[]);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("OTEL_") || key.starts_with("FACTORY_OBS_") {
            command.env_remove(&*key);
        }
    }
    let output = command
        .env("FACTORY_OBS_DIR", dir)
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run the child");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fo-secrets-{name}-{}", std::process::id()))
}

/// Every string of a JSON value (keys and values), decoded.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Object(map) => {
            for (key, item) in map {
                out.push(key.clone());
                strings(item, out);
            }
        }
        _ => {}
    }
}

/// A span of `traces.jsonl` as the assertions need it: its `case`, and its string attributes,
/// status message and event attributes by key.
#[derive(Debug, Default)]
struct Recorded {
    name: String,
    case: Option<i64>,
    texts: Vec<(String, String)>,
}

impl Recorded {
    fn get(&self, key: &str) -> Vec<&str> {
        self.texts
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn attribute_texts(attributes: &Value, out: &mut Vec<(String, String)>) {
    for attribute in attributes.as_array().into_iter().flatten() {
        if let (Some(key), Some(text)) = (
            attribute["key"].as_str(),
            attribute["value"]["stringValue"].as_str(),
        ) {
            out.push((key.to_owned(), text.to_owned()));
        }
    }
}

/// Every line of `traces.jsonl` parsed; every string in it; the spans.
fn read_traces(dir: &Path) -> (Vec<String>, Vec<Recorded>) {
    let text = std::fs::read_to_string(dir.join("traces.jsonl")).expect("traces.jsonl");
    let mut all = Vec::new();
    let mut spans = Vec::new();
    for line in text.lines() {
        let request: Value = serde_json::from_str(line).expect("one OTLP/JSON request a line");
        strings(&request, &mut all);
        for resource in request["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let mut recorded = Recorded {
                        name: span["name"].as_str().unwrap_or_default().to_owned(),
                        ..Recorded::default()
                    };
                    for attribute in span["attributes"].as_array().into_iter().flatten() {
                        if attribute["key"] == "case" {
                            recorded.case = attribute["value"]["intValue"]
                                .as_str()
                                .and_then(|n| n.parse().ok());
                        }
                    }
                    attribute_texts(&span["attributes"], &mut recorded.texts);
                    for event in span["events"].as_array().into_iter().flatten() {
                        attribute_texts(&event["attributes"], &mut recorded.texts);
                    }
                    if let Some(message) = span["status"]["message"].as_str() {
                        recorded.texts.push(("status".into(), message.to_owned()));
                    }
                    spans.push(recorded);
                }
            }
        }
    }
    (all, spans)
}

fn assert_no_secret_in(place: &str, texts: &[String], fakes: &[FakeSecret]) {
    for fake in fakes {
        for text in texts {
            assert!(
                !text.contains(&fake.secret),
                "the {} secret {} reached {place}: {text}",
                fake.kind,
                fake.secret
            );
        }
    }
}

/// Whether printed text shows `fake` masked: by its mask, or, for a password in a URL, by the
/// `***` that stands for the whole user information of every URL printed.
fn printed_masked(printed: &str, fake: &FakeSecret) -> bool {
    printed.contains(&format!("[REDACTED:{}]", fake.kind))
        || (fake.kind == "url_password" && printed.contains("://***@"))
}

/// The span named `name` of case `case`.
fn span_of<'a>(spans: &'a [Recorded], name: &str, case: usize) -> &'a Recorded {
    spans
        .iter()
        .find(|span| span.name == name && span.case == Some(case as i64))
        .unwrap_or_else(|| panic!("no {name} span of case {case}"))
}

#[test]
fn no_secret_of_any_kind_leaves_through_content_errors_panics_or_the_summary() {
    let fakes = fake_secrets();
    let dir = temp_dir("default");
    let stderr = run_scenario("default", &dir, &[]);
    let (all, spans) = read_traces(&dir);
    assert_no_secret_in("traces.jsonl", &all, &fakes);
    assert_no_secret_in("stderr", std::slice::from_ref(&stderr), &fakes);

    for (case, fake) in fakes.iter().enumerate() {
        let mask = format!("[REDACTED:{}]", fake.kind);
        let has_mask = |texts: Vec<&str>, what: &str| {
            assert!(
                texts.iter().any(|text| text.contains(&mask)),
                "case {case} ({}): no {mask} in {what}: {texts:?}",
                fake.kind
            );
        };
        let llm = span_of(&spans, "llm.call", case);
        has_mask(llm.get("gen_ai.input.messages"), "the prompt");
        has_mask(llm.get("gen_ai.output.messages"), "the completion");
        let input = llm.get("gen_ai.input.messages").concat();
        assert!(input.contains(&format!("Prompt {case}: ")), "{input}");
        let stage = span_of(&spans, "pipeline.stage", case);
        if stage.get("argument.one_line").is_empty() {
            panic!("{stage:?}");
        }
        has_mask(stage.get("argument.one_line"), "the one-line argument");
        has_mask(
            stage.get("argument.several_lines"),
            "the multi-line argument",
        );
        has_mask(stage.get("argument.json"), "the JSON-quoted argument");
        // Debug's escapes are kept around the mask.
        let several = stage.get("argument.several_lines").concat();
        assert!(
            several.starts_with(&format!("\"Step one of {case}:\\n")),
            "{several}"
        );
        has_mask(stage.get("status"), "the stage's error (status)");
        has_mask(
            stage.get("exception.message"),
            "the stage's error (exception)",
        );
        let crashed = spans
            .iter()
            .filter(|span| span.case == Some(case as i64) && span.name == "pipeline.stage")
            .find(|span| span.get("status").concat().starts_with("crash"))
            .unwrap_or_else(|| panic!("no crash span of case {case}"));
        has_mask(crashed.get("status"), "the panic (status)");
        has_mask(crashed.get("exception.message"), "the panic (exception)");
        // The summary on stderr: the stage's error, redacted (up to the next stage's line:
        // an error of several lines is printed on several).
        let error = format!("configure {case} failed: ");
        let at = stderr
            .find(&error)
            .unwrap_or_else(|| panic!("no {error} in the summary:\n{stderr}"));
        let printed = stderr[at..]
            .split("factory-observability:   ")
            .next()
            .unwrap();
        assert!(printed_masked(printed, fake), "case {case}: {printed}");
    }
    // The run's own error.
    let run = spans
        .iter()
        .find(|span| span.name == "pipeline.run")
        .unwrap();
    assert_eq!(
        run.get("status"),
        ["the run failed after use this key:\n[REDACTED:private_key]\nthanks"]
    );
    assert!(stderr.contains("factory-observability: run "), "{stderr}");
}

#[test]
fn fields_and_tracing_events_are_redacted_when_asked() {
    let fakes = fake_secrets();
    let dir = temp_dir("with-notes");
    let stderr = run_scenario(
        "with_notes",
        &dir,
        &[("FACTORY_OBS_REDACT_ATTRIBUTES", "true")],
    );
    let (all, spans) = read_traces(&dir);
    assert_no_secret_in("traces.jsonl", &all, &fakes);
    let logs = std::fs::read_to_string(dir.join("logs.jsonl")).expect("logs.jsonl");
    let mut log_texts = Vec::new();
    for line in logs.lines() {
        strings(&serde_json::from_str(line).unwrap(), &mut log_texts);
    }
    assert_no_secret_in("logs.jsonl", &log_texts, &fakes);
    assert_no_secret_in("stderr", std::slice::from_ref(&stderr), &fakes);
    for (case, fake) in fakes.iter().enumerate() {
        let mask = format!("[REDACTED:{}]", fake.kind);
        let noted = spans
            .iter()
            .find(|span| span.case == Some(case as i64) && !span.get("note").is_empty())
            .unwrap_or_else(|| panic!("no note span of case {case}"));
        assert!(noted.get("note").concat().contains(&mask), "{noted:?}");
        assert!(
            log_texts
                .iter()
                .any(|text| text.starts_with(&format!("noted {case}: ")) && text.contains(&mask)),
            "case {case}: no redacted log body"
        );
        // The event as printed (up to the next event: its text may span several lines).
        let at = stderr
            .find(&format!("noted {case}: "))
            .unwrap_or_else(|| panic!("case {case}: no event on stderr:\n{stderr}"));
        let printed = stderr[at..].split(" WARN ").next().unwrap();
        assert!(printed_masked(printed, fake), "case {case}: {printed}");
    }
}

/// Without the opt-in, `fields(...)` are exported as given: the documented default, measured
/// here so that a change of it is seen.
#[test]
fn fields_are_not_redacted_by_default() {
    let fakes = fake_secrets();
    let dir = temp_dir("notes-default");
    run_scenario("with_notes", &dir, &[]);
    let (_, spans) = read_traces(&dir);
    let noted = spans
        .iter()
        .find(|span| span.case == Some(3) && !span.get("note").is_empty())
        .expect("the note span of case 3");
    assert_eq!(noted.get("note"), [fakes[3].text.as_str()]);
}

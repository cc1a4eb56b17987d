//! `#[agent]` and `#[tool]` recorded in memory (`testing::Capture`): the spans the GenAI
//! conventions define (`semantic-conventions-genai`, `gen-ai-agent-spans.md` "Invoke agent
//! internal span" / "Invoke agent client span", `gen-ai-spans.md` "Execute tool span"), the
//! agent's totals, nested agents, the conversation carried as baggage, the two duration
//! histograms (`gen-ai-metrics.md` "Metric: `gen_ai.invoke_agent.duration`" and "Metric:
//! `gen_ai.execute_tool.duration`"), and content capture of a tool's arguments and result
//! ("Recording content on attributes": off by default, redacted, cut to valid JSON). The proof
//! against a real collector is `agents_collector.rs`.

use factory_observability::capture::ContentCapture;
use factory_observability::testing::{Capture, CapturedSpan, PointValue};
use factory_observability::{agent, llm_call, pipeline_run, tool, TokenUsage, Usage};
use opentelemetry::trace::{SpanId, SpanKind, Status};
use serde::Serialize;
use serde_json::Value;

const ANTHROPIC_KEY: &str = "sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK0lM2nP4qR6sT8uV";

struct Reply {
    input: u64,
    output: u64,
}

impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(self.input, self.output))
    }
}

#[llm_call(provider = "anthropic", model = "claude-opus-4-5")]
fn ask(input: u64, output: u64) -> Reply {
    Reply { input, output }
}

#[derive(Debug)]
struct ToolError(String);

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToolError {}

/// Reads a file of the workspace.
#[tool(name = "read_file", call_id = call_id)]
fn read_file(call_id: &str, path: &str) -> Result<String, ToolError> {
    Ok(format!("// {path}\nfn main() {{}}\n"))
}

#[derive(Serialize)]
struct EditReport {
    path: String,
    lines: usize,
}

/// Replaces the text of a file.
#[tool(name = "edit_file", kind = "function", capture_content)]
fn edit_file(path: &str, text: &str) -> Result<EditReport, ToolError> {
    Ok(EditReport {
        path: path.to_owned(),
        lines: text.lines().count(),
    })
}

/// Runs the tests; fails while `failing` is set.
#[tool(name = "run_tests", kind = "extension")]
fn run_tests(failing: bool) -> Result<u32, ToolError> {
    if failing {
        Err(ToolError("2 tests failed".into()))
    } else {
        Ok(12)
    }
}

/// Reviews a change.
#[agent(name = "reviewer", provider = "openai", model = "gpt-5")]
fn reviewer() -> Result<bool, ToolError> {
    ask(200, 10);
    run_tests(false)?;
    Ok(true)
}

/// Writes the code of one task and gets it reviewed.
///
/// Second paragraph.
#[agent(name = "coder", id = "coder-7", version = "2.1", model = "claude-opus-4-5",
        conversation_id = conversation)]
fn coder(conversation: &str) -> Result<bool, ToolError> {
    ask(1000, 100);
    read_file("call_1", "src/main.rs")?;
    edit_file("src/main.rs", "fn main() {}\n")?;
    let _ = run_tests(true);
    run_tests(false)?;
    reviewer()
}

#[pipeline_run(name = "agents")]
fn run(conversation: &str) -> Result<bool, ToolError> {
    coder(conversation)
}

fn one<'a>(spans: &'a [CapturedSpan], name: &str) -> &'a CapturedSpan {
    let found: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "{name}: {spans:#?}");
    found[0]
}

#[test]
fn an_agent_and_its_tools_are_the_conventions_spans_with_totals() {
    let capture = Capture::new();
    assert!(capture.run(|| run("conv-42")).unwrap());
    let spans = capture.spans();
    let run = one(&spans, "pipeline.run");
    let coder = one(&spans, "invoke_agent coder");
    let reviewer = one(&spans, "invoke_agent reviewer");
    assert_eq!(coder.parent_span_id, run.span_id);
    assert_eq!(reviewer.parent_span_id, coder.span_id);
    assert_eq!(coder.kind, SpanKind::Internal);
    assert_eq!(coder.status, Status::Ok);
    for (key, value) in [
        ("gen_ai.operation.name", "invoke_agent"),
        ("gen_ai.agent.name", "coder"),
        ("gen_ai.agent.id", "coder-7"),
        ("gen_ai.agent.version", "2.1"),
        (
            "gen_ai.agent.description",
            "Writes the code of one task and gets it reviewed.\n\nSecond paragraph.",
        ),
        ("gen_ai.request.model", "claude-opus-4-5"),
        // Not named by `#[agent]`: the provider of its first LLM call.
        ("gen_ai.provider.name", "anthropic"),
        ("gen_ai.conversation.id", "conv-42"),
        ("agent.outcome", "success"),
        // Its own calls and the reviewer's.
        ("agent.llm.calls", "2"),
        ("gen_ai.usage.input_tokens", "1200"),
        ("gen_ai.usage.output_tokens", "110"),
        ("agent.tool.calls", "5"),
        ("agent.tool.failures", "1"),
        ("code.function.name", "suite::agents::coder"),
    ] {
        assert_eq!(coder.attr(key).as_deref(), Some(value), "{key}: {coder:#?}");
    }
    assert!(coder.attr("agent.cost_usd").is_some(), "{coder:#?}");
    for (key, value) in [
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-5"),
        ("agent.llm.calls", "1"),
        ("agent.tool.calls", "1"),
        ("agent.tool.failures", "0"),
        ("gen_ai.usage.input_tokens", "200"),
        // The conversation of the agent it runs under.
        ("gen_ai.conversation.id", "conv-42"),
    ] {
        assert_eq!(reviewer.attr(key).as_deref(), Some(value), "{key}");
    }
    assert_eq!(run.attr("run.tool.calls").as_deref(), Some("5"));
    assert_eq!(run.attr("run.tool.failures").as_deref(), Some("1"));
    assert_eq!(run.attr("run.llm.calls").as_deref(), Some("2"));

    let read = one(&spans, "execute_tool read_file");
    assert_eq!(read.parent_span_id, coder.span_id);
    assert_eq!(read.kind, SpanKind::Internal);
    for (key, value) in [
        ("gen_ai.operation.name", "execute_tool"),
        ("gen_ai.tool.name", "read_file"),
        ("gen_ai.tool.type", "function"),
        ("gen_ai.tool.call.id", "call_1"),
        ("gen_ai.tool.description", "Reads a file of the workspace."),
        ("gen_ai.conversation.id", "conv-42"),
        ("tool.outcome", "success"),
    ] {
        assert_eq!(read.attr(key).as_deref(), Some(value), "{key}");
    }
    // Content is captured only at sites with `capture_content` (`edit_file`, below).
    assert_eq!(read.attr("gen_ai.tool.call.arguments"), None);
    assert_eq!(read.attr("gen_ai.tool.call.result"), None);

    let tests: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.name == "execute_tool run_tests")
        .collect();
    assert_eq!(tests.len(), 3);
    let failed = tests
        .iter()
        .find(|s| s.attr("tool.outcome").as_deref() == Some("failure"))
        .unwrap();
    assert_eq!(failed.status, Status::error("2 tests failed"));
    assert_eq!(
        failed.attr("error.type").as_deref(),
        Some("suite::agents::ToolError")
    );
    assert_eq!(
        failed.attr("gen_ai.tool.type").as_deref(),
        Some("extension")
    );
    // The reviewer's own call is its child.
    assert_eq!(
        tests
            .iter()
            .filter(|s| s.parent_span_id == reviewer.span_id)
            .count(),
        1
    );
    // The LLM calls carry the conversation too.
    for llm in spans.iter().filter(|s| s.name == "llm.call") {
        assert_eq!(
            llm.attr("gen_ai.conversation.id").as_deref(),
            Some("conv-42")
        );
    }
}

#[test]
fn the_duration_histograms_label_by_names_and_outcome_never_by_call() {
    let capture = Capture::new();
    capture.run(|| run("conv-43")).unwrap();
    let tools = capture.metric("gen_ai.execute_tool.duration");
    let labels: Vec<String> = tools
        .iter()
        .map(|point| {
            let count = match point.value {
                PointValue::Histogram { count, .. } => count,
                PointValue::Sum(_) => panic!("{point:?}"),
            };
            format!("{:?} x{count}", point.attributes)
        })
        .collect();
    let mut labels = labels;
    labels.sort();
    assert_eq!(
        labels,
        [
            r#"{"error.type": "suite::agents::ToolError", "gen_ai.agent.name": "coder", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_tests", "gen_ai.tool.type": "extension", "outcome": "failure"} x1"#,
            r#"{"gen_ai.agent.name": "coder", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "edit_file", "gen_ai.tool.type": "function", "outcome": "success"} x1"#,
            r#"{"gen_ai.agent.name": "coder", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_file", "gen_ai.tool.type": "function", "outcome": "success"} x1"#,
            r#"{"gen_ai.agent.name": "coder", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_tests", "gen_ai.tool.type": "extension", "outcome": "success"} x1"#,
            r#"{"gen_ai.agent.name": "reviewer", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_tests", "gen_ai.tool.type": "extension", "outcome": "success"} x1"#,
        ]
    );
    let agents = capture.metric("gen_ai.invoke_agent.duration");
    let mut labels: Vec<String> = agents
        .iter()
        .map(|point| format!("{:?}", point.attributes))
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            r#"{"gen_ai.agent.name": "coder", "gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-opus-4-5", "outcome": "success"}"#,
            r#"{"gen_ai.agent.name": "reviewer", "gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-5", "outcome": "success"}"#,
        ]
    );
    match &agents[0].value {
        PointValue::Histogram { bounds, .. } => assert_eq!(
            bounds,
            &[0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(agents[0].unit, "s");
}

/// Deploys with a configuration.
#[agent(name = "deployer", remote)]
fn deployer() -> Result<(), ToolError> {
    Err(ToolError("the cluster refused".into()))
}

#[test]
fn a_remote_agent_is_a_client_span_and_fails_as_a_stage() {
    let capture = Capture::new();
    assert!(capture.run(deployer).is_err());
    let spans = capture.spans();
    let span = one(&spans, "invoke_agent deployer");
    assert_eq!(span.kind, SpanKind::Client);
    assert_eq!(span.parent_span_id, SpanId::INVALID);
    assert_eq!(span.status, Status::error("the cluster refused"));
    assert_eq!(span.attr("agent.outcome").as_deref(), Some("failure"));
    assert_eq!(
        span.attr("error.type").as_deref(),
        Some("suite::agents::ToolError")
    );
    // No LLM call under it: no provider to name, and zero totals.
    assert_eq!(span.attr("gen_ai.provider.name"), None);
    assert_eq!(span.attr("agent.llm.calls").as_deref(), Some("0"));
    assert_eq!(span.attr("gen_ai.conversation.id"), None);
}

#[derive(Serialize)]
struct Patch {
    path: String,
    text: String,
}

/// Writes a patch into the workspace.
#[tool(name = "apply_patch", capture_content)]
fn apply_patch(patch: &Patch, dry_run: bool) -> Result<Vec<String>, ToolError> {
    Ok(patch
        .text
        .lines()
        .map(|line| format!("{dry_run}: {line}"))
        .collect())
}

fn patch() -> Patch {
    Patch {
        path: "deploy.env".into(),
        text: format!("ANTHROPIC_API_KEY={ANTHROPIC_KEY}\nPORT=8080"),
    }
}

#[test]
fn tool_content_is_captured_only_where_asked_redacted_and_valid_json() {
    // Unset (the default): the site opts in.
    let capture = Capture::new();
    capture.run(|| apply_patch(&patch(), true)).unwrap();
    let span = &capture.spans()[0];
    let arguments: Value =
        serde_json::from_str(&span.attr("gen_ai.tool.call.arguments").unwrap()).unwrap();
    assert_eq!(
        arguments,
        serde_json::json!({
            "patch": {"path": "deploy.env", "text": "ANTHROPIC_API_KEY=[REDACTED:api_key]\nPORT=8080"},
            "dry_run": true,
        })
    );
    let result: Value =
        serde_json::from_str(&span.attr("gen_ai.tool.call.result").unwrap()).unwrap();
    assert_eq!(
        result,
        serde_json::json!([
            "true: ANTHROPIC_API_KEY=[REDACTED:api_key]",
            "true: PORT=8080"
        ])
    );
    assert!(!format!("{span:?}").contains("Xq9vL2mN8pR4"));

    // `false` process-wide: nowhere.
    let off = Capture::new().with_content_capture(ContentCapture::Off, 8192);
    off.run(|| apply_patch(&patch(), true)).unwrap();
    let span = &off.spans()[0];
    assert_eq!(span.attr("gen_ai.tool.call.arguments"), None);
    assert_eq!(span.attr("gen_ai.tool.call.result"), None);

    // `true` process-wide: still only sites with `capture_content` (their types are known to
    // serialise); `read_file` records nothing.
    let on = Capture::new().with_content_capture(ContentCapture::On, 8192);
    on.run(|| read_file("call_2", "README.md")).unwrap();
    assert_eq!(on.spans()[0].attr("gen_ai.tool.call.arguments"), None);
}

/// Returns a huge log.
#[tool(name = "read_log", capture_content)]
fn read_log(lines: usize) -> Vec<String> {
    (0..lines).map(|i| format!("line {i}: ok")).collect()
}

#[test]
fn a_huge_tool_result_is_cut_to_valid_json() {
    let capture = Capture::new().with_content_capture(ContentCapture::SitesOptIn, 1000);
    assert_eq!(capture.run(|| read_log(100_000)).len(), 100_000);
    let span = &capture.spans()[0];
    let result = span.attr("gen_ai.tool.call.result").unwrap();
    assert!(result.chars().count() <= 1000, "{}", result.len());
    let parsed: Vec<String> = serde_json::from_str(&result).unwrap();
    assert_eq!(parsed[0], "line 0: ok");
    assert!(parsed.len() > 10, "{}", parsed.len());
    assert_eq!(
        span.attr("gen_ai.tool.call.arguments").as_deref(),
        Some(r#"{"lines":100000}"#)
    );
}

#[test]
fn a_failed_tool_records_no_result() {
    let capture = Capture::new();
    let failing = |patch: &Patch| -> Result<(), ToolError> {
        #[tool(name = "failing_patch", capture_content)]
        fn failing_patch(patch: &Patch) -> Result<String, ToolError> {
            Err(ToolError(format!("cannot write {}", patch.path)))
        }
        failing_patch(patch).map(|_| ())
    };
    assert!(capture.run(|| failing(&patch())).is_err());
    let span = &capture.spans()[0];
    assert!(span.attr("gen_ai.tool.call.arguments").is_some());
    assert_eq!(span.attr("gen_ai.tool.call.result"), None);
    assert_eq!(span.attr("tool.outcome").as_deref(), Some("failure"));
}

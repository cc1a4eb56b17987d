//! End to end: the `factory_pipeline` example exports OTLP/HTTP to a real collector (Rotel),
//! and what the collector received is exactly the run's telemetry.
//!
//! The whole chain (`the_whole_chain_from_factory_to_product_is_one_trace`): the run's smoke
//! stage starts the product example as a child process and calls it; both processes export to
//! the same collector, and their spans are one trace.
//!
//! The implement step is a coding agent (`#[agent]`, `#[tool]`) whose linter is an MCP server,
//! a child process of the example (`factory_pipeline mcp_server`, service `sf-mcp-linter`): its
//! SERVER spans are children of the agent's MCP CLIENT spans, in the run's trace.
//!
//! Needs `rotel-agent`: `scripts/test.sh` installs it, or set `ROTEL_AGENT` to its path.

use factory_observability_tests::collector::{
    closed_port, labels, parse_logs, parse_metrics, parse_spans, Collector, ReceivedSpan,
};
use factory_observability_tests::program::{run, Run};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// What the example prints on stdout when the product was built.
const BUILT: &str = "built todo-app: 16 tests passed";

/// How long the example may run (it takes well under a second when all goes well).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the collector may take to print what it received after the example exited.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs the example with a clean `OTEL_*` environment plus `envs`, its coding agent's MCP linter a
/// child process of its own (`program::run` has it off), bounded by [`RUN_TIMEOUT`].
fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e_collector-{name}"));
    let mut all = vec![("FACTORY_PIPELINE_MCP", "on".to_owned())];
    all.extend(envs.iter().cloned());
    run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &dir,
        &all,
        RUN_TIMEOUT,
    )
}

fn attribute<'a>(span: &'a ReceivedSpan, key: &str) -> &'a str {
    span.attributes
        .get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("span {} has no attribute {key}: {span:#?}", span.name))
}

/// Whether `text` is `Str(<a hyphenated UUID>)`.
fn is_printed_uuid(text: &str) -> bool {
    let Some(uuid) = text.strip_prefix("Str(").and_then(|t| t.strip_suffix(')')) else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn a_run_reaches_a_real_collector_intact() {
    let collector = Collector::start();
    let run = run_pipeline(
        "delivered",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("OTEL_SERVICE_NAME", "factory-e2e".into()),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=e2e".into(),
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "60000".into()),
            // The factory alone: `the_whole_chain_...` below has the product.
            ("FACTORY_PIPELINE_SMOKE", "off".into()),
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "factory_pipeline failed: {}",
        run.describe()
    );
    assert!(
        run.stdout.contains(BUILT),
        "no `{BUILT}`: {}",
        run.describe()
    );

    collector.expect(
        "44 spans, the run metric and 3 log records",
        |output| {
            parse_spans(output).len() >= 44
                && parse_metrics(output)
                    .iter()
                    .any(|point| point.name == "pipeline.runs.total")
                && parse_logs(output).len() >= 3
        },
        RECEIVE_TIMEOUT,
    );
    let output = collector.output();
    let context = format!("\n--- collector output\n{output}");

    // Spans: the factory's 40 (one run, seven stage attempts and one adjudication under it, two
    // invocations of the coding agent under the implement attempts with their tools, MCP
    // requests and sub-agent, fourteen LLM calls) and the MCP linter's 4 (one session: its
    // `initialize`, `notifications/initialized`, and a `tools/call lint` an attempt).
    let (spans, linter): (Vec<ReceivedSpan>, Vec<ReceivedSpan>) =
        parse_spans(&output).into_iter().partition(|s| {
            s.resource.get("service.name").map(String::as_str) == Some("Str(factory-e2e)")
        });
    assert_eq!(spans.len(), 40, "spans: {spans:#?}{context}");
    assert_eq!(linter.len(), 4, "linter spans: {linter:#?}{context}");
    let roots: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == "pipeline.run").collect();
    assert_eq!(roots.len(), 1, "one pipeline.run span expected{context}");
    let root = roots[0];
    assert_eq!(root.parent_id, "", "the run span is a root{context}");
    assert_eq!(root.trace_id.len(), 32, "{root:#?}");
    assert_eq!(root.span_id.len(), 16, "{root:#?}");
    assert_eq!(root.kind, "SPAN_KIND_INTERNAL");
    assert_eq!(root.status_code, "STATUS_CODE_OK", "{root:#?}");
    assert_eq!(attribute(root, "pipeline.name"), "Str(new_product)");
    assert_eq!(attribute(root, "run.outcome"), "Str(success)");
    assert_eq!(attribute(root, "product.features"), "Int(3)");
    assert_eq!(
        attribute(root, "code.function.name"),
        "Str(factory_pipeline::run_factory)"
    );
    let run_id = attribute(root, "run.id");
    assert!(is_printed_uuid(run_id), "run.id {run_id} is not a UUID");
    assert!(
        attribute(root, "run.timestamp").starts_with("Str("),
        "{root:#?}"
    );

    let mut stages: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == "pipeline.stage")
        .collect();
    assert_eq!(stages.len(), 7, "{context}");
    for stage in &stages {
        assert_eq!(stage.name, "pipeline.stage", "{stage:#?}");
        assert_eq!(stage.trace_id, root.trace_id, "{stage:#?}");
        assert_eq!(stage.parent_id, root.span_id, "{stage:#?}");
        assert_eq!(stage.kind, "SPAN_KIND_INTERNAL", "{stage:#?}");
        assert_eq!(attribute(stage, "run.id"), run_id, "{stage:#?}");
    }
    let adjudications: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == "pipeline.adjudicate")
        .collect();
    assert_eq!(adjudications.len(), 1, "{context}");
    let adjudication = adjudications[0];
    assert_eq!(adjudication.parent_id, root.span_id);
    assert_eq!(
        attribute(adjudication, "adjudication.name"),
        "Str(pick_winner)"
    );
    assert_eq!(attribute(adjudication, "adjudication.candidates"), "Int(2)");
    assert_eq!(
        attribute(adjudication, "adjudication.selected"),
        "Str(claude)"
    );
    assert_eq!(
        attribute(adjudication, "adjudication.claude_score"),
        "Double(1)"
    );
    assert_eq!(
        attribute(adjudication, "adjudication.codex_score"),
        "Double(0.9375)"
    );
    assert_eq!(
        attribute(adjudication, "adjudication.codex_tests_passed"),
        "Int(15)"
    );
    assert_eq!(
        attribute(adjudication, "adjudication.margin"),
        "Double(0.0625)"
    );
    let span_ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(span_ids.len(), 40, "span ids are distinct{context}");

    // LLM calls: one by the planner under `plan`; under each implement attempt, the coding
    // agent's (the model asking for tools, one per task, and on the second attempt the results
    // sent back and the reviewer sub-agent's call to the planner's model); three by the
    // planner's model under the rival implementation.
    let calls: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == "llm.call").collect();
    assert_eq!(calls.len(), 14, "{context}");
    let is_under = |span: &ReceivedSpan, ancestor: &ReceivedSpan| -> bool {
        let mut parent = span.parent_id.as_str();
        while let Some(up) = spans.iter().find(|s| s.span_id == parent) {
            if up.span_id == ancestor.span_id {
                return true;
            }
            parent = up.parent_id.as_str();
        }
        false
    };
    let mut calls_per_stage: Vec<(&str, &str, BTreeSet<&str>, usize)> = stages
        .iter()
        .map(|stage| {
            let under: Vec<&&ReceivedSpan> =
                calls.iter().filter(|call| is_under(call, stage)).collect();
            let providers = under
                .iter()
                .map(|c| attribute(c, "gen_ai.provider.name"))
                .collect();
            (
                attribute(stage, "stage.name"),
                attribute(stage, "stage.attempt"),
                providers,
                under.len(),
            )
        })
        .collect();
    calls_per_stage.sort();
    let providers = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<&str>>();
    assert_eq!(
        calls_per_stage,
        [
            ("Str(implement)", "Int(1)", providers(&["Str(openai)"]), 4),
            (
                "Str(implement)",
                "Int(2)",
                providers(&["Str(anthropic)", "Str(openai)"]),
                6
            ),
            (
                "Str(implement_rival)",
                "Int(1)",
                providers(&["Str(anthropic)"]),
                3
            ),
            ("Str(plan)", "Int(1)", providers(&["Str(anthropic)"]), 1),
            ("Str(test)", "Int(1)", providers(&[]), 0),
            ("Str(test)", "Int(1)", providers(&[]), 0),
            ("Str(typecheck)", "Int(1)", providers(&[]), 0),
        ],
        "{context}"
    );
    assert_coding_agent(&spans, &linter, &stages, &context);
    for call in &calls {
        assert_eq!(call.kind, "SPAN_KIND_CLIENT", "{call:#?}");
        assert_eq!(call.trace_id, root.trace_id);
        assert_eq!(attribute(call, "gen_ai.operation.name"), "Str(chat)");
        assert_eq!(attribute(call, "llm.finish_reason"), "Str(stop)");
        assert!(
            attribute(call, "llm.cost_usd").starts_with("Double("),
            "{call:#?}"
        );
    }
    assert_eq!(attribute(root, "run.llm.calls"), "Int(14)");
    assert_eq!(attribute(root, "run.tokens.input"), "Int(10825)");
    assert_eq!(attribute(root, "run.tokens.output"), "Int(17920)");
    assert_eq!(attribute(root, "run.tool.calls"), "Int(10)");
    assert_eq!(attribute(root, "run.tool.failures"), "Int(2)");

    let mut attempts: Vec<(&str, &str, &str)> = stages
        .iter()
        .map(|s| {
            (
                attribute(s, "stage.name"),
                attribute(s, "stage.attempt"),
                attribute(s, "stage.outcome"),
            )
        })
        .collect();
    attempts.sort();
    let mut expected = vec![
        ("Str(plan)", "Int(1)", "Str(success)"),
        ("Str(implement)", "Int(1)", "Str(failure)"),
        ("Str(implement)", "Int(2)", "Str(success)"),
        ("Str(implement_rival)", "Int(1)", "Str(success)"),
        ("Str(typecheck)", "Int(1)", "Str(success)"),
        ("Str(test)", "Int(1)", "Str(failure)"),
        ("Str(test)", "Int(1)", "Str(success)"),
    ];
    expected.sort();
    assert_eq!(attempts, expected, "{context}");

    // The stages ran one after the other, in the pipeline's order.
    let start = |span: &ReceivedSpan| -> u64 {
        span.start_time
            .parse()
            .unwrap_or_else(|_| panic!("start time of {span:#?}"))
    };
    stages.sort_by_key(|s| start(s));
    let order: Vec<(&str, &str)> = stages
        .iter()
        .map(|s| (attribute(s, "stage.name"), attribute(s, "stage.attempt")))
        .collect();
    assert_eq!(
        order,
        [
            ("Str(plan)", "Int(1)"),
            ("Str(implement)", "Int(1)"),
            ("Str(implement)", "Int(2)"),
            ("Str(implement_rival)", "Int(1)"),
            ("Str(typecheck)", "Int(1)"),
            ("Str(test)", "Int(1)"),
            ("Str(test)", "Int(1)"),
        ]
    );

    for stage in &stages {
        if attribute(stage, "stage.name") == "Str(test)" {
            let failed = attribute(stage, "test.failed") == "Int(1)";
            assert_eq!(
                attribute(stage, "test.passed"),
                if failed { "Int(15)" } else { "Int(16)" }
            );
            if failed {
                assert_eq!(attribute(stage, "candidate"), "Str(codex)");
                assert_eq!(stage.status_code, "STATUS_CODE_ERROR", "{stage:#?}");
                assert_eq!(
                    stage.status_message,
                    "1 of 16 tests failed: complete task: undo"
                );
            } else {
                assert_eq!(attribute(stage, "candidate"), "Str(claude)");
                assert_eq!(attribute(stage, "test.pass_rate"), "Double(1)");
            }
            continue;
        }
        if attribute(stage, "stage.outcome") == "Str(failure)" {
            assert_eq!(stage.status_code, "STATUS_CODE_ERROR", "{stage:#?}");
            assert_eq!(
                stage.status_message, "compile error: expected `;` at src/main.rs:12",
                "{stage:#?}"
            );
            assert_eq!(
                attribute(stage, "error.type"),
                "Str(factory_pipeline::FactoryError)"
            );
        } else {
            assert_eq!(stage.status_code, "STATUS_CODE_OK", "{stage:#?}");
            assert_eq!(stage.status_message, "", "{stage:#?}");
            assert!(!stage.attributes.contains_key("error.type"), "{stage:#?}");
        }
    }

    for span in &spans {
        assert_eq!(
            span.resource.get("service.name").map(String::as_str),
            Some("Str(factory-e2e)"),
            "{span:#?}"
        );
        assert_eq!(
            span.resource
                .get("deployment.environment")
                .map(String::as_str),
            Some("Str(e2e)"),
            "{span:#?}"
        );
    }

    // Metrics: the final export at shutdown.
    let points = parse_metrics(&output);
    let points_of = |name: &str| -> Vec<_> { points.iter().filter(|p| p.name == name).collect() };
    let runs = points_of("pipeline.runs.total");
    assert_eq!(runs.len(), 1, "{runs:#?}{context}");
    assert_eq!(
        runs[0].attributes,
        labels(&[
            ("pipeline.name", "Str(new_product)"),
            ("outcome", "Str(success)")
        ])
    );
    assert_eq!(runs[0].value, "1", "{context}");
    assert_eq!(
        runs[0].resource.get("service.name").map(String::as_str),
        Some("Str(factory-e2e)")
    );
    assert_eq!(
        runs[0]
            .resource
            .get("deployment.environment")
            .map(String::as_str),
        Some("Str(e2e)")
    );

    let retries = points_of("pipeline.stage.retries.total");
    assert_eq!(retries.len(), 1, "{retries:#?}{context}");
    assert_eq!(
        retries[0].attributes,
        labels(&[("stage.name", "Str(implement)")])
    );
    assert_eq!(retries[0].value, "1", "{context}");

    let durations = points_of("pipeline.stage.duration");
    let mut measured: Vec<(String, String, String)> = durations
        .iter()
        .map(|p| {
            (
                p.attributes.get("stage.name").cloned().unwrap_or_default(),
                p.attributes.get("outcome").cloned().unwrap_or_default(),
                p.value.clone(),
            )
        })
        .collect();
    measured.sort();
    let mut expected: Vec<(String, String, String)> = [
        ("Str(plan)", "Str(success)"),
        ("Str(implement)", "Str(failure)"),
        ("Str(implement)", "Str(success)"),
        ("Str(implement_rival)", "Str(success)"),
        ("Str(typecheck)", "Str(success)"),
        ("Str(test)", "Str(failure)"),
        ("Str(test)", "Str(success)"),
    ]
    .iter()
    .map(|(stage, outcome)| (stage.to_string(), outcome.to_string(), "1".to_string()))
    .collect();
    expected.sort();
    assert_eq!(
        measured, expected,
        "pipeline.stage.duration points (stage, outcome, count){context}"
    );
    for point in &durations {
        assert_eq!(point.data_type, "Histogram", "{point:#?}");
    }

    // Logs: the three tracing events, each inside the stage attempt that emitted it.
    let logs = parse_logs(&output);
    assert_eq!(logs.len(), 3, "{logs:#?}{context}");
    let stage_of = |span_id: &str| -> (&str, &str) {
        let stage = stages
            .iter()
            .find(|s| s.span_id == span_id)
            .unwrap_or_else(|| panic!("span id {span_id} is not a stage's{context}"));
        (
            attribute(stage, "stage.name"),
            attribute(stage, "stage.attempt"),
        )
    };
    let mut received: Vec<(&str, &str, (&str, &str))> = logs
        .iter()
        .map(|log| {
            assert_eq!(log.trace_id, root.trace_id, "{log:#?}");
            assert_eq!(
                log.resource.get("service.name").map(String::as_str),
                Some("Str(factory-e2e)"),
                "{log:#?}"
            );
            (
                log.body.as_str(),
                log.severity_text.as_str(),
                stage_of(&log.span_id),
            )
        })
        .collect();
    received.sort();
    let mut expected = vec![
        ("Str(planned todo-app)", "INFO", ("Str(plan)", "Int(1)")),
        (
            "Str(generated code does not compile)",
            "WARN",
            ("Str(implement)", "Int(1)"),
        ),
        ("Str(typecheck clean)", "INFO", ("Str(typecheck)", "Int(1)")),
    ];
    expected.sort();
    assert_eq!(received, expected, "{context}");
}

#[test]
fn an_unreachable_collector_is_reported_as_lost_telemetry() {
    let port = closed_port();
    let run = run_pipeline(
        "unreachable",
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".into()),
            ("FACTORY_PIPELINE_SMOKE", "off".into()),
        ],
    );
    assert!(
        run.stdout.contains(BUILT),
        "the run itself must succeed: {}",
        run.describe()
    );
    assert_eq!(
        run.status.code(),
        Some(3),
        "undelivered telemetry exits 3: {}",
        run.describe()
    );
    assert!(
        run.stderr.contains("lost"),
        "the delivery report names the lost telemetry: {}",
        run.describe()
    );
}

/// The coding agent of each implement attempt, its tools and MCP requests, and the MCP linter's
/// SERVER span of each request, child of the request's CLIENT span.
fn assert_coding_agent(
    spans: &[ReceivedSpan],
    linter: &[ReceivedSpan],
    stages: &[&ReceivedSpan],
    context: &str,
) {
    let agents = spans_named(spans, "invoke_agent coder");
    assert_eq!(agents.len(), 2, "{context}");
    for agent in &agents {
        let stage = stages
            .iter()
            .find(|s| s.span_id == agent.parent_id)
            .unwrap_or_else(|| panic!("the agent is not under a stage: {agent:#?}"));
        assert_eq!(attribute(stage, "stage.name"), "Str(implement)");
        assert_eq!(
            attribute(agent, "gen_ai.operation.name"),
            "Str(invoke_agent)"
        );
        assert_eq!(
            attribute(agent, "gen_ai.conversation.id"),
            "Str(todo-app-implement)"
        );
        let tools: Vec<&str> = spans
            .iter()
            .filter(|s| s.parent_id == agent.span_id && s.name.starts_with("execute_tool "))
            .map(|s| s.name.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let failed = attribute(stage, "stage.outcome") == "Str(failure)";
        if failed {
            assert_eq!(attribute(agent, "agent.outcome"), "Str(failure)");
            assert_eq!(attribute(agent, "agent.tool.calls"), "Int(4)");
            assert_eq!(attribute(agent, "agent.tool.failures"), "Int(1)");
            assert_eq!(
                tools,
                [
                    "execute_tool edit_file",
                    "execute_tool lint",
                    "execute_tool read_file"
                ]
            );
        } else {
            assert_eq!(attribute(agent, "agent.outcome"), "Str(success)");
            // read_file, two edits, lint, run_tests failed then retried.
            assert_eq!(attribute(agent, "agent.tool.calls"), "Int(6)");
            assert_eq!(attribute(agent, "agent.tool.failures"), "Int(1)");
            assert_eq!(attribute(agent, "agent.llm.calls"), "Int(6)");
            let reviewer = spans_named(spans, "invoke_agent reviewer");
            assert_eq!(reviewer.len(), 1, "{context}");
            assert_eq!(reviewer[0].parent_id, agent.span_id);
        }
    }
    // Each lint is a tool whose MCP request's SERVER span, in the linter's process, is the
    // child of the request's CLIENT span. The first lint starts the session: its `initialize`
    // and `notifications/initialized` are CLIENT spans under it too.
    let mut first_lint = Vec::new();
    for lint in spans_named(spans, "execute_tool lint") {
        let mut requests: Vec<&str> = spans
            .iter()
            .filter(|s| s.parent_id == lint.span_id)
            .map(|s| s.name.as_str())
            .collect();
        requests.sort_unstable();
        if requests.len() > 1 {
            first_lint = requests.clone();
        }
        let client: Vec<&ReceivedSpan> = spans
            .iter()
            .filter(|s| s.parent_id == lint.span_id && s.name == "tools/call lint")
            .collect();
        assert_eq!(client.len(), 1, "{context}");
        let client = client[0];
        assert_eq!(client.name, "tools/call lint");
        assert_eq!(client.kind, "SPAN_KIND_CLIENT");
        assert_eq!(attribute(client, "network.transport"), "Str(pipe)");
        let server: Vec<&ReceivedSpan> = linter
            .iter()
            .filter(|s| s.parent_id == client.span_id)
            .collect();
        assert_eq!(server.len(), 1, "{linter:#?}{context}");
        assert_eq!(server[0].name, "tools/call lint");
        assert_eq!(server[0].kind, "SPAN_KIND_SERVER");
        assert_eq!(server[0].trace_id, client.trace_id);
        assert_eq!(
            attribute(server[0], "gen_ai.conversation.id"),
            "Str(todo-app-implement)"
        );
    }
    assert_eq!(
        first_lint,
        ["initialize", "notifications/initialized", "tools/call lint"],
        "{context}"
    );
    let lint_errors: Vec<&str> = linter
        .iter()
        .filter(|s| s.name == "tools/call lint" && s.status_code == "STATUS_CODE_ERROR")
        .map(|s| s.status_message.as_str())
        .collect();
    assert_eq!(lint_errors, ["expected `;` at src/main.rs:12"], "{context}");
}

/// The spans called `name`.
fn spans_named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[test]
fn the_whole_chain_from_factory_to_product_is_one_trace() {
    let collector = Collector::start();
    let run = run_pipeline(
        "chain",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("OTEL_SERVICE_NAME", "factory-e2e".into()),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=factory-e2e,deployment.environment=e2e".into(),
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "60000".into()),
            ("FACTORY_PIPELINE_SMOKE", "on".into()),
            ("PRODUCT_URL", String::new()),
            ("TRACEPARENT", String::new()),
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "factory_pipeline failed: {}",
        run.describe()
    );
    assert!(run.stdout.contains(BUILT), "{}", run.describe());
    assert!(
        !run.stderr.contains("smoke stage is skipped"),
        "{}",
        run.describe()
    );

    // The factory's 40 spans, the smoke stage and its 3 CLIENT spans; the product's 3 SERVER
    // spans; the MCP linter's 4. The product and the linter exit (flushed) before the factory
    // does.
    collector.expect(
        "51 spans and the product's request duration",
        |output| {
            parse_spans(output).len() >= 51
                && parse_metrics(output)
                    .iter()
                    .any(|point| point.name == "http.server.request.duration")
        },
        RECEIVE_TIMEOUT,
    );
    let output = collector.output();
    let context = format!("\n--- collector output\n{output}");
    let spans = parse_spans(&output);
    assert_eq!(spans.len(), 51, "{spans:#?}{context}");

    let run_span = spans_named(&spans, "pipeline.run")[0];
    let trace = &run_span.trace_id;
    for span in &spans {
        assert_eq!(&span.trace_id, trace, "one trace: {span:#?}");
    }
    let smoke: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| {
            s.name == "pipeline.stage"
                && s.attributes.get("stage.name").map(String::as_str) == Some("Str(smoke)")
        })
        .collect();
    assert_eq!(smoke.len(), 1, "{context}");
    let smoke = smoke[0];
    assert_eq!(smoke.parent_id, run_span.span_id);
    assert_eq!(smoke.kind, "SPAN_KIND_INTERNAL");
    assert_eq!(attribute(smoke, "stage.outcome"), "Str(success)");
    assert_eq!(
        attribute(smoke, "code.function.name"),
        "Str(factory_pipeline::smoke::smoke)"
    );

    // The CLIENT spans, in the order they were sent; each is the parent of one SERVER span.
    let mut clients: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.kind == "SPAN_KIND_CLIENT" && s.parent_id == smoke.span_id)
        .collect();
    clients.sort_by_key(|s| s.start_time.parse::<u64>().expect("start time"));
    let servers: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| {
            s.kind == "SPAN_KIND_SERVER"
                && s.resource.get("service.name").map(String::as_str) == Some("Str(product-api)")
        })
        .collect();
    assert_eq!(clients.len(), 3, "{context}");
    assert_eq!(servers.len(), 3, "{context}");
    let port = {
        let url = attribute(clients[0], "url.full");
        let port = url
            .trim_start_matches("Str(http://127.0.0.1:")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        assert!(port.parse::<u16>().is_ok(), "{url}");
        port
    };
    let expected = [
        // (client name, method, path, status; server name, route, function)
        ("GET", "/health", "200", "GET /health", "/health", "health"),
        (
            "POST",
            "/tasks",
            "201",
            "POST /tasks",
            "/tasks",
            "create_task",
        ),
        (
            "GET",
            "/tasks/1",
            "200",
            "GET /tasks/{id}",
            "/tasks/{id}",
            "get_task",
        ),
    ];
    for (client, (method, path, status, server_name, route, function)) in
        clients.iter().zip(expected)
    {
        assert_eq!(client.name, method, "{client:#?}");
        assert_eq!(client.status_code, "STATUS_CODE_UNSET", "{client:#?}");
        assert_eq!(
            attribute(client, "http.request.method"),
            format!("Str({method})")
        );
        assert_eq!(attribute(client, "server.address"), "Str(127.0.0.1)");
        assert_eq!(attribute(client, "server.port"), format!("Int({port})"));
        assert_eq!(
            attribute(client, "url.full"),
            format!("Str(http://127.0.0.1:{port}{path})")
        );
        assert_eq!(
            attribute(client, "http.response.status_code"),
            format!("Int({status})")
        );
        assert_eq!(
            client.resource.get("service.name").map(String::as_str),
            Some("Str(factory-e2e)")
        );

        let server: Vec<&&ReceivedSpan> = servers
            .iter()
            .filter(|s| s.parent_id == client.span_id)
            .collect();
        assert_eq!(
            server.len(),
            1,
            "one SERVER span under {client:#?}{context}"
        );
        let server = server[0];
        assert_eq!(server.name, server_name, "{server:#?}");
        assert_eq!(attribute(server, "http.route"), format!("Str({route})"));
        assert_eq!(
            attribute(server, "http.request.method"),
            format!("Str({method})")
        );
        assert_eq!(attribute(server, "url.path"), format!("Str({path})"));
        assert_eq!(
            attribute(server, "http.response.status_code"),
            format!("Int({status})")
        );
        assert_eq!(attribute(server, "server.port"), format!("Int({port})"));
        // The `#[handler]` under the request: its name on the request's span (it opens no
        // span of its own under HTTP).
        assert_eq!(
            attribute(server, "code.function.name"),
            format!("Str(product_service::{function})")
        );
        assert_ne!(server.status_code, "STATUS_CODE_ERROR", "{server:#?}");
        // The product's own name, not the factory's (neither OTEL_SERVICE_NAME nor the
        // service.name of OTEL_RESOURCE_ATTRIBUTES is passed on), the rest of the resource is.
        assert_eq!(
            server.resource.get("service.name").map(String::as_str),
            Some("Str(product-api)"),
            "{server:#?}"
        );
        assert_eq!(
            server
                .resource
                .get("deployment.environment")
                .map(String::as_str),
            Some("Str(e2e)"),
            "{server:#?}"
        );
    }
    let product_spans: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.resource.get("service.name").map(String::as_str) == Some("Str(product-api)"))
        .collect();
    assert_eq!(product_spans.len(), 3, "only the SERVER spans{context}");

    // The product's metric, under its own name: one point per route and status.
    let points = parse_metrics(&output);
    let mut durations: Vec<(String, String, String)> = points
        .iter()
        .filter(|p| p.name == "http.server.request.duration")
        .map(|p| {
            assert_eq!(
                p.resource.get("service.name").map(String::as_str),
                Some("Str(product-api)")
            );
            (
                p.attributes.get("http.route").cloned().unwrap_or_default(),
                p.attributes
                    .get("http.response.status_code")
                    .cloned()
                    .unwrap_or_default(),
                p.value.clone(),
            )
        })
        .collect();
    durations.sort();
    assert_eq!(
        durations,
        [
            ("Str(/health)".into(), "Int(200)".into(), "1".into()),
            ("Str(/tasks)".into(), "Int(201)".into(), "1".into()),
            ("Str(/tasks/{id})".into(), "Int(200)".into(), "1".into()),
        ],
        "{context}"
    );
}

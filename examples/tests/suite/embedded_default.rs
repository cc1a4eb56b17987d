//! The factory example with no collector: OTLP/JSON files in `$FACTORY_OBS_DIR` and a summary on
//! stderr, checked from a real child process. The example's smoke stage starts the product
//! example (`product_service`, built by `cargo test` next to it) as a child of its own, and its
//! coding agent the MCP linter (`factory_pipeline mcp_server`, service `sf-mcp-linter`), whose
//! spans land in the same files.

use factory_observability_tests::otlp_json::{read_last_metrics, read_logs, read_spans, JsonSpan};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_example(dir: &std::path::Path, extra_env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_factory_pipeline"));
    command
        .current_dir(dir)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("FACTORY_OBS_DIR")
        .env_remove("FACTORY_OBS_SUMMARY")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("FACTORY_PIPELINE_SMOKE")
        .env_remove("FACTORY_PIPELINE_MCP")
        .env_remove("PRODUCT_URL")
        .env_remove("TRACEPARENT")
        .env_remove("RUST_LOG");
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command.output().expect("the example runs")
}

#[test]
fn files_hold_the_run_and_stderr_summarises_it() {
    let dir = temp_dir("embedded");
    let output = run_example(&dir, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stdout, "built todo-app: 16 tests passed\n");

    // The summary: the run, then each stage attempt in start order.
    let summary: Vec<Vec<&str>> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("factory-observability: "))
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(summary[0][0], "run");
    assert_eq!(&summary[0][2..5], ["new_product:", "success", "in"]);
    let stages: Vec<(&str, &str)> = summary[1..9].iter().map(|w| (w[0], w[1])).collect();
    assert_eq!(
        stages,
        [
            ("plan", "success"),
            ("implement", "failure"),
            ("implement", "success"),
            ("implement_rival", "success"),
            ("typecheck", "success"),
            ("test", "failure"),
            ("test", "success"),
            ("smoke", "success"),
        ]
    );
    assert!(!stderr.contains("smoke stage is skipped"), "{stderr}");
    assert!(stderr.contains("compile error: expected `;` at src/main.rs:12"));
    assert!(stderr.contains("attempt 2"));
    assert!(stderr.contains("1 of 16 tests failed: complete task: undo"));
    assert!(stderr.contains(
        "factory-observability:   adjudicate pick_winner: claude selected among 2 candidates, margin 0.0625"
    ));
    assert!(stderr
        .contains("factory-observability:   LLM: 14 calls, 10825 input + 17920 output tokens, $"));
    let models: Vec<Vec<&str>> = summary[9..]
        .iter()
        .filter(|w| w.len() > 1 && w[0].contains('/'))
        .cloned()
        .collect();
    assert_eq!(
        models[0][..7],
        [
            "anthropic/claude-opus-4-5",
            "5",
            "calls",
            "3700",
            "in",
            "3320",
            "out"
        ]
    );
    assert_eq!(
        models[1][..7],
        [
            "openai/gpt-5.3-codex",
            "9",
            "calls",
            "7125",
            "in",
            "14600",
            "out"
        ]
    );
    assert!(stderr.contains(
        "factory-observability: telemetry written to ./telemetry (traces.jsonl, metrics.jsonl, logs.jsonl)"
    ));
    assert!(stderr.contains(
        "factory-observability: traces 44/44 delivered; metrics 1/1 exports delivered; logs 3/3 delivered"
    ));
    assert_eq!(
        stderr
            .lines()
            .filter(|line| line.starts_with("factory-observability: traces "))
            .count(),
        1,
        "the product's summary is off: {stderr}"
    );

    // The factory's 44 spans (40, the smoke stage and its 3 CLIENT spans), the product's 3
    // SERVER spans, written by the product before the factory exits, and the MCP linter's 4
    // (initialize, notifications/initialized, and one tools/call lint a implement attempt).
    let telemetry = dir.join("telemetry");
    let all_spans = read_spans(&telemetry.join("traces.jsonl"));
    assert_eq!(all_spans.len(), 51);
    let (spans, others): (Vec<_>, Vec<_>) = all_spans
        .into_iter()
        .partition(|s| s.resource["service.name"] == "sf-factory");
    assert_eq!(spans.len(), 44);
    let (product_spans, linter_spans): (Vec<_>, Vec<_>) = others
        .into_iter()
        .partition(|s| s.resource["service.name"] == "product-api");
    assert_eq!(linter_spans.len(), 4);
    assert!(linter_spans
        .iter()
        .all(|s| s.resource["service.name"] == "sf-mcp-linter"));
    let mut product_names: Vec<&str> = product_spans.iter().map(|s| s.name.as_str()).collect();
    product_names.sort();
    assert_eq!(
        product_names,
        ["GET /health", "GET /tasks/{id}", "POST /tasks"]
    );
    let run = spans.iter().find(|s| s.name == "pipeline.run").unwrap();
    assert_eq!(run.parent_span_id, "");
    assert_eq!(run.scope, "factory-observability");
    assert_eq!(run.resource["service.name"], "sf-factory");
    assert_eq!(run.attributes["pipeline.name"], "new_product");
    assert_eq!(run.attributes["run.outcome"], "success");
    assert_eq!(run.attributes["product.features"], "3");
    assert_eq!(run.status_code, 1);
    assert_eq!(run.attributes["run.llm.calls"], "14");
    let run_cost: f64 = run.attributes["run.cost_usd"].parse().unwrap();
    let call_costs: f64 = spans
        .iter()
        .filter(|s| s.name == "llm.call")
        .map(|s| s.attributes["llm.cost_usd"].parse::<f64>().unwrap())
        .sum();
    assert!(
        (run_cost - call_costs).abs() < 1e-9,
        "{run_cost} vs {call_costs}"
    );
    assert!(run_cost > 0.0);
    let mut stages: Vec<(String, String, String, i64)> = spans
        .iter()
        .filter(|s| s.name == "pipeline.stage")
        .inspect(|s| {
            assert_eq!(s.parent_span_id, run.span_id);
            assert_eq!(s.trace_id, run.trace_id);
            assert_eq!(s.attributes["run.id"], run.attributes["run.id"]);
        })
        .map(|s| {
            (
                s.attributes["stage.name"].clone(),
                s.attributes["stage.attempt"].clone(),
                s.attributes["stage.outcome"].clone(),
                s.status_code,
            )
        })
        .collect();
    stages.sort();
    let expected: Vec<(String, String, String, i64)> = [
        ("implement", "1", "failure", 2),
        ("implement", "2", "success", 1),
        ("implement_rival", "1", "success", 1),
        ("plan", "1", "success", 1),
        ("smoke", "1", "success", 1),
        ("test", "1", "failure", 2),
        ("test", "1", "success", 1),
        ("typecheck", "1", "success", 1),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), *d))
    .collect();
    assert_eq!(stages, expected);
    let failed = spans
        .iter()
        .find(|s| {
            s.attributes.get("stage.name").map(String::as_str) == Some("implement")
                && s.attributes.get("stage.outcome").map(String::as_str) == Some("failure")
        })
        .unwrap();
    assert_eq!(
        failed.status_message,
        "compile error: expected `;` at src/main.rs:12"
    );
    assert_eq!(
        failed.attributes["error.type"],
        "factory_pipeline::FactoryError"
    );
    assert_eq!(failed.events, ["exception"]);

    let points = read_last_metrics(&telemetry.join("metrics.jsonl"));
    let find = |name: &str, labels: &[(&str, &str)]| {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        points
            .iter()
            .find(|p| p.name == name && p.attributes == labels)
            .unwrap_or_else(|| panic!("no point {name} {labels:?} in {points:#?}"))
    };
    assert_eq!(
        find(
            "pipeline.runs.total",
            &[("pipeline.name", "new_product"), ("outcome", "success")]
        )
        .value,
        "1"
    );
    assert_eq!(
        find(
            "pipeline.stage.retries.total",
            &[("stage.name", "implement")]
        )
        .value,
        "1"
    );
    let implement_failures = find(
        "pipeline.stage.duration",
        &[("stage.name", "implement"), ("outcome", "failure")],
    );
    assert_eq!(implement_failures.value, "1");
    assert_eq!(implement_failures.unit, "s");
    assert_eq!(
        find(
            "pipeline.run.duration",
            &[("pipeline.name", "new_product"), ("outcome", "success")]
        )
        .value,
        "1"
    );

    let logs = read_logs(&telemetry.join("logs.jsonl"));
    let bodies: Vec<&str> = logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "planned todo-app",
            "generated code does not compile",
            "typecheck clean"
        ]
    );
    assert_eq!(logs[1].severity_text, "WARN");
    for (log, stage) in logs.iter().zip(["plan", "implement", "typecheck"]) {
        assert_eq!(log.trace_id, run.trace_id);
        let span = spans.iter().find(|s| s.span_id == log.span_id).unwrap();
        assert_eq!(span.attributes["stage.name"], stage);
    }

    // The summary's agents and tools (issue 19): the coder's two invocations (its first one
    // fails with the implement stage's first attempt), the reviewer it hands work to, and the
    // tools with their failures (run_tests fails once, the linter on the first attempt's code).
    let agents: Vec<&[&str]> = summary
        .iter()
        .filter(|w| w.first() == Some(&"agent"))
        .map(|w| &w[..3])
        .collect();
    assert_eq!(
        agents,
        [
            ["agent", "coder", "failure"],
            ["agent", "coder", "success"],
            ["agent", "reviewer", "success"]
        ]
    );
    assert!(
        stderr.contains(
            "factory-observability:   tools: 10 calls, 2 failed: edit_file 4, lint 2 (1 failed), \
             read_file 2, run_tests 2 (1 failed)"
        ),
        "{stderr}"
    );
    // `factory-obs report` over the same files: the agents and tools tables.
    let (code, out, err) = crate::factory_obs_json(&["report", "--json"], &telemetry);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = |table: &str, key: &str| -> Vec<(String, u64, u64)> {
        let calls = if table == "agents" {
            "invocations"
        } else {
            "calls"
        };
        report[table]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row[key].as_str().unwrap().to_owned(),
                    row[calls].as_u64().unwrap(),
                    row["failures"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let owned = |rows: &[(&str, u64, u64)]| -> Vec<(String, u64, u64)> {
        rows.iter()
            .map(|(n, c, f)| (n.to_string(), *c, *f))
            .collect()
    };
    assert_eq!(
        rows("agents", "agent"),
        owned(&[("coder", 2, 1), ("reviewer", 1, 0)])
    );
    let mut tools = rows("tools", "tool");
    tools.sort();
    assert_eq!(
        tools,
        owned(&[
            ("edit_file", 4, 0),
            ("lint", 2, 1),
            ("read_file", 2, 0),
            ("run_tests", 2, 1)
        ])
    );
    assert_eq!(report["agents"][0]["tool_calls"], 10);
    assert_eq!(report["agents"][0]["tool_failures"], 2);
    // `factory-obs trace`: the linter's side of each MCP request, under the coder's tool, with
    // its service.
    let run_id = run.attributes["run.id"].as_str();
    let (code, out, err) = crate::factory_obs_json(&["trace", run_id], &telemetry);
    assert_eq!(code, 0, "{err}");
    let labels: Vec<&str> = out
        .lines()
        .map(|line| line.split("  |").next().unwrap().trim_end())
        .collect();
    let lint = labels
        .iter()
        .position(|l| *l == "      tool lint")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(labels[lint - 8], "    agent coder", "{out}");
    assert!(
        labels[lint..].contains(&"          [sf-mcp-linter] tools/call lint"),
        "{out}"
    );
    assert!(labels.contains(&"      agent reviewer"), "{out}");

    // A second run appends: the files hold both runs, one request per line.
    let again = run_example(&dir, &[("FACTORY_OBS_SUMMARY", "0")]);
    assert_eq!(again.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&again.stderr).contains("factory-observability:"));
    let spans = read_spans(&telemetry.join("traces.jsonl"));
    assert_eq!(spans.iter().filter(|s| s.name == "pipeline.run").count(), 2);
}

#[test]
fn factory_obs_dir_moves_the_files_and_sdk_disabled_writes_nothing() {
    let dir = temp_dir("dirs");
    let elsewhere = dir.join("elsewhere");
    let output = run_example(
        &dir,
        &[
            ("FACTORY_OBS_DIR", elsewhere.to_str().unwrap()),
            ("OTEL_SERVICE_NAME", "renamed"),
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let spans = read_spans(&elsewhere.join("traces.jsonl"));
    let services = |spans: &[factory_observability_tests::otlp_json::JsonSpan], name: &str| {
        spans
            .iter()
            .filter(|s| s.resource["service.name"] == name)
            .count()
    };
    assert_eq!(spans.len(), 51);
    assert_eq!(services(&spans, "renamed"), 44);
    // OTEL_SERVICE_NAME names the factory, not the product or the linter it starts.
    assert_eq!(services(&spans, "product-api"), 3);
    assert_eq!(services(&spans, "sf-mcp-linter"), 4);
    assert!(!dir.join("telemetry").exists());

    let disabled = temp_dir("disabled");
    let output = run_example(&disabled, &[("OTEL_SDK_DISABLED", "true")]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "built todo-app: 16 tests passed\n"
    );
    assert!(!disabled.join("telemetry").exists());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("factory-observability:"));
}

#[test]
fn the_smoke_stage_is_off_with_its_switch_and_served_by_the_factory_itself_without_the_product() {
    let off = temp_dir("smoke-off");
    let output = run_example(&off, &[("FACTORY_PIPELINE_SMOKE", "off")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("smoke"), "{stderr}");
    // The factory's 40 spans and the MCP linter's 4.
    assert_eq!(
        read_spans(&off.join("telemetry").join("traces.jsonl")).len(),
        44
    );

    // The example alone in a directory, as after `cargo run --bin factory_pipeline` on a fresh
    // checkout: no product_service next to it.
    let alone = temp_dir("smoke-alone");
    let bin = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "smoke-alone-{}/factory_pipeline{}",
        std::process::id(),
        std::env::consts::EXE_SUFFIX
    ));
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    if std::fs::hard_link(env!("CARGO_BIN_EXE_factory_pipeline"), &bin).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_factory_pipeline"), &bin).unwrap();
    }
    let output = Command::new(&bin)
        .current_dir(&alone)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("FACTORY_OBS_DIR")
        .env_remove("FACTORY_PIPELINE_SMOKE")
        .env_remove("PRODUCT_URL")
        .env("FACTORY_OBS_SUMMARY", "0")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    // The factory served the product itself (`factory_pipeline product_service`), a child
    // process writing its spans to the same directory: each of the smoke stage's three CLIENT
    // spans is the parent of the product's SERVER span, named by the product's handler.
    let spans = read_spans(&alone.join("telemetry").join("traces.jsonl"));
    let service = |span: &JsonSpan| span.resource.get("service.name").cloned();
    let factory: Vec<&JsonSpan> = spans
        .iter()
        .filter(|span| service(span).as_deref() == Some("sf-factory"))
        .collect();
    assert_eq!(
        factory.len(),
        44,
        "40 spans, the smoke stage and its 3 calls"
    );
    let smoke = factory
        .iter()
        .find(|span| span.attributes.get("stage.name").map(String::as_str) == Some("smoke"))
        .expect("the smoke stage");
    let mut served: Vec<(String, String)> = factory
        .iter()
        .filter(|client| client.parent_span_id == smoke.span_id)
        .map(|client| {
            let server = spans
                .iter()
                .find(|span| span.parent_span_id == client.span_id)
                .unwrap_or_else(|| panic!("no SERVER span under {}", client.name));
            assert_eq!(service(server).as_deref(), Some("product-api"));
            assert_eq!(server.trace_id, smoke.trace_id);
            (
                server.name.clone(),
                server.attributes["code.function.name"].clone(),
            )
        })
        .collect();
    served.sort();
    assert_eq!(
        served,
        [
            ("GET /health", "factory_pipeline::product_service::health"),
            (
                "GET /tasks/{id}",
                "factory_pipeline::product_service::get_task"
            ),
            (
                "POST /tasks",
                "factory_pipeline::product_service::create_task"
            ),
        ]
        .map(|(name, function)| (name.to_owned(), function.to_owned()))
    );

    for (variable, value, message) in [
        (
            "FACTORY_PIPELINE_SMOKE",
            "maybe",
            "factory_pipeline: FACTORY_PIPELINE_SMOKE=\"maybe\": expected on or off\n",
        ),
        (
            "FACTORY_PIPELINE_MCP",
            "stdio",
            "factory_pipeline: FACTORY_PIPELINE_MCP=\"stdio\": expected on or off\n",
        ),
        (
            "PRODUCT_URL",
            "localhost:3000",
            "factory_pipeline: PRODUCT_URL=\"localhost:3000\": expected a base URL such as http://127.0.0.1:3000\n",
        ),
    ] {
        let dir = temp_dir("smoke-bad");
        let output = run_example(&dir, &[(variable, value), ("FACTORY_OBS_SUMMARY", "0")]);
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(String::from_utf8_lossy(&output.stderr), message);
    }
}

#[test]
fn a_malformed_variable_stops_the_example_with_a_clear_error() {
    let dir = temp_dir("malformed");
    let output = run_example(&dir, &[("OTEL_TRACES_SAMPLER", "sometimes")]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "factory_pipeline: OTEL_TRACES_SAMPLER=\"sometimes\" is not valid: expected always_on, always_off, \
         traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio\n"
    );
    assert!(!dir.join("telemetry").exists());
}

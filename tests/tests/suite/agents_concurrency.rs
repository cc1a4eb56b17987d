//! Concurrency keeps parents: two tools an agent runs in parallel are children of the agent's
//! span whatever runs them, proven against the real collector (Rotel on loopback) with exact
//! parent ids, one test per shape: `futures::join_all` in the agent's task (nothing to write),
//! `tokio::spawn` through `task::spawn` and `.in_current_trace()`, a `JoinSet` of futures
//! `.in_current_trace()`, `std::thread::scope` with `task::in_current_trace`, rayon's `join` and
//! `par_iter().map(task::in_current_trace_fn(..))`. The easy mistake, a plain `tokio::spawn`,
//! starts a trace of its own and the program is warned on stderr.
//!
//! Each shape runs in a child process ([`scenario`], this test binary again) that calls `init`.

use super::agents_collector::{named, only, run_scenario_of, service_spans};
use factory_observability::agent;
use factory_observability::task::{self, in_current_trace, in_current_trace_fn, FutureExt as _};
use factory_observability::tool;
use factory_observability_tests::collector::{parse_metrics, Collector, ReceivedMetricPoint};
use rayon::prelude::*;
use std::time::Duration;

const SCENARIO_ENV: &str = "FO_CONCURRENCY_SCENARIO";

/// Reads a file of the workspace.
#[tool(name = "read_file")]
async fn read_file_async(path: &'static str) -> Result<usize, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(path.len())
}

/// Reads a file of the workspace.
#[tool(name = "read_file")]
fn read_file(path: &str) -> usize {
    std::thread::sleep(Duration::from_millis(2));
    path.len()
}

#[agent(name = "join_all")]
async fn via_join_all() -> usize {
    futures::future::join_all([read_file_async("a.rs"), read_file_async("bb.rs")])
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum()
}

#[agent(name = "tokio_spawn")]
async fn via_tokio_spawn() -> usize {
    let a = task::spawn(read_file_async("a.rs"));
    let b = tokio::spawn(read_file_async("bb.rs").in_current_trace());
    a.await.unwrap().unwrap() + b.await.unwrap().unwrap()
}

#[agent(name = "join_set")]
async fn via_join_set() -> usize {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(read_file_async("a.rs").in_current_trace());
    set.spawn(read_file_async("bb.rs").in_current_trace());
    set.join_all().await.into_iter().map(Result::unwrap).sum()
}

#[agent(name = "thread_scope")]
fn via_thread_scope() -> usize {
    std::thread::scope(|s| {
        let a = s.spawn(in_current_trace(|| read_file("a.rs")));
        let b = s.spawn(in_current_trace(|| read_file("bb.rs")));
        a.join().unwrap() + b.join().unwrap()
    })
}

#[agent(name = "rayon")]
fn via_rayon() -> usize {
    let (a, b) = rayon::join(
        in_current_trace(|| read_file("a.rs")),
        in_current_trace(|| read_file("bb.rs")),
    );
    let rest: usize = ["c.rs", "dd.rs", "eee.rs"]
        .par_iter()
        .map(in_current_trace_fn(|path: &&str| read_file(path)))
        .sum();
    a + b + rest
}

/// The easy mistake: `tokio::spawn` without the helpers.
#[agent(name = "orphaned")]
async fn via_plain_tokio_spawn() -> usize {
    tokio::spawn(read_file_async("a.rs"))
        .await
        .unwrap()
        .unwrap()
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The program of one shape, run in a child process; does nothing in the test run itself.
#[test]
#[ignore = "run by the tests of this file in a child process"]
fn scenario() {
    let Ok(shape) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    let telemetry = factory_observability::Telemetry::builder(&shape)
        .shutdown_timeout(Duration::from_secs(10))
        .summary(false)
        .init()
        .expect("init");
    let total = match shape.as_str() {
        "join_all" => tokio_runtime().block_on(via_join_all()),
        "tokio_spawn" => tokio_runtime().block_on(via_tokio_spawn()),
        "join_set" => tokio_runtime().block_on(via_join_set()),
        "thread_scope" => via_thread_scope(),
        "rayon" => via_rayon(),
        "orphaned" => tokio_runtime().block_on(via_plain_tokio_spawn()),
        other => panic!("no scenario {other}"),
    };
    assert!(total > 0);
    let report = telemetry.shutdown();
    assert_eq!(report.undelivered(), 0, "{report}");
}

fn run_scenario(collector: &Collector, shape: &str, spans: usize) -> std::process::Output {
    run_scenario_of(
        module_path!(),
        collector,
        shape,
        &[("FO_CONCURRENCY_SCENARIO", shape)],
        spans,
    )
}

/// The agent's span and its `tools` tool spans, each its child in its trace.
fn assert_tools_are_children(shape: &str, tools: usize) {
    let collector = Collector::start();
    run_scenario(&collector, shape, tools + 1);
    let spans = service_spans(&collector, shape);
    assert_eq!(spans.len(), tools + 1, "{spans:#?}");
    let agent = only(&spans, &format!("invoke_agent {shape}"));
    let children = named(&spans, "execute_tool read_file");
    assert_eq!(children.len(), tools, "{spans:#?}");
    for tool in children {
        assert_eq!(tool.trace_id, agent.trace_id, "{tool:#?}");
        assert_eq!(tool.parent_id, agent.span_id, "{tool:#?}");
    }
    assert_eq!(
        agent.attributes["agent.tool.calls"],
        format!("Int({tools})"),
        "{agent:#?}"
    );
    // The calls from every thread and task add to one point of `gen_ai.execute_tool.duration`,
    // labelled with the agent (recorded through the histogram the tool binds per agent).
    let points = tool_duration_points(&collector, shape);
    assert_eq!(points.len(), 1, "{points:#?}");
    assert_eq!(
        points[0].attributes,
        tool_labels(&[("gen_ai.agent.name", shape)]),
        "{points:#?}"
    );
    assert_eq!(points[0].value, tools.to_string());
}

/// The points of `gen_ai.execute_tool.duration` the scenario `shape` exported.
fn tool_duration_points(collector: &Collector, shape: &str) -> Vec<ReceivedMetricPoint> {
    let service = format!("Str({shape})");
    parse_metrics(&collector.output())
        .into_iter()
        .filter(|p| p.name == "gen_ai.execute_tool.duration")
        .filter(|p| p.resource.get("service.name") == Some(&service))
        .collect()
}

/// The labels of a successful `read_file` call's duration (`gen-ai-metrics.md`, "Metric:
/// `gen_ai.execute_tool.duration`": operation, tool name and type; our `outcome`), with `more`.
fn tool_labels(more: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    [
        ("gen_ai.operation.name", "execute_tool"),
        ("gen_ai.tool.name", "read_file"),
        ("gen_ai.tool.type", "function"),
        ("outcome", "success"),
    ]
    .iter()
    .chain(more)
    .map(|(key, value)| ((*key).to_owned(), format!("Str({value})")))
    .collect()
}

#[test]
fn join_all_in_the_agents_task_keeps_the_agent_as_parent() {
    assert_tools_are_children("join_all", 2);
}

#[test]
fn tokio_spawn_through_the_helpers_keeps_the_agent_as_parent() {
    assert_tools_are_children("tokio_spawn", 2);
}

#[test]
fn a_join_set_of_futures_in_the_current_trace_keeps_the_agent_as_parent() {
    assert_tools_are_children("join_set", 2);
}

#[test]
fn scoped_threads_with_in_current_trace_keep_the_agent_as_parent() {
    assert_tools_are_children("thread_scope", 2);
}

#[test]
fn rayon_join_and_par_iter_keep_the_agent_as_parent() {
    assert_tools_are_children("rayon", 5);
}

#[test]
fn a_plain_tokio_spawn_starts_a_trace_of_its_own_and_says_so() {
    let collector = Collector::start();
    let output = run_scenario(&collector, "orphaned", 2);
    let spans = service_spans(&collector, "orphaned");
    let agent = only(&spans, "invoke_agent orphaned");
    let tool = only(&spans, "execute_tool read_file");
    assert_eq!(tool.parent_id, "", "{tool:#?}");
    assert_ne!(tool.trace_id, agent.trace_id);
    assert_eq!(agent.attributes["agent.tool.calls"], "Int(0)");
    // Under no agent: no `gen_ai.agent.name` on its span or its duration.
    assert_eq!(tool.attributes["gen_ai.tool.type"], "Str(function)");
    assert_eq!(
        tool.attributes["gen_ai.tool.description"],
        "Str(Reads a file of the workspace.)"
    );
    assert!(!tool.attributes.contains_key("gen_ai.agent.name"));
    let points = tool_duration_points(&collector, "orphaned");
    assert_eq!(points.len(), 1, "{points:#?}");
    assert_eq!(points[0].attributes, tool_labels(&[]), "{points:#?}");
    assert_eq!(points[0].value, "1");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tool read_file started outside any trace")
            && stderr.contains("factory_observability::task::spawn"),
        "{stderr}"
    );
}

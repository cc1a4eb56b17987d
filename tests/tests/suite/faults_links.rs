//! Parent/child links under load: 10,000 interleaved tasks of 10 concurrent runs on a
//! multi-thread runtime, some of which panic and some of which are cancelled, plus deep
//! recursion (sync and async). Read back from the embedded default's OTLP/JSON files: every
//! span's parent is in its own trace, and is the span it must be.
//!
//! `init` runs in a child process (the `child` test, ignored unless run by name). Figures:
//! `cargo test -p factory-observability-tests --test suite faults_links:: -- --nocapture`.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::faults::{figure, peak_rss_kib, scenario, Scenarios};
use factory_observability_tests::otlp_json::{read_spans, JsonSpan};
use opentelemetry::context::FutureExt as _;
use opentelemetry::Context;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// This file's scenarios, each run by its ignored `child` test in a child process.
const SCENARIOS: Scenarios = Scenarios::of(module_path!());

const RUNS: u64 = 10;
const TASKS_PER_RUN: u64 = 1_000;
/// Tasks whose stage panics: `task % 100 == PANICS`.
const PANICS: u64 = 7;
/// Tasks whose stage is cancelled (dropped by a timeout): `task % 100 == CANCELLED`.
const CANCELLED: u64 = 13;
/// Depth of the sync recursion (on a thread with a large stack: see `faults_stack.rs` for what
/// a default thread takes).
const SYNC_DEPTH: u64 = 1_000;
/// Depth of the async recursion of each run.
const ASYNC_DEPTH: u64 = 50;

/// `waiting` is told when a task to be cancelled waits, so that it is cancelled there (after its
/// nested stage ended, whatever the machine's load).
#[pipeline_stage(fields(task = task))]
async fn leaf(task: u64, waiting: Arc<Notify>) -> Result<u64, String> {
    // Interleave with the other tasks on every worker.
    tokio::task::yield_now().await;
    let inner = nested(task).await?;
    tokio::task::yield_now().await;
    if task % 100 == PANICS {
        panic!("task {task} panicked");
    }
    if task % 100 == CANCELLED {
        waiting.notify_one();
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    Ok(inner)
}

#[pipeline_stage(fields(task = task))]
async fn nested(task: u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    Ok(task * 2)
}

#[pipeline_stage(fields(depth = depth))]
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        0
    } else {
        recurse(depth - 1) + 1
    }
}

#[pipeline_stage(fields(depth = depth))]
fn recurse_async(depth: u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            0
        } else {
            tokio::task::yield_now().await;
            recurse_async(depth - 1).await + 1
        }
    })
}

#[pipeline_run(name = "links", run_id = format!("run-{run}"))]
async fn run(run: u64) -> u64 {
    let tasks: Vec<_> = (0..TASKS_PER_RUN)
        .map(|task| {
            let work = async move {
                let waiting = Arc::new(Notify::new());
                let stage = leaf(task, Arc::clone(&waiting));
                if task % 100 == CANCELLED {
                    // Dropped while it waits: cancelled.
                    tokio::select! {
                        result = stage => result.unwrap(),
                        () = waiting.notified() => 0,
                    }
                } else {
                    stage.await.unwrap()
                }
            };
            tokio::spawn(work.with_context(Context::current()))
        })
        .collect();
    let mut sum = 0;
    let mut panicked = 0;
    for task in tasks {
        match task.await {
            Ok(value) => sum += value,
            Err(error) if error.is_panic() => panicked += 1,
            Err(error) => panic!("task failed: {error}"),
        }
    }
    assert_eq!(panicked, TASKS_PER_RUN / 100);
    sum + recurse_async(ASYNC_DEPTH).await
}

#[pipeline_run(name = "recursion")]
fn deep_sync() -> u64 {
    recurse(SYNC_DEPTH)
}

#[test]
#[ignore = "a scenario run in a child process by the other tests of this file"]
fn child() {
    assert_eq!(scenario(), "links");
    // The panics are expected: keep them off stderr.
    std::panic::set_hook(Box::new(|_| {}));
    // Writing 21,522 spans as OTLP/JSON takes the debug build seconds on a loaded machine:
    // shutdown may wait for them (the bound is tested in faults_shutdown.rs).
    let telemetry = factory_observability::Telemetry::builder("faults-links")
        .shutdown_timeout(Duration::from_secs(60))
        .summary(false)
        .init()
        .expect("init");
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let sums = runtime.block_on(async {
        let runs: Vec<_> = (0..RUNS).map(|r| tokio::spawn(run(r))).collect();
        let mut sums = Vec::new();
        for r in runs {
            sums.push(r.await.unwrap());
        }
        sums
    });
    // The program's results: twice the task numbers that neither panicked nor were cancelled.
    let expected: u64 = (0..TASKS_PER_RUN)
        .filter(|t| t % 100 != PANICS && t % 100 != CANCELLED)
        .map(|t| t * 2)
        .sum::<u64>()
        + ASYNC_DEPTH;
    assert_eq!(sums, vec![expected; RUNS as usize]);
    let depth = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(deep_sync)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(depth, SYNC_DEPTH);
    figure("ran_ms", started.elapsed().as_millis());
    let shutdown_started = Instant::now();
    let report = telemetry.shutdown();
    figure("shutdown_ms", shutdown_started.elapsed().as_millis());
    assert!(report.completed_in_time, "{report}");
    figure("spans_sent", report.signals[0].submitted);
    figure("spans_lost_counted", report.signals[0].undelivered());
    figure("peak_rss_kib", peak_rss_kib());
}

fn attribute<'a>(span: &'a JsonSpan, key: &str) -> &'a str {
    span.attributes.get(key).map_or("", String::as_str)
}

#[test]
fn every_span_has_its_parent_in_its_own_trace() {
    let dir: PathBuf = std::env::temp_dir().join(format!("fo-faults-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_text = dir.to_string_lossy().into_owned();
    // A queue for the burst of 10,000 tasks ending together (the links are under test here,
    // not the queue bound: faults_healthy.rs counts what a full queue loses).
    let run = SCENARIOS.run(
        "links",
        &[
            ("FACTORY_OBS_DIR", &dir_text),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "32768"),
        ],
    );
    let spans = read_spans(&dir.join("traces.jsonl"));
    let expected = RUNS * (1 + 2 * TASKS_PER_RUN + ASYNC_DEPTH + 1) + 1 + SYNC_DEPTH + 1;
    assert_eq!(
        run.number("spans_lost_counted"),
        0.0,
        "the queue overflowed"
    );
    assert_eq!(spans.len() as u64, expected);

    let by_id: HashMap<&str, &JsonSpan> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    assert_eq!(by_id.len(), spans.len(), "span ids are unique");
    // Every parent exists and is in the child's own trace.
    for span in &spans {
        if span.parent_span_id.is_empty() {
            assert_eq!(span.name, "pipeline.run", "{span:?}");
            continue;
        }
        let parent = by_id
            .get(span.parent_span_id.as_str())
            .unwrap_or_else(|| panic!("the parent of {span:?} is missing"));
        assert_eq!(parent.trace_id, span.trace_id, "{span:?} / {parent:?}");
    }

    // And it is the right one: a task's stage is a child of its own run, its nested stage a
    // child of it; each recursion level a child of the level above.
    let runs: BTreeMap<&str, &JsonSpan> = spans
        .iter()
        .filter(|s| s.name == "pipeline.run" && attribute(s, "pipeline.name") == "links")
        .map(|s| (attribute(s, "run.id"), s))
        .collect();
    assert_eq!(runs.len() as u64, RUNS);
    let traces: std::collections::HashSet<&str> =
        runs.values().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(traces.len() as u64, RUNS, "each run is a trace of its own");
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for span in &spans {
        let parent = by_id.get(span.parent_span_id.as_str());
        match attribute(span, "stage.name") {
            "leaf" => {
                let parent = parent.unwrap();
                assert_eq!(parent.name, "pipeline.run");
                assert_eq!(attribute(parent, "pipeline.name"), "links");
                let task: u64 = attribute(span, "task").parse().unwrap();
                let outcome = attribute(span, "stage.outcome");
                let expected = match task % 100 {
                    PANICS => "error",
                    CANCELLED => "cancellation",
                    _ => "success",
                };
                assert_eq!(outcome, expected, "{span:?}");
                *outcomes.entry(outcome.to_owned()).or_default() += 1;
            }
            "nested" => {
                let parent = parent.unwrap();
                assert_eq!(attribute(parent, "stage.name"), "leaf");
                assert_eq!(attribute(parent, "task"), attribute(span, "task"));
            }
            name @ ("recurse" | "recurse_async") => {
                let depth: u64 = attribute(span, "depth").parse().unwrap();
                let parent = parent.unwrap();
                let top = if name == "recurse" {
                    SYNC_DEPTH
                } else {
                    ASYNC_DEPTH
                };
                if depth == top {
                    assert_eq!(parent.name, "pipeline.run");
                } else {
                    assert_eq!(attribute(parent, "stage.name"), name);
                    assert_eq!(attribute(parent, "depth"), (depth + 1).to_string());
                }
            }
            _ => {}
        }
    }
    assert_eq!(outcomes["error"], RUNS * TASKS_PER_RUN / 100);
    assert_eq!(outcomes["cancellation"], RUNS * TASKS_PER_RUN / 100);
    assert_eq!(outcomes["success"], RUNS * TASKS_PER_RUN * 98 / 100);
    let _ = std::fs::remove_dir_all(&dir);
}

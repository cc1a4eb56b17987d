//! Shutdown: spans ended just before exit are delivered when the collector is up; shutdown never
//! takes longer than its bound when the collector is down; what `std::process::exit` and a panic
//! in `main` lose; a signal handler that flushes (the recipe of docs/reliability.md, "Shutdown and exit").
//!
//! Each scenario runs `init` in a child process (the `child` test, ignored unless run by name).
//! The real collector (`rotel-agent`) belongs to the parent, so that it outlives a child that
//! exits without any cleanup. Figures: `cargo test -p factory-observability-tests --test
//! faults_shutdown -- --nocapture`.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::collector::{closed_port, parse_spans, Collector, ReceivedSpan};
use factory_observability_tests::faults::{
    figure, scenario, Behaviour, ChildRun, FaultyCollector, Scenarios,
};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// This file's scenarios, each run by its ignored `child` test in a child process.
const SCENARIOS: Scenarios = Scenarios::of(module_path!());

/// Stages of a run: fewer than a batch (512), so that nothing is exported before shutdown with
/// the default schedule delay (5 s): whatever arrives was flushed by shutdown.
const STAGES: u64 = 300;
/// Shutdown's bound in the scenarios with the collector down.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

#[pipeline_stage]
fn double(n: u64) -> Result<u64, String> {
    Ok(n * 2)
}

#[pipeline_run(name = "before_exit")]
fn run() -> u64 {
    (0..STAGES).map(|n| double(n).unwrap()).sum()
}

#[pipeline_run(name = "panicking")]
fn run_then_panic() -> u64 {
    let sum: u64 = (0..STAGES).map(|n| double(n).unwrap()).sum();
    panic!("the factory failed after {sum}");
}

#[pipeline_stage]
async fn wait_for_work(n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    n
}

/// Runs until it is cancelled.
#[pipeline_run(name = "interrupted")]
async fn endless_run() {
    for n in 0.. {
        wait_for_work(n).await;
        if n == 10 {
            figure("ready", true);
        }
    }
}

const EXPECTED_SUM: u64 = STAGES * (STAGES - 1);

fn init(shutdown_timeout: Duration) -> factory_observability::Telemetry {
    factory_observability::Telemetry::builder("faults-shutdown")
        .shutdown_timeout(shutdown_timeout)
        .init()
        .expect("init")
}

/// Shuts down and prints the report's figures.
fn shut_down(telemetry: factory_observability::Telemetry) {
    let started = Instant::now();
    let report = telemetry.shutdown();
    figure("shutdown_ms", started.elapsed().as_millis());
    figure("completed_in_time", report.completed_in_time);
    figure("spans_sent", report.signals[0].submitted);
    figure("spans_delivered", report.signals[0].delivered);
    figure("spans_lost_counted", report.signals[0].undelivered());
    figure(
        "traces_error",
        report.signals[0]
            .last_error
            .as_deref()
            .unwrap_or("none")
            .replace(' ', "_"),
    );
}

/// The recipe of docs/reliability.md, "Shutdown and exit": on SIGTERM or Ctrl-C the work is dropped (its spans end
/// as cancelled) and telemetry is shut down, so that everything ended is flushed.
fn signal_recipe() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let telemetry = init(Duration::from_secs(5));
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            () = endless_run() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    });
    shut_down(telemetry);
}

#[test]
#[ignore = "a scenario run in a child process by the other tests of this file"]
fn child() {
    match scenario().as_str() {
        "ended_just_before_exit" => {
            let telemetry = init(Duration::from_secs(5));
            assert_eq!(run(), EXPECTED_SUM);
            shut_down(telemetry);
        }
        "collector_refuses" | "collector_never_answers" => {
            // The silent collector lives in this process: it dies with it.
            let silent = FaultyCollector::start(Behaviour::Silent);
            if scenario() == "collector_never_answers" {
                std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", silent.endpoint());
            }
            let telemetry = init(SHUTDOWN_TIMEOUT);
            assert_eq!(run(), EXPECTED_SUM);
            shut_down(telemetry);
        }
        "process_exit" => {
            let _telemetry = init(Duration::from_secs(5));
            assert_eq!(run(), EXPECTED_SUM);
            // Skips every destructor: the guard never flushes.
            std::process::exit(0);
        }
        "panic_in_main" => {
            let _telemetry = init(Duration::from_secs(5));
            // Unwinds out of the test function, dropping the guard on the way.
            run_then_panic();
        }
        "signal" => signal_recipe(),
        other => panic!("unknown scenario {other}"),
    }
}

/// The spans `collector` received, after waiting up to 5 s for `count` of them.
fn received(collector: &Collector, count: usize) -> Vec<ReceivedSpan> {
    collector.wait_for(
        |output| parse_spans(output).len() >= count,
        Duration::from_secs(5),
    );
    parse_spans(&collector.output())
}

fn names(spans: &[ReceivedSpan]) -> (usize, usize) {
    let runs = spans.iter().filter(|s| s.name == "pipeline.run").count();
    let stages = spans.iter().filter(|s| s.name == "pipeline.stage").count();
    (runs, stages)
}

#[test]
fn spans_ended_just_before_exit_are_delivered() {
    let collector = Collector::start();
    let run = SCENARIOS.run(
        "ended_just_before_exit",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint())],
    );
    let spans = received(&collector, STAGES as usize + 1);
    assert_eq!(names(&spans), (1, STAGES as usize));
    assert_eq!(run.figures["completed_in_time"], "true");
    assert_eq!(run.number("spans_delivered"), STAGES as f64 + 1.0);
    assert_eq!(run.number("spans_lost_counted"), 0.0);
}

/// Shutdown with the collector down: within its bound, everything counted as lost.
fn down(scenario: &str, env: &[(&str, &str)]) -> ChildRun {
    let run = SCENARIOS.run(scenario, env);
    // Whether the exporter's retries of a refused connection end before the bound depends on
    // their backoff: either way shutdown keeps its bound (below) and counts everything lost.
    assert_eq!(run.number("spans_lost_counted"), STAGES as f64 + 1.0);
    // A generous bound, for a loaded machine; the figure is in the table.
    assert!(
        run.number("shutdown_ms") < (SHUTDOWN_TIMEOUT.as_millis() + 1_000) as f64,
        "{run}"
    );
    run
}

#[test]
fn shutdown_with_the_collector_refusing_connections_keeps_its_bound() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    down(
        "collector_refuses",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    );
}

#[test]
fn shutdown_with_a_collector_that_never_answers_gives_up_at_its_bound() {
    // Each export may wait 30 s for an answer; shutdown gives up after 1 s.
    down(
        "collector_never_answers",
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "30000")],
    );
}

#[test]
fn process_exit_loses_what_was_not_exported_yet() {
    let collector = Collector::start();
    SCENARIOS.run(
        "process_exit",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint())],
    );
    // Nothing had been exported: fewer spans than a batch, before the schedule delay.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(names(&parse_spans(&collector.output())), (0, 0));
}

#[test]
fn a_panic_unwinding_out_of_main_still_flushes() {
    let collector = Collector::start();
    let run = SCENARIOS.run_failing(
        "panic_in_main",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint())],
    );
    assert!(run.stderr.contains("the factory failed after"), "{run}");
    let spans = received(&collector, STAGES as usize + 1);
    assert_eq!(names(&spans), (1, STAGES as usize));
    let root = spans.iter().find(|s| s.name == "pipeline.run").unwrap();
    assert_eq!(root.attributes["run.outcome"], "Str(error)");
}

#[test]
fn a_signal_handler_flushes_the_interrupted_run() {
    let collector = Collector::start();
    let mut child = SCENARIOS
        .command("signal", &[])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the child");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    // Bounded: the child prints `ready` after 10 stages, or ends (and stdout with it).
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        printed.push_str(&line);
        if line.contains("figure: ready=true") {
            break;
        }
        line.clear();
    }
    assert!(printed.contains("ready=true"), "{printed}");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    printed.push_str(&rest);
    let output = child.wait_with_output().unwrap();
    let run = ChildRun::from_output(printed, String::from_utf8_lossy(&output.stderr).into());
    eprintln!("signal: {}", run.figures_line());
    assert!(output.status.success(), "{run}");
    let delivered = run.number("spans_delivered") as usize;
    assert_eq!(run.number("spans_lost_counted"), 0.0, "{run}");
    let spans = received(&collector, delivered);
    assert_eq!(spans.len(), delivered);
    let root = spans.iter().find(|s| s.name == "pipeline.run").unwrap();
    assert_eq!(root.attributes["run.outcome"], "Str(cancellation)");
    // Every stage that ended is a child of the interrupted run.
    assert!(spans
        .iter()
        .filter(|s| s.name == "pipeline.stage")
        .all(|s| s.parent_id == root.span_id));
}

#[test]
fn shutdown_with_a_collector_that_never_answers_says_the_export_timed_out() {
    let run = down(
        "collector_never_answers",
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "30000")],
    );
    let error = &run.figures["traces_error"];
    assert!(
        error.contains("timed_out") || error.contains("timeout"),
        "{error}"
    );
}

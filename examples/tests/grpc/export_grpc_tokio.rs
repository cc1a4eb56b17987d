//! OTLP/gRPC from a program that runs its own tokio runtime (`#[tokio::main]`, multi-thread and
//! current-thread): `init`, exports and shutdown work, inside the runtime's context and outside
//! it, and never deadlock or panic. The gRPC exporters drive tonic on a runtime of their own; these
//! tests prove that the user's runtime neither disturbs it nor is blocked by it.
//!
//! Each scenario is a program of its own (`init` is process-wide): the test binary runs itself
//! with `scenario_entry_point` and the scenario's name, against the real collector's gRPC
//! receiver; a run that does not end within a minute fails the test (a deadlock).
//!
//! `cargo test -p factory-observability-examples --features grpc --test grpc export_grpc_tokio::`

use factory_observability::{pipeline_run, pipeline_stage, Telemetry};
use factory_observability_tests::collector::{parse_logs, parse_spans, Collector};
use factory_observability_tests::isolated::{test_command, test_name};
use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The scenario a child run plays.
const SCENARIO_ENV: &str = "FO_GRPC_TOKIO_SCENARIO";
const RUNS: u64 = 4;
/// Spans a run makes: the run and its three stages (one in a spawned task).
const SPANS_PER_RUN: usize = 4;
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(15);

#[pipeline_stage]
async fn plan(n: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    tracing::info!(n, "planned");
    Ok(n)
}

#[pipeline_stage]
async fn build(n: u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    Ok(n + 1)
}

#[pipeline_stage]
fn check(n: u64) -> Result<u64, String> {
    Ok(n)
}

#[pipeline_run(name = "tokio-user")]
async fn run(n: u64) -> Result<u64, String> {
    let planned = plan(n).await?;
    // A stage on the runtime's blocking pool (no context there: a root span of its own).
    let checked = tokio::task::spawn_blocking(move || check(planned))
        .await
        .map_err(|error| error.to_string())??;
    build(checked).await
}

async fn runs() {
    for n in 0..RUNS {
        assert_eq!(run(n).await, Ok(n + 1));
    }
    // Lets the span processor export a batch while the runtime is busy with the user's work.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn start() -> Telemetry {
    Telemetry::builder("grpc-tokio").init().expect("init")
}

/// Ends the child: non-zero unless everything was delivered.
fn finish(telemetry: Telemetry) {
    let report = telemetry.shutdown();
    println!("undelivered: {}", report.undelivered());
}

#[tokio::main]
async fn multi_thread_inside() {
    let telemetry = start();
    runs().await;
    finish(telemetry);
}

#[tokio::main(flavor = "current_thread")]
async fn current_thread_inside() {
    let telemetry = start();
    runs().await;
    finish(telemetry);
}

#[tokio::main(flavor = "current_thread")]
async fn current_thread_dropped_inside() {
    let _telemetry = start();
    runs().await;
    // Dropped at the end of the async body: shutdown through `Drop`, inside the runtime.
}

/// `init` inside the runtime, shutdown after the runtime is gone.
fn shutdown_outside() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let telemetry = runtime.block_on(async {
        let telemetry = start();
        runs().await;
        telemetry
    });
    drop(runtime);
    finish(telemetry);
}

/// `init` before the runtime exists; shutdown inside a task of it.
fn init_outside_shutdown_in_a_task() {
    let telemetry = start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        runs().await;
        tokio::spawn(async move { finish(telemetry) })
            .await
            .unwrap();
    });
}

/// Not a test by itself: the entry point of a child run (see the module's documentation).
#[test]
#[ignore = "run by the scenarios below, in a process of its own"]
fn scenario_entry_point() {
    let scenario = std::env::var(SCENARIO_ENV).expect("run by a scenario");
    match scenario.as_str() {
        "multi_thread_inside" => multi_thread_inside(),
        "current_thread_inside" => current_thread_inside(),
        "current_thread_dropped_inside" => current_thread_dropped_inside(),
        "shutdown_outside" => shutdown_outside(),
        "init_outside_shutdown_in_a_task" => init_outside_shutdown_in_a_task(),
        other => panic!("unknown scenario {other}"),
    }
}

/// Runs `scenario` in a child process against a fresh collector; asserts that it ended in time,
/// delivered everything, and that the collector received every span and log record.
fn play(scenario: &str) {
    let collector = Collector::start();
    let mut command = test_command(&test_name(module_path!(), "scenario_entry_point"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .env(SCENARIO_ENV, scenario)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint())
        .env("OTEL_SERVICE_NAME", format!("grpc-tokio-{scenario}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("FACTORY_OBS_SUMMARY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read_all = |mut source: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = source.read_to_string(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{scenario}: the program did not end within {CHILD_TIMEOUT:?} (a deadlock?):\n{}",
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let describe = format!("{scenario}: {status}\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert!(status.success(), "{describe}");
    assert!(stdout.contains("1 passed"), "{describe}");
    assert!(!stderr.contains("panicked"), "{describe}");
    let spans = RUNS as usize * SPANS_PER_RUN;
    assert!(
        stderr.contains(&format!(
            "traces {spans}/{spans} delivered; metrics 1/1 exports delivered; logs {RUNS}/{RUNS} \
             delivered"
        )),
        "{describe}"
    );
    if scenario != "current_thread_dropped_inside" {
        assert!(stdout.contains("undelivered: 0"), "{describe}");
    }
    collector.expect(
        "every span and log record",
        |output| parse_spans(output).len() == spans && parse_logs(output).len() == RUNS as usize,
        RECEIVE_TIMEOUT,
    );
    let output = collector.output();
    let received = parse_spans(&output);
    let runs = received.iter().filter(|span| span.name == "pipeline.run");
    assert_eq!(runs.count(), RUNS as usize, "{received:?}");
    for stage in ["plan", "build", "check"] {
        let stage_name = format!("Str({stage})");
        let stages = received.iter().filter(|span| {
            span.name == "pipeline.stage" && span.attributes.get("stage.name") == Some(&stage_name)
        });
        assert_eq!(stages.count(), RUNS as usize, "{stage}: {received:?}");
    }
    assert!(
        output.contains(&format!("service.name: Str(grpc-tokio-{scenario})")),
        "{output}"
    );
}

#[test]
fn multi_thread_runtime_init_export_and_shutdown_inside_it() {
    play("multi_thread_inside");
}

#[test]
fn current_thread_runtime_init_export_and_shutdown_inside_it() {
    play("current_thread_inside");
}

#[test]
fn current_thread_runtime_telemetry_dropped_at_the_end_of_main() {
    play("current_thread_dropped_inside");
}

#[test]
fn init_inside_a_runtime_and_shutdown_after_it_is_gone() {
    play("shutdown_outside");
}

#[test]
fn init_before_the_runtime_and_shutdown_in_one_of_its_tasks() {
    play("init_outside_shutdown_in_a_task");
}

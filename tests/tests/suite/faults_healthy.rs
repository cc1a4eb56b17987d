//! A healthy collector: 100,000 stage spans from 8 threads and from 8 tasks of a multi-thread
//! runtime, paced and unpaced, counted at the real collector (`rotel-agent`, which prints one
//! line per batch it receives). Metrics and logs too.
//!
//! Paced, the program is slower than the export: everything arrives. Unpaced, the bounded span
//! queue makes loss unavoidable on a small machine; then the shutdown report must count exactly
//! what the collector did not get: submitted = received + counted lost.
//!
//! Each scenario runs `init` in a child process (the `child` test, ignored unless run by name).
//! Figures for docs/reliability.md: `cargo test -p factory-observability-tests --test
//! faults_healthy -- --nocapture`.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::collector::{parse_metrics, received_counts, Collector, Dump};
use factory_observability_tests::faults::{
    figure, peak_rss_kib, rss_kib, scenario, ChildRun, Scenarios, SlowestCall,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// This file's scenarios, each run by its ignored `child` test in a child process.
const SCENARIOS: Scenarios = Scenarios::of(module_path!());

const WORKERS: u64 = 8;
const SPANS_PER_WORKER: u64 = 12_500;
/// A log record every this many stages.
const LOG_EVERY: u64 = 100;
/// Paced: a worker checks the pace after this many stages.
const PACE_EVERY: u64 = 64;
/// Paced: the program runs at most this many spans ahead of what the collector received (half
/// the default span queue), however fast the machine exports. A fixed rate would be too fast
/// for a loaded machine (at a load of 16 on 2 cores the debug build exported ~1,000 spans a
/// second with 8 busy workers) or needlessly slow for an idle one.
const AHEAD: u64 = 1024;
/// Paced: how long a worker waits for the collector before the scenario fails.
const PACE_PATIENCE: Duration = Duration::from_secs(60);

/// Keeps the paced workers at most [`AHEAD`] spans ahead of the collector.
#[derive(Default)]
struct Pace {
    sent: AtomicU64,
    received: AtomicU64,
}

impl Pace {
    /// Counts a span sent; every [`PACE_EVERY`] spans, waits for the collector to catch up.
    fn sent(&self, n: u64) -> bool {
        let sent = self.sent.fetch_add(1, Ordering::Relaxed) + 1;
        n % PACE_EVERY == 0 && sent > self.received.load(Ordering::Relaxed) + AHEAD
    }

    fn caught_up(&self) -> bool {
        self.sent.load(Ordering::Relaxed) <= self.received.load(Ordering::Relaxed) + AHEAD
    }

    /// Blocks the calling thread until the collector caught up.
    fn wait(&self) {
        let deadline = Instant::now() + PACE_PATIENCE;
        while !self.caught_up() {
            assert!(Instant::now() < deadline, "the collector stopped receiving");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits in the task until the collector caught up.
    async fn wait_async(&self) {
        let deadline = Instant::now() + PACE_PATIENCE;
        while !self.caught_up() {
            assert!(Instant::now() < deadline, "the collector stopped receiving");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Follows what `collector` received until `done`.
    fn follow(self: &Arc<Self>, collector: &Arc<Collector>) -> std::thread::JoinHandle<()> {
        let (pace, collector) = (Arc::clone(self), Arc::clone(collector));
        std::thread::spawn(move || {
            while Arc::strong_count(&pace) > 1 {
                let received = received_counts(&collector.output()).spans;
                pace.received.store(received, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    }
}

#[pipeline_stage]
fn double(n: u64) -> Result<u64, String> {
    Ok(n * 2)
}

#[pipeline_stage]
async fn double_async(n: u64) -> Result<u64, String> {
    Ok(n * 2)
}

#[pipeline_run(name = "healthy_thread")]
fn thread_run(worker: u64, pace: Option<&Pace>, slowest: &SlowestCall) -> u64 {
    let mut sum = 0;
    for n in 0..SPANS_PER_WORKER {
        sum += slowest.time(|| double(n)).unwrap();
        if n % LOG_EVERY == 0 {
            tracing::info!(worker, n, "progress");
        }
        if let Some(pace) = pace.filter(|pace| pace.sent(n)) {
            pace.wait();
        }
    }
    sum
}

#[pipeline_run(name = "healthy_task")]
async fn task_run(worker: u64, pace: Option<Arc<Pace>>, slowest: Arc<SlowestCall>) -> u64 {
    let mut sum = 0;
    for n in 0..SPANS_PER_WORKER {
        let started = Instant::now();
        sum += double_async(n).await.unwrap();
        slowest.note(started.elapsed());
        if n % LOG_EVERY == 0 {
            tracing::info!(worker, n, "progress");
        }
        if let Some(pace) = pace.as_ref().filter(|pace| pace.sent(n)) {
            pace.wait_async().await;
        }
    }
    sum
}

/// What each worker's run returns: twice the sum of 0..SPANS_PER_WORKER.
const EXPECTED_SUM: u64 = SPANS_PER_WORKER * (SPANS_PER_WORKER - 1);

#[test]
#[ignore = "a scenario run in a child process by the other tests of this file"]
fn child() {
    let scenario = scenario();
    let (shape, pacing) = scenario.split_once(':').expect("shape:pacing");
    let paced = pacing == "paced";
    // Traces and logs to a collector printing one line per batch; metrics to one printing every
    // point (a few requests only), to read the stage histogram's count.
    let spans_collector = Arc::new(Collector::start_with(Dump::Basic));
    let metrics_collector = Collector::start();
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", spans_collector.endpoint());
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        format!("{}/v1/metrics", metrics_collector.endpoint()),
    );
    // Partial batches go out after 200 ms rather than 5 s: a paced worker waits for them.
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "200");
    let telemetry = factory_observability::Telemetry::builder("faults-healthy")
        .shutdown_timeout(Duration::from_secs(20))
        .init()
        .expect("init");
    let rss_after_init = rss_kib();

    let slowest = Arc::new(SlowestCall::default());
    let pace = paced.then(|| Arc::new(Pace::default()));
    let follower = pace.as_ref().map(|pace| pace.follow(&spans_collector));
    let started = Instant::now();
    let sums: Vec<u64> = match shape {
        "threads" => {
            let workers: Vec<_> = (0..WORKERS)
                .map(|worker| {
                    let (slowest, pace) = (Arc::clone(&slowest), pace.clone());
                    std::thread::spawn(move || thread_run(worker, pace.as_deref(), &slowest))
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        }
        "tasks" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let tasks: Vec<_> = (0..WORKERS)
                    .map(|worker| {
                        tokio::spawn(task_run(worker, pace.clone(), Arc::clone(&slowest)))
                    })
                    .collect();
                let mut sums = Vec::new();
                for task in tasks {
                    sums.push(task.await.unwrap());
                }
                sums
            })
        }
        other => panic!("unknown shape {other}"),
    };
    let ran_for = started.elapsed();
    drop(pace);
    if let Some(follower) = follower {
        follower.join().unwrap();
    }
    // The program's results do not depend on telemetry.
    assert_eq!(sums, vec![EXPECTED_SUM; WORKERS as usize]);

    let shutdown_started = Instant::now();
    let report = telemetry.shutdown();
    let shutdown_took = shutdown_started.elapsed();
    assert!(report.completed_in_time, "{report}");
    let [traces, metrics, logs] = &report.signals[..] else {
        panic!("three signals: {report}");
    };

    let stages = WORKERS * SPANS_PER_WORKER;
    let spans = stages + WORKERS;
    let log_records = WORKERS * SPANS_PER_WORKER.div_ceil(LOG_EVERY);
    assert_eq!(traces.submitted, spans, "{report}");
    assert_eq!(logs.submitted, log_records, "{report}");
    assert_eq!(metrics.failed, 0, "{report}");

    // What the collector got is what the report says was delivered; the rest is counted lost.
    let delivered_traces = traces.delivered;
    spans_collector.expect(
        "every delivered span and log record",
        |output| {
            let counts = received_counts(output);
            counts.spans >= delivered_traces && counts.logs >= logs.delivered
        },
        Duration::from_secs(10),
    );
    let received = received_counts(&spans_collector.output());
    assert_eq!(received.spans, traces.delivered, "{report}");
    assert_eq!(received.logs, logs.delivered, "{report}");
    assert_eq!(traces.submitted, received.spans + traces.undelivered());
    assert_eq!(logs.submitted, received.logs + logs.undelivered());
    if paced {
        assert_eq!(received.spans, spans, "paced: nothing is lost: {report}");
        assert_eq!(
            received.logs, log_records,
            "paced: nothing is lost: {report}"
        );
    }

    // Metrics do not go through the span queue: every stage is in the duration histogram.
    let stage_name = if shape == "threads" {
        "Str(double)"
    } else {
        "Str(double_async)"
    };
    metrics_collector.expect(
        "the stage duration histogram",
        |output| {
            parse_metrics(output).iter().any(|point| {
                point.name == "pipeline.stage.duration"
                    && point.value == stages.to_string()
                    && point.attributes.get("stage.name").map(String::as_str) == Some(stage_name)
            })
        },
        Duration::from_secs(10),
    );

    figure("spans_sent", traces.submitted);
    figure("spans_received", received.spans);
    figure("spans_lost_counted", traces.undelivered());
    figure("logs_sent", logs.submitted);
    figure("logs_received", received.logs);
    figure("logs_lost_counted", logs.undelivered());
    figure("stage_histogram_count", stages);
    figure("slowest_call_us", slowest.get().as_micros());
    figure("ran_ms", ran_for.as_millis());
    figure("shutdown_ms", shutdown_took.as_millis());
    figure("rss_after_init_kib", rss_after_init);
    figure("peak_rss_kib", peak_rss_kib());
}

fn check(run: &ChildRun) {
    // The child asserted the counts; the parent checks that it measured them.
    assert_eq!(
        run.number("spans_sent"),
        run.number("spans_received") + run.number("spans_lost_counted")
    );
}

#[test]
fn threads_paced_deliver_every_span_log_and_metric() {
    let run = SCENARIOS.run("threads:paced", &[]);
    check(&run);
    assert_eq!(run.number("spans_lost_counted"), 0.0);
}

#[test]
fn threads_unpaced_count_every_span_they_lose() {
    check(&SCENARIOS.run("threads:unpaced", &[]));
}

#[test]
fn tasks_paced_deliver_every_span_log_and_metric() {
    let run = SCENARIOS.run("tasks:paced", &[]);
    check(&run);
    assert_eq!(run.number("spans_lost_counted"), 0.0);
}

#[test]
fn tasks_unpaced_count_every_span_they_lose() {
    check(&SCENARIOS.run("tasks:unpaced", &[]));
}

//! A collector that is not there, goes away, never answers, refuses (503, 429 with
//! `Retry-After`) or answers slowly. In each: the program's results are unchanged, no
//! instrumented call waits on the network, memory stays within the queues' bound, delivery
//! resumes without a restart once the collector is back, and what was lost is counted and
//! reported once.
//!
//! The real collector (`rotel-agent`) plays the absent and the killed collector; a collector of
//! the test's own (`FaultyCollector`, counting requests, spans and log records) plays the others.
//! Each scenario runs `init` in a child process (the `child` test, ignored unless run by name);
//! the child runs the faults itself and prints its figures. Figures for docs/reliability.md:
//! `cargo test -p factory-observability-tests --test suite faults_outage:: -- --nocapture`.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::collector::{received_counts, Collector, Dump};
use factory_observability_tests::faults::{
    figure, peak_rss_kib, rss_kib, scenario, Behaviour, ChildRun, FaultyCollector, Scenarios,
    SlowestCall,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// This file's scenarios, each run by its ignored `child` test in a child process.
const SCENARIOS: Scenarios = Scenarios::of(module_path!());

const WORKERS: u64 = 4;
/// Stages per worker in each phase of a scenario.
const STAGES_PER_PHASE: u64 = 1_000;
/// A log record every this many stages.
const LOG_EVERY: u64 = 100;
/// Each export may take this long (`OTEL_EXPORTER_OTLP_TIMEOUT`).
const EXPORT_TIMEOUT: Duration = Duration::from_millis(1_000);
/// Shutdown's bound.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);
/// A bound of the memory the telemetry may add during a scenario: the two span queues (2,048
/// slots of well under 1 KiB each), the log queue, a batch in flight, with room for the
/// allocator. Unbounded buffering of a scenario's spans would still fit: the bound is checked,
/// and the figure is in the table.
const MEMORY_BOUND_KIB: u64 = 64 * 1024;

#[pipeline_stage]
fn double(n: u64) -> Result<u64, String> {
    Ok(n * 2)
}

#[pipeline_run(name = "outage")]
fn worker_run(worker: u64, slowest: &SlowestCall) -> u64 {
    let mut sum = 0;
    for n in 0..STAGES_PER_PHASE {
        sum += slowest.time(|| double(n)).unwrap();
        if n % LOG_EVERY == 0 {
            slowest.time(|| tracing::info!(worker, n, "progress"));
        }
        // About 8,000 stages a second in all: within what a loaded machine exports.
        if n % 2 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    sum
}

/// Spans of one phase: the stages and the workers' runs.
const SPANS_PER_PHASE: u64 = WORKERS * (STAGES_PER_PHASE + 1);
/// Log records of one phase.
const LOGS_PER_PHASE: u64 = WORKERS * STAGES_PER_PHASE.div_ceil(LOG_EVERY);

/// Runs one phase on [`WORKERS`] threads; checks the program's results.
fn phase(slowest: &Arc<SlowestCall>) {
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let slowest = Arc::clone(slowest);
            std::thread::spawn(move || worker_run(worker, &slowest))
        })
        .collect();
    for worker in workers {
        assert_eq!(
            worker.join().unwrap(),
            STAGES_PER_PHASE * (STAGES_PER_PHASE - 1),
            "the program's results do not depend on telemetry"
        );
    }
}

/// Installs telemetry exporting everything to `endpoint`.
fn init(endpoint: &str) -> factory_observability::Telemetry {
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        EXPORT_TIMEOUT.as_millis().to_string(),
    );
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");
    // Metrics are exported during the fault too, not only at shutdown.
    std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "250");
    factory_observability::Telemetry::builder("faults-outage")
        .shutdown_timeout(SHUTDOWN_TIMEOUT)
        .init()
        .expect("init")
}

/// Polls `received` until it is at least `at_least`; returns when it first grew (the time
/// delivery resumed, from `since`), or panics after 20 s.
fn wait_for_delivery(since: Instant, at_least: u64, received: impl Fn() -> u64) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut first = None;
    loop {
        let now = received();
        if now > 0 && first.is_none() {
            first = Some(since.elapsed());
        }
        if now >= at_least {
            return first.unwrap_or_else(|| since.elapsed());
        }
        assert!(
            Instant::now() < deadline,
            "delivery did not resume: {now} of at least {at_least} received"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Shuts down, checks that what was not received was counted as lost and reported once, and
/// prints the figures every scenario shares.
fn finish(
    telemetry: factory_observability::Telemetry,
    received: impl Fn() -> (u64, u64),
    slowest: &SlowestCall,
    rss_after_init: u64,
    phases: u64,
) {
    let started = Instant::now();
    let report = telemetry.shutdown();
    let shutdown_took = started.elapsed();
    let [traces, metrics, logs] = &report.signals[..] else {
        panic!("three signals: {report}");
    };
    assert_eq!(traces.submitted, phases * SPANS_PER_PHASE, "{report}");
    assert_eq!(logs.submitted, phases * LOGS_PER_PHASE, "{report}");
    let (spans, log_records) = received();
    assert_eq!(spans, traces.delivered, "{report}");
    assert_eq!(log_records, logs.delivered, "{report}");
    assert_eq!(traces.submitted, spans + traces.undelivered());
    assert_eq!(logs.submitted, log_records + logs.undelivered());
    // No call waited for the network (a generous bound: the figure is in the table).
    assert!(slowest.get() < EXPORT_TIMEOUT, "{:?}", slowest.get());
    assert!(shutdown_took < SHUTDOWN_TIMEOUT + Duration::from_secs(1));
    let growth = peak_rss_kib().saturating_sub(rss_after_init);
    assert!(growth < MEMORY_BOUND_KIB, "memory grew by {growth} KiB");

    figure("spans_sent", traces.submitted);
    figure("spans_received", spans);
    figure("spans_lost_counted", traces.undelivered());
    figure("spans_failed", traces.failed);
    figure("spans_dropped", traces.dropped);
    figure("logs_sent", logs.submitted);
    figure("logs_received", log_records);
    figure("logs_lost_counted", logs.undelivered());
    figure("logs_failed", logs.failed);
    figure("logs_dropped", logs.dropped);
    figure("metric_exports", metrics.submitted);
    figure("metric_exports_failed", metrics.failed);
    figure("slowest_call_us", slowest.get().as_micros());
    figure("peak_rss_kib", peak_rss_kib());
    figure("rss_growth_kib", growth);
    figure("shutdown_ms", shutdown_took.as_millis());
    figure("completed_in_time", report.completed_in_time);
    figure("report", report.to_string().replace(' ', "_"));
}

/// The collector is not there at start, and comes up on the port the program sends to.
fn absent_then_started() {
    let (http, grpc) = Collector::free_ports();
    let telemetry = init(&format!("http://127.0.0.1:{http}"));
    let rss_after_init = rss_kib();
    let slowest = Arc::new(SlowestCall::default());
    phase(&slowest);
    // Let the exports of the first phase fail.
    std::thread::sleep(Duration::from_millis(300));

    let collector = Collector::start_on(http, grpc, Dump::Basic);
    let up = Instant::now();
    phase(&slowest);
    let resumed = wait_for_delivery(up, SPANS_PER_PHASE, || {
        received_counts(&collector.output()).spans
    });
    figure("resume_ms", resumed.as_millis());
    finish(
        telemetry,
        || {
            let counts = received_counts(&collector.output());
            (counts.spans, counts.logs)
        },
        &slowest,
        rss_after_init,
        2,
    );
}

/// The collector is killed mid-run (SIGKILL) and restarted on the same port.
fn killed_and_restarted() {
    let first = Collector::start_with(Dump::Basic);
    let (http, grpc) = first.ports();
    let telemetry = init(&first.endpoint());
    let rss_after_init = rss_kib();
    let slowest = Arc::new(SlowestCall::default());
    phase(&slowest);
    std::thread::sleep(Duration::from_millis(300));
    first.kill();
    phase(&slowest);
    std::thread::sleep(Duration::from_millis(300));

    let second = Collector::start_on(http, grpc, Dump::Basic);
    let up = Instant::now();
    phase(&slowest);
    let resumed = wait_for_delivery(up, SPANS_PER_PHASE, || {
        received_counts(&second.output()).spans
    });
    figure("resume_ms", resumed.as_millis());
    finish(
        telemetry,
        || {
            let (a, b) = (
                received_counts(&first.output()),
                received_counts(&second.output()),
            );
            (a.spans + b.spans, a.logs + b.logs)
        },
        &slowest,
        rss_after_init,
        3,
    );
}

/// A collector that misbehaves as `fault` during the first phase and accepts from then on.
fn misbehaving_then_healthy(fault: Behaviour) {
    let collector = FaultyCollector::start(fault);
    let telemetry = init(&collector.endpoint());
    let rss_after_init = rss_kib();
    let slowest = Arc::new(SlowestCall::default());
    phase(&slowest);
    // Let the exports of the first phase meet the fault (a silent collector holds each for
    // the export timeout).
    std::thread::sleep(EXPORT_TIMEOUT + Duration::from_millis(300));

    collector.set(Behaviour::Accept);
    let healthy = Instant::now();
    let accepted_before = collector.spans();
    phase(&slowest);
    let resumed = wait_for_delivery(healthy, accepted_before + SPANS_PER_PHASE / 2, || {
        collector.spans()
    });
    figure("resume_ms", resumed.as_millis());
    let requests = collector.requests();
    figure("requests", requests.len());
    figure(
        "requests_refused",
        requests
            .iter()
            .filter(|r| r.status.is_some_and(|s| s != 200))
            .count(),
    );
    figure(
        "requests_unanswered",
        requests.iter().filter(|r| r.status.is_none()).count(),
    );
    finish(
        telemetry,
        || (collector.spans(), collector.logs()),
        &slowest,
        rss_after_init,
        2,
    );
}

#[pipeline_run(name = "retried")]
fn small_run(slowest: &SlowestCall) -> u64 {
    (0..300).map(|n| slowest.time(|| double(n)).unwrap()).sum()
}

/// One batch meets a collector that refuses its trace requests `times` with `status` and then
/// accepts: the exporter retries what the OTLP specification calls retryable (429, 502, 503,
/// 504), waiting at least `Retry-After`, within its timeout (default 10 s).
fn refused_then_retried(status: u16, retry_after: Option<u64>, times: u32, retried: bool) {
    let collector = FaultyCollector::start(Behaviour::RefuseTraces {
        status,
        retry_after,
        times,
    });
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint());
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");
    let telemetry = factory_observability::Telemetry::builder("faults-retry")
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init");
    let slowest = SlowestCall::default();
    assert_eq!(small_run(&slowest), 300 * 299);
    // Until the batch was accepted (retried), or for three seconds (not retried: a retry after
    // `Retry-After` or the backoff would have come by then).
    let patience = if retried {
        Duration::from_secs(15)
    } else {
        Duration::from_secs(3)
    };
    let deadline = Instant::now() + patience;
    while collector.spans() < 301 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let requests = collector.requests_to("/v1/traces");
    let gaps: Vec<u128> = requests
        .windows(2)
        .map(|pair| (pair[1].at - pair[0].at).as_millis())
        .collect();
    figure("trace_requests", requests.len());
    figure(
        "statuses",
        requests
            .iter()
            .map(|r| r.status.map_or("none".into(), |s| s.to_string()))
            .collect::<Vec<_>>()
            .join(","),
    );
    figure(
        "gaps_ms",
        gaps.iter()
            .map(u128::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    figure(
        "same_body",
        requests.windows(2).all(|p| p[0].body_len == p[1].body_len),
    );
    figure("slowest_call_us", slowest.get().as_micros());
    let report = telemetry.shutdown();
    figure("spans_sent", report.signals[0].submitted);
    figure("spans_received", collector.spans());
    figure("spans_lost_counted", report.signals[0].undelivered());
    assert_eq!(collector.spans(), report.signals[0].delivered, "{report}");
}

#[test]
#[ignore = "a scenario run in a child process by the other tests of this file"]
fn child() {
    match scenario().as_str() {
        "retried_503" => refused_then_retried(503, Some(1), 2, true),
        "retried_429" => refused_then_retried(429, Some(1), 1, true),
        "not_retried_400" => refused_then_retried(400, None, 1, false),
        "absent_then_started" => absent_then_started(),
        "killed_and_restarted" => killed_and_restarted(),
        "never_answers" => misbehaving_then_healthy(Behaviour::Silent),
        "refuses_503" => misbehaving_then_healthy(Behaviour::Refuse {
            status: 503,
            retry_after: Some(1),
        }),
        "refuses_429" => misbehaving_then_healthy(Behaviour::Refuse {
            status: 429,
            retry_after: Some(1),
        }),
        "answers_slowly" => misbehaving_then_healthy(Behaviour::Slow(Duration::from_millis(400))),
        other => panic!("unknown scenario {other}"),
    }
}

/// What was lost was reported once: one line on stderr says so (the shutdown report).
fn reported_once(run: &ChildRun) {
    let lost = run.number("spans_lost_counted") + run.number("logs_lost_counted");
    let reports = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("factory-observability: traces "))
        .count();
    assert_eq!(reports, usize::from(lost > 0.0), "{run}");
}

/// Every span sent was received or counted lost: what an outage could not deliver is either
/// held by the queue and retried (the default queue of 32,768 holds all of these scenarios') or
/// lost and counted, reported once.
fn nothing_goes_missing(run: &ChildRun) {
    reported_once(run);
    assert_eq!(
        run.number("spans_received") + run.number("spans_lost_counted"),
        run.number("spans_sent"),
        "{run}"
    );
}

#[test]
fn a_collector_absent_at_start_receives_once_it_is_up() {
    nothing_goes_missing(&SCENARIOS.run("absent_then_started", &[]));
}

#[test]
fn a_collector_killed_and_restarted_on_its_port_receives_again() {
    nothing_goes_missing(&SCENARIOS.run("killed_and_restarted", &[]));
}

#[test]
fn a_collector_that_never_answers_holds_up_nothing() {
    let run = SCENARIOS.run("never_answers", &[]);
    reported_once(&run);
    assert!(run.number("requests_unanswered") > 0.0, "{run}");
}

#[test]
fn a_collector_answering_503_holds_up_nothing() {
    let run = SCENARIOS.run("refuses_503", &[]);
    reported_once(&run);
    assert!(run.number("requests_refused") > 0.0, "{run}");
}

#[test]
fn a_collector_answering_429_holds_up_nothing() {
    let run = SCENARIOS.run("refuses_429", &[]);
    reported_once(&run);
    assert!(run.number("requests_refused") > 0.0, "{run}");
}

#[test]
fn a_collector_answering_slowly_holds_up_nothing() {
    let run = SCENARIOS.run("answers_slowly", &[]);
    reported_once(&run);
}

/// The retries of one refused batch: how many requests, and the gaps between them.
fn retries(run: &ChildRun) -> (usize, Vec<f64>) {
    let gaps = run.figures["gaps_ms"]
        .split(',')
        .filter(|gap| !gap.is_empty())
        .map(|gap| gap.parse().unwrap())
        .collect();
    (run.number("trace_requests") as usize, gaps)
}

#[test]
fn a_503_with_retry_after_is_retried_with_backoff_and_nothing_is_lost() {
    let run = SCENARIOS.run("retried_503", &[]);
    let (requests, gaps) = retries(&run);
    assert_eq!(requests, 3, "{run}");
    assert_eq!(run.figures["statuses"], "503,503,200");
    assert_eq!(run.figures["same_body"], "true");
    // At least `Retry-After: 1` each time, and backing off: the second wait is longer.
    assert!(gaps[0] >= 1_000.0 && gaps[1] >= 1_000.0, "{gaps:?}");
    assert!(gaps[1] > gaps[0], "{gaps:?}");
    assert_eq!(run.number("spans_lost_counted"), 0.0);
    assert_eq!(run.number("spans_received"), 301.0);
}

#[test]
fn a_429_with_retry_after_is_retried_and_nothing_is_lost() {
    let run = SCENARIOS.run("retried_429", &[]);
    let (requests, gaps) = retries(&run);
    assert_eq!(requests, 2, "{run}");
    assert_eq!(run.figures["statuses"], "429,200");
    assert!(gaps[0] >= 1_000.0, "{gaps:?}");
    assert_eq!(run.number("spans_lost_counted"), 0.0);
}

#[test]
fn a_400_is_not_retried_and_its_batch_is_counted_lost() {
    let run = SCENARIOS.run("not_retried_400", &[]);
    let (requests, _) = retries(&run);
    assert_eq!(requests, 1, "{run}");
    assert_eq!(run.figures["statuses"], "400");
    assert_eq!(run.number("spans_lost_counted"), 301.0);
    assert_eq!(run.number("spans_received"), 0.0);
}

/// Every span and log record an outage lost has a counted cause: its export failed, or a full
/// queue dropped it (queues small enough that the outage fills them: both causes occur).
#[test]
fn everything_lost_in_an_outage_has_a_counted_cause() {
    let run = SCENARIOS.run(
        "never_answers",
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "512"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "8"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "4"),
        ],
    );
    reported_once(&run);
    for signal in ["spans", "logs"] {
        let [failed, dropped, lost] = ["failed", "dropped", "lost_counted"]
            .map(|what| run.number(&format!("{signal}_{what}")));
        assert!(failed > 0.0 && dropped > 0.0, "{signal}: {run}");
        assert_eq!(failed + dropped, lost, "{signal}: {run}");
        assert_eq!(
            run.number(&format!("{signal}_received")) + lost,
            run.number(&format!("{signal}_sent")),
            "{signal}: {run}"
        );
    }
    let report = &run.figures["report"];
    assert!(report.contains("dropped_by_the_full_queue"), "{report}");
}

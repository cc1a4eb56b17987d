//! Regression test of issue 10, "Overflow drops the root": 100,000 unpaced stages from 8 threads
//! delivered 3,584 stages and none of the 8 `pipeline.run` spans. With a queue far too small for
//! the burst, spans are lost, but every delivered stage's run is delivered, and the report counts
//! exactly what the files did not get. One test: `init` is process-wide.

use factory_observability::{pipeline_run, pipeline_stage};
use factory_observability_tests::isolated::run_in_own_process;
use factory_observability_tests::otlp_json::read_spans;
use std::collections::BTreeSet;

const THREADS: usize = 8;
const STAGES_PER_RUN: u64 = 12_500;

#[pipeline_stage]
fn step(n: u64) -> Result<u64, String> {
    Ok(n + 1)
}

#[pipeline_run(name = "burst")]
fn run() -> Result<u64, String> {
    let mut total = 0;
    for n in 0..STAGES_PER_RUN {
        total += step(n)?;
    }
    Ok(total)
}

#[test]
fn a_burst_past_the_queue_never_delivers_a_stage_without_its_run() {
    if run_in_own_process(
        module_path!(),
        "a_burst_past_the_queue_never_delivers_a_stage_without_its_run",
    ) {
        return;
    }
    // Before `init` and before this test starts any thread.
    std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "64");
    std::env::set_var("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64");
    let dir = std::env::temp_dir().join(format!("fo-overflow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telemetry = factory_observability::Telemetry::builder("overflow-test")
        .embedded_dir(&dir)
        .summary(false)
        .init_without_subscriber()
        .expect("init");

    let threads: Vec<_> = (0..THREADS).map(|_| std::thread::spawn(run)).collect();
    let expected: u64 = (1..=STAGES_PER_RUN).sum();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), Ok(expected));
    }
    let report = telemetry.shutdown();
    let traces = report.signals[0].clone();
    assert_eq!(traces.signal, "traces");

    let spans = read_spans(&dir.join("traces.jsonl"));
    let runs: BTreeSet<&str> = spans
        .iter()
        .filter(|span| span.name == "pipeline.run")
        .map(|span| span.span_id.as_str())
        .collect();
    let stages: Vec<_> = spans
        .iter()
        .filter(|span| span.name == "pipeline.stage")
        .collect();
    assert_eq!(runs.len(), THREADS, "every run is delivered: {report}");
    assert!(!stages.is_empty(), "{report}");
    for stage in &stages {
        assert!(
            runs.contains(stage.parent_span_id.as_str()),
            "stage {} delivered without its run {}",
            stage.span_id,
            stage.parent_span_id
        );
    }
    // The queue of 64 cannot hold the burst: spans were shed, and counted.
    assert!(traces.dropped > 0, "{report}");
    assert_eq!(traces.failed, 0, "{report}");
    // What the file holds is exactly what was delivered; submitted = delivered + dropped.
    assert_eq!(traces.delivered, spans.len() as u64, "{report}");
    assert_eq!(
        traces.submitted,
        traces.delivered + traces.dropped,
        "{report}"
    );
    assert_eq!(
        traces.submitted,
        THREADS as u64 * (1 + STAGES_PER_RUN),
        "every call was counted once, delivered or dropped: {report}"
    );
    eprintln!("{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! The span export thread exports while the program runs, on the schedule
//! `OTEL_BSP_SCHEDULE_DELAY` sets, not only when it shuts down. One test: `init` is process-wide.

use factory_observability::pipeline_stage;
use factory_observability_tests::isolated::run_in_own_process;
use factory_observability_tests::otlp_json::{read_spans, JsonSpan};
use std::path::Path;
use std::time::{Duration, Instant};

#[pipeline_stage]
fn live_stage() -> u32 {
    1
}

/// The spans of `file` once it holds a whole export request, polled every 20 ms; `None` if none
/// arrived within `patience`.
fn spans_once_exported(file: &Path, patience: Duration) -> Option<Vec<JsonSpan>> {
    let give_up = Instant::now() + patience;
    while Instant::now() < give_up {
        let complete = std::fs::read_to_string(file).is_ok_and(|text| text.ends_with('\n'));
        if complete {
            return Some(read_spans(file));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn spans_are_exported_while_the_program_runs() {
    if run_in_own_process(module_path!(), "spans_are_exported_while_the_program_runs") {
        return;
    }
    // Before `init` and before this test starts any thread.
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");
    let dir = std::env::temp_dir().join(format!("fo-export-thread-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telemetry = factory_observability::Telemetry::builder("export-thread-test")
        .embedded_dir(&dir)
        .summary(false)
        .init()
        .expect("init");
    assert_eq!(live_stage(), 1);

    // Not a timing assertion: the patience only bounds a failing run (the default delay of 5 s
    // would pass too, later).
    let spans = spans_once_exported(&dir.join("traces.jsonl"), Duration::from_secs(30))
        .expect("the stage's span was not exported while the program ran");
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(
        spans[0].attributes.get("stage.name").map(String::as_str),
        Some("live_stage")
    );
    assert_eq!(
        spans[0].attributes.get("stage.outcome").map(String::as_str),
        Some("success")
    );

    let report = telemetry.shutdown();
    assert_eq!(report.undelivered(), 0, "{report}");
    assert_eq!(read_spans(&dir.join("traces.jsonl")).len(), 1);
}

//! A collector that accepts connections and never answers: instrumented calls still return, and
//! shutdown gives up at its bound, reporting every span as undelivered, says why (the export
//! timed out), and counts the spans the full queue dropped during the outage as dropped (issue
//! 10). One test: `init` installs process-wide state. (No timing is asserted; a hang would fail
//! the run.)

use factory_observability_tests::isolated::run_in_own_process;
use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[factory_observability::pipeline_stage]
fn step(n: u32) -> Result<u32, String> {
    Ok(n * 2)
}

#[test]
fn a_collector_that_never_answers_neither_blocks_calls_nor_shutdown() {
    if run_in_own_process(
        module_path!(),
        "a_collector_that_never_answers_neither_blocks_calls_nor_shutdown",
    ) {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts every connection and reads what is sent, but never writes a response.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = stream.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut sink = [0u8; 4096];
                while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
            });
            held.push(stream);
        }
    });
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    );
    // Each export may wait 30 s for an answer; shutdown may wait 1 s.
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "30000");
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "50");
    std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "16");
    let telemetry = factory_observability::Telemetry::builder("blackhole")
        .shutdown_timeout(Duration::from_secs(1))
        .init_without_subscriber()
        .expect("init");

    let mut total = 0;
    for n in 0..10 {
        total += step(n).unwrap();
    }
    assert_eq!(total, 90);
    // Let the export thread start an export of those 10 that will hang.
    std::thread::sleep(Duration::from_millis(300));
    // The outage: the queue of 16 holds 14 stages (an eighth is kept for runs); the other 86
    // are dropped.
    for n in 0..100 {
        total += step(n).unwrap();
    }
    assert_eq!(total, 90 + 9900);

    let started = Instant::now();
    let report = telemetry.shutdown();
    eprintln!("shutdown returned after {:?}: {report}", started.elapsed());
    assert!(!report.completed_in_time, "{report}");
    let traces = &report.signals[0];
    assert_eq!(traces.signal, "traces");
    assert_eq!(traces.submitted, 110);
    assert_eq!(traces.delivered, 0);
    assert_eq!(traces.dropped, 86, "{report}");
    assert_eq!(traces.failed, 0, "{report}");
    let cause = traces.last_error.as_deref().unwrap_or_default();
    assert!(
        cause.starts_with("export timed out: 10 items sent "),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .starts_with("traces 0/110 delivered (110 lost: 86 dropped by the full queue, 24 not sent before shutdown; last error: export timed out: 10 items sent "),
        "{report}"
    );
    assert_eq!(report.undelivered(), 110 + report.signals[1].undelivered());
}

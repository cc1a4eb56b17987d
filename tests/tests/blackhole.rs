//! A collector that accepts connections and never answers: instrumented calls still return, and
//! shutdown gives up at its bound, reporting every span as undelivered. One test: `init` installs
//! process-wide state. (No timing is asserted; a hang would fail the run.)

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[factory_observability::pipeline_stage]
fn step(n: u32) -> Result<u32, String> {
    Ok(n * 2)
}

#[test]
fn a_collector_that_never_answers_neither_blocks_calls_nor_shutdown() {
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
    let telemetry = factory_observability::Telemetry::builder("blackhole")
        .shutdown_timeout(Duration::from_secs(1))
        .init_without_subscriber()
        .expect("init");

    let mut total = 0;
    for n in 0..100 {
        total += step(n).unwrap();
    }
    assert_eq!(total, 9900);
    // Let the batch processor start an export that will hang.
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let report = telemetry.shutdown();
    eprintln!("shutdown returned after {:?}: {report}", started.elapsed());
    assert!(!report.completed_in_time, "{report}");
    let traces = &report.signals[0];
    assert_eq!(traces.signal, "traces");
    assert_eq!(traces.submitted, 100);
    assert_eq!(traces.delivered, 0);
    assert_eq!(report.undelivered(), 100 + report.signals[1].undelivered());
}

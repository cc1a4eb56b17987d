//! `init` and shutdown from inside a tokio runtime, as `#[tokio::main] async fn main` does, with an
//! OTLP endpoint (whose HTTP client must be neither built nor dropped on a runtime thread in a way
//! that panics). One test: `init` installs process-wide state.

use factory_observability_tests::collector::closed_port;
use factory_observability_tests::isolated::run_in_own_process;

#[factory_observability::pipeline_stage]
async fn step(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_and_shutdown_inside_an_async_main() {
    if run_in_own_process(module_path!(), "init_and_shutdown_inside_an_async_main") {
        return;
    }
    let port = closed_port();
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "500");
    let telemetry = factory_observability::Telemetry::builder("async-main")
        .shutdown_timeout(std::time::Duration::from_secs(2))
        .init_without_subscriber()
        .expect("init inside a runtime");
    assert_eq!(step(1).await, 2);
    let report = telemetry.shutdown();
    assert_eq!(report.signals[0].submitted, 1);
    assert_eq!(report.signals[0].delivered, 0);
}

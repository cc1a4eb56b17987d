//! Secrets in `OTEL_EXPORTER_OTLP_HEADERS` are sent, never shown: not in `Debug` output of the
//! guard, nor in the delivery report, also over the HTTPS client (whose TLS failures are
//! reported with their reason). One test: `init` installs process-wide state.

#[test]
fn header_values_never_appear_in_debug_output_or_reports() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    // Set before any thread of this test binary reads the environment.
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("https://127.0.0.1:{port}"),
    );
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer%20sk-top-secret-42",
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "500");
    let telemetry = factory_observability::Telemetry::builder("secrets")
        .shutdown_timeout(std::time::Duration::from_secs(2))
        .init_without_subscriber()
        .expect("init");
    let debug = format!("{telemetry:?}");
    assert!(!debug.contains("sk-top-secret-42"), "{debug}");

    #[factory_observability::pipeline_stage]
    fn work() -> u32 {
        1
    }
    assert_eq!(work(), 1);
    let report = telemetry.shutdown();
    let shown = format!("{report} {report:?}");
    assert!(!shown.contains("sk-top-secret-42"), "{shown}");
    assert!(
        shown.contains(&format!(
            "POST https://127.0.0.1:{port}/v1/traces: error sending request"
        )),
        "the report names the URL and the reason: {shown}"
    );
    assert_eq!(report.signals[0].submitted, 1);
    assert_eq!(
        report.signals[0].delivered, 0,
        "nothing listens on port {port}"
    );
}

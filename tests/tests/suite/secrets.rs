//! Secrets in `OTEL_EXPORTER_OTLP_HEADERS` are sent, never shown: not in `Debug` output of the
//! guard, nor in the delivery report, also over the HTTPS client (whose TLS failures are
//! reported with their reason). One test: `init` installs process-wide state.

use factory_observability_tests::isolated::{run_in_own_process, test_command, test_name};
#[test]
fn header_values_never_appear_in_debug_output_or_reports() {
    if run_in_own_process(
        module_path!(),
        "header_values_never_appear_in_debug_output_or_reports",
    ) {
        return;
    }
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

/// The secret of [`child_program`]'s headers: a bearer token, and a custom header's value.
const BEARER: &str = "sk-top-secret-4242-bearer";
const API_KEY_HEADER: &str = "k3y-in-a-custom-header";

/// Runs in a child process only (`FO_SECRETS_CHILD` set): `init` with its `tracing` subscriber
/// at `RUST_LOG=trace`, the summary forced on, exports failing against a closed port, and an
/// `init` refused for a malformed header list, so that everything this crate and its
/// dependencies print is on the child's stderr.
#[test]
fn child_program() {
    if std::env::var_os("FO_SECRETS_CHILD").is_none() {
        return;
    }
    #[factory_observability::pipeline_run]
    fn run() -> Result<(), String> {
        tracing::warn!("a warning inside the run");
        Err("the run failed".into())
    }
    let telemetry = factory_observability::Telemetry::builder("secrets-child")
        .shutdown_timeout(std::time::Duration::from_secs(2))
        .init()
        .expect("init");
    println!("debug of the guard: {telemetry:?}");
    let _ = run();
    let report = telemetry.shutdown();
    println!("report: {report} / {report:?}");
    // A second, malformed header list: its error is printed too.
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        format!("authorization=Bearer {BEARER},broken"),
    );
    let error = factory_observability::init("again").unwrap_err();
    println!("error: {error} / {error:?}");
}

#[test]
fn header_values_never_appear_in_logs_errors_or_the_summary() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut command = test_command(&test_name(module_path!(), "child_program"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let output = command
        .env("FO_SECRETS_CHILD", "1")
        .env("RUST_LOG", "trace")
        .env("FACTORY_OBS_SUMMARY", "1")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("authorization=Bearer%20{BEARER},x-api-key={API_KEY_HEADER}"),
        )
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "300")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the child program");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // What was printed is there: the guard, the report with its loss, the summary, the error.
    assert!(stdout.contains("debug of the guard: Telemetry"), "{stdout}");
    assert!(stdout.contains("report: traces 0/1 delivered"), "{stdout}");
    assert!(
        stderr.contains("WARN suite::secrets: a warning inside the run"),
        "{stderr}"
    );
    assert!(
        stderr.contains("factory-observability: traces 0/1 delivered (1 lost"),
        "{stderr}"
    );
    assert!(
        stdout.contains("OTEL_EXPORTER_OTLP_HEADERS=\"<not shown: headers may hold secrets>\""),
        "{stdout}"
    );
    for secret in [BEARER, API_KEY_HEADER, "top-secret"] {
        assert!(!stdout.contains(secret), "{secret} on stdout:\n{stdout}");
        assert!(!stderr.contains(secret), "{secret} on stderr:\n{stderr}");
    }
}

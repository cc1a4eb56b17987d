//! Secrets in `OTEL_EXPORTER_OTLP_HEADERS` are sent, never shown: not in `Debug` output of the
//! guard, nor in the delivery report, also over the HTTPS client (whose TLS failures are
//! reported with their reason). One test: `init` installs process-wide state.

use factory_observability_tests::collector::closed_port;
use factory_observability_tests::isolated::{run_in_own_process, test_command, test_name};
#[test]
fn header_values_never_appear_in_debug_output_or_reports() {
    if run_in_own_process(
        module_path!(),
        "header_values_never_appear_in_debug_output_or_reports",
    ) {
        return;
    }
    let port = closed_port();
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
    let port = closed_port();
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

/// The password, the query value and the header value of [`url_child_program`]'s endpoints.
const URL_PASSWORD: &str = "s3cret-pass-in-url";
const QUERY_VALUE: &str = "k3y-in-the-query";
const HEADER_VALUE: &str = "t0ken-with-a-newline";

/// Runs in a child process only (`FO_SECRETS_URL_CHILD` set): an endpoint with user
/// information and an `api_key` (ending in `/v1/traces`, so that the signal-path warning names
/// it), exports failing against a closed port with the summary on; then `init` refused for an
/// endpoint that is not http(s) and for a header with a CR/LF. Prints every error, report and
/// guard with `Display` and `Debug`.
#[test]
fn url_child_program() {
    if std::env::var_os("FO_SECRETS_URL_CHILD").is_none() {
        return;
    }
    #[factory_observability::pipeline_stage]
    fn work() -> u32 {
        1
    }
    let telemetry = factory_observability::Telemetry::builder("secrets-urls")
        .shutdown_timeout(std::time::Duration::from_secs(2))
        .init()
        .expect("init");
    println!("debug of the guard: {telemetry:?}");
    work();
    let report = telemetry.shutdown();
    println!("report: {report} / {report:?}");
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("ftp://ci:{URL_PASSWORD}@collector/?api_key={QUERY_VALUE}"),
    );
    let error = factory_observability::init("again").unwrap_err();
    println!("endpoint error: {error} / {error:?}");
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9");
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        format!("x-team=factory,authorization=Bearer%20{HEADER_VALUE}%0D%0AX-Injected:%201"),
    );
    let error = factory_observability::init("again").unwrap_err();
    println!("header error: {error} / {error:?}");
}

/// Issue 24: an endpoint's user information and query values were printed whole in the
/// shutdown summary's "last error", in the `/v1/traces` warning and in `InitError`'s `Display`
/// and `Debug`; a header with a CR/LF was dropped silently.
#[test]
fn urls_are_printed_without_user_information_or_query_values() {
    let port = factory_observability_tests::collector::closed_port();
    let mut command = test_command(&test_name(module_path!(), "url_child_program"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let output = command
        .env("FO_SECRETS_URL_CHILD", "1")
        .env("RUST_LOG", "trace")
        .env("FACTORY_OBS_SUMMARY", "1")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://ci:{URL_PASSWORD}@127.0.0.1:{port}/v1/traces?api_key={QUERY_VALUE}"),
        )
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "300")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the child program");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for secret in [URL_PASSWORD, QUERY_VALUE, HEADER_VALUE] {
        assert!(!stdout.contains(secret), "{secret} on stdout:\n{stdout}");
        assert!(!stderr.contains(secret), "{secret} on stderr:\n{stderr}");
    }
    let shown = format!("http://***@127.0.0.1:{port}/v1/traces?api_key=***");
    // The warning about the signal path, with the URL shown.
    assert!(
        stderr.contains(&format!(
            "factory-observability: warning: OTEL_EXPORTER_OTLP_ENDPOINT={shown} ends in /v1/traces"
        )),
        "{stderr}"
    );
    // The summary's last error and the report (Display and Debug), the URL shown.
    let sent = format!("POST http://***@127.0.0.1:{port}/v1/traces/v1/traces?api_key=***: ");
    assert!(
        stderr.contains(&format!("; last error: {sent}error sending request")),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!("last_error: Some(\"{sent}")),
        "{stdout}"
    );
    assert!(stdout.contains("debug of the guard: Telemetry"), "{stdout}");
    // InitError's Display and Debug.
    assert!(
        stdout.contains(
            "endpoint error: OTEL_EXPORTER_OTLP_ENDPOINT=\"ftp://***@collector/?api_key=***\" \
             is not valid: expected an http:// or https:// URL"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("/ InvalidEnv(\"OTEL_EXPORTER_OTLP_ENDPOINT=\\\"ftp://***@collector/"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "header error: OTEL_EXPORTER_OTLP_HEADERS=\"<not shown: headers may hold secrets>\" \
             is not valid: the header `authorization` cannot be sent: its value holds a CR, LF \
             or another control character"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("/ Header(\"OTEL_EXPORTER_OTLP_HEADERS="),
        "{stdout}"
    );
}

//! OTLP over HTTPS (rustls): Debian's nginx terminates TLS with a certificate of a private CA the
//! test generates, in front of the real collector (Rotel) on loopback.
//!
//! Needs `rotel-agent` and `nginx`: `scripts/test.sh` installs both.

use factory_observability_tests::collector::{parse_spans, Collector};
use factory_observability_tests::nginx::TlsProxy;
use factory_observability_tests::program::{expect_one_factory_run, run, Run};
use factory_observability_tests::tls::TestPki;
use std::path::PathBuf;
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// A bearer token sent on failing exports: it must never be printed.
const SECRET: &str = "sk-tls-secret-7";

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_https-{name}"))
}

fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &scratch(name).join("run"),
        envs,
        RUN_TIMEOUT,
    )
}

/// The collector, behind nginx with the certificates of a CA named `name`.
fn collector_behind_tls(name: &str, mutual: bool) -> (Collector, TestPki, TlsProxy) {
    let collector = Collector::start();
    let port: u16 = collector
        .endpoint()
        .rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .expect("the collector's port");
    let pki = TestPki::generate(&scratch(name).join("pki"), name);
    let proxy = TlsProxy::start(&scratch(name).join("nginx"), &pki, port, mutual);
    (collector, pki, proxy)
}

#[test]
fn all_signals_arrive_over_https_with_a_private_ca() {
    let (collector, pki, proxy) = collector_behind_tls("private-ca", false);
    let run = run_pipeline(
        "private-ca",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", proxy.endpoint()),
            pki.trust_env(),
            ("OTEL_SERVICE_NAME", "factory-https".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    run.expect_all_delivered();
    expect_one_factory_run(&collector);
    assert!(
        collector
            .output()
            .contains("service.name: Str(factory-https)"),
        "{}",
        collector.output()
    );
}

#[test]
fn a_server_certificate_of_another_ca_is_counted_as_lost_with_the_tls_reason() {
    let (collector, _pki, proxy) = collector_behind_tls("served", false);
    let other = TestPki::generate(&scratch("other-ca").join("pki"), "other");
    let run = run_pipeline(
        "wrong-ca",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", proxy.endpoint()),
            other.trust_env(),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".into()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("authorization=Bearer%20{SECRET}"),
            ),
        ],
    );
    assert_eq!(run.status.code(), Some(3), "{}", run.describe());
    assert!(!run.stderr.contains(SECRET), "{}", run.describe());
    let endpoint = proxy.endpoint();
    for signal in ["traces", "metrics", "logs"] {
        let warning = format!(
            "factory-observability: warning: TLS with {endpoint}/v1/{signal} failed: invalid \
             peer certificate: UnknownIssuer; {signal} are counted as lost until it succeeds"
        );
        assert_eq!(
            run.stderr.matches(&warning).count(),
            1,
            "one warning for {signal}: {}",
            run.describe()
        );
        assert!(
            run.stderr.contains(&format!(
                "failed to export; last error: POST {endpoint}/v1/{signal}: error sending \
                 request: TLS handshake failed: invalid peer certificate: UnknownIssuer)"
            )),
            "{}",
            run.describe()
        );
    }
    assert!(
        run.stderr.contains("traces 0/36 delivered (36 lost"),
        "{}",
        run.describe()
    );
    assert!(parse_spans(&collector.output()).is_empty());
}

#[test]
fn mutual_tls_delivers_with_the_client_certificate_and_loses_without_it() {
    let (collector, pki, proxy) = collector_behind_tls("mutual", true);
    let with_certificate = run_pipeline(
        "mutual-with",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", proxy.endpoint()),
            pki.trust_env(),
            pki.client_certificate_env(),
            pki.client_key_env(),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    with_certificate.expect_all_delivered();
    expect_one_factory_run(&collector);

    let without = run_pipeline(
        "mutual-without",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", proxy.endpoint()),
            pki.trust_env(),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".into()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("authorization=Bearer%20{SECRET}"),
            ),
        ],
    );
    assert_eq!(without.status.code(), Some(3), "{}", without.describe());
    assert!(!without.stderr.contains(SECRET), "{}", without.describe());
    // nginx answers a client without a certificate `400 Bad Request` ("No required SSL
    // certificate was sent").
    assert!(
        without.stderr.contains(&format!(
            "traces 0/36 delivered (36 lost: 36 failed to export; last error: POST {}/v1/traces: \
             400 Bad Request)",
            proxy.endpoint()
        )),
        "{}",
        without.describe()
    );
}

#[test]
fn an_unreadable_or_invalid_certificate_file_is_an_init_error_naming_the_variable_and_file() {
    let missing = scratch("files").join("missing-ca.pem");
    let run = run_pipeline(
        "missing-file",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://localhost:1".into()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                missing.display().to_string(),
            ),
        ],
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains(&format!(
            "factory_pipeline: OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: the file {} cannot be \
             read: No such file or directory (os error 2)",
            missing.display()
        )),
        "{}",
        run.describe()
    );

    let not_pem = scratch("files").join("not-a-key.pem");
    std::fs::create_dir_all(not_pem.parent().unwrap()).unwrap();
    std::fs::write(&not_pem, "not a key\n").unwrap();
    let pki = TestPki::generate(&scratch("files").join("pki"), "files");
    let run = run_pipeline(
        "invalid-key",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://localhost:1".into()),
            pki.client_certificate_env(),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                not_pem.display().to_string(),
            ),
        ],
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains(&format!(
            "factory_pipeline: OTEL_EXPORTER_OTLP_CLIENT_KEY: the file {} holds no PEM private key",
            not_pem.display()
        )),
        "{}",
        run.describe()
    );
}

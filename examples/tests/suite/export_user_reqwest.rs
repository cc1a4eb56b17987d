//! A program's own reqwest client next to our exporters. This crate builds reqwest with
//! `rustls-no-provider` (rustls with ring, no aws-lc-rs): in a program whose reqwest has no TLS
//! provider of its own, as here, building a client panics until a process-wide rustls provider
//! is installed. `init` installs ring unless the program installed one: after it, the program's
//! client makes an HTTPS request (Debian's nginx, a private CA the test generates, in front of
//! the real collector).
//!
//! `cargo test -p factory-observability-examples --test suite export_user_reqwest::`

use factory_observability_tests::collector::Collector;
use factory_observability_tests::isolated::run_in_own_process;
use factory_observability_tests::nginx::TlsProxy;
use factory_observability_tests::tls::TestPki;
use std::path::PathBuf;

#[test]
fn a_programs_own_reqwest_client_makes_https_requests_after_init() {
    if run_in_own_process(
        module_path!(),
        "a_programs_own_reqwest_client_makes_https_requests_after_init",
    ) {
        return;
    }
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("export_user_reqwest");
    let _ = std::fs::remove_dir_all(&scratch);
    let collector = Collector::start();
    let pki = TestPki::generate(&scratch.join("pki"), "user-reqwest");
    let proxy = TlsProxy::start(&scratch.join("nginx"), &pki, collector.ports().0, false);

    // Without a provider (what this test program would be without `init`), reqwest refuses.
    let before = std::panic::catch_unwind(|| reqwest::Client::builder().build());
    let message = before.expect_err("no rustls provider is installed yet");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            message
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
        })
        .unwrap_or_default();
    assert!(
        message.starts_with("No rustls crypto provider is configured."),
        "{message}"
    );

    let telemetry = factory_observability::Telemetry::builder("user-reqwest")
        .embedded_dir(scratch.join("telemetry"))
        .summary(false)
        .init_without_subscriber()
        .expect("init");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&pki.ca).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("a client of the program's own, after init");
    // An empty OTLP export request: valid protobuf, accepted by the collector.
    let response = client
        .post(format!("{}/v1/traces", proxy.endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(Vec::new())
        .send()
        .expect("HTTPS through nginx");
    assert_eq!(response.status(), 200, "{response:?}");
    // A rustls configuration built the default way works too.
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    assert!(config.alpn_protocols.is_empty());
    let report = telemetry.shutdown();
    assert_eq!(report.undelivered(), 0, "{report}");
}

//! OTLP/gRPC (the `grpc` feature): the real collector's gRPC receiver gets all three signals,
//! with and without gzip, with headers as metadata, resource attributes intact. The example is
//! a plain (non-async) program: the exporter's own runtime carries the exports. Over TLS:
//! Debian's nginx terminates TLS (HTTP/2, `grpc_pass`) with certificates of a private CA the
//! test generates, in front of the collector's gRPC receiver. Through a proxy: Debian's
//! tinyproxy, named by `HTTP_PROXY` / `HTTPS_PROXY`, tunnels the connection (`CONNECT`).
//!
//! `cargo test -p factory-observability-examples --features grpc --test grpc export_grpc::`

use factory_observability_tests::collector::{parse_spans, Collector};
use factory_observability_tests::forward_proxy::ForwardProxy;
use factory_observability_tests::nginx::TlsProxy;
use factory_observability_tests::program::{expect_one_factory_run, run, Run};
use factory_observability_tests::tls::TestPki;
use std::path::PathBuf;
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const SECRET: &str = "sk-grpc-secret-3";

fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_grpc-{name}"));
    run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &dir,
        envs,
        RUN_TIMEOUT,
    )
}

fn delivered_over_grpc(name: &str, compression: &str) {
    let collector = Collector::start();
    let run = run_pipeline(
        name,
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", compression.into()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("authorization=Bearer%20{SECRET},x-team=factory"),
            ),
            ("OTEL_SERVICE_NAME", format!("factory-grpc-{compression}")),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=grpc-e2e".into(),
            ),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.describe());
    run.expect_all_delivered();
    assert!(!run.stderr.contains(SECRET), "{}", run.describe());
    expect_one_factory_run(&collector);
    let output = collector.output();
    assert!(
        output.contains(&format!("service.name: Str(factory-grpc-{compression})")),
        "{output}"
    );
    assert!(
        output.contains("deployment.environment: Str(grpc-e2e)"),
        "{output}"
    );
}

#[test]
fn all_signals_arrive_over_grpc() {
    delivered_over_grpc("plain", "none");
}

#[test]
fn all_signals_arrive_over_grpc_with_gzip() {
    delivered_over_grpc("gzip", "gzip");
}

#[test]
fn an_unreachable_grpc_collector_is_counted_as_lost() {
    let port = factory_observability_tests::collector::closed_port();
    let run = run_pipeline(
        "unreachable",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".into()),
        ],
    );
    assert_eq!(run.status.code(), Some(3), "{}", run.describe());
    assert!(
        run.stderr.contains(&format!(
            "traces 0/36 delivered (36 lost: 36 failed to export; last error: gRPC \
             http://127.0.0.1:{port}: tcp connect error: Connection refused (os error 111))"
        )),
        "{}",
        run.describe()
    );
}

/// The collector's gRPC receiver behind nginx (TLS, HTTP/2, `grpc_pass`) with the certificates
/// of a CA named `name`.
fn grpc_collector_behind_tls(name: &str, mutual: bool) -> (Collector, TestPki, TlsProxy) {
    let collector = Collector::start();
    let dir = scratch(name);
    let pki = TestPki::generate(&dir.join("pki"), name);
    let proxy = TlsProxy::start_grpc(&dir.join("nginx"), &pki, collector.ports().1, mutual);
    (collector, pki, proxy)
}

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_grpc-proxy-{name}"))
}

#[test]
fn all_signals_arrive_over_grpc_with_tls_and_a_private_ca() {
    let (collector, pki, proxy) = grpc_collector_behind_tls("private-ca", false);
    let run = run_pipeline(
        "tls-private-ca",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", proxy.endpoint()),
            pki.trust_env(),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("authorization=Bearer%20{SECRET}"),
            ),
            ("OTEL_SERVICE_NAME", "factory-grpc-tls".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.describe());
    run.expect_all_delivered();
    assert!(!run.stderr.contains(SECRET), "{}", run.describe());
    expect_one_factory_run(&collector);
    assert!(
        collector
            .output()
            .contains("service.name: Str(factory-grpc-tls)"),
        "{}",
        collector.output()
    );
}

#[test]
fn a_grpc_server_certificate_of_another_ca_is_counted_as_lost_with_the_tls_reason() {
    let (collector, _pki, proxy) = grpc_collector_behind_tls("served", false);
    let other = TestPki::generate(&scratch("other-ca").join("pki"), "other");
    let run = run_pipeline(
        "tls-wrong-ca",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
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
            "factory-observability: warning: TLS with {endpoint} failed: invalid peer \
             certificate: UnknownIssuer; {signal} are counted as lost until it succeeds"
        );
        assert_eq!(
            run.stderr.matches(&warning).count(),
            1,
            "one warning for {signal}: {}",
            run.describe()
        );
    }
    assert!(
        run.stderr.contains(&format!(
            "traces 0/36 delivered (36 lost: 36 failed to export; last error: gRPC {endpoint}: \
             TLS handshake failed: invalid peer certificate: UnknownIssuer)"
        )),
        "{}",
        run.describe()
    );
    assert!(parse_spans(&collector.output()).is_empty());
}

#[test]
fn grpc_mutual_tls_delivers_with_the_client_certificate_and_loses_without_it() {
    let (collector, pki, proxy) = grpc_collector_behind_tls("mutual", true);
    let with_certificate = run_pipeline(
        "tls-mutual-with",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
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
        "tls-mutual-without",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", proxy.endpoint()),
            pki.trust_env(),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".into()),
        ],
    );
    assert_eq!(without.status.code(), Some(3), "{}", without.describe());
    // nginx answers a client without a certificate HTTP 400 ("No required SSL certificate was
    // sent"), which gRPC reads as status INTERNAL.
    assert!(
        without.stderr.contains(&format!(
            "traces 0/36 delivered (36 lost: 36 failed to export; last error: gRPC {}: \
             answered with gRPC status: Internal)",
            proxy.endpoint()
        )),
        "{}",
        without.describe()
    );
}

/// Runs the example exporting over gRPC to `endpoint` through a tinyproxy of its own, named by
/// `proxy_variable`; expects everything at `collector`, and returns the proxy's log.
fn delivered_through_a_proxy(
    name: &str,
    collector: &Collector,
    endpoint: String,
    proxy_variable: &str,
    more: &[(&str, String)],
) -> String {
    let proxy = ForwardProxy::start(&scratch(name).join("tinyproxy"));
    let mut envs = vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        (proxy_variable, proxy.url()),
        ("FACTORY_OBS_SUMMARY", "1".into()),
    ];
    envs.extend_from_slice(more);
    let run = run_pipeline(name, &envs);
    assert_eq!(run.status.code(), Some(0), "{}", run.describe());
    run.expect_all_delivered();
    expect_one_factory_run(collector);
    proxy.log()
}

#[test]
fn grpc_goes_through_the_proxy_the_environment_names() {
    let collector = Collector::start();
    let log = delivered_through_a_proxy(
        "through-proxy",
        &collector,
        collector.grpc_endpoint(),
        "HTTP_PROXY",
        &[],
    );
    // The exports went through a tunnel of the proxy's, not around it.
    let grpc_port = collector.ports().1;
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{grpc_port} HTTP/1.1")),
        "{log}"
    );
}

#[test]
fn grpc_over_tls_goes_through_the_proxy_the_environment_names() {
    let (collector, pki, tls) = grpc_collector_behind_tls("through-proxy", false);
    let log = delivered_through_a_proxy(
        "tls-through-proxy",
        &collector,
        tls.endpoint(),
        "HTTPS_PROXY",
        &[pki.trust_env()],
    );
    let tls_port = tls.endpoint().rsplit(':').next().unwrap().to_owned();
    assert!(
        log.contains(&format!("CONNECT localhost:{tls_port} HTTP/1.1")),
        "{log}"
    );
}

#[test]
fn an_unreachable_proxy_is_named_in_the_report_and_no_proxy_goes_around_it() {
    let collector = Collector::start();
    let closed = factory_observability_tests::collector::closed_port();
    let through_dead_proxy = run_pipeline(
        "dead-proxy",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".into()),
            (
                "HTTP_PROXY",
                format!("http://user:pw-secret@127.0.0.1:{closed}"),
            ),
        ],
    );
    assert_eq!(
        through_dead_proxy.status.code(),
        Some(3),
        "{}",
        through_dead_proxy.describe()
    );
    assert!(
        through_dead_proxy.stderr.contains(&format!(
            "traces 0/36 delivered (36 lost: 36 failed to export; last error: gRPC {}: proxy \
             127.0.0.1:{closed}: tunnel error: failed to create underlying connection: tcp \
             connect error: Connection refused (os error 111))",
            collector.grpc_endpoint()
        )),
        "{}",
        through_dead_proxy.describe()
    );
    // The proxy's credentials are never printed.
    assert!(
        !through_dead_proxy.stderr.contains("pw-secret"),
        "{}",
        through_dead_proxy.describe()
    );

    let around = run_pipeline(
        "no-proxy",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint()),
            ("HTTP_PROXY", format!("http://127.0.0.1:{closed}")),
            ("NO_PROXY", "127.0.0.1".into()),
        ],
    );
    assert_eq!(around.status.code(), Some(0), "{}", around.describe());
    expect_one_factory_run(&collector);
}

//! OTLP/HTTP through the proxy the environment names: Debian's tinyproxy tunnels (`CONNECT`)
//! plain HTTP (`HTTP_PROXY`) and HTTPS (`HTTPS_PROXY`, TLS with nginx inside the tunnel) to the
//! real collector on loopback. Its log shows that the exports went through it: one tunnel per
//! signal, kept alive for all of that signal's exports. (gRPC through a proxy: `export_grpc.rs`.)
//!
//! Needs `rotel-agent`, `nginx` and `tinyproxy`: `scripts/test.sh` installs them.

use factory_observability_tests::collector::{closed_port, Collector};
use factory_observability_tests::forward_proxy::ForwardProxy;
use factory_observability_tests::nginx::TlsProxy;
use factory_observability_tests::program::{expect_one_factory_run, run, Run};
use factory_observability_tests::tls::TestPki;
use std::path::PathBuf;
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_proxy-{name}"))
}

/// The factory example with `envs` (and no inherited proxy variable: `program::run`), which
/// must deliver everything.
fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    let run = run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &scratch(name).join("run"),
        envs,
        RUN_TIMEOUT,
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.describe());
    run.expect_all_delivered();
    run
}

fn port_of(endpoint: &str) -> String {
    endpoint
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned()
}

/// One tunnel per signal (three), each kept alive for all of that signal's exports.
fn assert_one_tunnel_per_signal(proxy: &ForwardProxy, target: &str, run: &Run) {
    assert_eq!(
        proxy.connects(),
        vec![target; 3],
        "{}\n{}",
        proxy.log(),
        run.describe()
    );
}

#[test]
fn otlp_http_goes_through_the_proxy_the_environment_names() {
    let collector = Collector::start();
    let proxy = ForwardProxy::start(&scratch("plain").join("tinyproxy"));
    let run = run_pipeline(
        "plain",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("HTTP_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    expect_one_factory_run(&collector);
    // ureq tunnels plain HTTP too (reqwest forwarded it as `POST http://...`).
    let target = format!("127.0.0.1:{}", port_of(&collector.endpoint()));
    assert_one_tunnel_per_signal(&proxy, &target, &run);
}

#[test]
fn otlp_https_goes_through_a_tunnel_of_the_proxy_the_environment_names() {
    let collector = Collector::start();
    let pki = TestPki::generate(&scratch("tls").join("pki"), "tunnelled");
    let upstream: u16 = port_of(&collector.endpoint()).parse().unwrap();
    let tls = TlsProxy::start(&scratch("tls").join("nginx"), &pki, upstream, false);
    let proxy = ForwardProxy::start(&scratch("tls").join("tinyproxy"));
    let run = run_pipeline(
        "tls",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", tls.endpoint()),
            pki.trust_env(),
            ("HTTPS_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    expect_one_factory_run(&collector);
    let target = format!("localhost:{}", port_of(&tls.endpoint()));
    assert_one_tunnel_per_signal(&proxy, &target, &run);
}

#[test]
fn a_host_in_no_proxy_and_an_http_endpoint_with_only_https_proxy_go_direct() {
    let collector = Collector::start();
    let proxy = ForwardProxy::start(&scratch("direct").join("tinyproxy"));
    run_pipeline(
        "no-proxy",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("http_proxy", proxy.url()),
            ("no_proxy", "localhost, 127.0.0.1".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    expect_one_factory_run(&collector);
    run_pipeline(
        "https-proxy-only",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("HTTPS_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert_eq!(proxy.connects(), Vec::<String>::new(), "{}", proxy.log());
}

#[test]
fn a_proxy_variable_that_is_not_a_url_is_skipped_with_one_warning_without_its_value() {
    let collector = Collector::start();
    let run = run_pipeline(
        "bad-url",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("HTTP_PROXY", "http://user:pr0xy-secret@[not-a-host".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert_eq!(
        run.stderr
            .matches("factory-observability: warning: HTTP_PROXY is not a proxy URL")
            .count(),
        1,
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("pr0xy-secret"), "{}", run.describe());
}

#[test]
fn an_unreachable_proxy_is_named_in_the_loss_without_its_credentials() {
    let collector = Collector::start();
    let proxy_port = closed_port();
    let run = run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &scratch("unreachable").join("run"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            (
                "HTTP_PROXY",
                format!("http://user:pr0xy-secret@127.0.0.1:{proxy_port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
        RUN_TIMEOUT,
    );
    assert_eq!(run.status.code(), Some(3), "{}", run.describe());
    let endpoint = collector.endpoint();
    assert!(
        run.stderr.contains(&format!(
            "POST {endpoint}/v1/traces: error sending request: transport error: Connection \
             refused (os error 111) (through the proxy 127.0.0.1:{proxy_port})"
        )),
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("pr0xy-secret"), "{}", run.describe());
}

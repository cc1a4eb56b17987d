//! OTLP/HTTP through a forward proxy named by the environment, against real peers on loopback:
//! Debian's tinyproxy (the proxy), the real collector, and Debian's nginx terminating TLS for
//! the HTTPS case. Each run sets every proxy variable, so the machine's own do not leak in.
//!
//! Needs `rotel-agent`, `nginx` and `tinyproxy`: `scripts/test.sh` installs them.

use factory_observability_tests::collector::Collector;
use factory_observability_tests::forward_proxy::ForwardProxy;
use factory_observability_tests::nginx::TlsProxy;
use factory_observability_tests::program::{
    expect_one_factory_run, run, Run, FACTORY_RUN_DELIVERED,
};
use factory_observability_tests::tls::TestPki;
use std::path::PathBuf;
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export_proxy-{name}"))
}

/// The factory example with `envs` over empty proxy variables (an empty one is not set).
fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    let mut all: Vec<(&str, String)> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ]
    .into_iter()
    .map(|name| (name, String::new()))
    .collect();
    all.extend(envs.iter().cloned());
    run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &scratch(name).join("run"),
        &all,
        RUN_TIMEOUT,
    )
}

/// One tunnel per signal (three), each kept alive for all of that signal's exports.
fn assert_tunnels_to(proxy: &ForwardProxy, target: &str, run: &Run) {
    let connects = proxy.connects();
    assert_eq!(
        connects,
        vec![target; 3],
        "{}\n{}",
        proxy.log(),
        run.describe()
    );
}

#[test]
fn an_http_endpoint_is_reached_through_http_proxy() {
    let collector = Collector::start();
    let proxy = ForwardProxy::start(&scratch("http").join("proxy"));
    let run = run_pipeline(
        "http",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("HTTP_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert!(
        run.stderr.contains(FACTORY_RUN_DELIVERED),
        "{}",
        run.describe()
    );
    expect_one_factory_run(&collector);
    let target = format!("127.0.0.1:{}", collector.ports().0);
    assert_tunnels_to(&proxy, &target, &run);
}

#[test]
fn a_host_in_no_proxy_is_reached_directly_and_https_proxy_is_not_for_http() {
    let collector = Collector::start();
    let proxy = ForwardProxy::start(&scratch("no-proxy").join("proxy"));
    let run = run_pipeline(
        "no-proxy",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("http_proxy", proxy.url()),
            ("no_proxy", "localhost, 127.0.0.1".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert!(
        run.stderr.contains(FACTORY_RUN_DELIVERED),
        "{}",
        run.describe()
    );
    expect_one_factory_run(&collector);
    // HTTPS_PROXY alone: an http:// endpoint does not use it.
    let direct = run_pipeline(
        "https-proxy-only",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("HTTPS_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert!(
        direct.stderr.contains(FACTORY_RUN_DELIVERED),
        "{}",
        direct.describe()
    );
    assert_eq!(proxy.connects(), Vec::<String>::new(), "{}", proxy.log());
}

#[test]
fn an_https_endpoint_is_reached_through_https_proxy_with_tls_to_the_collector() {
    let collector = Collector::start();
    let pki = TestPki::generate(&scratch("https").join("pki"), "proxied");
    let tls = TlsProxy::start(
        &scratch("https").join("nginx"),
        &pki,
        collector.ports().0,
        false,
    );
    let proxy = ForwardProxy::start(&scratch("https").join("proxy"));
    let run = run_pipeline(
        "https",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", tls.endpoint()),
            pki.trust_env(),
            ("HTTPS_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert!(
        run.stderr.contains(FACTORY_RUN_DELIVERED),
        "{}",
        run.describe()
    );
    expect_one_factory_run(&collector);
    let target = tls.endpoint().trim_start_matches("https://").to_owned();
    assert_tunnels_to(&proxy, &target, &run);
}

#[test]
fn a_proxy_variable_that_is_not_a_url_is_skipped_with_one_warning() {
    let collector = Collector::start();
    let run = run_pipeline(
        "bad-url",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("HTTP_PROXY", "http://user:pr0xy-secret@[not-a-host".into()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    assert!(
        run.stderr.contains(FACTORY_RUN_DELIVERED),
        "{}",
        run.describe()
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

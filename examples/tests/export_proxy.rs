//! OTLP/HTTP through the proxy the environment names: Debian's tinyproxy forwards plain HTTP
//! (`HTTP_PROXY`) and tunnels HTTPS (`HTTPS_PROXY`, `CONNECT`, TLS with nginx inside the tunnel)
//! to the real collector on loopback. Its log shows that the exports went through it. (gRPC
//! through a proxy: `export_grpc.rs`.)
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

fn run_pipeline(name: &str, envs: &[(&str, String)]) -> Run {
    let run = run(
        env!("CARGO_BIN_EXE_factory_pipeline").as_ref(),
        &scratch(name).join("run"),
        envs,
        RUN_TIMEOUT,
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.describe());
    assert!(
        run.stderr.contains(FACTORY_RUN_DELIVERED),
        "{}",
        run.describe()
    );
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

#[test]
fn otlp_http_goes_through_the_proxy_the_environment_names() {
    let collector = Collector::start();
    let proxy = ForwardProxy::start(&scratch("plain").join("tinyproxy"));
    run_pipeline(
        "plain",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("HTTP_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    expect_one_factory_run(&collector);
    let port = port_of(&collector.endpoint());
    let log = proxy.log();
    for signal in ["traces", "metrics", "logs"] {
        assert!(
            log.contains(&format!(
                "POST http://127.0.0.1:{port}/v1/{signal} HTTP/1.1"
            )),
            "{signal} did not go through the proxy: {log}"
        );
    }
}

#[test]
fn otlp_https_goes_through_a_tunnel_of_the_proxy_the_environment_names() {
    let collector = Collector::start();
    let pki = TestPki::generate(&scratch("tls").join("pki"), "tunnelled");
    let upstream: u16 = port_of(&collector.endpoint()).parse().unwrap();
    let tls = TlsProxy::start(&scratch("tls").join("nginx"), &pki, upstream, false);
    let proxy = ForwardProxy::start(&scratch("tls").join("tinyproxy"));
    run_pipeline(
        "tls",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", tls.endpoint()),
            pki.trust_env(),
            ("HTTPS_PROXY", proxy.url()),
            ("FACTORY_OBS_SUMMARY", "1".into()),
        ],
    );
    expect_one_factory_run(&collector);
    let log = proxy.log();
    assert!(
        log.contains(&format!(
            "CONNECT localhost:{} HTTP/1.1",
            port_of(&tls.endpoint())
        )),
        "{log}"
    );
}

#!/usr/bin/env bash
# The whole test suite: the benchmarks once each (no timing asserted: they keep compiling and
# running), then unit, behaviour, compile-time (trybuild), end-to-end against a real collector,
# and doc tests. Installs the real peers first (collector, nginx, chromium, Prometheus, promtool,
# amtool); needs only cargo, python3 and apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# The default build stays lean (issue 13): a program that serves no HTTP and calls nothing with
# reqwest compiles no HTTP server, no async runtime and no reqwest; OTLP/HTTP export uses ureq.
default_build="$(cargo tree -p factory-observability -e normal --prefix none)"
for crate in reqwest hyper tokio axum tonic; do
    if grep -q "^$crate v" <<<"$default_build"; then
        echo "error: the default build of factory-observability compiles $crate (it must be behind" \
            "a cargo feature); what pulls it in:" >&2
        cargo tree -p factory-observability -e normal,features -i "$crate" >&2 || true
        exit 1
    fi
done
echo "default build: $(sed 's/ (\*)$//' <<<"$default_build" | sort -u | wc -l) crates, none of reqwest, hyper, tokio, axum, tonic"

ROTEL_AGENT="$(scripts/install-collector.sh)"
export ROTEL_AGENT
# nginx terminates TLS in front of the collector in the HTTPS export tests (examples/tests/export_https.rs).
NGINX="$(scripts/install-nginx.sh)"
export NGINX
# tinyproxy is the forward proxy of the export-through-a-proxy tests (examples/tests/export_proxy.rs,
# examples/tests/export_grpc.rs).
TINYPROXY="$(scripts/install-tinyproxy.sh)"
export TINYPROXY
echo "collector: $ROTEL_AGENT ($("$ROTEL_AGENT" --version 2>/dev/null || echo 'version unknown'))"

# The browser test of `factory-obs report --html` loads the page in Debian's chromium.
CHROMIUM="$(scripts/install-chromium.sh)"
export CHROMIUM
echo "chromium: $CHROMIUM"

# The real Prometheus the Prometheus pull test scrapes with; the test fails if it is missing.
PROMETHEUS="$(scripts/install-prometheus.sh)"
export PROMETHEUS
echo "prometheus: $PROMETHEUS ($("$PROMETHEUS" --version 2>&1 | head -n 1))"

# promtool and amtool for the deploy kit's tests (tests/tests/deploy_*.rs, examples/tests/deploy_live.rs).
prometheus_tools="$(scripts/install-prometheus-tools.sh)"
PROMTOOL="$(sed -n 1p <<<"$prometheus_tools")"
AMTOOL="$(sed -n 2p <<<"$prometheus_tools")"
export PROMTOOL AMTOOL
echo "prometheus tools: $("$PROMTOOL" --version 2>&1 | head -n 1); $("$AMTOOL" --version 2>&1 | head -n 1)"

cargo test -p factory-observability-benches --benches
# The tests and examples crates enable the runtime's `prometheus` feature through their
# dev-dependencies, so the workspace run builds the runtime with it (prometheus_scrape, deploy_*).
cargo test --workspace
# OTLP/gRPC is a cargo feature: its end-to-end tests need it on (the collector, TLS through nginx,
# inside the program's own tokio runtime, retries against a tonic server of the test's own).
cargo test -p factory-observability-examples --features grpc \
    --test export_grpc --test export_grpc_tokio --test export_grpc_retry
# The runtime alone, without the feature: the configuration's "needs the feature" answer.
cargo test -p factory-observability --lib

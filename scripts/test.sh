#!/usr/bin/env bash
# The whole test suite: the benchmarks once each (no timing asserted: they keep compiling and
# running), then unit, behaviour, compile-time (trybuild), end-to-end against a real collector,
# and doc tests. Installs the real peers first (collector, nginx, chromium, Prometheus, promtool,
# amtool, the OpenTelemetry Python and JS SDKs); needs only cargo, python3 and apt-get.
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

# The browser tests: `factory-obs report --html` loads its page in Debian's chromium, and the
# product's page is clicked in chromium driven by chromedriver (examples/tests/suite/browser_page.rs).
browser="$(scripts/install-chromium.sh)"
CHROMIUM="$(sed -n 1p <<<"$browser")"
CHROMEDRIVER="$(sed -n 2p <<<"$browser")"
export CHROMIUM CHROMEDRIVER
echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"); $("$CHROMEDRIVER" --version 2>/dev/null | cut -d' ' -f1-2)"

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

# The real MCP server of the agent tests (tests/fixtures/mcp_server.py): the official MCP Python
# SDK with the OpenTelemetry Python SDK, in a virtualenv of its own.
MCP_PYTHON="$(scripts/install-mcp-python.sh)"
export MCP_PYTHON
echo "mcp python: $MCP_PYTHON ($("$MCP_PYTHON" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"), "opentelemetry-sdk", m.version("opentelemetry-sdk"))'))"

# The OpenTelemetry Python SDK of the Python product the factory deploys in the provenance test
# (examples/tests/suite/provenance_python.rs).
OTEL_PYTHON="$(scripts/install-otel-python.sh)"
export OTEL_PYTHON
echo "opentelemetry python: $OTEL_PYTHON"

# Node and the OpenTelemetry JS SDK of the Node product the factory deploys in the provenance
# test (examples/tests/suite/provenance_node.rs): node, and the node_modules its lockfile pins.
otel_node="$(scripts/install-otel-node.sh)"
OTEL_NODE="$(sed -n 1p <<<"$otel_node")"
OTEL_NODE_MODULES="$(sed -n 2p <<<"$otel_node")"
export OTEL_NODE OTEL_NODE_MODULES
echo "opentelemetry node: $("$OTEL_NODE" --version) $OTEL_NODE_MODULES"

# One build of every test binary, example and benchmark of the workspace (the benchmarks run once
# each, untimed: they keep compiling and running), with the gRPC feature on: its end-to-end
# tests (examples/tests/grpc) need it, and one feature set for the whole workspace builds the
# runtime once instead of once per feature set. The integration tests are grouped into few
# binaries (tests/tests/suite, examples/tests/suite, examples/tests/grpc): linking one binary per
# test file dominated the suite's time.
cargo test --workspace --all-targets --features factory-observability-examples/grpc
# `--all-targets` leaves out doc tests.
cargo test --workspace --doc
# The runtime alone, without the feature: the configuration's "needs the feature" answer.
cargo test -p factory-observability --lib

#!/usr/bin/env bash
# The product's request latency with and without a concurrent, bounded flood on its browser
# telemetry endpoint (BENCHMARKS.md, "Browser endpoint under a flood").
#
# product_service (release) exports to rotel (blackhole exporter) on loopback. wrk measures
# `GET /tasks/1` (HttpServerLayer's SERVER span, a #[handler]) from 4 connections for DURATION
# seconds, in two ways:
#   saturating: each connection sends its next request as soon as the last is answered (the
#               product's most, ~50,000 requests/s alone here: its own span queue overflows at
#               that rate, flood or not);
#   paced:      each connection waits 1 ms between requests (at most ~4,000 requests/s: a load
#               the product's export keeps up with, so any span lost would be the flood's doing);
# alone, then while a second wrk floods `POST /v1/traces` from 16 connections with a valid page
# batch (one click span, OTLP/JSON, the page's Origin) for the same time:
#   flood-default: the endpoint's defaults (120 requests a minute per client): nearly every
#                  flood request is answered 429 before its body is read;
#   flood-open:    the rate limit raised to 1,000,000 a minute: every flood request is read,
#                  decoded, bounded and queued for export (or answered 503 when the queue is full).
# Each scenario runs RUNS times (default 3) on a fresh product; the table gives each run.
#
# Why wrk and not criterion: the question is what a flood on one route does to the others
# through the whole server (the accept loop, tokio's scheduler, the endpoint's checks, the
# export thread and its queue), over real sockets, with the load from other processes; an
# in-process criterion loop would leave all of that out. wrk is Debian's HTTP load generator
# (installed here if missing); its latency figures are closed-loop (each connection sends its
# next request when the last is answered), so under load they include queueing in the server.
# Both wrk processes and the product share the machine's cores: the flood also takes CPU away.
#
# Usage: benches/scripts/browser_flood.sh [DURATION] (default 10 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
RUNS="${RUNS:-3}"

command -v wrk >/dev/null 2>&1 || scripts/apt-install.sh wrk
cargo build -q --release -p factory-observability-examples --bin product_service
PRODUCT="${CARGO_TARGET_DIR:-target}/release/product_service"
AGENT="$(scripts/install-collector.sh)"
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

HTTP_PORT="$(free_port)"
GRPC_PORT="$(free_port)"
"$AGENT" start --exporter blackhole \
    --otlp-http-endpoint "127.0.0.1:$HTTP_PORT" --otlp-grpc-endpoint "127.0.0.1:$GRPC_PORT" \
    >/dev/null 2>&1 &
ROTEL_PID=$!
PRODUCT_PID=""
trap 'kill $PRODUCT_PID "$ROTEL_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1

printf 'function delay()\n    return 1\nend\n' >"$WORK/paced.lua"

# One click span, as the page's exporter sends it (ids fixed: the endpoint does not care).
cat >"$WORK/flood.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"product-webapp"}}]},"scopeSpans":[{"scope":{"name":"product-webapp"},"spans":[{"traceId":"e77d1852931155881b964204aea2b96e","spanId":"1d697a62baa94e38","name":"user.create_task","kind":1,"startTimeUnixNano":"1796453908812000000","endTimeUnixNano":"1796453908850000000","attributes":[{"key":"task.id","value":{"intValue":1}}]}]}]}]}'
EOF

# Starts the product with extra environment `$@`; sets PRODUCT_PID and PORT.
start_product() {
    env -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT -u TRACEPARENT \
        PRODUCT_ADDR=127.0.0.1:0 OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$HTTP_PORT" \
        FACTORY_OBS_SUMMARY=1 RUST_LOG=off "$@" \
        "$PRODUCT" >"$WORK/product.out" 2>"$WORK/product.err" &
    PRODUCT_PID=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$WORK/product.out" 2>/dev/null && break
        sleep 0.05
    done
    PORT="$(sed -n 's|listening on http://127.0.0.1:||p' "$WORK/product.out")"
    curl -s -o /dev/null "http://127.0.0.1:$PORT/tasks" -H 'content-type: application/json' \
        -d '{"title":"benchmark"}'
}

# Stops the product with SIGTERM (it flushes and prints its delivery report) and keeps the
# report's traces part in $WORK/report.txt. Not in a subshell: `wait` needs the product as a child.
stop_product() {
    kill -TERM "$PRODUCT_PID"
    wait "$PRODUCT_PID" || true
    PRODUCT_PID=""
    grep -o 'traces [0-9]*/[0-9]* delivered[^;]*' "$WORK/product.err" >"$WORK/report.txt" ||
        echo "(no report)" >"$WORK/report.txt"
}

# wrk's figures: requests/s and the 50/90/99% latencies.
summarize() {
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +90%/ {p90=$2} /^ +99%/ {p99=$2}
         END {printf "%10s %9s %9s %9s", rps, p50, p90, p99}' "$1"
}

flood_summary() {
    awk '/Requests\/sec/ {rps=$2} /Non-2xx/ {non2xx=$5} /requests in/ {total=$1}
         END {printf "flood %s req/s, %s of %s answered non-2xx", rps, non2xx == "" ? 0 : non2xx, total}' "$1"
}

run() { # mode (saturating, paced), scenario, then product environment
    local mode="$1" scenario="$2"
    shift 2
    local pacing=()
    if [[ "$mode" == paced ]]; then
        pacing=(-s "$WORK/paced.lua")
    fi
    for run in $(seq "$RUNS"); do
        start_product "$@"
        local flood_pid=""
        if [[ "$scenario" != baseline ]]; then
            wrk -t1 -c16 -d"${DURATION}s" -s "$WORK/flood.lua" -H "Origin: http://127.0.0.1:$PORT" \
                "http://127.0.0.1:$PORT/v1/traces" >"$WORK/flood.txt" 2>&1 &
            flood_pid=$!
        fi
        wrk -t1 -c4 -d"${DURATION}s" --latency "${pacing[@]}" "http://127.0.0.1:$PORT/tasks/1" \
            >"$WORK/measure.txt"
        local flood="no flood"
        if [[ -n "$flood_pid" ]]; then
            wait "$flood_pid"
            flood="$(flood_summary "$WORK/flood.txt")"
        fi
        stop_product
        local delivered
        delivered="$(cat "$WORK/report.txt")"
        printf '%-10s %-14s %3s %s  %s; %s\n' "$mode" "$scenario" "$run" \
            "$(summarize "$WORK/measure.txt")" "$flood" "$delivered"
    done
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; wrk $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f2)"
printf '%-10s %-14s %3s %10s %9s %9s %9s  %s\n' mode scenario run "GET req/s" p50 p90 p99 \
    "flood; product's delivery report"
for mode in paced saturating; do
    run "$mode" baseline
    run "$mode" flood-default
    run "$mode" flood-open FACTORY_OBS_BROWSER_RATE_LIMIT=1000000
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

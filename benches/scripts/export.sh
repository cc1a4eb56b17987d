#!/usr/bin/env bash
# Export measurements with the real pipeline: OTLP/HTTP (protobuf) to rotel on loopback.
#  1. rate sweep: #[pipeline_stage] spans at RATES spans/s for SECONDS each, delivered vs lost;
#     the highest rate with 0 lost is the sustained rate (batch processor defaults unless
#     OTEL_BSP_* are set in the environment);
#  2. outage: no collector listening, 10k spans/s for OUTAGE_SECONDS (60), RSS start/end/peak.
# Prints one line per run; asserts nothing. Needs python3 (rotel comes from PyPI, as in
# scripts/install-collector.sh).
#
#   benches/scripts/export.sh
#   RATES="50000 100000" SECONDS_PER_RATE=10 OUTAGE_SECONDS=60 benches/scripts/export.sh
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
RATES="${RATES:-10000 25000 50000 100000 200000 400000}"
SECONDS_PER_RATE="${SECONDS_PER_RATE:-5}"
OUTAGE_SECONDS="${OUTAGE_SECONDS:-60}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/bench-target}"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cargo bench -q -p factory-observability-benches --bench export --no-run
run() { cargo bench -q -p factory-observability-benches --bench export -- "$@" 2>&1 | grep -E '^export:'; }

AGENT="$(scripts/install-collector.sh)"
HTTP_PORT="$(free_port)"
GRPC_PORT="$(free_port)"
"$AGENT" start --exporter blackhole \
    --otlp-http-endpoint "127.0.0.1:$HTTP_PORT" --otlp-grpc-endpoint "127.0.0.1:$GRPC_PORT" \
    >/dev/null 2>&1 &
ROTEL_PID=$!
trap 'kill "$ROTEL_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $HTTP_PORT), 0.2)" 2>/dev/null; then break; fi
    sleep 0.1
done

export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$HTTP_PORT"
echo "rate sweep: rotel-agent (blackhole exporter) on 127.0.0.1:$HTTP_PORT, ${SECONDS_PER_RATE} s per rate"
for rate in $RATES; do
    run "$rate" "$SECONDS_PER_RATE"
done

kill "$ROTEL_PID" 2>/dev/null || true
wait "$ROTEL_PID" 2>/dev/null || true
echo "outage: nothing listens on 127.0.0.1:$HTTP_PORT, 10000 spans/s for ${OUTAGE_SECONDS} s"
run 10000 "$OUTAGE_SECONDS"

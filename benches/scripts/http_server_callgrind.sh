#!/usr/bin/env bash
# Instructions per request of each variant of benches/benches/http_server.rs, counted by callgrind
# over every thread of the process (the span export threads included) in steady state: the count
# mode serves N requests and marks the half and the end (`callgrind_checkpoint`); callgrind writes
# one profile per stretch (`--dump-before`), and the second stretch, N/2 requests, is divided by
# N/2. Start-up and shutdown are left out: their clock calibrations run for a given time, so their
# instruction count moves with the machine's load, by up to ±700 a request at N = 20,000 when
# taken as (Ir(2N) - Ir(N)) / N over whole processes. Needs valgrind.
# Usage: benches/scripts/http_server_callgrind.sh [N] [VARIANT...] (default 100000, all four);
# BIN=path overrides the bench binary (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
shift || true
VARIANTS=("$@")
if [ ${#VARIANTS[@]} -eq 0 ]; then
  VARIANTS=(bare_router tower_http_trace_layer_otel axum_tracing_opentelemetry ours_http_server_layer)
fi
if [ -z "${BIN:-}" ]; then
  cargo bench -p factory-observability-benches --bench http_server --no-run >/dev/null 2>&1
  BIN=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/http_server-* | grep -v '\.d$' | head -1)
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
printf '%-30s %14s\n' variant instructions/request
for variant in "${VARIANTS[@]}"; do
  HTTP_SERVER_COUNT="$variant:$N" valgrind --tool=callgrind \
    --dump-before='http_server::callgrind_checkpoint' \
    --callgrind-out-file="$OUT/$variant" "$BIN" >/dev/null 2>&1
  # Dumps .1 (start-up and the first half) and .2 (the second half), then the rest at exit.
  ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT/$variant.2")
  awk -v v="$variant" -v ir="$ir" -v n=$((N - N / 2)) \
    'BEGIN { printf "%-30s %14.0f\n", v, ir / n }'
done

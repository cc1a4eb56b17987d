#!/usr/bin/env bash
# CPU time per request of each variant of benches/benches/http_server.rs, counted by `perf stat`
# (task-clock: every thread of the process, export threads included) for N and 2N requests; the
# difference divided by N, so that set-up and shutdown cancel out; the least of 3 tries of each.
# A figure of work done rather than of wall-clock time, which the load of a shared machine moves
# much more. (This VM has no hardware counters: instructions are not countable here.)
# Needs `perf`. Usage: benches/scripts/http_server_cpu.sh [N] (default 20000).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-20000}
cargo bench -p factory-observability-benches --bench http_server --no-run >/dev/null 2>&1
BIN=$(ls -t target/release/deps/http_server-* | grep -v '\.d$' | head -1)
cpu_ms() { # variant requests -> least task-clock (ms) of 3 runs
  for _ in 1 2 3; do
    HTTP_SERVER_COUNT="$1:$2" perf stat -x, -e task-clock "$BIN" 2>&1 >/dev/null |
      awk -F, '/task-clock/ {print $1}'
  done | sort -g | head -1
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %12s\n' variant cpu-ns/request
for variant in bare_router tower_http_trace_layer_otel axum_tracing_opentelemetry ours_http_server_layer; do
  t1=$(cpu_ms "$variant" "$N")
  t2=$(cpu_ms "$variant" $((2 * N)))
  awk -v v="$variant" -v n="$N" -v t1="$t1" -v t2="$t2" \
    'BEGIN { printf "%-30s %12.0f\n", v, (t2 - t1) * 1e6 / n }'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

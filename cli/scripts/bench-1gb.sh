#!/usr/bin/env bash
# factory-obs on a generated 1 GB traces.jsonl, next to jq reading the same file: lines per
# second and peak memory (GNU time's maximum resident set size) of report, runs, report --html,
# trace and compare, each with the default threads (the machine's cores) and with --threads 1.
# Figures go to BENCHMARKS.md ("factory-obs on 1 GB"). DuckDB on the same file:
# cli/scripts/bench-duckdb.sh.
#
#   cli/scripts/bench-1gb.sh [SIZE]     # SIZE defaults to 1G (the generator's --max-bytes)
#   NO_JQ=1 cli/scripts/bench-1gb.sh    # without jq (30-40 s on 1 GB)
#
# Needs /usr/bin/time (Debian package `time`) and jq. The input is written to
# ${BENCH_DIR:-/tmp/factory-obs-bench} and reused when it is already there with the same size.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE="${1:-1G}"
DIR="${BENCH_DIR:-/tmp/factory-obs-bench}"
INPUT="$DIR/traces-$SIZE.jsonl"
mkdir -p "$DIR"

cargo build --release -q -p factory-obs --bin factory-obs --example generate_telemetry
OBS=target/release/factory-obs
if [ ! -s "$INPUT" ]; then
    target/release/examples/generate_telemetry "$INPUT" --runs 100000000 --max-bytes "$SIZE"
fi
BYTES=$(stat -c %s "$INPUT")
LINES=$(wc -l < "$INPUT")
echo "input: $INPUT, $BYTES bytes, $LINES lines"

# Runs a command under GNU time; prints "seconds max_rss_kib".
measure() {
    local log
    log=$(mktemp)
    /usr/bin/time -v "$@" > /dev/null 2> "$log" || { cat "$log" >&2; exit 1; }
    local elapsed rss
    elapsed=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
    rm -f "$log"
    # h:mm:ss or m:ss.cc to seconds.
    python3 -c "
import sys
parts = [float(p) for p in sys.argv[1].split(':')]
seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f'{seconds:.2f} {sys.argv[2]}')" "$elapsed" "$rss"
}

report() {
    local name=$1 seconds=$2 rss=$3
    python3 -c "
import sys
name, seconds, rss, lines, size = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f'{name:<50} {seconds:8.2f} s  {lines / seconds:10.0f} lines/s  {size / seconds / 2**20:7.1f} MiB/s  peak RSS {rss / 1024:7.1f} MiB')
" "$name" "$seconds" "$rss" "$LINES" "$BYTES"
}

cat "$INPUT" > /dev/null
for threads in default 1; do
    flag=()
    [ "$threads" = 1 ] && flag=(--threads 1)
    suffix=" (threads: $threads)"
    read -r s m <<< "$(measure "$OBS" report "${flag[@]}" "$INPUT")"
    report "factory-obs report$suffix" "$s" "$m"
    read -r s m <<< "$(measure "$OBS" runs "${flag[@]}" "$INPUT")"
    report "factory-obs runs$suffix" "$s" "$m"
    # Two passes: the aggregates, then the spans of the latest 50 runs' traces.
    read -r s m <<< "$(measure "$OBS" report --html "$DIR/report.html" "${flag[@]}" "$INPUT")"
    report "factory-obs report --html$suffix" "$s" "$m"
    # Two passes: the run, then its trace's spans (only lines holding its trace id are parsed).
    read -r s m <<< "$(measure "$OBS" trace run-000100 "${flag[@]}" "$INPUT")"
    report "factory-obs trace run-000100$suffix" "$s" "$m"
    read -r s m <<< "$(measure "$OBS" compare run-000100 run-000101 "${flag[@]}" "$INPUT")"
    report "factory-obs compare$suffix" "$s" "$m"
done
if [ -z "${NO_JQ:-}" ]; then
    read -r s m <<< "$(measure jq -c '.resourceSpans[].scopeSpans[].spans[].name' "$INPUT")"
    report "jq -c '...spans[].name'" "$s" "$m"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

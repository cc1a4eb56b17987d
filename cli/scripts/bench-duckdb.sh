#!/usr/bin/env bash
# `factory-obs report` next to DuckDB answering the stage and model tables of the same generated
# file (issue 25), alternating, several rounds; both answers compared (counts, token sums and cost
# exactly, percentiles within 1 %). Figures go to BENCHMARKS.md ("factory-obs and DuckDB").
#
#   cli/scripts/bench-duckdb.sh [SIZE] [ROUNDS]   # SIZE: 256M (default) or 1G; ROUNDS: 5
#   OBS_BEFORE=path/to/older/factory-obs cli/scripts/bench-duckdb.sh   # and an older build
#
# DuckDB comes from PyPI, pinned, into a virtual environment next to the input
# (${BENCH_DIR:-/tmp/factory-obs-bench}); its SQL is cli/scripts/duckdb-stage-model.sql. Needs
# /usr/bin/time (Debian package `time`: it measures each run) and
# python3 with venv and pip.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE="${1:-256M}"
ROUNDS="${2:-5}"
DUCKDB_VERSION=2.0.0
DIR="${BENCH_DIR:-/tmp/factory-obs-bench}"
INPUT="$DIR/traces-$SIZE.jsonl"
mkdir -p "$DIR"

cargo build --release -q -p factory-obs --bin factory-obs --example generate_telemetry
if [ ! -s "$INPUT" ]; then
    target/release/examples/generate_telemetry "$INPUT" --runs 100000000 --max-bytes "$SIZE"
fi
VENV="$DIR/venv"
if ! "$VENV/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "duckdb==$DUCKDB_VERSION"
fi
# Read once so that every contender finds it in the page cache.
cat "$INPUT" > /dev/null
"$VENV/bin/python" cli/scripts/bench_duckdb.py target/release/factory-obs \
    cli/scripts/duckdb-stage-model.sql "$INPUT" "$ROUNDS"

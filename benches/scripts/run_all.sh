#!/usr/bin/env bash
# Runs every criterion and plain-main bench of benches/ once, prints the machine and its load
# before and after (a busy machine skews everything: run on an idle one), then the plot and
# the table. Export and build cost have their own scripts (export.sh, build_cost.sh).
#
#   benches/scripts/run_all.sh 2>&1 | tee /tmp/benches.log
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/bench-target}"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(rustc --version)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
cargo bench -q -p factory-observability-benches --no-run
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench -p factory-observability-benches --bench allocations
cargo bench -p factory-observability-benches --bench concurrency
cargo bench -p factory-observability-benches --bench per_call 2>&1 | grep -vE '^\s*$|^Benchmarking|outliers|(high|low) (mild|severe)'
cargo bench -p factory-observability-benches --bench unsampled 2>&1 | grep -vE '^\s*$|^Benchmarking|outliers|(high|low) (mild|severe)'
cargo bench -p factory-observability-benches --bench nothing_recorded 2>&1 | grep -vE '^\s*$|^Benchmarking|outliers|(high|low) (mild|severe)'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 benches/scripts/plot.py "$CARGO_TARGET_DIR"

#!/usr/bin/env bash
# Build cost of 500 annotated functions: #[pipeline_stage] vs #[tracing::instrument] (and no
# attribute, for reference). Generates three throwaway crates outside the repo, builds their
# dependencies once, then times the rebuild of each crate alone (touch + cargo build), ROUNDS
# times, and prints the median seconds and the ratio ours / tracing. Asserts nothing.
#
#   benches/scripts/build_cost.sh            # dev profile, 3 rounds
#   PROFILE=release ROUNDS=5 benches/scripts/build_cost.sh
#
# Environment: FUNCTIONS (500), ROUNDS (3), PROFILE (dev), WORK (${TMPDIR:-/tmp}/fo-build-cost),
# RUNTIME (the runtime crate to build against, default this checkout's runtime/),
# CARGO_TARGET_DIR (default /work/bench-target/build-cost if /work exists, else $WORK/target).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
FUNCTIONS="${FUNCTIONS:-500}"
ROUNDS="${ROUNDS:-3}"
PROFILE="${PROFILE:-dev}"
RUNTIME="${RUNTIME:-$REPO/runtime}"
WORK="${WORK:-${TMPDIR:-/tmp}/fo-build-cost}"
if [[ -z "${CARGO_TARGET_DIR:-}" ]]; then
    if [[ -d /work ]]; then CARGO_TARGET_DIR=/work/bench-target/build-cost; else CARGO_TARGET_DIR="$WORK/target"; fi
fi
export CARGO_TARGET_DIR

# One crate: $1 = name, $2 = dependency lines, $3 = attribute on sync fns, $4 = on async fns.
generate() {
    local name="$1" deps="$2" sync_attr="$3" async_attr="$4" dir="$WORK/$1"
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "$name"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
$deps

[workspace]
EOF
    cp "$REPO/Cargo.lock" "$dir/Cargo.lock"
    {
        # unused_braces: #[pipeline_stage] currently makes rustc warn on single-expression bodies
        # (one warning per fn); rendering 500 warnings would be timed too.
        echo "#![allow(dead_code, unused_braces, clippy::all)]"
        echo "#[derive(Debug)] pub struct E(u64);"
        echo "impl std::fmt::Display for E { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, \"e{}\", self.0) } }"
        echo "impl std::error::Error for E {}"
        for ((i = 0; i < FUNCTIONS; i++)); do
            if ((i % 2 == 0)); then
                echo "$sync_attr"
                echo "pub fn f$i(x: u64) -> Result<u64, E> { if x % 7 == $((i % 7)) { Err(E(x)) } else { Ok(x.wrapping_mul($i)) } }"
            else
                echo "$async_attr"
                echo "pub async fn f$i(x: u64) -> u64 { x.wrapping_add($i) }"
            fi
        done
    } >"$dir/src/lib.rs.full"
    # Dependencies first, with an empty crate, so the timed builds compile only the crate.
    echo "" >"$dir/src/lib.rs"
    (cd "$dir" && cargo build -q --profile "$PROFILE")
    mv "$dir/src/lib.rs.full" "$dir/src/lib.rs"
}

time_crate() {
    local dir="$WORK/$1" times=()
    for ((r = 0; r < ROUNDS; r++)); do
        touch "$dir/src/lib.rs"
        local start end
        start=$(date +%s.%N)
        (cd "$dir" && cargo build -q --profile "$PROFILE")
        end=$(date +%s.%N)
        times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p"
}

rm -rf "$WORK"
mkdir -p "$WORK"
generate fo_cost_ours "factory-observability = { path = \"$RUNTIME\" }" \
    "#[factory_observability::pipeline_stage]" "#[factory_observability::pipeline_stage]"
generate fo_cost_tracing 'tracing = "0.1"' \
    "#[tracing::instrument(skip_all, err)]" "#[tracing::instrument(skip_all)]"
generate fo_cost_plain 'tracing = "0.1"' "" ""

ours=$(time_crate fo_cost_ours)
tracing=$(time_crate fo_cost_tracing)
plain=$(time_crate fo_cost_plain)
echo "build of a crate with $FUNCTIONS fns (half sync -> Result, half async), profile $PROFILE, median of $ROUNDS:"
echo "  #[pipeline_stage]                    ${ours} s"
echo "  #[tracing::instrument(skip_all[, err])] ${tracing} s"
echo "  no attribute                         ${plain} s"
echo "  ratio ours / tracing                 $(awk -v a="$ours" -v b="$tracing" 'BEGIN { printf "%.2f", a / b }')"

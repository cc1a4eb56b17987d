#!/usr/bin/env bash
# Builds the example product's page script, examples/product_service/web/dist/app.js, from the
# npm packages pinned in its package-lock.json: `npm ci` installs exactly the locked versions
# (their integrity hashes checked, no install script run), then esbuild bundles src/main.js for
# browsers, minified. dist/app.js is committed: product_service serves it from its binary, and
# nothing reaches a registry at test time.
#
# The bundle's first line records the SHA-256 of what it is built from (the lines `sha256sum`
# prints for the files in `inputs` below, hashed again). examples/tests/suite/browser_page.rs
# recomputes it, so an input changed without a rebuild fails the tests.
#
#   scripts/build-web.sh           rebuild dist/app.js
#   scripts/build-web.sh --check   rebuild into a temporary file and fail unless it is
#                                  byte for byte the committed dist/app.js
#
# Needs node and npm (node 20 or later). esbuild's output depends only on its version (locked)
# and its inputs, so the check holds on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."

web=examples/product_service/web
inputs=(
    "$web/package.json"
    "$web/package-lock.json"
    "$web/src/main.js"
    scripts/build-web.sh
)

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *)
        echo "usage: scripts/build-web.sh [--check]" >&2
        exit 2
        ;;
esac

inputs_sha256="$(sha256sum "${inputs[@]}" | sha256sum | cut -d' ' -f1)"

(cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)

out="$web/dist/app.js"
if $check; then
    out="$(mktemp --suffix=.js)"
    trap 'rm -f "$out"' EXIT
else
    mkdir -p "$web/dist"
fi

"$web/node_modules/.bin/esbuild" "$web/src/main.js" \
    --bundle \
    --minify \
    --format=iife \
    --platform=browser \
    --target=es2020 \
    --charset=utf8 \
    --legal-comments=eof \
    --log-level=warning \
    "--banner:js=/* product-webapp: built by scripts/build-web.sh from inputs sha256:$inputs_sha256; bundles the @opentelemetry packages of package-lock.json (Apache-2.0) */" \
    --outfile="$out"

if $check; then
    if ! cmp -s "$out" "$web/dist/app.js"; then
        echo "error: $web/dist/app.js is not what scripts/build-web.sh builds from the committed" \
            "inputs: run scripts/build-web.sh and commit dist/app.js" >&2
        exit 1
    fi
    echo "$web/dist/app.js is current (inputs sha256:$inputs_sha256)"
else
    echo "built $out ($(wc -c <"$out") bytes, inputs sha256:$inputs_sha256)"
fi

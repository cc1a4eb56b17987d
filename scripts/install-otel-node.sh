#!/usr/bin/env bash
# Installs the OpenTelemetry JS SDK of the Node product of the provenance test
# (examples/product_node/product.js, examples/tests/suite/provenance_node.rs): node and npm from
# the Debian packages when missing, then exactly what examples/product_node/package-lock.json
# pins (`npm ci --ignore-scripts`) into a private directory keyed by the lockfile's hash. Prints
# the path of node on line 1 and the `node_modules` directory on line 2 (the product's
# `NODE_PATH`). Idempotent: a second run only prints.
#
# The lockfile was made with `npm install --package-lock-only --ignore-scripts
# --omit-lockfile-registry-resolved` in examples/product_node: versions and integrity hashes, no
# registry URLs, so `npm ci` fetches from whatever registry npm is configured with.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
product="$root/examples/product_node"
tools="${FACTORY_OBS_TOOLS:-${HOME}/.cache/factory-observability}"

if ! command -v node >/dev/null; then
  "$root/scripts/apt-install.sh" nodejs npm
fi
if ! command -v npm >/dev/null; then
  # A node from elsewhere (NodeSource's package bundles npm; Debian's does not).
  "$root/scripts/apt-install.sh" npm
fi
node="$(command -v node)"

lock_hash="$(sha256sum "$product/package-lock.json" | cut -c1-16)"
dir="$tools/node-otel-$lock_hash"
if [ ! -e "$dir/installed" ]; then
  # Installed beside, then renamed: an interrupted install is never taken for a finished one.
  mkdir -p "$tools"
  staging="$(mktemp -d "$tools/node-otel-$lock_hash.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  cp "$product/package.json" "$product/package-lock.json" "$staging/"
  (cd "$staging" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  touch "$staging/installed"
  # Another install side by side may have finished first: then keep its copy.
  mv -T "$staging" "$dir" 2>/dev/null || true
fi
echo "$node"
echo "$dir/node_modules"

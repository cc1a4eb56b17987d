#!/usr/bin/env bash
# Installs Debian's tinyproxy (the forward proxy of the export-through-a-proxy tests: HTTP
# forwarding and `CONNECT` tunnels) and prints its path. The tests run it as their own process
# with a generated configuration on a free loopback port. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tinyproxy >/dev/null 2>&1; then
    scripts/apt-install.sh tinyproxy
fi
command -v tinyproxy

#!/usr/bin/env bash
# Installs Debian's tinyproxy (the forward HTTP proxy of the proxy export tests,
# examples/tests/export_proxy.rs) and prints its path. The tests run it as their own process
# with a generated configuration on a free loopback port; the system service is neither needed
# nor started (`tinyproxy-bin` is the binary alone). Idempotent.
set -euo pipefail

if ! command -v tinyproxy >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if ! flock /tmp/apt.lock apt-get install -y --no-install-recommends tinyproxy-bin >&2; then
        flock /tmp/apt.lock apt-get update >&2
        flock /tmp/apt.lock apt-get install -y --no-install-recommends tinyproxy-bin >&2
    fi
fi
command -v tinyproxy

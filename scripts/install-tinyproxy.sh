#!/usr/bin/env bash
# Installs Debian's tinyproxy (the forward proxy of the export-through-a-proxy tests: HTTP
# `CONNECT` tunnels) and prints its path. The tests run it as their own process with a generated
# configuration on a free loopback port; the system service is neither needed nor started.
# Idempotent.
set -euo pipefail

if ! command -v tinyproxy >/dev/null 2>&1 && [ ! -x /usr/bin/tinyproxy ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Installing the package may try to start the service; keep it from doing so.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        remove_policy=1
    fi
    if ! flock /tmp/apt.lock apt-get install -y --no-install-recommends tinyproxy >&2; then
        flock /tmp/apt.lock apt-get update >&2
        flock /tmp/apt.lock apt-get install -y --no-install-recommends tinyproxy >&2
    fi
    if [ "${remove_policy:-0}" = 1 ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
fi
command -v tinyproxy 2>/dev/null || echo /usr/bin/tinyproxy

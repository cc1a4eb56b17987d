#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of `factory-obs report --html` and prints its
# path. Idempotent: does nothing when chromium is already installed.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if ! flock /tmp/apt.lock apt-get install -y --no-install-recommends chromium >&2; then
        flock /tmp/apt.lock apt-get update >&2
        flock /tmp/apt.lock apt-get install -y --no-install-recommends chromium >&2
    fi
fi
command -v chromium

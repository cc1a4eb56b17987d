#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of `factory-obs report --html` and prints its
# path. Idempotent: does nothing when chromium is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    scripts/apt-install.sh chromium
fi
command -v chromium

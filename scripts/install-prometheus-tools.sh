#!/usr/bin/env bash
# Installs the Prometheus tools the deploy kit's tests run besides the server
# (scripts/install-prometheus.sh installs Debian's `prometheus` 2.42, which brings `promtool`):
# `amtool` from Debian's `prometheus-alertmanager` (0.25). Idempotent: when both commands exist
# it only prints their paths, one per line (promtool, amtool). The packages' services are not
# used: the tests run their own Prometheus on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-prometheus.sh >/dev/null
if ! command -v amtool >/dev/null; then
  scripts/apt-install.sh prometheus-alertmanager
fi
for tool in promtool amtool; do
  if ! command -v "$tool" >/dev/null; then
    echo "install-prometheus-tools.sh: $tool is missing after the install" >&2
    exit 1
  fi
  command -v "$tool"
done

#!/usr/bin/env bash
# Installs the real Prometheus server the Prometheus end-to-end test scrapes with (Debian's
# `prometheus` package, 2.42 on bookworm) and prints the path of its binary. Idempotent: when it
# is installed already, only prints. The package's own service is not used: the test runs its
# own server with its own configuration, port and data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=/usr/bin/prometheus
if [ ! -x "$binary" ]; then
  scripts/apt-install.sh prometheus
fi
if [ ! -x "$binary" ]; then
  echo "install-prometheus.sh: $binary is missing after the install" >&2
  exit 1
fi
echo "$binary"

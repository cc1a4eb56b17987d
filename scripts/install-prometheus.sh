#!/usr/bin/env bash
# Installs the real Prometheus server the Prometheus end-to-end test scrapes with (Debian's
# `prometheus` package, 2.42 on bookworm) and prints the path of its binary. Idempotent: when it
# is installed already, only prints. The package's own service is not used: the test runs its
# own server with its own configuration, port and data directory.
set -euo pipefail

binary=/usr/bin/prometheus
if [ ! -x "$binary" ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  if ! apt-cache show prometheus >/dev/null 2>&1; then
    flock /tmp/apt.lock $sudo apt-get update >&2
  fi
  # The package may try to start its service; the test does not use it.
  DEBIAN_FRONTEND=noninteractive flock /tmp/apt.lock $sudo apt-get install -y --no-install-recommends prometheus >&2
fi
if [ ! -x "$binary" ]; then
  echo "install-prometheus.sh: $binary is missing after the install" >&2
  exit 1
fi
echo "$binary"

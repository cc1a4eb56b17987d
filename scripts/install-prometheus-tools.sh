#!/usr/bin/env bash
# Installs the real Prometheus tools the deploy kit's tests run: Debian's `prometheus` (2.42: the
# server and `promtool`) and `prometheus-alertmanager` (0.25: `amtool`). Idempotent: when both
# commands exist it only prints their paths, one per line (promtool, amtool, prometheus).
# The packages' services are not needed: the tests start their own Prometheus on loopback.
set -euo pipefail

if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null \
  || ! command -v prometheus >/dev/null; then
  sudo_=""
  if [ "$(id -u)" != 0 ]; then sudo_="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  install() {
    flock /tmp/apt.lock $sudo_ apt-get install -y --no-install-recommends \
      prometheus prometheus-alertmanager >&2
  }
  if ! install; then
    flock /tmp/apt.lock $sudo_ apt-get update >&2
    install
  fi
fi
command -v promtool
command -v amtool
command -v prometheus

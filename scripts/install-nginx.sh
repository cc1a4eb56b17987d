#!/usr/bin/env bash
# Installs Debian's nginx (the TLS-terminating proxy of the HTTPS export tests) and prints its
# path. The tests run it as their own process with a generated configuration on a free loopback
# port; the system service is neither needed nor started. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    scripts/apt-install.sh --either nginx-light nginx
fi
command -v nginx 2>/dev/null || echo /usr/sbin/nginx

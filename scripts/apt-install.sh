#!/usr/bin/env bash
# Installs Debian packages for the test suite's peers: `scripts/apt-install.sh PACKAGE...`, or
# `scripts/apt-install.sh --either PACKAGE OTHER` for the first of two that installs. Uses sudo
# when not root, holds /tmp/apt.lock (installers may run side by side), refreshes the package
# lists only when an install fails, and keeps packages from starting their services (the tests
# run each peer as their own process with their own configuration). Prints nothing on stdout.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi

install() {
    flock /tmp/apt.lock $sudo apt-get install -y --no-install-recommends "$@" >&2
}

if [ "${1:-}" = "--either" ]; then
    install "$2" || install "$3" || {
        flock /tmp/apt.lock $sudo apt-get update >&2
        install "$2" || install "$3"
    }
else
    install "$@" || {
        flock /tmp/apt.lock $sudo apt-get update >&2
        install "$@"
    }
fi

#!/usr/bin/env bash
# Installs Debian's chromium and its WebDriver server chromedriver (package chromium-driver, the
# same version) for the browser tests: `factory-obs report --html` loaded in chromium, and the
# product's page clicked through chromedriver (examples/tests/suite/browser_page.rs). Prints
# chromium's path on the first line and chromedriver's on the second. Idempotent: does nothing
# when both are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    scripts/apt-install.sh chromium chromium-driver
fi
command -v chromium
command -v chromedriver

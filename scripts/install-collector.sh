#!/usr/bin/env bash
# Installs the real OpenTelemetry collector the end-to-end tests run (rotel, from PyPI) into a
# private virtualenv, and prints the path of its binary. Idempotent: a second run only prints.
set -euo pipefail

version="0.0.1a15"
tools="${FACTORY_OBS_TOOLS:-${HOME}/.cache/factory-observability}"
venv="$tools/venv-rotel-$version"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import rotel" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "rotel==$version" >&2
fi
"$venv/bin/python" -c "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))"

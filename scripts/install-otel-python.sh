#!/usr/bin/env bash
# Installs the OpenTelemetry Python SDK and its OTLP/HTTP exporter, the SDK of the Python product
# of the provenance test (examples/product_python/product.py, examples/tests/suite/provenance_python.rs),
# into a private virtualenv, and prints the path of its python. Idempotent: a second run only prints.
set -euo pipefail

otel_version="1.45.2"
tools="${FACTORY_OBS_TOOLS:-${HOME}/.cache/factory-observability}"
venv="$tools/venv-otel-$otel_version"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "opentelemetry-sdk==$otel_version" \
    "opentelemetry-exporter-otlp-proto-http==$otel_version" >&2
fi
echo "$venv/bin/python"

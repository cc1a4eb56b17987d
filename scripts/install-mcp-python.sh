#!/usr/bin/env bash
# Installs the real MCP peer of the agent tests: the official MCP Python SDK (PyPI `mcp`, whose
# server opens a SERVER span per message under the context in `params._meta`) with the
# OpenTelemetry Python SDK and its OTLP/HTTP exporter, into a private virtualenv, and prints the
# path of its python. tests/fixtures/mcp_server.py runs on it. Idempotent: a second run only prints.
set -euo pipefail

mcp_version="2.3.0"
otel_version="1.45.2"
tools="${FACTORY_OBS_TOOLS:-${HOME}/.cache/factory-observability}"
venv="$tools/venv-mcp-$mcp_version-otel-$otel_version"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import mcp.server.mcpserver, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "mcp==$mcp_version" \
    "opentelemetry-sdk==$otel_version" \
    "opentelemetry-exporter-otlp-proto-http==$otel_version" >&2
fi
echo "$venv/bin/python"

"""A tiny product in Python, instrumented with the OpenTelemetry Python SDK only.

The factory example's smoke stage can deploy it instead of `product_service`
(`FACTORY_PIPELINE_PRODUCT_COMMAND="PYTHON examples/product_python/product.py"`): it serves the
same calls (`GET /health`, `POST /tasks`, `GET /tasks/{id}`, and `GET /reports/export`, which
fails with 503), listens on `PRODUCT_ADDR` (default `127.0.0.1:0`) and prints
`listening on http://ADDR` once it does. Nothing here knows the factory: its provenance
(`factory.run.id`, ...) reaches every span through `OTEL_RESOURCE_ATTRIBUTES`, which the SDK's
`Resource.create()` reads (and percent-decodes) at start-up; spans go to
`OTEL_EXPORTER_OTLP_ENDPOINT` over OTLP/HTTP; a request's `traceparent` makes its SERVER span
a child of the caller's span. SIGTERM flushes the spans and exits 0.

Needs `opentelemetry-sdk` and `opentelemetry-exporter-otlp-proto-http`
(`scripts/install-otel-python.sh` prints a python that has them).
"""

import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

# `service.name` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise (they win).
provider = TracerProvider(resource=Resource.create({"service.name": "product-py"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("product-py")

TASK = re.compile(r"^/tasks/(\d+)$")
tasks = {}
tasks_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # no access log on stderr
        pass

    def route(self):
        """The route template of the request's path, or None."""
        if self.path in ("/health", "/tasks", "/reports/export"):
            return self.path
        if TASK.match(self.path):
            return "/tasks/{id}"
        return None

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def serve(self, method):
        route = self.route()
        # HTTP semantic conventions: SERVER span `{method} {route}`, a child of the caller's.
        parent = propagate.extract(dict(self.headers.items()))
        name = f"{method} {route}" if route else method
        with tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", self.path)
            if route:
                span.set_attribute("http.route", route)
            status = self.handle_route(method, route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))

    def handle_route(self, method, route):
        if method == "GET" and route == "/health":
            return self.answer(200, {"status": "ok"})
        if method == "POST" and route == "/tasks":
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with tasks_lock:
                task = {"id": len(tasks) + 1, "title": body.get("title", "")}
                tasks[task["id"]] = task
            return self.answer(201, task)
        if method == "GET" and route == "/tasks/{id}":
            with tasks_lock:
                task = tasks.get(int(TASK.match(self.path).group(1)))
            if task is None:
                return self.answer(404, {"error": "no such task"})
            return self.answer(200, task)
        if method == "GET" and route == "/reports/export":
            return self.answer(503, {"error": "the report backend is not configured"})
        return self.answer(404, {"error": "not found"})

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")


def main():
    host, _, port = os.environ.get("PRODUCT_ADDR", "127.0.0.1:0").rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    bound_host, bound_port = server.server_address[:2]
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)
    server.serve_forever()
    provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

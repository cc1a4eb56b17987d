// A tiny product in Node.js, instrumented with the OpenTelemetry JS SDK only.
//
// The factory example's smoke stage can deploy it instead of `product_service`
// (`FACTORY_PIPELINE_PRODUCT_COMMAND="NODE examples/product_node/product.js"`, with `NODE_PATH`
// naming the `node_modules` that `scripts/install-otel-node.sh` prints): it serves the same
// calls (`GET /health`, `POST /tasks`, `GET /tasks/{id}`, and `GET /reports/export`, which fails
// with 503), listens on `PRODUCT_ADDR` (default `127.0.0.1:0`) and prints
// `listening on http://ADDR` once it does. Nothing here knows the factory: its provenance
// (`factory.run.id`, ...) reaches every span through `OTEL_RESOURCE_ATTRIBUTES`, which the SDK's
// `envDetector` reads (and percent-decodes) at start-up; spans go to
// `OTEL_EXPORTER_OTLP_ENDPOINT` over OTLP/HTTP (protobuf); `@opentelemetry/instrumentation-http`
// makes each request a SERVER span, the child of the caller's span when the request carries a
// `traceparent`. SIGTERM flushes the spans and exits 0.
'use strict';

const { context } = require('@opentelemetry/api');
const { getRPCMetadata, RPCType } = require('@opentelemetry/core');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} = require('@opentelemetry/resources');
const { BatchSpanProcessor, NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');

// `service.name` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise (they win:
// the merged resource's attributes take precedence), on the SDK's defaults (`telemetry.sdk.*`).
const resource = defaultResource()
  .merge(resourceFromAttributes({ 'service.name': 'product-node' }))
  .merge(detectResources({ detectors: [envDetector] }));
const provider = new NodeTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
// The global tracer provider, the AsyncLocalStorage context manager and the W3C trace context
// and baggage propagators.
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

// Required after the instrumentation is registered, so that it is the patched module.
const http = require('http');

const TASK = /^\/tasks\/(\d+)$/;
const tasks = new Map();

/** The route template of the request's path, or undefined. */
function routeOf(path) {
  if (path === '/health' || path === '/tasks' || path === '/reports/export') {
    return path;
  }
  return TASK.test(path) ? '/tasks/{id}' : undefined;
}

function answer(response, status, body) {
  const data = Buffer.from(JSON.stringify(body));
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': data.length,
  });
  response.end(data);
}

function handleRoute(method, route, path, body, response) {
  if (method === 'GET' && route === '/health') {
    return answer(response, 200, { status: 'ok' });
  }
  if (method === 'POST' && route === '/tasks') {
    let fields;
    try {
      fields = body.length ? JSON.parse(body) : {};
    } catch (error) {
      return answer(response, 400, { error: `the body is not JSON: ${error.message}` });
    }
    const task = { id: tasks.size + 1, title: typeof fields.title === 'string' ? fields.title : '' };
    tasks.set(task.id, task);
    return answer(response, 201, task);
  }
  if (method === 'GET' && route === '/tasks/{id}') {
    const task = tasks.get(Number(TASK.exec(path)[1]));
    if (task === undefined) {
      return answer(response, 404, { error: 'no such task' });
    }
    return answer(response, 200, task);
  }
  if (method === 'GET' && route === '/reports/export') {
    return answer(response, 503, { error: 'the report backend is not configured' });
  }
  return answer(response, 404, { error: 'not found' });
}

const server = http.createServer((request, response) => {
  const path = new URL(request.url, 'http://product').pathname;
  const route = routeOf(path);
  // HTTP semantic conventions: the SERVER span is named `{method} {http.route}`. The
  // instrumentation knows no routes; a framework's instrumentation tells it the route through
  // the request's RPC metadata, and so does this product: it sets `http.route` and renames the
  // span when the response ends.
  const metadata = getRPCMetadata(context.active());
  if (route !== undefined && metadata?.type === RPCType.HTTP) {
    metadata.route = route;
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () =>
    handleRoute(request.method, route, path, Buffer.concat(chunks).toString(), response),
  );
});

function listenAddress() {
  const value = process.env.PRODUCT_ADDR || '127.0.0.1:0';
  const colon = value.lastIndexOf(':');
  const port = Number(value.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PRODUCT_ADDR=${JSON.stringify(value)}: expected HOST:PORT, e.g. 127.0.0.1:0`);
    process.exit(2);
  }
  return { host: value.slice(0, colon) || '127.0.0.1', port };
}

process.on('SIGTERM', () => {
  // Open keep-alive connections would hold `close` back; the spans of answered requests have
  // ended, so the flush that follows sends them all.
  server.close(() =>
    provider.shutdown().then(
      () => process.exit(0),
      (error) => {
        console.error(`product-node: flushing the spans failed: ${error}`);
        process.exit(1);
      },
    ),
  );
  server.closeAllConnections();
});

const { host, port } = listenAddress();
server.listen(port, host, () => {
  const bound = server.address();
  process.stdout.write(`listening on http://${bound.address}:${bound.port}\n`);
});

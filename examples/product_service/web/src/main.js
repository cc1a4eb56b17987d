// The task page's script: the OpenTelemetry web SDK around the "Create task" button.
//
// A click is a span `user.create_task`; the request it makes (`POST /tasks`) is the fetch
// instrumentation's CLIENT span, its child, and carries `traceparent`, so that the product's
// SERVER span of that request is the fetch span's child: one trace from the click to the handler.
// Spans go to the product's own origin (`/v1/traces` unless the page says otherwise), never to a
// collector: the product checks and forwards them (docs/browser.md).
//
// What the page tells the script, in <meta> tags the product writes:
//   factory-obs-traces-url  where to send spans (default /v1/traces, same origin)
//   factory-obs-browser-token  the endpoint's token, when the product set one (not a secret:
//     every visitor reads it; it keeps drive-by senders out, see docs/browser.md)
//   factory-obs-service-name  the page's service.name (default product-webapp)

import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';

/** The header the endpoint reads its token from (factory_observability::names). */
const TOKEN_HEADER = 'x-factory-obs-browser-token';

function meta(name, fallback) {
  const element = document.querySelector(`meta[name="${name}"]`);
  const value = element && element.getAttribute('content');
  return value ? value : fallback;
}

const tracesUrl = new URL(meta('factory-obs-traces-url', '/v1/traces'), window.location.href);
const token = meta('factory-obs-browser-token', '');

const provider = new WebTracerProvider({
  // The product stamps its own resource attributes and keeps only the service names it allows;
  // the page names itself, nothing more.
  resource: resourceFromAttributes({
    'service.name': meta('factory-obs-service-name', 'product-webapp'),
  }),
  spanProcessors: [
    new BatchSpanProcessor(
      new OTLPTraceExporter({
        url: tracesUrl.href,
        headers: token ? { [TOKEN_HEADER]: token } : {},
      }),
      // Short: a click's spans reach the product within a second; the processor also flushes
      // when the page is hidden.
      { scheduledDelayMillis: 500 },
    ),
  ],
});
// W3C trace context propagation and the stack context manager: a span made active around a
// synchronous `fetch()` call is the fetch span's parent.
provider.register();

registerInstrumentations({
  tracerProvider: provider,
  instrumentations: [
    new FetchInstrumentation({
      // The exporter's own requests make no spans (it calls the unwrapped fetch, and this says
      // so again for any other sender to the same URL).
      ignoreUrls: [tracesUrl.href],
      // Same-origin requests always carry `traceparent`; this list is for other origins the
      // page may call (none here): each one would also have to allow the header (CORS).
      propagateTraceHeaderCorsUrls: [],
    }),
  ],
});

const tracer = trace.getTracer('product-webapp');

const form = document.getElementById('new-task');
const titleInput = document.getElementById('task-title');
const status = document.getElementById('status');
const list = document.getElementById('tasks');

function showTask(task) {
  const item = document.createElement('li');
  item.textContent = `#${task.id} ${task.title}`;
  item.dataset.taskId = String(task.id);
  list.appendChild(item);
}

function say(text, outcome) {
  status.textContent = text;
  status.dataset.outcome = outcome;
}

/** The click: one span around the request it makes, with the created task's id. */
function createTask(title) {
  return tracer.startActiveSpan('user.create_task', { kind: SpanKind.INTERNAL }, (span) => {
    // Called while the span is active: the fetch instrumentation's span is its child.
    const request = fetch('/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title }),
    });
    return request
      .then(async (response) => {
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          span.setAttribute('error.type', String(response.status));
          span.setStatus({ code: SpanStatusCode.ERROR, message: body.error || response.statusText });
          say(`Not created: ${body.error || response.status}`, 'error');
          return;
        }
        span.setAttribute('task.id', body.id);
        showTask(body);
        say(`Created task ${body.id}`, 'ok');
      })
      .catch((error) => {
        span.setAttribute('error.type', error && error.name ? error.name : 'Error');
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        say(`Not created: ${error}`, 'error');
      })
      .finally(() => span.end());
  });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  createTask(titleInput.value);
});

// The tasks already there (its own fetch span, a trace of its own).
fetch('/tasks')
  .then((response) => (response.ok ? response.json() : []))
  .then((tasks) => tasks.forEach(showTask))
  .catch(() => {});

// Tells a test driving the page (and a person reading the DOM) that the script ran.
document.body.dataset.telemetry = 'ready';

#![warn(missing_docs)]
//! Every span, attribute and metric name factory-observability emits, in one place.
//!
//! The macros, the embedded-default summary, the tests, the dashboards and the docs all use these
//! constants, so a rename happens here or nowhere. Names follow the seed specification
//! (`pipeline.*`, `stage.*`, `run.*`) and OpenTelemetry semantic conventions where one exists
//! (`error.type`, `exception.*`, `code.function.name`, CI/CD result values for outcomes).

/// Instrumentation scope name of every span and instrument created by the macros.
pub const SCOPE: &str = "factory-observability";

/// Span names.
pub mod span {
    /// Root span of one pipeline run (`#[pipeline_run]`).
    pub const PIPELINE_RUN: &str = "pipeline.run";
    /// Child span of one stage attempt (`#[pipeline_stage]`, `#[pipeline]`).
    pub const PIPELINE_STAGE: &str = "pipeline.stage";
    /// Span of one LLM interaction (`#[llm_call]`); GenAI-style names are
    /// `{gen_ai.operation.name} {gen_ai.request.model}` when switched on.
    pub const LLM_CALL: &str = "llm.call";
    /// Span of one adjudication among candidates (`#[adjudicate]`).
    pub const PIPELINE_ADJUDICATE: &str = "pipeline.adjudicate";
}

/// Span and metric attribute keys.
pub mod attr {
    /// Name of the pipeline (`#[pipeline_run(name = ...)]`, default: the fn name).
    pub const PIPELINE_NAME: &str = "pipeline.name";
    /// Unique id of one run.
    pub const RUN_ID: &str = "run.id";
    /// Start of the run, RFC 3339.
    pub const RUN_TIMESTAMP: &str = "run.timestamp";
    /// Name of the stage (`#[pipeline_stage(name = ...)]`, default: the fn name).
    pub const STAGE_NAME: &str = "stage.name";
    /// Outcome of the stage, one of `factory_observability::OutcomeKind`'s values.
    pub const STAGE_OUTCOME: &str = "stage.outcome";
    /// Duration of the stage in milliseconds (seed attribute; the histogram is in seconds).
    pub const STAGE_DURATION_MS: &str = "stage.duration_ms";
    /// Attempt number of a stage run through `factory_observability::retry_stage`; 1 for the first attempt.
    pub const STAGE_ATTEMPT: &str = "stage.attempt";
    /// Outcome of a run, and the `outcome` label of every duration metric.
    pub const OUTCOME: &str = "outcome";
    /// Outcome of a run on its span.
    pub const RUN_OUTCOME: &str = "run.outcome";
    /// Duration of a run in milliseconds.
    pub const RUN_DURATION_MS: &str = "run.duration_ms";
    /// Low-cardinality error class (OpenTelemetry `error.type`): the error's type name.
    pub const ERROR_TYPE: &str = "error.type";
    /// Fully qualified name of the instrumented function (OpenTelemetry `code.function.name`).
    pub const CODE_FUNCTION_NAME: &str = "code.function.name";
    /// `exception` event: type of the error or `panic`.
    pub const EXCEPTION_TYPE: &str = "exception.type";
    /// `exception` event: message of the error or of the panic.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";

    /// LLM calls made during the run, on the `pipeline.run` span.
    pub const RUN_LLM_CALLS: &str = "run.llm.calls";
    /// LLM calls of the run that could not be priced.
    pub const RUN_LLM_UNPRICED_CALLS: &str = "run.llm.unpriced_calls";
    /// Input tokens of the run's LLM calls.
    pub const RUN_TOKENS_INPUT: &str = "run.tokens.input";
    /// Output tokens of the run's LLM calls.
    pub const RUN_TOKENS_OUTPUT: &str = "run.tokens.output";
    /// Cost of the run's priced LLM calls, USD.
    pub const RUN_COST_USD: &str = "run.cost_usd";

    /// Seed attribute: the LLM provider (`openai`, `anthropic`, ...).
    pub const LLM_PROVIDER: &str = "llm.provider";
    /// Seed attribute: the requested model.
    pub const LLM_MODEL: &str = "llm.model";
    /// Seed attribute: input tokens.
    pub const LLM_PROMPT_TOKENS: &str = "llm.prompt_tokens";
    /// Seed attribute: output tokens.
    pub const LLM_COMPLETION_TOKENS: &str = "llm.completion_tokens";
    /// Seed attribute: input plus output tokens.
    pub const LLM_TOTAL_TOKENS: &str = "llm.total_tokens";
    /// Seed attribute: duration of the call in milliseconds.
    pub const LLM_DURATION_MS: &str = "llm.duration_ms";
    /// Seed attribute: why the model stopped.
    pub const LLM_FINISH_REASON: &str = "llm.finish_reason";
    /// Characters of the `prompt` argument.
    pub const LLM_PROMPT_LENGTH: &str = "llm.prompt_length";
    /// `true` when the token counts were estimated from the prompt, not reported.
    pub const LLM_TOKENS_ESTIMATED: &str = "llm.tokens_estimated";
    /// Streamed calls: milliseconds from the start of the call to the first chunk.
    pub const LLM_TIME_TO_FIRST_CHUNK_MS: &str = "llm.time_to_first_chunk_ms";
    /// Cost of the call, USD, when the model is priced.
    pub const LLM_COST_USD: &str = "llm.cost_usd";
    /// Label of `llm.tokens.total`: `input`, `output` or `total`.
    pub const LLM_TOKEN_TYPE: &str = "llm.token_type";

    /// GenAI: `chat`, `text_completion`, `embeddings`, ...
    pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
    /// GenAI (v1.37+, formerly `gen_ai.system`): the provider.
    pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// GenAI: the requested model.
    pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
    /// GenAI: the model that answered.
    pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// GenAI: the provider's response id.
    pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
    /// GenAI: finish reasons, a string array.
    pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    /// GenAI: input tokens.
    pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// GenAI: output tokens.
    pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// GenAI: input tokens read from the provider's cache.
    pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    /// GenAI: output tokens spent on reasoning.
    pub const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
    /// GenAI metric label: `input` or `output`.
    pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";

    /// Name of the adjudication (`#[adjudicate(name = ...)]`, default: the fn name).
    pub const ADJUDICATION_NAME: &str = "adjudication.name";
    /// Number of candidates.
    pub const ADJUDICATION_CANDIDATES: &str = "adjudication.candidates";
    /// Name of the selected candidate.
    pub const ADJUDICATION_SELECTED: &str = "adjudication.selected";
    /// Winner's score minus the runner-up's; absent with fewer than two candidates.
    pub const ADJUDICATION_MARGIN: &str = "adjudication.margin";
    /// `true` when the winner's score equals the runner-up's.
    pub const ADJUDICATION_TIE: &str = "adjudication.tie";
    /// Prefix of the per-candidate keys `adjudication.<candidate>_score`,
    /// `adjudication.<candidate>_tests_passed` and `adjudication.<candidate>_tests_total`.
    pub const ADJUDICATION_PREFIX: &str = "adjudication.";
    /// Label of the adjudication metrics: the candidate's name.
    pub const CANDIDATE: &str = "candidate";
    /// `gen_ai.evaluation.result` event: what was evaluated (the adjudication's name).
    pub const GEN_AI_EVALUATION_NAME: &str = "gen_ai.evaluation.name";
    /// `gen_ai.evaluation.result` event: the candidate's score.
    pub const GEN_AI_EVALUATION_SCORE_VALUE: &str = "gen_ai.evaluation.score.value";
    /// `gen_ai.evaluation.result` event: `selected` or `rejected`.
    pub const GEN_AI_EVALUATION_SCORE_LABEL: &str = "gen_ai.evaluation.score.label";
    /// `gen_ai.evaluation.result` event: which candidate the score is for.
    pub const ADJUDICATION_CANDIDATE: &str = "adjudication.candidate";

    /// Tests that passed in a stage returning a `TestReport`.
    pub const TEST_PASSED: &str = "test.passed";
    /// Tests that failed.
    pub const TEST_FAILED: &str = "test.failed";
    /// Tests that were skipped.
    pub const TEST_SKIPPED: &str = "test.skipped";
    /// Passed over executed tests, 0..1.
    pub const TEST_PASS_RATE: &str = "test.pass_rate";
    /// Flaky tests found by this attempt.
    pub const TEST_FLAKY: &str = "test.flaky";

    // Captured content (off by default, see `factory_observability::capture`): JSON strings shaped as the
    // GenAI conventions say, and opted-in arguments, all redacted and cut.
    /// GenAI: the prompt's messages, `[{"role":...,"parts":[{"type":"text","content":...}]}]`.
    pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
    /// GenAI: the completion, `[{"role":"assistant","parts":[...],"finish_reason":...}]`.
    pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
    /// GenAI: the prompt's system instructions, `[{"type":"text","content":...}]`.
    pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
    /// Prefix of `argument.<name>`: the `Debug` text of an argument named in `capture(args = [...])`.
    pub const ARGUMENT_PREFIX: &str = "argument.";
}

/// Span event names.
pub mod event {
    /// One candidate's score in an adjudication (OpenTelemetry GenAI evaluation event).
    pub const GEN_AI_EVALUATION_RESULT: &str = "gen_ai.evaluation.result";
    /// Event recording an error or panic (OpenTelemetry exception convention).
    pub const EXCEPTION: &str = "exception";
}

/// Metric instrument names, units and descriptions.
pub mod metric {
    /// Counter of finished runs {`pipeline.name`, `outcome`}.
    pub const PIPELINE_RUNS_TOTAL: &str = "pipeline.runs.total";
    /// Histogram of run durations in seconds {`pipeline.name`, `outcome`}.
    pub const PIPELINE_RUN_DURATION: &str = "pipeline.run.duration";
    /// Histogram of stage durations in seconds {`stage.name`, `outcome`}.
    pub const PIPELINE_STAGE_DURATION: &str = "pipeline.stage.duration";
    /// Counter of stage retries {`stage.name`}: one per attempt after the first.
    pub const PIPELINE_STAGE_RETRIES_TOTAL: &str = "pipeline.stage.retries.total";
    /// Seed histogram of tokens per call {`llm.provider`, `llm.model`, `llm.token_type`}.
    pub const LLM_TOKENS_TOTAL: &str = "llm.tokens.total";
    /// Counter of USD spent {`llm.provider`, `llm.model`}.
    pub const LLM_COST_USD: &str = "llm.cost.usd";
    /// GenAI histogram of tokens per call.
    pub const GEN_AI_CLIENT_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    /// GenAI histogram of call durations in seconds.
    pub const GEN_AI_CLIENT_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
    /// Counter of adjudication wins {`candidate`}.
    pub const ADJUDICATION_SELECTED_TOTAL: &str = "adjudication.selected.total";
    /// Histogram of candidate scores {`candidate`}.
    pub const ADJUDICATION_SCORE: &str = "adjudication.score";
    /// Histogram of the winner's margin over the runner-up.
    pub const ADJUDICATION_MARGIN: &str = "adjudication.margin";
    /// Histogram of test pass rates (0..1) {`stage.name`}.
    pub const TEST_PASS_RATE: &str = "test.pass_rate";
    /// Counter of flaky tests {`stage.name`}.
    pub const TEST_FLAKY_TOTAL: &str = "test.flaky.total";
    /// Bucket boundaries of ratios (pass rates).
    pub const RATIO_BUCKETS: &[f64] =
        &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0];
    /// GenAI histogram of the time to the first chunk of streamed calls, seconds.
    pub const GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: &str =
        "gen_ai.client.operation.time_to_first_chunk";
    /// Unit of token histograms.
    pub const UNIT_TOKENS: &str = "{token}";
    /// Bucket boundaries the GenAI conventions advise for `gen_ai.client.token.usage`.
    pub const TOKEN_BUCKETS: &[f64] = &[
        1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0,
        4194304.0, 16777216.0, 67108864.0,
    ];
    /// Bucket boundaries the GenAI conventions advise for `gen_ai.client.operation.duration`.
    pub const GEN_AI_DURATION_BUCKETS_S: &[f64] = &[
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ];
    /// Unit of every duration histogram.
    pub const UNIT_SECONDS: &str = "s";
    /// Bucket boundaries of the duration histograms, in seconds: factory stages last from
    /// milliseconds (a lint) to many minutes (an LLM implementing a feature).
    pub const DURATION_BUCKETS_S: &[f64] = &[
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
        600.0, 1800.0, 3600.0,
    ];
}

/// Attributes of a product's spans that the telemetry model reads (`factory_observability::model`,
/// `factory-obs`): OpenTelemetry HTTP and resource semantic conventions. The HTTP names are the
/// ones [`http_server`] writes.
pub mod product {
    /// `http.route`: the matched route template; a SERVER span with it is a product request.
    pub const HTTP_ROUTE: &str = super::http_server::HTTP_ROUTE;
    /// `http.request.method`.
    pub const HTTP_REQUEST_METHOD: &str = super::http_server::HTTP_REQUEST_METHOD;
    /// `http.response.status_code`.
    pub const HTTP_RESPONSE_STATUS_CODE: &str = super::http_server::HTTP_RESPONSE_STATUS_CODE;
    /// Resource attribute `service.name`.
    pub const SERVICE_NAME: &str = "service.name";
}

/// `#[handler]` off HTTP (a product's background job, a CLI command): an INTERNAL span named after
/// the handler. Under HTTP the handler enriches its request's SERVER span instead (see
/// [`http_server`]).
pub mod handler {
    /// Name of the handler (`#[handler(name = ...)]`, default: the fn name).
    pub const HANDLER_NAME: &str = "handler.name";
    /// Outcome of the handler, one of `factory_observability::OutcomeKind`'s values.
    pub const HANDLER_OUTCOME: &str = "handler.outcome";
    /// Histogram of handler durations in seconds {`handler.name`, `outcome`}, with
    /// [`super::metric::DURATION_BUCKETS_S`].
    pub const HANDLER_DURATION: &str = "handler.duration";
}

/// Server side of HTTP, as the stable OpenTelemetry HTTP semantic conventions name it: one
/// SERVER span per request, `{method} {http.route}`, and the two server metrics.
pub mod http_server {
    /// `http.request.method`: the method, or `_OTHER` for one the conventions do not know.
    pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
    /// `http.request.method_original`: the method as sent, when it was recorded as `_OTHER`.
    pub const HTTP_REQUEST_METHOD_ORIGINAL: &str = "http.request.method_original";
    /// `http.route`: the matched route template (`/tasks/{id}`), never the raw path.
    pub const HTTP_ROUTE: &str = "http.route";
    /// `http.response.status_code`.
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    /// `url.scheme`: `http` or `https`.
    pub const URL_SCHEME: &str = "url.scheme";
    /// `url.path`: the request's path (on the span only: it is high-cardinality).
    pub const URL_PATH: &str = "url.path";
    /// `server.address`: the host the client addressed (`Host`, or the URI's authority).
    pub const SERVER_ADDRESS: &str = "server.address";
    /// `server.port`: the port the client addressed.
    pub const SERVER_PORT: &str = "server.port";
    /// `network.protocol.version`: `1.0`, `1.1`, `2` or `3`.
    pub const NETWORK_PROTOCOL_VERSION: &str = "network.protocol.version";
    /// `user_agent.original`: the `User-Agent` header.
    pub const USER_AGENT_ORIGINAL: &str = "user_agent.original";
    /// `client.address`: the peer's IP address, or the client's behind trusted proxies (see
    /// `config::HttpServerSettings`).
    pub const CLIENT_ADDRESS: &str = "client.address";
    /// `_OTHER`: the value of `http.request.method` for a method the conventions do not know.
    pub const METHOD_OTHER: &str = "_OTHER";
    /// The `{method}` of a span name when `http.request.method` is `_OTHER` (HTTP spans, "Name":
    /// "`{method}` MUST be `HTTP`").
    pub const SPAN_NAME_OTHER_METHOD: &str = "HTTP";
    /// The de facto forwarding header: `X-Forwarded-For: client, proxy1, ...` (lower case, as
    /// `http::HeaderName` holds it).
    pub const X_FORWARDED_FOR: &str = "x-forwarded-for";
    /// RFC 7239's forwarding header: `Forwarded: for=client;proto=https, for=proxy1`.
    pub const FORWARDED: &str = "forwarded";
    /// Histogram of server request durations in seconds, from the request's arrival to the end
    /// of its response body {`http.request.method`, `http.route`, `http.response.status_code`,
    /// `url.scheme`, `network.protocol.version`, `error.type`}.
    pub const HTTP_SERVER_REQUEST_DURATION: &str = "http.server.request.duration";
    /// Up-down counter of requests being served {`http.request.method`, `url.scheme`}.
    pub const HTTP_SERVER_ACTIVE_REQUESTS: &str = "http.server.active_requests";
    /// Unit of `http.server.active_requests`.
    pub const UNIT_REQUESTS: &str = "{request}";
    /// Bucket boundaries the HTTP conventions advise for `http.server.request.duration`, seconds.
    pub const REQUEST_DURATION_BUCKETS_S: &[f64] = &[
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ];
}

/// Environment variables read by `factory_observability::init` besides the standard `OTEL_*` ones.
pub mod env {
    /// Directory of the embedded default's OTLP/JSON files (default `./telemetry`).
    pub const FACTORY_OBS_DIR: &str = "FACTORY_OBS_DIR";
    /// `0`/`false` silences the shutdown summary, `1`/`true` forces it with an OTLP endpoint.
    pub const FACTORY_OBS_SUMMARY: &str = "FACTORY_OBS_SUMMARY";
    /// A TOML or JSON file of model prices, over the bundled ones.
    pub const FACTORY_OBS_PRICING: &str = "FACTORY_OBS_PRICING";
    /// `true` names LLM spans `{operation} {model}`, the GenAI way.
    pub const FACTORY_OBS_GENAI_SPAN_NAMES: &str = "FACTORY_OBS_GENAI_SPAN_NAMES";
    /// Host `/metrics` is served on with `OTEL_METRICS_EXPORTER=prometheus` (default
    /// `localhost`), as the OpenTelemetry environment specification names it.
    pub const OTEL_EXPORTER_PROMETHEUS_HOST: &str = "OTEL_EXPORTER_PROMETHEUS_HOST";
    /// Port `/metrics` is served on (default 9464).
    pub const OTEL_EXPORTER_PROMETHEUS_PORT: &str = "OTEL_EXPORTER_PROMETHEUS_PORT";

    // Content capture (see `factory_observability::capture`).
    /// `true`/`false`: capture prompts and completions everywhere / nowhere (GenAI conventions'
    /// variable); unset: only at sites with `capture_content`.
    pub const OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: &str =
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
    /// Longest captured text, in characters (default 8192).
    pub const FACTORY_OBS_CAPTURE_MAX_CHARS: &str = "FACTORY_OBS_CAPTURE_MAX_CHARS";
    /// More secrets to mask, besides the built-in rules: regular expressions, one a line
    /// (a group named `secret` narrows the mask to it). See `docs/security.md`.
    pub const FACTORY_OBS_REDACT_PATTERNS: &str = "FACTORY_OBS_REDACT_PATTERNS";
    /// `true`: redact every string attribute of every span and log record too (`fields(...)`,
    /// `tracing`), not only captured content, error messages and what is printed.
    pub const FACTORY_OBS_REDACT_ATTRIBUTES: &str = "FACTORY_OBS_REDACT_ATTRIBUTES";

    // Bounds on what comes from outside (see docs/limits.md).
    /// Most bytes the span queue may hold, estimated (default 64 MiB): spans past it are shed
    /// at their start, as for a full queue.
    pub const FACTORY_OBS_SPAN_QUEUE_MAX_BYTES: &str = "FACTORY_OBS_SPAN_QUEUE_MAX_BYTES";
    /// Longest value `HttpServerLayer` takes from a request (path, user agent, host, method),
    /// in characters (default 1024).
    pub const FACTORY_OBS_HTTP_SERVER_MAX_CHARS: &str = "FACTORY_OBS_HTTP_SERVER_MAX_CHARS";
    /// The proxies whose forwarding header `HttpServerLayer` trusts for `client.address`: a
    /// number of hops, or addresses and CIDR blocks; unset or `none`: the header is not read.
    pub const FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES: &str =
        "FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES";
    /// The forwarding header those proxies write: `x-forwarded-for` (default) or `forwarded`.
    pub const FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER: &str =
        "FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER";

    // The browser telemetry endpoint (`BrowserTelemetry`, feature `axum`; docs/browser.md).
    /// The path it accepts OTLP/HTTP traces on (default `/v1/traces`).
    pub const FACTORY_OBS_BROWSER_PATH: &str = "FACTORY_OBS_BROWSER_PATH";
    /// The `service.name` values it accepts, comma-separated (default: the names the program
    /// gives in code).
    pub const FACTORY_OBS_BROWSER_SERVICE_NAMES: &str = "FACTORY_OBS_BROWSER_SERVICE_NAMES";
    /// Origins allowed besides the page's own, comma-separated (`https://shop.example.com`);
    /// unset: the page's own origin only.
    pub const FACTORY_OBS_BROWSER_ALLOWED_ORIGINS: &str = "FACTORY_OBS_BROWSER_ALLOWED_ORIGINS";
    /// A token every request must carry in [`super::browser::TOKEN_HEADER`]; unset: none asked.
    pub const FACTORY_OBS_BROWSER_TOKEN: &str = "FACTORY_OBS_BROWSER_TOKEN";
    /// Largest request body, in bytes, after decompression (default 65536): larger is refused
    /// with 413.
    pub const FACTORY_OBS_BROWSER_MAX_BODY_BYTES: &str = "FACTORY_OBS_BROWSER_MAX_BODY_BYTES";
    /// Most spans kept from one request (default 512): the rest are refused and counted.
    pub const FACTORY_OBS_BROWSER_MAX_SPANS: &str = "FACTORY_OBS_BROWSER_MAX_SPANS";
    /// Most attributes a span, event or link keeps (default 32): the rest are dropped and
    /// counted.
    pub const FACTORY_OBS_BROWSER_MAX_ATTRIBUTES: &str = "FACTORY_OBS_BROWSER_MAX_ATTRIBUTES";
    /// Longest string kept, in characters (default 1024): longer ones are cut.
    pub const FACTORY_OBS_BROWSER_MAX_ATTRIBUTE_CHARS: &str =
        "FACTORY_OBS_BROWSER_MAX_ATTRIBUTE_CHARS";
    /// Requests a minute one client may send (default 120, in bursts of up to a quarter of
    /// it): more are refused with 429.
    pub const FACTORY_OBS_BROWSER_RATE_LIMIT: &str = "FACTORY_OBS_BROWSER_RATE_LIMIT";
    /// Clients the rate limit tracks apart (default 10000); clients past them share one limit.
    pub const FACTORY_OBS_BROWSER_MAX_CLIENTS: &str = "FACTORY_OBS_BROWSER_MAX_CLIENTS";
    /// Requests read and decoded at once (default 32): more are refused with 503.
    pub const FACTORY_OBS_BROWSER_MAX_IN_FLIGHT: &str = "FACTORY_OBS_BROWSER_MAX_IN_FLIGHT";
    /// Most bytes of browser spans waiting for export (default 8 MiB), apart from the
    /// program's own span queue: past it requests are refused with 503.
    pub const FACTORY_OBS_BROWSER_QUEUE_MAX_BYTES: &str = "FACTORY_OBS_BROWSER_QUEUE_MAX_BYTES";
}

/// The browser telemetry endpoint (`BrowserTelemetry`, feature `axum`): what it reads from a
/// request, and its metrics.
pub mod browser {
    /// The header a request carries the endpoint's token in, when one is set
    /// ([`super::env::FACTORY_OBS_BROWSER_TOKEN`]).
    pub const TOKEN_HEADER: &str = "x-factory-obs-browser-token";
    /// The default path, OTLP/HTTP's for traces.
    pub const DEFAULT_PATH: &str = "/v1/traces";
    /// Counter of requests the endpoint answered {`http.response.status_code`, `error.type`
    /// when refused}.
    pub const REQUESTS: &str = "factory_obs.browser.requests";
    /// Counter of spans the endpoint received {[`SPAN_OUTCOME`]}.
    pub const SPANS: &str = "factory_obs.browser.spans";
    /// Counter of user interactions received: kept INTERNAL spans without a parent, the roots
    /// of the pages' traces (a click, a page load; not a fetch made outside any interaction)
    /// {[`INTERACTION_OUTCOME`]}.
    pub const INTERACTIONS: &str = "factory_obs.browser.interactions";
    /// What became of a span: [`KEPT`] or [`REFUSED`].
    pub const SPAN_OUTCOME: &str = "factory_obs.browser.span.outcome";
    /// `kept`: forwarded to the program's exporter (possibly with attributes cut).
    pub const KEPT: &str = "kept";
    /// `refused`: past the count, of a service not allowed, or invalid.
    pub const REFUSED: &str = "refused";
    /// What the interaction's span says of its end: [`OUTCOME_OK`] or [`OUTCOME_ERROR`].
    pub const INTERACTION_OUTCOME: &str = "factory_obs.browser.interaction.outcome";
    /// The interaction's span status is not ERROR.
    pub const OUTCOME_OK: &str = "ok";
    /// The interaction's span status is ERROR.
    pub const OUTCOME_ERROR: &str = "error";
    /// Unit of the span counter.
    pub const UNIT_SPANS: &str = "{span}";
    /// Unit of the interaction counter.
    pub const UNIT_INTERACTIONS: &str = "{interaction}";
    /// `error.type` of a refused request: an `Origin` not allowed (403).
    pub const ERROR_ORIGIN: &str = "origin";
    /// No token, or another, when one is set (401).
    pub const ERROR_TOKEN: &str = "token";
    /// The client sent more than its rate limit allows (429).
    pub const ERROR_RATE_LIMITED: &str = "rate_limited";
    /// The body is larger than the limit, before or after decompression (413).
    pub const ERROR_TOO_LARGE: &str = "too_large";
    /// A `Content-Type` or `Content-Encoding` OTLP/HTTP does not use (415).
    pub const ERROR_MEDIA_TYPE: &str = "media_type";
    /// The body is not an export request (400).
    pub const ERROR_MALFORMED: &str = "malformed";
    /// Too many requests at once, or the browser span queue is full (503).
    pub const ERROR_OVERLOADED: &str = "overloaded";
}

/// OpenTelemetry's attribute and span limits, as the environment variable specification names
/// them (`configuration/sdk-environment-variables.md`, "Attribute Limits" and "Span Limits"):
/// a span-specific variable wins over the general one.
pub mod span_limits_env {
    /// Longest attribute value, in characters (general; default: no limit).
    pub const OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    /// Most attributes per record (general; default 128).
    pub const OTEL_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
    /// Longest attribute value of a span, its events and links, in characters.
    pub const OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str =
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    /// Most attributes per span (default 128).
    pub const OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
    /// Most events per span (default 128).
    pub const OTEL_SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
    /// Most links per span (default 128).
    pub const OTEL_SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
    /// Most attributes per span event (default 128).
    pub const OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
    /// Most attributes per span link (default 128).
    pub const OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";
}

/// Environment variables of OpenTelemetry's environment-variable carrier (specification
/// `context/env-carriers.md`): a child process's parent, read by `factory_observability::init` and written by
/// `factory_observability::propagation::CommandExt`.
pub mod env_carrier {
    /// W3C `traceparent` of the span that started the process.
    pub const TRACEPARENT: &str = "TRACEPARENT";
    /// W3C `tracestate` that goes with it.
    pub const TRACESTATE: &str = "TRACESTATE";
    /// W3C `baggage`.
    pub const BAGGAGE: &str = "BAGGAGE";
}

/// HTTP client calls made with the `reqwest` feature's `send_traced` (OpenTelemetry HTTP
/// semantic conventions, stable): span names, attributes and the duration metric. The server
/// side has its own block.
pub mod http_client {
    /// Span name when the method is not a known one (the method itself otherwise: `GET`).
    pub const SPAN_NAME_OTHER_METHOD: &str = "HTTP";
    /// `GET`, `POST`, ..., or [`OTHER_METHOD`].
    pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
    /// The method as sent, when `http.request.method` is [`OTHER_METHOD`].
    pub const HTTP_REQUEST_METHOD_ORIGINAL: &str = "http.request.method_original";
    /// `http.request.method` of a method outside the convention's list.
    pub const OTHER_METHOD: &str = "_OTHER";
    /// Host of the URL (name or address).
    pub const SERVER_ADDRESS: &str = "server.address";
    /// Port of the URL, or the scheme's default.
    pub const SERVER_PORT: &str = "server.port";
    /// The URL without credentials (`REDACTED:REDACTED@`) and with the values of sensitive
    /// query parameters replaced by `REDACTED`.
    pub const URL_FULL: &str = "url.full";
    /// `http` or `https`.
    pub const URL_SCHEME: &str = "url.scheme";
    /// The response's status code.
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    /// What replaces credentials and secret query values in `url.full`.
    pub const REDACTED: &str = "REDACTED";
    /// Query parameters whose values never appear in `url.full` (compared without case): the
    /// convention's list and the usual names of tokens and keys.
    pub const SENSITIVE_QUERY_KEYS: &[&str] = &[
        "awsaccesskeyid",
        "signature",
        "sig",
        "x-goog-signature",
        "access_token",
        "id_token",
        "refresh_token",
        "token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "auth",
        "code",
    ];
    /// Histogram of request durations, seconds, from sending the request to the response
    /// headers {`http.request.method`, `server.address`, `server.port`, `url.scheme`,
    /// `http.response.status_code`, `error.type`}.
    pub const HTTP_CLIENT_REQUEST_DURATION: &str = "http.client.request.duration";
    /// Bucket boundaries the convention advises for the request duration, seconds.
    pub const DURATION_BUCKETS_S: &[f64] = &[
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ];
}

// ---------------------------------------------------------------------------------------------
// Exporter health (issue 14): the exporter's own metrics, and the Prometheus names of every
// metric. Kept apart from the blocks above so that parallel changes merge cleanly.
// ---------------------------------------------------------------------------------------------

/// The exporter's own health, as the OpenTelemetry SDK self-observability semantic conventions
/// name it (`otel.sdk.*`, "Development" status): what each signal handed to its pipeline, what
/// the exporters confirmed, what a full queue dropped and what failed, with the reason as
/// `error.type`. Read from the counters the shutdown report reads, by observable instruments:
/// nothing is added to an instrumented call.
pub mod health {
    /// One health metric: name, unit, description, and whether it is a monotonic counter.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct HealthMetric {
        /// Instrument name.
        pub name: &'static str,
        /// UCUM unit.
        pub unit: &'static str,
        /// Instrument description.
        pub description: &'static str,
        /// Monotonic counter (`_total` in Prometheus); otherwise an up-down counter or a
        /// histogram.
        pub is_counter: bool,
    }

    /// Spans handed to the exporter (no `error.type`) or dropped by the full queue
    /// (`error.type` = `queue_full`).
    pub const PROCESSOR_SPAN_PROCESSED: HealthMetric = HealthMetric {
        name: "otel.sdk.processor.span.processed",
        unit: "{span}",
        description:
            "The number of spans for which the processing has finished, either successful or failed",
        is_counter: true,
    };
    /// Spans waiting in the span queue (with this crate's queue: also the sampled calls still
    /// running, which hold their slot from their start, see docs/backends.md, "Exporter health").
    pub const PROCESSOR_SPAN_QUEUE_SIZE: HealthMetric = HealthMetric {
        name: "otel.sdk.processor.span.queue.size",
        unit: "{span}",
        description:
            "The number of spans in the queue of a given instance of an SDK span processor",
        is_counter: false,
    };
    /// The span queue's bound, `OTEL_BSP_MAX_QUEUE_SIZE`.
    pub const PROCESSOR_SPAN_QUEUE_CAPACITY: HealthMetric = HealthMetric {
        name: "otel.sdk.processor.span.queue.capacity",
        unit: "{span}",
        description: "The maximum number of spans the queue of a given instance of an SDK span processor can hold",
        is_counter: false,
    };
    /// Spans the exporter confirmed (no `error.type`) or failed to export (`error.type` =
    /// `timeout`, `transport`, `rejected` or `_OTHER`).
    pub const EXPORTER_SPAN_EXPORTED: HealthMetric = HealthMetric {
        name: "otel.sdk.exporter.span.exported",
        unit: "{span}",
        description:
            "The number of spans for which the export has finished, either successful or failed",
        is_counter: true,
    };
    /// Spans in an export still waiting for its answer.
    pub const EXPORTER_SPAN_INFLIGHT: HealthMetric = HealthMetric {
        name: "otel.sdk.exporter.span.inflight",
        unit: "{span}",
        description: "The number of spans which were passed to the exporter, but that have not been exported yet",
        is_counter: false,
    };
    /// Log records emitted by the program (`tracing` events bridged to logs); recorded by the
    /// SDK's logger itself, on the meter `otel.sdk`.
    pub const LOG_CREATED: HealthMetric = HealthMetric {
        name: "otel.sdk.log.created",
        unit: "{log_record}",
        description: "The number of log records submitted to the SDK.",
        is_counter: true,
    };
    /// Log records the exporter confirmed or failed to export (`error.type` as for spans).
    pub const EXPORTER_LOG_EXPORTED: HealthMetric = HealthMetric {
        name: "otel.sdk.exporter.log.exported",
        unit: "{log_record}",
        description: "The number of log records for which the export has finished, either successful or failed",
        is_counter: true,
    };
    /// Log records in an export still waiting for its answer.
    pub const EXPORTER_LOG_INFLIGHT: HealthMetric = HealthMetric {
        name: "otel.sdk.exporter.log.inflight",
        unit: "{log_record}",
        description: "The number of log records which were passed to the exporter, but that have not been exported yet",
        is_counter: false,
    };
    /// Recorded by the SDK's batch log processor itself (handed to the exporter, or
    /// `error.type` = `queue_full`), on the meter `otel.sdk`.
    pub const PROCESSOR_LOG_PROCESSED: HealthMetric = HealthMetric {
        name: "otel.sdk.processor.log.processed",
        unit: "{log_record}",
        description: "The number of log records for which the processing has finished, either successful or failed",
        is_counter: true,
    };
    /// Recorded by the SDK's batch log processor itself: `OTEL_BLRP_MAX_QUEUE_SIZE`.
    pub const PROCESSOR_LOG_QUEUE_CAPACITY: HealthMetric = HealthMetric {
        name: "otel.sdk.processor.log.queue.capacity",
        unit: "{log_record}",
        description: "The maximum number of log records the queue of a given instance of an SDK Log Record processor can hold",
        is_counter: false,
    };
    /// Metric data points the push exporter confirmed or failed to export (`error.type` as for
    /// spans). Not recorded with the Prometheus pull exporter, which exports nothing.
    pub const EXPORTER_METRIC_DATA_POINT_EXPORTED: HealthMetric = HealthMetric {
        name: "otel.sdk.exporter.metric_data_point.exported",
        unit: "{data_point}",
        description: "The number of metric data points for which the export has finished, either successful or failed",
        is_counter: true,
    };
    /// Duration of every export of every signal, with `error.type` when it failed.
    pub const EXPORTER_OPERATION_DURATION: HealthMetric = HealthMetric {
        name: "otel.sdk.exporter.operation.duration",
        unit: "s",
        description: "The duration of exporting a batch of telemetry records",
        is_counter: false,
    };

    /// Every health metric this crate records or has the SDK record.
    pub const ALL: &[HealthMetric] = &[
        PROCESSOR_SPAN_PROCESSED,
        PROCESSOR_SPAN_QUEUE_SIZE,
        PROCESSOR_SPAN_QUEUE_CAPACITY,
        EXPORTER_SPAN_EXPORTED,
        EXPORTER_SPAN_INFLIGHT,
        LOG_CREATED,
        EXPORTER_LOG_EXPORTED,
        EXPORTER_LOG_INFLIGHT,
        PROCESSOR_LOG_PROCESSED,
        PROCESSOR_LOG_QUEUE_CAPACITY,
        EXPORTER_METRIC_DATA_POINT_EXPORTED,
        EXPORTER_OPERATION_DURATION,
    ];

    /// Bucket boundaries of `otel.sdk.exporter.operation.duration`, seconds.
    pub const OPERATION_DURATION_BUCKETS_S: &[f64] = &[
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];

    /// `otel.component.type`: which component a point is about.
    pub const OTEL_COMPONENT_TYPE: &str = "otel.component.type";
    /// `otel.component.name`: `{type}/{instance}`, unique in the process.
    pub const OTEL_COMPONENT_NAME: &str = "otel.component.name";
    /// Component type of the span export thread (a batching span processor).
    pub const SPAN_PROCESSOR: &str = "batching_span_processor";
    /// Component type of the log queue's bound in front of the SDK's batch log processor
    /// (the records it drops when the queue is full; the SDK's processor records the rest).
    pub const LOG_PROCESSOR: &str = "batching_log_processor";
    /// Component types of the exporters, by destination.
    pub const OTLP_HTTP_SPAN_EXPORTER: &str = "otlp_http_span_exporter";
    /// OTLP/HTTP JSON spans.
    pub const OTLP_HTTP_JSON_SPAN_EXPORTER: &str = "otlp_http_json_span_exporter";
    /// OTLP/gRPC spans, log records and metrics (feature `grpc`).
    pub const OTLP_GRPC_SPAN_EXPORTER: &str = "otlp_grpc_span_exporter";
    /// OTLP/gRPC log records.
    pub const OTLP_GRPC_LOG_EXPORTER: &str = "otlp_grpc_log_exporter";
    /// OTLP/gRPC metrics.
    pub const OTLP_GRPC_METRIC_EXPORTER: &str = "otlp_grpc_metric_exporter";
    /// OTLP/HTTP protobuf log records.
    pub const OTLP_HTTP_LOG_EXPORTER: &str = "otlp_http_log_exporter";
    /// OTLP/HTTP JSON log records.
    pub const OTLP_HTTP_JSON_LOG_EXPORTER: &str = "otlp_http_json_log_exporter";
    /// OTLP/HTTP protobuf metrics.
    pub const OTLP_HTTP_METRIC_EXPORTER: &str = "otlp_http_metric_exporter";
    /// OTLP/HTTP JSON metrics.
    pub const OTLP_HTTP_JSON_METRIC_EXPORTER: &str = "otlp_http_json_metric_exporter";
    /// The embedded default's files, and an exporter given in code (not in the conventions).
    pub const FILE_SPAN_EXPORTER: &str = "factory_observability.file_span_exporter";
    /// The embedded default's log file.
    pub const FILE_LOG_EXPORTER: &str = "factory_observability.file_log_exporter";
    /// The embedded default's metric file.
    pub const FILE_METRIC_EXPORTER: &str = "factory_observability.file_metric_exporter";
    /// A span exporter given with `TelemetryBuilder::span_exporter`.
    pub const CUSTOM_SPAN_EXPORTER: &str = "factory_observability.custom_span_exporter";

    /// `error.type`: dropped because the queue was full.
    pub const ERROR_QUEUE_FULL: &str = "queue_full";
    /// `error.type`: no answer within the exporter's timeout.
    pub const ERROR_TIMEOUT: &str = "timeout";
    /// `error.type`: the connection failed (refused, reset, TLS).
    pub const ERROR_TRANSPORT: &str = "transport";
    /// `error.type`: the backend answered with an error status.
    pub const ERROR_REJECTED: &str = "rejected";
    /// `error.type`: anything else, as the conventions spell it.
    pub const ERROR_OTHER: &str = "_OTHER";
}

/// The names Prometheus stores each metric under, when scraped from `/metrics`
/// (`OTEL_METRICS_EXPORTER=prometheus`) or received through a collector that translates the same
/// way. Dashboards and alert rules (the deploy kit) check their queries against [`CATALOGUE`].
pub mod prometheus {
    use super::{agent, browser, cicd, handler, health, http_client, http_server, mcp, metric};

    /// What kind of instrument a metric is, which decides its Prometheus type and series.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        /// A monotonic counter: one series, `{name}_total`.
        Counter,
        /// An up-down counter or gauge: one series, `{name}`.
        Gauge,
        /// A histogram: `{name}_bucket` (with `le`), `{name}_sum`, `{name}_count`.
        Histogram,
    }

    /// One metric this crate records: OpenTelemetry name, unit, kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Entry {
        /// OpenTelemetry instrument name.
        pub name: &'static str,
        /// UCUM unit (empty when the instrument has none).
        pub unit: &'static str,
        /// Instrument kind.
        pub kind: Kind,
    }

    const fn entry(name: &'static str, unit: &'static str, kind: Kind) -> Entry {
        Entry { name, unit, kind }
    }

    const fn from_health(metric: health::HealthMetric, kind: Kind) -> Entry {
        Entry {
            name: metric.name,
            unit: metric.unit,
            kind,
        }
    }

    /// Every metric the macros and the exporter health record.
    pub const CATALOGUE: &[Entry] = &[
        entry(metric::PIPELINE_RUNS_TOTAL, "", Kind::Counter),
        entry(
            metric::PIPELINE_RUN_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(
            metric::PIPELINE_STAGE_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(metric::PIPELINE_STAGE_RETRIES_TOTAL, "", Kind::Counter),
        entry(
            metric::LLM_TOKENS_TOTAL,
            metric::UNIT_TOKENS,
            Kind::Histogram,
        ),
        entry(metric::LLM_COST_USD, "", Kind::Counter),
        entry(
            metric::GEN_AI_CLIENT_TOKEN_USAGE,
            metric::UNIT_TOKENS,
            Kind::Histogram,
        ),
        entry(
            metric::GEN_AI_CLIENT_OPERATION_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(
            metric::GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(metric::ADJUDICATION_SELECTED_TOTAL, "", Kind::Counter),
        entry(metric::ADJUDICATION_SCORE, "", Kind::Histogram),
        entry(metric::ADJUDICATION_MARGIN, "", Kind::Histogram),
        entry(metric::TEST_PASS_RATE, "", Kind::Histogram),
        entry(metric::TEST_FLAKY_TOTAL, "", Kind::Counter),
        entry(
            handler::HANDLER_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(
            http_server::HTTP_SERVER_REQUEST_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(
            http_server::HTTP_SERVER_ACTIVE_REQUESTS,
            http_server::UNIT_REQUESTS,
            Kind::Gauge,
        ),
        entry(
            http_client::HTTP_CLIENT_REQUEST_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(
            agent::GEN_AI_INVOKE_AGENT_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(
            agent::GEN_AI_EXECUTE_TOOL_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(
            mcp::MCP_CLIENT_OPERATION_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(browser::REQUESTS, http_server::UNIT_REQUESTS, Kind::Counter),
        entry(browser::SPANS, browser::UNIT_SPANS, Kind::Counter),
        entry(
            browser::INTERACTIONS,
            browser::UNIT_INTERACTIONS,
            Kind::Counter,
        ),
        entry(
            cicd::CICD_PIPELINE_RUN_DURATION,
            metric::UNIT_SECONDS,
            Kind::Histogram,
        ),
        entry(cicd::CICD_PIPELINE_RUN_ACTIVE, cicd::UNIT_RUNS, Kind::Gauge),
        entry(
            cicd::CICD_PIPELINE_RUN_ERRORS,
            cicd::UNIT_ERRORS,
            Kind::Counter,
        ),
        from_health(health::PROCESSOR_SPAN_PROCESSED, Kind::Counter),
        from_health(health::PROCESSOR_SPAN_QUEUE_SIZE, Kind::Gauge),
        from_health(health::PROCESSOR_SPAN_QUEUE_CAPACITY, Kind::Gauge),
        from_health(health::EXPORTER_SPAN_EXPORTED, Kind::Counter),
        from_health(health::EXPORTER_SPAN_INFLIGHT, Kind::Gauge),
        from_health(health::LOG_CREATED, Kind::Counter),
        from_health(health::EXPORTER_LOG_EXPORTED, Kind::Counter),
        from_health(health::EXPORTER_LOG_INFLIGHT, Kind::Gauge),
        from_health(health::PROCESSOR_LOG_PROCESSED, Kind::Counter),
        from_health(health::PROCESSOR_LOG_QUEUE_CAPACITY, Kind::Gauge),
        from_health(health::EXPORTER_METRIC_DATA_POINT_EXPORTED, Kind::Counter),
        from_health(health::EXPORTER_OPERATION_DURATION, Kind::Histogram),
    ];

    /// The Prometheus metric name of an OpenTelemetry metric, as `opentelemetry-prometheus`
    /// 0.33 serves it (and as the OpenTelemetry "Prometheus and OpenMetrics compatibility"
    /// specification translates): every character outside `[a-zA-Z0-9_:]` becomes `_`, the
    /// unit's suffix is appended (`s` → `_seconds`, `By` → `_bytes`, `1` → `_ratio`, `m/s` →
    /// `_meters_per_second`; annotations such as `{token}` add nothing), then `_total` for a
    /// monotonic counter unless the name already ends in it, as the collector's Prometheus
    /// exporter does: `pipeline.runs.total` → `pipeline_runs_total`, `llm.cost.usd` →
    /// `llm_cost_usd_total` (`export::prometheus` adds the `_total` at each scrape).
    pub fn prometheus_name(name: &str, unit: &str, is_counter: bool) -> String {
        let mut out: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if c.is_ascii_alphanumeric() && !(i == 0 && c.is_ascii_digit())
                    || c == '_'
                    || c == ':'
                {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            out.insert(0, '_');
            out.replace_range(1..2, &name[..1]);
        }
        if let Some(suffix) = unit_suffix(unit) {
            out.push('_');
            out.push_str(&suffix);
        }
        if is_counter && !out.ends_with("_total") {
            out.push_str("_total");
        }
        out
    }

    /// The series Prometheus stores for `entry`: one name, or a histogram's three.
    pub fn series(entry: &Entry) -> Vec<String> {
        let name = prometheus_name(entry.name, entry.unit, entry.kind == Kind::Counter);
        match entry.kind {
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{name}{suffix}"))
                .collect(),
            _ => vec![name],
        }
    }

    fn unit_suffix(unit: &str) -> Option<String> {
        if unit.is_empty() {
            return None;
        }
        if let Some(known) = unit_word(unit) {
            return Some(known.to_owned());
        }
        let (first, second) = unit.split_once('/')?;
        let per = per_unit_word(second)?;
        const NOT_BEFORE_PER: [&str; 8] = ["1", "d", "h", "min", "s", "ms", "us", "ns"];
        match unit_word(first) {
            Some(first) if !NOT_BEFORE_PER.contains(&unit.split_once('/')?.0) => {
                Some(format!("{first}_per_{per}"))
            }
            _ => Some(format!("per_{per}")),
        }
    }

    fn unit_word(unit: &str) -> Option<&'static str> {
        Some(match unit {
            "d" => "days",
            "h" => "hours",
            "min" => "minutes",
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "ns" => "nanoseconds",
            "By" | "B" => "bytes",
            "KiBy" => "kibibytes",
            "MiBy" => "mebibytes",
            "GiBy" => "gibibytes",
            "TiBy" => "tibibytes",
            "KBy" | "KB" => "kilobytes",
            "MBy" | "MB" => "megabytes",
            "GBy" | "GB" => "gigabytes",
            "TBy" | "TB" => "terabytes",
            "m" => "meters",
            "V" => "volts",
            "A" => "amperes",
            "J" => "joules",
            "W" => "watts",
            "g" => "grams",
            "Cel" => "celsius",
            "Hz" => "hertz",
            "1" => "ratio",
            "%" => "percent",
            _ => return None,
        })
    }

    fn per_unit_word(unit: &str) -> Option<&'static str> {
        Some(match unit {
            "s" => "second",
            "m" => "minute",
            "h" => "hour",
            "d" => "day",
            "w" => "week",
            "mo" => "month",
            "y" => "year",
            _ => return None,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn names_translate_as_prometheus_stores_them() {
            assert_eq!(
                prometheus_name("pipeline.runs.total", "", true),
                "pipeline_runs_total"
            );
            assert_eq!(
                prometheus_name("llm.cost.usd", "", true),
                "llm_cost_usd_total"
            );
            assert_eq!(
                prometheus_name("pipeline.stage.duration", "s", false),
                "pipeline_stage_duration_seconds"
            );
            assert_eq!(
                prometheus_name("otel.sdk.processor.span.processed", "{span}", true),
                "otel_sdk_processor_span_processed_total"
            );
            assert_eq!(prometheus_name("a.rate", "1", false), "a_rate_ratio");
            assert_eq!(
                prometheus_name("speed", "m/s", false),
                "speed_meters_per_second"
            );
            assert_eq!(prometheus_name("hits", "1/s", false), "hits_per_second");
            assert_eq!(prometheus_name("9lives", "", false), "_9lives");
        }
    }
}

/// The proxy variables the OTLP/HTTP exporters read (`export::http_client`), as reqwest and
/// curl do: the upper-case name first, then the lower-case one. (The gRPC exporters read them
/// with hyper-util's proxy `Matcher`.)
pub mod proxy_env {
    /// Proxy URL for `http://` endpoints.
    pub const HTTP_PROXY: &str = "HTTP_PROXY";
    /// Proxy URL for `https://` endpoints.
    pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
    /// Proxy URL for either, when the scheme's own variable is not set.
    pub const ALL_PROXY: &str = "ALL_PROXY";
    /// Comma-separated hosts and domains reached without a proxy (`*` for all).
    pub const NO_PROXY: &str = "NO_PROXY";
}

/// The OTLP exporter's transport variables, as the OpenTelemetry specification names them. Each
/// also exists per signal, `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_{suffix}` (see
/// [`otlp_env::per_signal`]), which wins over the generic one.
pub mod otlp_env {
    /// Base URL of every signal (`/v1/{signal}` is appended for OTLP/HTTP).
    pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// `http/protobuf` (default), `http/json` or `grpc`.
    pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    /// `key=value,...` request headers (values are secrets: never printed).
    pub const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// Milliseconds one export may take, retries included (default 10000).
    pub const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
    /// `gzip` or `none` (default).
    pub const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
    /// PEM file of the CA(s) that sign the collector's certificate, trusted besides the
    /// platform's roots.
    pub const CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
    /// PEM file of the client certificate (chain) for mutual TLS.
    pub const CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
    /// PEM file of the client certificate's private key for mutual TLS.
    pub const CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";

    /// The per-signal form of a generic variable: `OTEL_EXPORTER_OTLP_ENDPOINT` and `TRACES`
    /// give `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn per_signal(generic: &str, signal_suffix: &str) -> String {
        let suffix = generic
            .strip_prefix("OTEL_EXPORTER_OTLP_")
            .unwrap_or(generic);
        format!("OTEL_EXPORTER_OTLP_{signal_suffix}_{suffix}")
    }
}

// ---------------------------------------------------------------------------------------------
// Provenance (issue 20): the CI/CD and VCS semantic conventions beside the seed's names, the CI
// systems' variables they are read from, and the resource attributes that tell a product which
// run built it. Kept apart from the blocks above so that parallel changes merge cleanly.
// ---------------------------------------------------------------------------------------------

/// The OpenTelemetry CI/CD semantic conventions (`docs/cicd/cicd-spans.md`,
/// `docs/cicd/cicd-metrics.md`, `docs/registry/attributes/cicd.md`): a factory run is a pipeline
/// run, a stage a task run. Emitted beside the seed's names unless
/// [`super::provenance_env::FACTORY_OBS_PIPELINE_SEMCONV`] says otherwise.
pub mod cicd {
    /// `cicd.pipeline.name`: the pipeline's name (the seed's `pipeline.name`).
    pub const CICD_PIPELINE_NAME: &str = "cicd.pipeline.name";
    /// `cicd.pipeline.run.id`: the run's id (the seed's `run.id`).
    pub const CICD_PIPELINE_RUN_ID: &str = "cicd.pipeline.run.id";
    /// `cicd.pipeline.result`: how the run ended, one of [`RESULT_VALUES`] (Required on the
    /// pipeline run span).
    pub const CICD_PIPELINE_RESULT: &str = "cicd.pipeline.result";
    /// `cicd.pipeline.action.name`: what the run does; the `{action}` of the span name.
    pub const CICD_PIPELINE_ACTION_NAME: &str = "cicd.pipeline.action.name";
    /// `cicd.pipeline.run.url.full`: where the run can be seen (the CI system's run, when the
    /// factory runs in one).
    pub const CICD_PIPELINE_RUN_URL_FULL: &str = "cicd.pipeline.run.url.full";
    /// `cicd.pipeline.run.state`: `pending`, `executing` or `finalizing` (a metric label).
    pub const CICD_PIPELINE_RUN_STATE: &str = "cicd.pipeline.run.state";
    /// `cicd.pipeline.task.name`: the stage's name (the seed's `stage.name`).
    pub const CICD_PIPELINE_TASK_NAME: &str = "cicd.pipeline.task.name";
    /// `cicd.pipeline.task.run.id`: unique within the run (the stage span's id).
    pub const CICD_PIPELINE_TASK_RUN_ID: &str = "cicd.pipeline.task.run.id";
    /// `cicd.pipeline.task.run.result`: how the stage ended, one of [`RESULT_VALUES`].
    pub const CICD_PIPELINE_TASK_RUN_RESULT: &str = "cicd.pipeline.task.run.result";
    /// `cicd.pipeline.task.run.url.full`: where the task run can be seen (the CI job's URL).
    pub const CICD_PIPELINE_TASK_RUN_URL_FULL: &str = "cicd.pipeline.task.run.url.full";
    /// `cicd.pipeline.task.type`: `build`, `test` or `deploy` ([`TASK_TYPE_VALUES`]).
    pub const CICD_PIPELINE_TASK_TYPE: &str = "cicd.pipeline.task.type";

    /// The `{action}` of a factory run: it builds software ("`BUILD`: The pipeline run is
    /// executing a build").
    pub const ACTION_BUILD: &str = "BUILD";
    /// `cicd.pipeline.run.state` while the run's stages execute.
    pub const RUN_STATE_EXECUTING: &str = "executing";
    /// The well-known values of `cicd.pipeline.result` and `cicd.pipeline.task.run.result`.
    pub const RESULT_VALUES: &[&str] = &[
        "cancellation",
        "error",
        "failure",
        "skip",
        "success",
        "timeout",
    ];
    /// The well-known values of `cicd.pipeline.task.type`.
    pub const TASK_TYPE_VALUES: &[&str] = &["build", "deploy", "test"];
    /// The well-known values of `cicd.pipeline.action.name`.
    pub const ACTION_VALUES: &[&str] = &["BUILD", "RUN", "SYNC"];

    /// Histogram of run durations, seconds {`cicd.pipeline.name`, `cicd.pipeline.run.state`,
    /// `cicd.pipeline.result`, `error.type` when it failed}.
    pub const CICD_PIPELINE_RUN_DURATION: &str = "cicd.pipeline.run.duration";
    /// Up-down counter of runs in progress {`cicd.pipeline.name`, `cicd.pipeline.run.state`}.
    pub const CICD_PIPELINE_RUN_ACTIVE: &str = "cicd.pipeline.run.active";
    /// Unit of `cicd.pipeline.run.active`.
    pub const UNIT_RUNS: &str = "{run}";
    /// Counter of errors in runs {`cicd.pipeline.name`, `error.type`}.
    pub const CICD_PIPELINE_RUN_ERRORS: &str = "cicd.pipeline.run.errors";
    /// Unit of `cicd.pipeline.run.errors`.
    pub const UNIT_ERRORS: &str = "{error}";
}

/// The OpenTelemetry VCS semantic conventions (`docs/registry/attributes/vcs.md`, and the "VCS
/// repository" and "VCS reference" entities of `docs/resource/cicd.md`): which code a process
/// runs. On the factory's resource (read from the CI system or the git checkout) and, through
/// provenance, on the product's.
pub mod vcs {
    /// `vcs.repository.url.full`: the repository's browser URL, without credentials or `.git`.
    pub const VCS_REPOSITORY_URL_FULL: &str = "vcs.repository.url.full";
    /// `vcs.repository.name`: the repository's name without its owner.
    pub const VCS_REPOSITORY_NAME: &str = "vcs.repository.name";
    /// `vcs.ref.head.name`: the branch or tag checked out.
    pub const VCS_REF_HEAD_NAME: &str = "vcs.ref.head.name";
    /// `vcs.ref.head.revision`: the commit checked out.
    pub const VCS_REF_HEAD_REVISION: &str = "vcs.ref.head.revision";
    /// `vcs.ref.head.type`: `branch` or `tag`.
    pub const VCS_REF_HEAD_TYPE: &str = "vcs.ref.head.type";
    /// `vcs.change.id`: the pull or merge request being built.
    pub const VCS_CHANGE_ID: &str = "vcs.change.id";
    /// `vcs.provider.name`: `github`, `gitlab`, ...
    pub const VCS_PROVIDER_NAME: &str = "vcs.provider.name";
    /// `vcs.ref.head.type` of a branch.
    pub const REF_TYPE_BRANCH: &str = "branch";
    /// `vcs.ref.head.type` of a tag.
    pub const REF_TYPE_TAG: &str = "tag";
    /// The well-known values of `vcs.ref.head.type`.
    pub const REF_TYPE_VALUES: &[&str] = &["branch", "tag"];
    /// The well-known values of `vcs.provider.name`.
    pub const PROVIDER_VALUES: &[&str] = &["bitbucket", "gitea", "github", "gitlab"];
}

/// What a product carries about the factory run that built it: resource attributes a deploy
/// gives the product (`OTEL_RESOURCE_ATTRIBUTES`), so that every span, metric and log of the
/// product names its origin. No OpenTelemetry convention names a service's build origin: the
/// `cicd.pipeline.run` resource means "telemetry of the run", which a product's is not; so these
/// are ours, beside the conventions' `vcs.*` ([`super::vcs`]), which a product shares.
pub mod provenance {
    /// The id of the run that built the product (its `run.id`).
    pub const FACTORY_RUN_ID: &str = "factory.run.id";
    /// The pipeline of that run (its `pipeline.name`).
    pub const FACTORY_PIPELINE_NAME: &str = "factory.pipeline.name";
    /// The winning candidate of the run's adjudication, whose code the product runs.
    pub const FACTORY_CANDIDATE: &str = "factory.candidate";
    /// The models that wrote it, comma-separated and sorted.
    pub const FACTORY_MODELS: &str = "factory.models";
    /// The stage that produced it.
    pub const FACTORY_STAGE: &str = "factory.stage";

    /// The resource attributes that become labels of every metric a product serves on
    /// `/metrics`, so that an error ratio can be grouped by the build that served it. The
    /// collector does the same with its `transform/provenance` processor
    /// (`deploy/collector/config.yaml`).
    pub const METRIC_LABELS: &[&str] = &[
        FACTORY_RUN_ID,
        FACTORY_CANDIDATE,
        FACTORY_MODELS,
        super::vcs::VCS_REF_HEAD_REVISION,
    ];
}

/// Environment variables of the CI systems whose runs the factory reads its `vcs.*` and run URL
/// from, as each system documents them. Detection: the first system whose marker variable is
/// set.
pub mod ci_env {
    /// GitHub Actions ("Variables reference", "Default environment variables"): always `true`.
    pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
    /// `https://github.com`.
    pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
    /// `owner/name`.
    pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
    /// The commit that triggered the workflow.
    pub const GITHUB_SHA: &str = "GITHUB_SHA";
    /// `refs/heads/main`, `refs/tags/v1`, `refs/pull/42/merge`.
    pub const GITHUB_REF: &str = "GITHUB_REF";
    /// The short ref name (`main`, `v1`, `42/merge`).
    pub const GITHUB_REF_NAME: &str = "GITHUB_REF_NAME";
    /// `branch` or `tag`.
    pub const GITHUB_REF_TYPE: &str = "GITHUB_REF_TYPE";
    /// A pull request's source branch (pull request events only).
    pub const GITHUB_HEAD_REF: &str = "GITHUB_HEAD_REF";
    /// The workflow run's id.
    pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";

    /// GitLab CI ("Predefined CI/CD variables reference"): `true` in a job.
    pub const GITLAB_CI: &str = "GITLAB_CI";
    /// The project's browser URL (`CI_REPOSITORY_URL` carries a job token, and is not read).
    pub const CI_PROJECT_URL: &str = "CI_PROJECT_URL";
    /// The commit being built.
    pub const CI_COMMIT_SHA: &str = "CI_COMMIT_SHA";
    /// The branch or tag being built.
    pub const CI_COMMIT_REF_NAME: &str = "CI_COMMIT_REF_NAME";
    /// Set in tag pipelines.
    pub const CI_COMMIT_TAG: &str = "CI_COMMIT_TAG";
    /// A merge request's project-level id (merge request pipelines).
    pub const CI_MERGE_REQUEST_IID: &str = "CI_MERGE_REQUEST_IID";
    /// The pipeline's URL.
    pub const CI_PIPELINE_URL: &str = "CI_PIPELINE_URL";
    /// The job's URL.
    pub const CI_JOB_URL: &str = "CI_JOB_URL";

    /// Jenkins (`env` global variable reference; the Git plugin's variables): the server's URL.
    pub const JENKINS_URL: &str = "JENKINS_URL";
    /// The build's URL.
    pub const BUILD_URL: &str = "BUILD_URL";
    /// The repository's remote URL (Git plugin).
    pub const GIT_URL: &str = "GIT_URL";
    /// The commit checked out (Git plugin).
    pub const GIT_COMMIT: &str = "GIT_COMMIT";
    /// The remote branch checked out, `origin/main` (Git plugin).
    pub const GIT_BRANCH: &str = "GIT_BRANCH";
    /// The branch of a multibranch pipeline.
    pub const BRANCH_NAME: &str = "BRANCH_NAME";
    /// The tag of a multibranch pipeline's tag build.
    pub const TAG_NAME: &str = "TAG_NAME";
    /// The change request (pull request) of a multibranch pipeline.
    pub const CHANGE_ID: &str = "CHANGE_ID";

    /// Buildkite ("Environment variables"): always `true`.
    pub const BUILDKITE: &str = "BUILDKITE";
    /// The repository's clone URL (`git@github.com:acme-inc/my-project.git`).
    pub const BUILDKITE_REPO: &str = "BUILDKITE_REPO";
    /// The commit being built (may be `HEAD`).
    pub const BUILDKITE_COMMIT: &str = "BUILDKITE_COMMIT";
    /// The branch being built.
    pub const BUILDKITE_BRANCH: &str = "BUILDKITE_BRANCH";
    /// The tag being built, if any.
    pub const BUILDKITE_TAG: &str = "BUILDKITE_TAG";
    /// The pull request's number, or `false`.
    pub const BUILDKITE_PULL_REQUEST: &str = "BUILDKITE_PULL_REQUEST";
    /// The build's URL.
    pub const BUILDKITE_BUILD_URL: &str = "BUILDKITE_BUILD_URL";
    /// The job's id (its URL is the build's with `#` and the id).
    pub const BUILDKITE_JOB_ID: &str = "BUILDKITE_JOB_ID";
}

/// Environment variables of provenance, read by `factory_observability::init`.
pub mod provenance_env {
    /// `seed`, `cicd` or `cicd/dup` (both, the default): which names pipeline runs and stages
    /// carry, in the style of `OTEL_SEMCONV_STABILITY_OPT_IN` (a comma-separated list).
    pub const FACTORY_OBS_PIPELINE_SEMCONV: &str = "FACTORY_OBS_PIPELINE_SEMCONV";
    /// `auto` (default) or `off`: whether `init` reads `vcs.*` from the CI system or the git
    /// checkout.
    pub const FACTORY_OBS_VCS: &str = "FACTORY_OBS_VCS";
}

// ---------------------------------------------------------------------------------------------
// Agents, tools and MCP (issue 19). Kept apart from the blocks above so that parallel changes
// merge cleanly.
// ---------------------------------------------------------------------------------------------

/// `#[agent]` and `#[tool]`, as the OpenTelemetry GenAI conventions name them
/// (`semantic-conventions-genai`: `gen-ai-agent-spans.md` "Invoke agent internal span" and
/// "Invoke agent client span", `gen-ai-spans.md` "Execute tool span", `gen-ai-metrics.md`
/// "Generative AI agent metrics" and "Generative AI tool metrics"), and the totals of ours that an
/// agent's span carries as a run's does.
pub mod agent {
    /// `gen_ai.operation.name` of an agent's span, and its span name: `invoke_agent {name}`.
    pub const INVOKE_AGENT: &str = "invoke_agent";
    /// `gen_ai.operation.name` of a tool's span, and its span name: `execute_tool {name}`.
    pub const EXECUTE_TOOL: &str = "execute_tool";

    /// Human-readable name of the agent (`#[agent(name = ...)]`, default: the fn name).
    pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
    /// Unique id of the agent (`#[agent(id = expr)]`).
    pub const GEN_AI_AGENT_ID: &str = "gen_ai.agent.id";
    /// Free-form description of the agent: the fn's doc comment.
    pub const GEN_AI_AGENT_DESCRIPTION: &str = "gen_ai.agent.description";
    /// Version of the agent (`#[agent(version = "...")]`).
    pub const GEN_AI_AGENT_VERSION: &str = "gen_ai.agent.version";
    /// The conversation (session, thread) the call belongs to: on the agent's span and on every
    /// LLM and tool span under it, and carried to other processes as baggage
    /// ([`CONVERSATION_BAGGAGE_KEY`]).
    pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
    /// The W3C Baggage key that carries the conversation to other processes (HTTP, the
    /// environment carrier, MCP `params._meta`). The conventions define no carrier; the
    /// attribute's own name is the one other GenAI clients read from baggage.
    pub const CONVERSATION_BAGGAGE_KEY: &str = GEN_AI_CONVERSATION_ID;

    /// Name of the tool (`#[tool(name = ...)]`, default: the fn name).
    pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
    /// Type of the tool: one of [`TOOL_TYPES`].
    pub const GEN_AI_TOOL_TYPE: &str = "gen_ai.tool.type";
    /// Id of the tool call the model asked for (`#[tool(call_id = expr)]`).
    pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
    /// Description of the tool: the fn's doc comment.
    pub const GEN_AI_TOOL_DESCRIPTION: &str = "gen_ai.tool.description";
    /// The tool's arguments, a JSON object (opt-in content, redacted and cut, see
    /// `factory_observability::capture`).
    pub const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
    /// The tool's result, JSON (opt-in content, redacted and cut; only when it succeeded).
    pub const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
    /// The tool types the conventions describe (`gen_ai.tool.type`, registry note): a tool the
    /// client executes, one the agent executes against external APIs, one that queries data.
    pub const TOOL_TYPES: &[&str] = &["function", "extension", "datastore"];
    /// `gen_ai.tool.type` when `#[tool]` names none.
    pub const DEFAULT_TOOL_TYPE: &str = "function";

    /// Outcome of an agent, one of `factory_observability::OutcomeKind`'s values.
    pub const AGENT_OUTCOME: &str = "agent.outcome";
    /// Outcome of a tool call.
    pub const TOOL_OUTCOME: &str = "tool.outcome";
    /// LLM calls made under the agent (nested agents included), on its span.
    pub const AGENT_LLM_CALLS: &str = "agent.llm.calls";
    /// LLM calls under the agent that could not be priced.
    pub const AGENT_LLM_UNPRICED_CALLS: &str = "agent.llm.unpriced_calls";
    /// Cost of the priced LLM calls under the agent, USD.
    pub const AGENT_COST_USD: &str = "agent.cost_usd";
    /// Tool calls made under the agent.
    pub const AGENT_TOOL_CALLS: &str = "agent.tool.calls";
    /// Tool calls under the agent that did not succeed.
    pub const AGENT_TOOL_FAILURES: &str = "agent.tool.failures";
    /// Tool calls made during the run, on the `pipeline.run` span.
    pub const RUN_TOOL_CALLS: &str = "run.tool.calls";
    /// Tool calls of the run that did not succeed.
    pub const RUN_TOOL_FAILURES: &str = "run.tool.failures";

    /// Histogram of agent invocations in seconds {`gen_ai.agent.name`, `gen_ai.request.model`
    /// when given, `error.type`, `outcome`}.
    pub const GEN_AI_INVOKE_AGENT_DURATION: &str = "gen_ai.invoke_agent.duration";
    /// Bucket boundaries the conventions advise for `gen_ai.invoke_agent.duration`, seconds.
    pub const INVOKE_AGENT_DURATION_BUCKETS_S: &[f64] = &[
        0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
    ];
    /// Histogram of tool executions in seconds {`gen_ai.tool.name`, `gen_ai.tool.type`,
    /// `gen_ai.agent.name` under an agent, `error.type`, `outcome`}, with the buckets the
    /// conventions advise ([`super::metric::GEN_AI_DURATION_BUCKETS_S`]).
    pub const GEN_AI_EXECUTE_TOOL_DURATION: &str = "gen_ai.execute_tool.duration";
}

/// MCP calls, as the OpenTelemetry MCP conventions name them (`semantic-conventions-genai`,
/// `mcp.md`: "Context propagation", "Client", metric `mcp.client.operation.duration`), and the
/// `params._meta` keys of the MCP specification ("General fields", `_meta`, reserved keys).
pub mod mcp {
    /// `mcp.method.name`: the JSON-RPC method (`tools/call`, `initialize`, ...).
    pub const MCP_METHOD_NAME: &str = "mcp.method.name";
    /// `mcp.session.id`: the session the request belongs to.
    pub const MCP_SESSION_ID: &str = "mcp.session.id";
    /// `mcp.protocol.version`: the negotiated protocol version (`2025-11-25`).
    pub const MCP_PROTOCOL_VERSION: &str = "mcp.protocol.version";
    /// `mcp.resource.uri`: the resource of a `resources/*` request.
    pub const MCP_RESOURCE_URI: &str = "mcp.resource.uri";
    /// `jsonrpc.request.id`: the request's `id`, as a string.
    pub const JSONRPC_REQUEST_ID: &str = "jsonrpc.request.id";
    /// `jsonrpc.protocol.version`: recorded when it is not `2.0`.
    pub const JSONRPC_PROTOCOL_VERSION: &str = "jsonrpc.protocol.version";
    /// `rpc.response.status_code`: the JSON-RPC error code, as a string.
    pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";
    /// `network.transport`: [`TRANSPORT_PIPE`] for stdio, [`TRANSPORT_TCP`] for HTTP.
    pub const NETWORK_TRANSPORT: &str = "network.transport";
    /// `network.protocol.name`: `http` for streamable HTTP.
    pub const NETWORK_PROTOCOL_NAME: &str = "network.protocol.name";
    /// `network.protocol.version`.
    pub const NETWORK_PROTOCOL_VERSION: &str = "network.protocol.version";
    /// `server.address` of an MCP server reached over HTTP.
    pub const SERVER_ADDRESS: &str = "server.address";
    /// `server.port` of an MCP server reached over HTTP.
    pub const SERVER_PORT: &str = "server.port";
    /// `gen_ai.prompt.name`: the target of a `prompts/get`.
    pub const GEN_AI_PROMPT_NAME: &str = "gen_ai.prompt.name";

    /// The method of a tool call; its span also carries `gen_ai.operation.name` =
    /// `execute_tool` and `gen_ai.tool.name`.
    pub const TOOLS_CALL: &str = "tools/call";
    /// The method of a prompt request, whose target is `gen_ai.prompt.name`.
    pub const PROMPTS_GET: &str = "prompts/get";
    /// `network.transport` of stdio.
    pub const TRANSPORT_PIPE: &str = "pipe";
    /// `network.transport` of streamable HTTP.
    pub const TRANSPORT_TCP: &str = "tcp";
    /// `network.protocol.name` of streamable HTTP.
    pub const PROTOCOL_HTTP: &str = "http";
    /// `error.type` of a tool call whose result says `isError: true`.
    pub const ERROR_TOOL: &str = "tool_error";

    /// The request's metadata object, `params._meta`.
    pub const META: &str = "_meta";
    /// The `_meta` keys the MCP specification reserves for OpenTelemetry, unprefixed: W3C
    /// `traceparent`, `tracestate` and `baggage`.
    pub const META_TRACEPARENT: &str = "traceparent";
    /// See [`META_TRACEPARENT`].
    pub const META_TRACESTATE: &str = "tracestate";
    /// See [`META_TRACEPARENT`].
    pub const META_BAGGAGE: &str = "baggage";

    /// Histogram of MCP requests as the client sees them, seconds {`mcp.method.name`,
    /// `gen_ai.tool.name`, `gen_ai.operation.name`, `error.type`, `rpc.response.status_code`,
    /// `mcp.protocol.version`, `network.transport`}.
    pub const MCP_CLIENT_OPERATION_DURATION: &str = "mcp.client.operation.duration";
    /// Bucket boundaries the conventions advise for `mcp.client.operation.duration`, seconds.
    pub const CLIENT_OPERATION_DURATION_BUCKETS_S: &[f64] = &[
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    ];
}

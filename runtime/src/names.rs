//! Every span, attribute and metric name this crate emits, in one place.
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
    /// Outcome of the stage, one of [`crate::OutcomeKind`]'s values.
    pub const STAGE_OUTCOME: &str = "stage.outcome";
    /// Duration of the stage in milliseconds (seed attribute; the histogram is in seconds).
    pub const STAGE_DURATION_MS: &str = "stage.duration_ms";
    /// Attempt number of a stage run through [`crate::retry_stage`]; 1 for the first attempt.
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

/// `#[handler]` off HTTP (a product's background job, a CLI command): an INTERNAL span named after
/// the handler. Under HTTP the handler enriches its request's SERVER span instead (see
/// [`http_server`]).
pub mod handler {
    /// Name of the handler (`#[handler(name = ...)]`, default: the fn name).
    pub const HANDLER_NAME: &str = "handler.name";
    /// Outcome of the handler, one of [`crate::OutcomeKind`]'s values.
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
    /// `client.address`: the first `X-Forwarded-For` entry, or the peer's IP address.
    pub const CLIENT_ADDRESS: &str = "client.address";
    /// `_OTHER`: the value of `http.request.method` for a method the conventions do not know.
    pub const METHOD_OTHER: &str = "_OTHER";
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

/// Environment variables read by [`crate::init`] besides the standard `OTEL_*` ones.
pub mod env {
    /// Directory of the embedded default's OTLP/JSON files (default `./telemetry`).
    pub const FACTORY_OBS_DIR: &str = "FACTORY_OBS_DIR";
    /// `0`/`false` silences the shutdown summary, `1`/`true` forces it with an OTLP endpoint.
    pub const FACTORY_OBS_SUMMARY: &str = "FACTORY_OBS_SUMMARY";
    /// A TOML or JSON file of model prices, over the bundled ones.
    pub const FACTORY_OBS_PRICING: &str = "FACTORY_OBS_PRICING";
    /// `true` names LLM spans `{operation} {model}`, the GenAI way.
    pub const FACTORY_OBS_GENAI_SPAN_NAMES: &str = "FACTORY_OBS_GENAI_SPAN_NAMES";
}

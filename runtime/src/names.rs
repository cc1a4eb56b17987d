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
}

/// Span event names.
pub mod event {
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
    /// Unit of every duration histogram.
    pub const UNIT_SECONDS: &str = "s";
    /// Bucket boundaries of the duration histograms, in seconds: factory stages last from
    /// milliseconds (a lint) to many minutes (an LLM implementing a feature).
    pub const DURATION_BUCKETS_S: &[f64] = &[
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
        600.0, 1800.0, 3600.0,
    ];
}

/// Environment variables read by [`crate::init`] besides the standard `OTEL_*` ones.
pub mod env {
    /// Directory of the embedded default's OTLP/JSON files (default `./telemetry`).
    pub const FACTORY_OBS_DIR: &str = "FACTORY_OBS_DIR";
    /// `0`/`false` silences the shutdown summary, `1`/`true` forces it with an OTLP endpoint.
    pub const FACTORY_OBS_SUMMARY: &str = "FACTORY_OBS_SUMMARY";
}

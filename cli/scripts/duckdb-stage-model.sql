-- The stage and model tables of `factory-obs report`, answered by DuckDB from the same
-- OTLP/JSON file (cli/scripts/bench-duckdb.sh, where `{input}` becomes the path).
-- Semantics as in factory-obs: a stage attempt failed when its status is ERROR with a message or
-- its `stage.outcome` is not success, skip or empty; a retry is an attempt above 1; an LLM call is
-- any span with `llm.provider`; percentiles are nearest-rank (`quantile_disc`).

-- One read of the file into a table of the fields the two tables need (the schema given, so
-- nothing is sampled and other fields are skipped), then one query per table.
CREATE OR REPLACE TEMP TABLE spans AS
WITH requests AS (
    SELECT unnest(resourceSpans) AS rs
    FROM read_ndjson('{input}', records = 'true', maximum_object_size = 268435456, columns = {
        resourceSpans: 'STRUCT(scopeSpans STRUCT(spans STRUCT(
            name VARCHAR, startTimeUnixNano VARCHAR, endTimeUnixNano VARCHAR,
            status STRUCT(code INTEGER, message VARCHAR),
            attributes STRUCT(key VARCHAR, value STRUCT(
                stringValue VARCHAR, intValue VARCHAR, doubleValue DOUBLE))[]
        )[])[])[]'
    })
), scopes AS (
    SELECT unnest(rs.scopeSpans) AS ss FROM requests
), raw AS (
    SELECT unnest(ss.spans) AS s FROM scopes
)
SELECT
    s.name AS name,
    CAST(s.endTimeUnixNano AS UBIGINT) - CAST(s.startTimeUnixNano AS UBIGINT) AS nanos,
    s.status.code AS code,
    coalesce(s.status.message, '') AS message,
    s.attributes AS attributes
FROM raw
WHERE s.name = 'pipeline.stage' OR list_contains(list_transform(s.attributes, lambda a: a.key), 'llm.provider');

CREATE OR REPLACE TEMP MACRO attr(attributes, wanted) AS
    list_filter(attributes, lambda a: a.key = wanted)[1].value;

-- stages
SELECT
    attr(attributes, 'stage.name').stringValue AS stage,
    count(*) AS count,
    quantile_disc(nanos, 0.50) AS p50_nanos,
    quantile_disc(nanos, 0.95) AS p95_nanos,
    quantile_disc(nanos, 0.99) AS p99_nanos,
    max(nanos) AS max_nanos,
    count(*) FILTER (
        WHERE (code = 2 AND message <> '')
           OR coalesce(attr(attributes, 'stage.outcome').stringValue, '') NOT IN ('success', 'skip', '')
    ) AS failures,
    count(*) FILTER (WHERE CAST(attr(attributes, 'stage.attempt').intValue AS BIGINT) > 1) AS retries
FROM spans
WHERE name = 'pipeline.stage'
GROUP BY stage
ORDER BY stage;

-- models
SELECT
    attr(attributes, 'llm.provider').stringValue AS provider,
    attr(attributes, 'llm.model').stringValue AS model,
    count(*) AS calls,
    sum(CAST(attr(attributes, 'llm.prompt_tokens').intValue AS BIGINT)) AS input_tokens,
    sum(CAST(attr(attributes, 'llm.completion_tokens').intValue AS BIGINT)) AS output_tokens,
    sum(attr(attributes, 'llm.cost_usd').doubleValue) AS cost_usd,
    quantile_disc(nanos, 0.50) AS p50_nanos,
    quantile_disc(nanos, 0.95) AS p95_nanos,
    quantile_disc(nanos, 0.99) AS p99_nanos
FROM spans
WHERE attr(attributes, 'llm.provider') IS NOT NULL
GROUP BY provider, model
ORDER BY provider, model;

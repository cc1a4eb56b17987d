//! The behaviour tests of factory-observability, one module per capability, in one test binary:
//! each binary links the whole runtime, and linking ~35 of them dominated the suite's time.
//! Tests that need a process of their own (`init`, `OTEL_*` variables, memory figures) run
//! themselves again in a child process (`factory_observability_tests::isolated`).
//!
//! Run one module with `cargo test -p factory-observability-tests --test suite <module>::`.

mod adjudicate;
mod agents;
mod agents_collector;
mod agents_concurrency;
mod blackhole;
mod child_process;
mod content_capture;
mod deploy_grafana;
mod deploy_kit;
mod deploy_prometheus;
mod docs;
mod export_thread;
mod faults_healthy;
mod faults_links;
mod faults_outage;
mod faults_shutdown;
mod faults_stack;
mod handler;
mod health;
mod hostile_http;
mod hostile_http_limits;
mod http_client;
mod http_harness;
mod http_server;
mod init_in_async_main;
mod layers;
mod llm_call;
mod llm_stream;
mod mcp_fixture;
mod overflow;
mod pipeline_cicd;
mod pipeline_impl;
mod pipeline_run;
mod pipeline_stage;
mod prometheus_scrape;
mod propagation_properties;
mod sampling;
mod secrets;
mod secrets_collector;
mod secrets_everywhere;
mod span_queue_bytes;
mod test_quality;
mod tracing_bridge;
mod user_faults;
mod w3c_over_http;
mod w3c_trace_context;

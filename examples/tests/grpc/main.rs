//! OTLP/gRPC end to end (cargo feature `grpc`): the collector, TLS through nginx, inside the
//! program's own tokio runtime, and retries against a tonic server of the test's own. Run with
//! `cargo test -p factory-observability-examples --features grpc --test grpc`.

mod export_grpc;
mod export_grpc_retry;
mod export_grpc_tokio;

//! The examples' end-to-end tests in one test binary (each binary links the whole runtime): the
//! factory and the product run as child processes against the real collector, Prometheus,
//! nginx and tinyproxy. Run one module with
//! `cargo test -p factory-observability-examples --test suite <module>::`.

mod browser_abuse;
mod browser_page;
mod deploy_live;
mod e2e_collector;
mod embedded_default;
mod export_https;
mod export_proxy;
mod export_transport;
mod export_user_reqwest;
mod product_service;
mod provenance_live;
mod provenance_python;
mod traceparent_from_environment;

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
mod foreign_product;
mod product_service;
mod provenance_live;
mod provenance_node;
mod provenance_python;
mod traceparent_from_environment;

/// Runs `factory-obs ARGS DIR` in this process; its exit code, stdout and stderr.
pub(crate) fn factory_obs_json(args: &[&str], dir: &std::path::Path) -> (u8, String, String) {
    use clap::Parser as _;
    let mut argv = vec!["factory-obs".to_owned()];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv.push(dir.display().to_string());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = factory_obs::commands::run(factory_obs::Cli::parse_from(argv), &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

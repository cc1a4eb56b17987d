//! A Python product deployed by the factory carries the run's provenance through the
//! OpenTelemetry Python SDK alone (issue 20): the factory example's smoke stage starts
//! `examples/product_python/product.py` (`FACTORY_PIPELINE_PRODUCT_COMMAND`) as it starts
//! `product_service`, with the run's provenance in `OTEL_RESOURCE_ATTRIBUTES`; the SDK's
//! `Resource.create()` reads and percent-decodes it ("Specifying resource information via an
//! environment variable", resource SDK specification), and every span the product sends to the
//! real collector (rotel, on loopback) names the run, the pipeline, the candidate, the models
//! and the revision. Its SERVER spans are the children of the smoke stage's CLIENT spans.
//!
//! Needs `rotel-agent` (`scripts/install-collector.sh`) and a python with the OpenTelemetry SDK:
//! `$OTEL_PYTHON`, else what `scripts/install-otel-python.sh` prints (it installs it).

use crate::foreign_product::{
    assert_provenance_and_parents, deploy, resource, run_installer, SMOKE_SPAN_NAMES,
};
use std::path::{Path, PathBuf};

/// The variable naming the python to run the product with.
const OTEL_PYTHON_ENV: &str = "OTEL_PYTHON";

/// `$OTEL_PYTHON`, else the project's installer's python (idempotent; pins the versions).
fn otel_python() -> PathBuf {
    if let Some(path) = std::env::var_os(OTEL_PYTHON_ENV) {
        return PathBuf::from(path);
    }
    let lines = run_installer(
        "install-otel-python.sh",
        &format!(
            "{OTEL_PYTHON_ENV} to a python with opentelemetry-sdk and \
             opentelemetry-exporter-otlp-proto-http"
        ),
    );
    lines
        .into_iter()
        .next()
        .expect("scripts/install-otel-python.sh printed no python")
}

#[test]
fn a_python_product_deployed_by_the_factory_names_the_run_that_built_it() {
    let python = otel_python();
    let product = Path::new(env!("CARGO_MANIFEST_DIR")).join("product_python/product.py");
    let deployed = deploy(
        "provenance-python",
        "product-py",
        format!("{} {}", python.display(), product.display()),
        &[],
    );
    let names: Vec<&str> = deployed.product.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, SMOKE_SPAN_NAMES, "{:#?}", deployed.product);
    for span in &deployed.product {
        // Written by the Python SDK, not this crate.
        assert_eq!(resource(span, "telemetry.sdk.language"), "python");
        assert_eq!(span.scope, "product-py");
    }
    assert_provenance_and_parents(&deployed);
}

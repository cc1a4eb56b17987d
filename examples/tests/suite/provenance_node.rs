//! A Node product deployed by the factory carries the run's provenance through the
//! OpenTelemetry JS SDK alone (issue 20): the factory example's smoke stage starts
//! `examples/product_node/product.js` (`FACTORY_PIPELINE_PRODUCT_COMMAND`) as it starts
//! `product_service`, with the run's provenance in `OTEL_RESOURCE_ATTRIBUTES`; the SDK's
//! `envDetector` reads and percent-decodes it ("Specifying resource information via an
//! environment variable", resource SDK specification), and every span the product sends to the
//! real collector (rotel, on loopback) names the run, the pipeline, the candidate, the models
//! and the revision. Its SERVER spans, made by `@opentelemetry/instrumentation-http` from the
//! request's `traceparent`, are the children of the smoke stage's CLIENT spans, and are named
//! `{method} {http.route}` (HTTP semantic conventions, "Name" of HTTP server spans) from the
//! route the product gives the instrumentation.
//!
//! Needs `rotel-agent` (`scripts/install-collector.sh`), node, and the modules
//! `examples/product_node/package-lock.json` pins: `$OTEL_NODE` and `$OTEL_NODE_MODULES`, else
//! what `scripts/install-otel-node.sh` prints (it installs them).

use crate::foreign_product::{
    assert_provenance_and_parents, deploy, resource, run_installer, text, SMOKE_SPAN_NAMES,
};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The variables naming node and the `node_modules` directory to run the product with.
const OTEL_NODE_ENV: &str = "OTEL_NODE";
const OTEL_NODE_MODULES_ENV: &str = "OTEL_NODE_MODULES";

/// `$OTEL_NODE` and `$OTEL_NODE_MODULES`, else the project's installer's (idempotent; the
/// lockfile pins the versions).
fn otel_node() -> (PathBuf, PathBuf) {
    if let (Some(node), Some(modules)) = (
        std::env::var_os(OTEL_NODE_ENV),
        std::env::var_os(OTEL_NODE_MODULES_ENV),
    ) {
        return (PathBuf::from(node), PathBuf::from(modules));
    }
    let lines = run_installer(
        "install-otel-node.sh",
        &format!(
            "{OTEL_NODE_ENV} to node and {OTEL_NODE_MODULES_ENV} to a node_modules holding what \
             examples/product_node/package-lock.json pins"
        ),
    );
    match <[PathBuf; 2]>::try_from(lines) {
        Ok([node, modules]) => (node, modules),
        Err(lines) => {
            panic!("scripts/install-otel-node.sh printed {lines:?}, not node and modules")
        }
    }
}

/// The version of `@opentelemetry/instrumentation-http` the product's package.json pins: its
/// spans' instrumentation scope.
fn instrumentation_http_version(product: &Path) -> String {
    let manifest = std::fs::read_to_string(product.join("package.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    manifest["dependencies"]["@opentelemetry/instrumentation-http"]
        .as_str()
        .expect("package.json pins @opentelemetry/instrumentation-http")
        .to_owned()
}

#[test]
fn a_node_product_deployed_by_the_factory_names_the_run_that_built_it() {
    let (node, modules) = otel_node();
    let product = Path::new(env!("CARGO_MANIFEST_DIR")).join("product_node");
    let deployed = deploy(
        "provenance-node",
        "product-node",
        format!(
            "{} {}",
            node.display(),
            product.join("product.js").display()
        ),
        // CommonJS `require` finds the pinned modules through NODE_PATH; nothing of this
        // process's node options.
        &[
            ("NODE_PATH", modules.into_os_string()),
            ("NODE_OPTIONS", OsString::new()),
        ],
    );
    let names: Vec<&str> = deployed.product.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, SMOKE_SPAN_NAMES, "{:#?}", deployed.product);

    let scope = format!(
        "@opentelemetry/instrumentation-http {}",
        instrumentation_http_version(&product)
    );
    let routes = ["/health", "/tasks", "/tasks/{id}"];
    let statuses = ["Int(200)", "Int(201)", "Int(200)"];
    for ((span, route), status) in deployed.product.iter().zip(routes).zip(statuses) {
        // Written by the JS SDK and its HTTP instrumentation, not this crate.
        assert_eq!(resource(span, "telemetry.sdk.language"), "nodejs");
        assert_eq!(resource(span, "telemetry.sdk.name"), "opentelemetry");
        assert_eq!(span.scope, scope);
        assert_eq!(text(&span.attributes["http.route"]), route, "{span:#?}");
        assert_eq!(span.attributes["http.response.status_code"], status);
        assert_eq!(
            text(&span.attributes["http.request.method"]),
            span.name.split(' ').next().unwrap()
        );
    }
    assert_provenance_and_parents(&deployed);
}

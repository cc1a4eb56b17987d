//! The CI/CD and VCS names of `factory_observability_names` against the semantic conventions'
//! lists, as read from the semantic-conventions repository (docs/registry/attributes/cicd.md,
//! "CI/CD Pipeline Attributes"; docs/registry/attributes/vcs.md, "VCS Repository Attributes";
//! docs/cicd/cicd-metrics.md, "CICD Metrics"; docs/cicd/cicd-spans.md, "Pipeline run" and
//! "Pipeline task run"). A misspelt key in `names/src/lib.rs` fails here: every `cicd.*` and
//! `vcs.*` string the source defines must be one of the conventions' names.

use factory_observability_names::{cicd, prometheus, provenance, vcs};
use std::collections::BTreeSet;

/// "CI/CD Pipeline Attributes" (docs/registry/attributes/cicd.md), every key of the table.
const CICD_REGISTRY: &[&str] = &[
    "cicd.pipeline.action.name",
    "cicd.pipeline.name",
    "cicd.pipeline.result",
    "cicd.pipeline.run.id",
    "cicd.pipeline.run.state",
    "cicd.pipeline.run.url.full",
    "cicd.pipeline.task.name",
    "cicd.pipeline.task.run.id",
    "cicd.pipeline.task.run.result",
    "cicd.pipeline.task.run.url.full",
    "cicd.pipeline.task.type",
    "cicd.system.component",
    "cicd.worker.id",
    "cicd.worker.name",
    "cicd.worker.state",
    "cicd.worker.url.full",
];

/// "CICD Metrics" (docs/cicd/cicd-metrics.md): name, instrument, unit.
const CICD_METRICS: &[(&str, &str, &str)] = &[
    ("cicd.pipeline.run.duration", "Histogram", "s"),
    ("cicd.pipeline.run.active", "UpDownCounter", "{run}"),
    ("cicd.worker.count", "UpDownCounter", "{count}"),
    ("cicd.pipeline.run.errors", "Counter", "{error}"),
    ("cicd.system.errors", "Counter", "{error}"),
];

/// "VCS Repository Attributes" (docs/registry/attributes/vcs.md), every key that is not
/// deprecated.
const VCS_REGISTRY: &[&str] = &[
    "vcs.change.id",
    "vcs.change.state",
    "vcs.change.title",
    "vcs.line_change.type",
    "vcs.owner.name",
    "vcs.provider.name",
    "vcs.ref.base.name",
    "vcs.ref.base.revision",
    "vcs.ref.base.type",
    "vcs.ref.head.name",
    "vcs.ref.head.revision",
    "vcs.ref.head.type",
    "vcs.ref.type",
    "vcs.repository.name",
    "vcs.repository.url.full",
    "vcs.revision_delta.direction",
];

/// `pub const NAME: &str = "value";` strings of `module` in the names crate's source.
fn strings_of_module(module: &str) -> Vec<(String, String)> {
    let source = include_str!("../src/lib.rs");
    let start = source
        .find(&format!("pub mod {module} {{"))
        .unwrap_or_else(|| panic!("no `pub mod {module}` in names/src/lib.rs"));
    let body = &source[start..];
    let end = body.find("\n}\n").expect("the module closes");
    let mut strings = Vec::new();
    let mut pending = String::new();
    for line in body[..end].lines().map(str::trim) {
        if line.starts_with("pub const ") || !pending.is_empty() {
            pending.push_str(line);
            if !pending.ends_with(';') {
                continue;
            }
            let statement = std::mem::take(&mut pending);
            if let Some((head, value)) = statement.split_once(": &str = \"") {
                let name = head.trim_start_matches("pub const ").to_owned();
                strings.push((name, value.trim_end_matches("\";").to_owned()));
            }
        }
    }
    strings
}

#[test]
fn every_cicd_key_is_in_the_registry() {
    let keys: Vec<(String, String)> = strings_of_module("cicd")
        .into_iter()
        .filter(|(_, value)| value.starts_with("cicd."))
        .filter(|(_, value)| !CICD_METRICS.iter().any(|(metric, _, _)| metric == value))
        .collect();
    assert!(keys.len() >= 11, "read too few keys: {keys:?}");
    for (name, key) in &keys {
        assert!(
            CICD_REGISTRY.contains(&key.as_str()),
            "cicd::{name} = {key:?} is not an attribute of the CI/CD registry"
        );
    }
}

#[test]
fn every_cicd_metric_is_one_of_the_conventions_with_its_unit() {
    let registry: BTreeSet<&str> = CICD_METRICS.iter().map(|(name, _, _)| *name).collect();
    let ours: Vec<(String, String)> = strings_of_module("cicd")
        .into_iter()
        .filter(|(name, _)| {
            name.starts_with("CICD_PIPELINE_RUN_") && {
                let metric = name.as_str();
                metric.ends_with("_DURATION")
                    || metric.ends_with("_ACTIVE")
                    || metric.ends_with("_ERRORS")
            }
        })
        .collect();
    assert_eq!(ours.len(), 3, "{ours:?}");
    for (name, metric) in &ours {
        assert!(
            registry.contains(metric.as_str()),
            "cicd::{name} = {metric:?} is not a metric of the CI/CD conventions"
        );
    }
    for (metric, unit) in [
        (cicd::CICD_PIPELINE_RUN_DURATION, "s"),
        (cicd::CICD_PIPELINE_RUN_ACTIVE, cicd::UNIT_RUNS),
        (cicd::CICD_PIPELINE_RUN_ERRORS, cicd::UNIT_ERRORS),
    ] {
        let (_, _, convention_unit) = CICD_METRICS
            .iter()
            .find(|(name, _, _)| *name == metric)
            .unwrap();
        assert_eq!(unit, *convention_unit, "{metric}");
        let entry = prometheus::CATALOGUE
            .iter()
            .find(|entry| entry.name == metric)
            .unwrap_or_else(|| panic!("{metric} is not in prometheus::CATALOGUE"));
        assert_eq!(entry.unit, unit, "{metric}");
    }
}

#[test]
fn every_vcs_key_is_in_the_registry() {
    let keys: Vec<(String, String)> = strings_of_module("vcs")
        .into_iter()
        .filter(|(_, value)| value.starts_with("vcs."))
        .collect();
    assert_eq!(keys.len(), 7, "{keys:?}");
    for (name, key) in &keys {
        assert!(
            VCS_REGISTRY.contains(&key.as_str()),
            "vcs::{name} = {key:?} is not an attribute of the VCS registry"
        );
    }
}

/// The value lists, as the tables under each attribute list them.
#[test]
fn value_lists_are_the_conventions() {
    // `cicd.pipeline.result` / `cicd.pipeline.task.run.result` ("has the following list of
    // well-known values").
    assert_eq!(
        cicd::RESULT_VALUES,
        [
            "cancellation",
            "error",
            "failure",
            "skip",
            "success",
            "timeout"
        ]
    );
    assert_eq!(cicd::TASK_TYPE_VALUES, ["build", "deploy", "test"]);
    assert_eq!(cicd::ACTION_VALUES, ["BUILD", "RUN", "SYNC"]);
    assert!(cicd::ACTION_VALUES.contains(&cicd::ACTION_BUILD));
    // `cicd.pipeline.run.state`: `executing`, `finalizing`, `pending`.
    assert!(["executing", "finalizing", "pending"].contains(&cicd::RUN_STATE_EXECUTING));
    assert_eq!(vcs::REF_TYPE_VALUES, ["branch", "tag"]);
    assert!(vcs::REF_TYPE_VALUES.contains(&vcs::REF_TYPE_BRANCH));
    assert!(vcs::REF_TYPE_VALUES.contains(&vcs::REF_TYPE_TAG));
    assert_eq!(
        vcs::PROVIDER_VALUES,
        ["bitbucket", "gitea", "github", "gitlab"]
    );
}

/// Provenance's own names stay out of the conventions' namespaces, and its metric labels are
/// resource attributes it defines or the conventions' revision.
#[test]
fn provenance_names_are_ours_and_not_the_conventions() {
    for (name, key) in strings_of_module("provenance") {
        assert!(
            key.starts_with("factory."),
            "provenance::{name} = {key:?} is outside the `factory.` namespace"
        );
        assert!(!CICD_REGISTRY.contains(&key.as_str()) && !VCS_REGISTRY.contains(&key.as_str()));
    }
    for label in provenance::METRIC_LABELS {
        assert!(
            label.starts_with("factory.") || VCS_REGISTRY.contains(label),
            "{label}"
        );
    }
}

/// The reader of the source finds what the compiled crate holds (so that the checks above read
/// the real constants).
#[test]
fn the_source_reader_sees_the_compiled_constants() {
    let cicd_strings = strings_of_module("cicd");
    for compiled in [
        cicd::CICD_PIPELINE_RESULT,
        cicd::CICD_PIPELINE_TASK_RUN_URL_FULL,
    ] {
        assert!(
            cicd_strings.iter().any(|(_, value)| value == compiled),
            "{compiled}"
        );
    }
    assert!(strings_of_module("vcs")
        .iter()
        .any(|(_, value)| value == vcs::VCS_REPOSITORY_URL_FULL));
}

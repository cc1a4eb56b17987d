//! The deploy kit's Prometheus and Alertmanager files, checked by the real tools: `promtool`
//! (Debian's `prometheus` 2.42) and `amtool` (`prometheus-alertmanager` 0.25), installed by
//! `scripts/install-prometheus-tools.sh` (called by `scripts/test.sh`). Every alert rule has
//! a `promtool test rules` case where it fires and one where it stays silent; every dashboard
//! expression parses.

use factory_observability_tests::deploy::kit;
use factory_observability_tests::deploy::kit::tool;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `tool args`, in `deploy/`, and returns its output; fails with the output when the tool does.
fn run(name: &str, args: &[&str]) -> String {
    let output = Command::new(tool(name))
        .args(args)
        .current_dir(kit::dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{name} {}:\n{text}",
        args.join(" ")
    );
    text
}

fn relative(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| {
            p.strip_prefix(kit::dir())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn prometheus_config_is_valid() {
    let out = run(
        "promtool",
        &["check", "config", "prometheus/prometheus.yml"],
    );
    assert!(
        out.contains("SUCCESS: prometheus/prometheus.yml is valid"),
        "{out}"
    );
    assert!(out.contains("SUCCESS: 4 rule files found"), "{out}");
}

#[test]
fn rules_are_valid() {
    let files = relative(&kit::files("prometheus/rules", "yml"));
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = run("promtool", &args);
    assert_eq!(out.matches("SUCCESS").count(), files.len(), "{out}");
}

#[test]
fn rule_unit_tests_pass() {
    let files = relative(&kit::files("prometheus/tests", "yml"));
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = run("promtool", &args);
    assert_eq!(out.matches("SUCCESS").count(), files.len(), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
}

#[test]
fn rule_unit_tests_fail_when_a_rule_is_wrong() {
    // The unit tests can fail: with the failure-ratio threshold raised above every synthetic
    // ratio, the test that expects it to fire must fail.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-broken-rules");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    let rules = std::fs::read_to_string(kit::dir().join("prometheus/rules/factory.yml")).unwrap();
    let broken = rules.replacen("> 0.5\n", "> 0.9\n", 1);
    assert_ne!(broken, rules, "the threshold to break was not found");
    std::fs::write(dir.join("rules/factory.yml"), broken).unwrap();
    std::fs::copy(
        kit::dir().join("prometheus/tests/factory_test.yml"),
        dir.join("tests/factory_test.yml"),
    )
    .unwrap();
    let output = Command::new(tool("promtool"))
        .args(["test", "rules", "tests/factory_test.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("alertname: PipelineFailureRatioHigh"),
        "{text}"
    );
}

#[test]
fn every_alert_has_a_firing_and_a_silent_unit_test() {
    // alert -> (fires somewhere, silent somewhere). Silent: an evaluation expecting no alert,
    // or a firing evaluation whose input has series of more label sets than alerts expected
    // (promtool fails on an unexpected alert, so the other series are proven silent).
    let mut seen: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for path in kit::files("prometheus/tests", "yml") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc = kit::yaml(&format!("prometheus/tests/{name}"));
        for test in doc["tests"].as_sequence().unwrap() {
            let label_sets: std::collections::BTreeSet<String> = test["input_series"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|s| {
                    // A series without its `le` and `outcome`/status: the alert's grouping.
                    let series = s["series"].as_str().unwrap();
                    series
                        .split(['{', '}', ','])
                        .filter(|part| {
                            !part.starts_with("le=")
                                && !part.starts_with("outcome=")
                                && !part.starts_with("http_response_status_code=")
                                && !part.starts_with("http_request_method=")
                                && !part.starts_with("error_type=")
                        })
                        .skip(1)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let alert = case["alertname"].as_str().unwrap().to_owned();
                let expected = case["exp_alerts"].as_sequence().map(Vec::len).unwrap_or(0);
                let entry = seen.entry(alert).or_default();
                if expected == 0 {
                    entry.1 = true;
                } else {
                    entry.0 = true;
                    if label_sets.len() > expected {
                        entry.1 = true;
                    }
                }
            }
        }
    }
    for rule in kit::rule_expressions() {
        let Some(alert) = rule.alert else { continue };
        let (fires, silent) = seen.get(&alert).copied().unwrap_or_default();
        assert!(fires, "{}: no promtool test where it fires", rule.origin);
        assert!(
            silent,
            "{}: no promtool test where it stays silent",
            rule.origin
        );
    }
}

#[test]
fn every_rule_file_is_unit_tested() {
    let mut tested = Vec::new();
    for path in kit::files("prometheus/tests", "yml") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc = kit::yaml(&format!("prometheus/tests/{name}"));
        for file in doc["rule_files"].as_sequence().unwrap() {
            tested.push(
                Path::new(file.as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    for path in kit::files("prometheus/rules", "yml") {
        assert!(
            tested.contains(&path.file_name().unwrap().to_owned()),
            "{} has no promtool unit test",
            path.display()
        );
    }
}

#[test]
fn alertmanager_config_is_valid_with_a_route_per_severity() {
    let out = run("amtool", &["check-config", "alertmanager/alertmanager.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
    let config = kit::yaml("alertmanager/alertmanager.yml");
    let routes: Vec<String> = config["route"]["routes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r["matchers"][0].as_str().unwrap().to_owned())
        .collect();
    let mut severities: Vec<String> = kit::rule_expressions()
        .iter()
        .filter(|r| r.alert.is_some())
        .map(|r| severity_of(&r.owner))
        .collect();
    severities.sort();
    severities.dedup();
    assert_eq!(severities, ["critical", "info", "warning"]);
    for severity in severities {
        assert!(
            routes.contains(&format!("severity=\"{severity}\"")),
            "no Alertmanager route for severity {severity}: {routes:?}"
        );
    }
}

fn severity_of(alert: &str) -> String {
    for path in kit::files("prometheus/rules", "yml") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc: Value = kit::yaml(&format!("prometheus/rules/{name}"));
        for group in doc["groups"].as_sequence().unwrap() {
            for rule in group["rules"].as_sequence().unwrap() {
                if rule["alert"].as_str() == Some(alert) {
                    return rule["labels"]["severity"]
                        .as_str()
                        .expect("severity label")
                        .to_owned();
                }
            }
        }
    }
    panic!("no alert {alert}");
}

#[test]
fn every_dashboard_expression_parses() {
    // promtool parses rule expressions: each panel target and variable selector becomes a
    // recording rule (Grafana's variables replaced by values Prometheus accepts).
    let expressions = kit::dashboard_expressions();
    assert!(
        expressions.len() >= 40,
        "found {} dashboard expressions",
        expressions.len()
    );
    let rules: Vec<serde_json::Value> = expressions
        .iter()
        .enumerate()
        .map(|(i, e)| serde_json::json!({"record": format!("dashboard:expression_{i}"), "expr": kit::substitute_variables(&e.expr)}))
        .collect();
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-dashboard-expressions.yml");
    // JSON is YAML: promtool reads it.
    std::fs::write(
        &file,
        serde_json::json!({"groups": [{"name": "dashboards", "rules": rules}]}).to_string(),
    )
    .unwrap();
    let output = Command::new(tool("promtool"))
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let listing: Vec<String> = expressions
            .iter()
            .enumerate()
            .map(|(i, e)| format!("expression_{i}: {}", e.origin))
            .collect();
        panic!("{text}\n{}", listing.join("\n"));
    }
    assert!(
        text.contains(&format!("SUCCESS: {} rules found", expressions.len())),
        "{text}"
    );
}

#[test]
fn dashboards_have_the_variables_users_filter_by() {
    let mut variables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, dashboard) in kit::dashboards() {
        let uid = dashboard["uid"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no uid", path.display()))
            .to_owned();
        assert_eq!(dashboard["schemaVersion"], 39, "{uid}");
        let names = dashboard["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect();
        variables.insert(uid.clone(), names);
        for panel in kit::panels(&dashboard) {
            if panel["type"] == "row" {
                continue;
            }
            assert_eq!(
                panel["datasource"]["uid"], "prometheus",
                "{uid}: {}",
                panel["title"]
            );
            assert!(
                !panel["targets"].as_array().unwrap().is_empty(),
                "{uid}: {} has no query",
                panel["title"]
            );
            // A variable used in a query is defined on the dashboard.
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for word in expr.split('$').skip(1) {
                    let name: String = word
                        .trim_start_matches('{')
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.starts_with("__") {
                        assert!(
                            variables[&uid].contains(&name),
                            "{uid}: {} uses ${name}, not defined",
                            panel["title"]
                        );
                    }
                }
            }
        }
    }
    let expected: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("factory-pipeline-overview", &["pipeline"][..]),
        ("factory-stage-performance", &["stage"][..]),
        ("factory-llm-usage", &["model"][..]),
        ("factory-test-quality", &["stage"][..]),
        ("product-service", &["service", "route"][..]),
        ("factory-agents-tools", &["agent", "tool"][..]),
    ]);
    assert_eq!(variables.len(), expected.len(), "{variables:?}");
    for (uid, names) in expected {
        assert_eq!(variables[uid], names, "{uid}");
    }
}

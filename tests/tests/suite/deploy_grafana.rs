//! The Grafana dashboards of the deploy kit (`deploy/grafana/`) load as provisioned: every
//! datasource they name is provisioned with that type, every variable they use is defined (before
//! the variable that uses it), a multi-value variable is matched with `=~`, titles and uids are
//! unique (Grafana's file provisioner refuses two dashboards of one title in one folder), and the
//! panels fit the 24-column grid without overlapping. No Grafana runs here: these read the files.

use factory_observability_tests::deploy::kit;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The provisioned datasources: uid -> type.
fn provisioned_datasources() -> BTreeMap<String, String> {
    let provisioning = kit::yaml("grafana/provisioning/datasources/datasources.yml");
    provisioning["datasources"]
        .as_sequence()
        .expect("datasources")
        .iter()
        .map(|d| {
            (
                d["uid"]
                    .as_str()
                    .expect("a provisioned datasource has a uid")
                    .to_owned(),
                d["type"].as_str().expect("and a type").to_owned(),
            )
        })
        .collect()
}

/// Every `datasource` object in `value`, with where it is.
fn datasources<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "datasource" {
                    found.push((at.clone(), inner));
                } else {
                    datasources(inner, format!("{at}.{key}"), found);
                }
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                datasources(inner, format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// Every string in `value`, with where it is.
fn strings<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(text) => found.push((at, text)),
        Value::Object(map) => {
            for (key, inner) in map {
                strings(inner, format!("{at}.{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                strings(inner, format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// The variables a text refers to: `$name`, `${name}`, `${name:format}`, `[[name]]`; Grafana's
/// own (`$__rate_interval`, `$__range`, ...) left out.
fn variable_references(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(['$', '[']) {
        let after = &rest[i + 1..];
        let name_of = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        let name = match (&rest[i..i + 1], after.chars().next()) {
            ("$", Some('{')) => name_of(&after[1..]),
            ("$", _) => name_of(after),
            ("[", Some('[')) => name_of(&after[1..]),
            _ => String::new(),
        };
        if !name.is_empty() && !name.starts_with("__") {
            found.insert(name);
        }
        rest = after;
    }
    found
}

#[test]
fn variable_references_are_found_in_every_syntax() {
    let found = variable_references(
        r#"rate(x{a=~"$one", b=~"${two:regex}", c="[[three]]"}[$__rate_interval]) ${four} [5m]"#,
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["four", "one", "three", "two"]
    );
}

#[test]
fn every_datasource_a_dashboard_names_is_provisioned_with_that_type() {
    let provisioned = provisioned_datasources();
    assert_eq!(
        provisioned.get("prometheus").map(String::as_str),
        Some("prometheus"),
        "{provisioned:?}"
    );
    for (path, dashboard) in kit::dashboards() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut found = Vec::new();
        datasources(&dashboard, file.clone(), &mut found);
        let mut panels_with_queries = 0;
        for panel in kit::panels(&dashboard) {
            if panel["targets"].as_array().is_some_and(|t| !t.is_empty()) {
                panels_with_queries += 1;
                assert!(
                    panel["datasource"].is_object(),
                    "{file}: panel {} has queries but no datasource",
                    panel["title"]
                );
            }
        }
        assert!(
            found.len() > panels_with_queries,
            "{file}: {} datasources for {panels_with_queries} panels with queries",
            found.len()
        );
        for (at, datasource) in found {
            let uid = datasource["uid"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: a datasource without a uid: {datasource}"));
            let kind = datasource["type"].as_str().unwrap_or_default();
            // Grafana's own annotations source is built in, not provisioned.
            if uid == "-- Grafana --" || uid == "grafana" {
                continue;
            }
            assert_eq!(
                provisioned.get(uid).map(String::as_str),
                Some(kind),
                "{at}: datasource {datasource} is not provisioned with that uid and type ({provisioned:?})"
            );
        }
    }
}

#[test]
fn every_variable_used_is_defined_before_its_use_and_matched_as_a_regex() {
    for (path, dashboard) in kit::dashboards() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let variables = dashboard["templating"]["list"].as_array().unwrap();
        let mut defined: Vec<String> = Vec::new();
        let mut multi = BTreeSet::new();
        // A variable's own query may read only the variables above it (Grafana resolves them in
        // order).
        for variable in variables {
            let name = variable["name"].as_str().unwrap().to_owned();
            let mut texts = Vec::new();
            strings(&variable["query"], format!("{file}: ${name}"), &mut texts);
            strings(
                &variable["definition"],
                format!("{file}: ${name}"),
                &mut texts,
            );
            for (at, text) in texts {
                for used in variable_references(text) {
                    assert!(
                        defined.contains(&used),
                        "{at}: uses ${used}, not defined above it"
                    );
                }
            }
            if variable["multi"] == true || variable["includeAll"] == true {
                // "All" must stand for every value as a regex, not Grafana's `{a,b}` glob.
                assert_eq!(variable["allValue"], ".*", "{file}: ${name}");
                multi.insert(name.clone());
            }
            defined.push(name);
        }
        let mut texts = Vec::new();
        strings(&dashboard["panels"], format!("{file}: panels"), &mut texts);
        strings(
            &dashboard["annotations"],
            format!("{file}: annotations"),
            &mut texts,
        );
        strings(&dashboard["title"], format!("{file}: title"), &mut texts);
        let mut used_anywhere = BTreeSet::new();
        for (at, text) in &texts {
            for used in variable_references(text) {
                assert!(
                    defined.contains(&used),
                    "{at}: uses ${used}, not defined on the dashboard ({defined:?})"
                );
                used_anywhere.insert(used);
            }
            // A multi-value variable expands to `a|b`: only a regex matcher reads that.
            for name in &multi {
                for form in [
                    format!("\"${name}\""),
                    format!("\"${{{name}}}\""),
                    format!("\"${{{name}:"),
                ] {
                    if let Some(i) = text.find(&form) {
                        let before = text[..i].trim_end();
                        assert!(
                            before.ends_with("=~") || before.ends_with("!~"),
                            "{at}: ${name} (multi-value) is matched with `{}`, not `=~`: {text}",
                            if before.ends_with("!=") { "!=" } else { "=" }
                        );
                    }
                }
            }
        }
        for name in &defined {
            assert!(
                used_anywhere.contains(name)
                    || variables.iter().any(|v| {
                        let mut texts = Vec::new();
                        strings(&v["query"], String::new(), &mut texts);
                        texts
                            .iter()
                            .any(|(_, t)| variable_references(t).contains(name))
                    }),
                "{file}: ${name} is defined but no panel or variable uses it"
            );
        }
    }
}

#[test]
fn dashboards_have_unique_uids_and_titles_and_panels_unique_ids() {
    let mut uids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    let dashboards = kit::dashboards();
    assert!(dashboards.len() >= 5, "{} dashboards", dashboards.len());
    for (path, dashboard) in &dashboards {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let uid = dashboard["uid"].as_str().unwrap();
        // Grafana's limit for a uid.
        assert!(uid.len() <= 40, "{file}: uid {uid} is longer than 40");
        assert!(uids.insert(uid.to_owned()), "{file}: uid {uid} twice");
        let title = dashboard["title"].as_str().unwrap();
        assert!(
            titles.insert(title.to_owned()),
            "{file}: title {title} twice (one folder)"
        );
        let mut ids = BTreeSet::new();
        for panel in kit::panels(dashboard) {
            let id = panel["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: panel {} has no id", panel["title"]));
            assert!(ids.insert(id), "{file}: panel id {id} twice");
            assert!(
                panel["title"].as_str().is_some_and(|t| !t.is_empty()),
                "{file}: panel {id} has no title"
            );
        }
    }
}

#[test]
fn panels_fit_the_grid_without_overlapping() {
    for (path, dashboard) in kit::dashboards() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut placed: Vec<(String, [u64; 4])> = Vec::new();
        // Top-level panels and rows share the grid; a collapsed row's panels are placed when it
        // opens, below it.
        for panel in dashboard["panels"].as_array().unwrap() {
            let title = panel["title"].as_str().unwrap_or_default().to_owned();
            let grid = &panel["gridPos"];
            let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| {
                grid[k]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{file}: {title} has no gridPos.{k}"))
            });
            assert!(w > 0 && h > 0, "{file}: {title} is empty");
            assert!(x + w <= 24, "{file}: {title} runs past column 24");
            for (other, [ox, oy, ow, oh]) in &placed {
                let apart = x + w <= *ox || *ox + *ow <= x || y + h <= *oy || *oy + *oh <= y;
                assert!(apart, "{file}: {title} overlaps {other}");
            }
            placed.push((title, [x, y, w, h]));
        }
    }
}

//! The files of the deploy kit (`deploy/`) and the PromQL expressions they hold.

use std::path::{Path, PathBuf};

/// The path of a tool of the Prometheus packages (`promtool`, `amtool`, `prometheus`):
/// `$PROMTOOL`/`$AMTOOL`/`$PROMETHEUS`, else on the PATH. Missing is a failure that says how to
/// install it, never a skip.
pub fn tool(name: &str) -> PathBuf {
    let variable = name.to_ascii_uppercase();
    if let Some(path) = std::env::var_os(&variable) {
        return PathBuf::from(path);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` not found (set ${variable} or run scripts/install-prometheus-tools.sh)");
}

/// The repository's `deploy/` directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Reads a YAML file of the kit into a generic value; the error names the file.
pub fn yaml(relative: &str) -> serde_yaml_ng::Value {
    let path = dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// Reads a JSON file of the kit; the error names the file.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The files of a directory of the kit with the extension `ext`, sorted.
pub fn files(relative: &str, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir().join(relative))
        .unwrap_or_else(|e| panic!("cannot list deploy/{relative}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort();
    found
}

/// One PromQL expression of the kit and where it is.
#[derive(Clone, Debug)]
pub struct Expression {
    /// `rules/factory.yml: PipelineFailureRatioHigh`, `pipeline-overview.json: Runs (panel 2)`.
    pub origin: String,
    /// The expression as written (Grafana variables included).
    pub expr: String,
    /// For a dashboard: the dashboard's uid; for a rule: the alert's name.
    pub owner: String,
    /// A rule's alert (None for a panel or a variable).
    pub alert: Option<String>,
}

/// Every alerting and recording rule of `deploy/prometheus/rules/*.yml`.
pub fn rule_expressions() -> Vec<Expression> {
    let mut found = Vec::new();
    for path in files("prometheus/rules", "yml") {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc = yaml(&format!("prometheus/rules/{file}"));
        for group in doc["groups"].as_sequence().expect("groups") {
            for rule in group["rules"].as_sequence().expect("rules") {
                let name = rule["alert"]
                    .as_str()
                    .or_else(|| rule["record"].as_str())
                    .expect("a rule has `alert` or `record`")
                    .to_owned();
                found.push(Expression {
                    origin: format!("rules/{file}: {name}"),
                    expr: rule["expr"].as_str().expect("expr").to_owned(),
                    owner: name.clone(),
                    alert: rule["alert"].as_str().map(str::to_owned),
                });
            }
        }
    }
    found
}

/// Every dashboard of `deploy/grafana/dashboards/*.json`.
pub fn dashboards() -> Vec<(PathBuf, serde_json::Value)> {
    files("grafana/dashboards", "json")
        .into_iter()
        .map(|path| {
            let value = json(&path);
            (path, value)
        })
        .collect()
}

/// The panels of a dashboard, those nested in rows included.
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut found = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        found.push(panel);
        for inner in panel["panels"].as_array().into_iter().flatten() {
            found.push(inner);
        }
    }
    found
}

/// Every panel target's expression and every query variable's selector, of every dashboard.
pub fn dashboard_expressions() -> Vec<Expression> {
    let mut found = Vec::new();
    for (path, dashboard) in dashboards() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let uid = dashboard["uid"].as_str().unwrap_or_default().to_owned();
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap_or_default();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    found.push(Expression {
                        origin: format!(
                            "{file}: {title} ({})",
                            target["refId"].as_str().unwrap_or("?")
                        ),
                        expr: expr.to_owned(),
                        owner: uid.clone(),
                        alert: None,
                    });
                }
            }
        }
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if variable["type"] != "query" {
                continue;
            }
            let query = match &variable["query"] {
                serde_json::Value::String(q) => q.clone(),
                other => other["query"].as_str().unwrap_or_default().to_owned(),
            };
            found.push(Expression {
                origin: format!(
                    "{file}: variable ${}",
                    variable["name"].as_str().unwrap_or("?")
                ),
                expr: label_values_selector(&query).unwrap_or_else(|| {
                    panic!(
                        "{file}: variable query `{query}` is not label_values(<selector>, <label>)"
                    )
                }),
                owner: uid.clone(),
                alert: None,
            });
        }
    }
    found
}

/// The selector of a Grafana `label_values(<selector>, <label>)` variable query.
pub fn label_values_selector(query: &str) -> Option<String> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(',')?;
    (!label.trim().is_empty()).then(|| selector.trim().to_owned())
}

/// An expression with Grafana's variables replaced by values Prometheus accepts, for parsing
/// and for running a panel's query through the HTTP API.
pub fn substitute_variables(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("${pipeline:regex}", ".*")
        .replace("${stage:regex}", ".*")
        .replace("${model:regex}", ".*")
        .replace("${route:regex}", ".*")
        .replace("${service:regex}", ".*")
        .replace("${agent:regex}", ".*")
        .replace("${tool:regex}", ".*")
        .replace("$pipeline", ".*")
        .replace("$stage", ".*")
        .replace("$model", ".*")
        .replace("$route", ".*")
        .replace("$service", ".*")
        .replace("$agent", ".*")
        .replace("$tool", ".*")
}

/// `deploy/PROVEN.md`, the page that says what was proven and how.
pub fn proven() -> String {
    let path = dir().join("PROVEN.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Fails unless `deploy/PROVEN.md` states `claim` word for word (line breaks count as spaces):
/// the page's numbers are the ones the tests count, so that it cannot go stale.
pub fn assert_proven_states(claim: &str) {
    let page = proven().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        page.contains(claim),
        "deploy/PROVEN.md does not say \"{claim}\": update it to what the test counts"
    );
}

/// What the kit holds, counted from its files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Alerting rules of `prometheus/rules/*.yml`.
    pub alerts: usize,
    /// Dashboards of `grafana/dashboards/*.json`.
    pub dashboards: usize,
    /// Panel targets with a PromQL expression, of every dashboard.
    pub panel_targets: usize,
    /// Query variables (`label_values(...)`), of every dashboard.
    pub variables: usize,
}

impl Counts {
    /// Counts the kit's files.
    pub fn of_kit() -> Counts {
        let expressions = dashboard_expressions();
        let variables = expressions
            .iter()
            .filter(|e| e.origin.contains(": variable $"))
            .count();
        Counts {
            alerts: rule_expressions()
                .iter()
                .filter(|e| e.alert.is_some())
                .count(),
            dashboards: dashboards().len(),
            panel_targets: expressions.len() - variables,
            variables,
        }
    }

    /// Panel targets and variable selectors: the queries a dashboard runs.
    pub fn expressions(&self) -> usize {
        self.panel_targets + self.variables
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_selector() {
        assert_eq!(
            super::label_values_selector("label_values(pipeline_runs_total, pipeline_name)")
                .as_deref(),
            Some("pipeline_runs_total")
        );
        assert_eq!(
            super::label_values_selector(r#"label_values(x{a=~"b,c"}, d)"#).as_deref(),
            Some(r#"x{a=~"b,c"}"#)
        );
        assert_eq!(super::label_values_selector("query_result(x)"), None);
    }
}

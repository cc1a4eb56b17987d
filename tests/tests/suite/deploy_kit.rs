//! The deploy kit (`deploy/`) is consistent with itself and with what this project emits:
//! the compose file, the collector config and the Prometheus config parse and agree on ports
//! and host names; every collector component and image is in `deploy/collector/COMPONENTS.md`;
//! every metric a rule or a dashboard reads is a series this project makes Prometheus store
//! (`names/src/lib.rs` after the OTLP -> Prometheus translation).
//!
//! No Docker is needed: these tests read the files. `deploy_prometheus.rs` runs promtool and
//! amtool on them; `deploy_live.rs` runs a real Prometheus.

use factory_observability_tests::deploy::{kit, promql, series};
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};

fn compose() -> Value {
    kit::yaml("docker-compose.yml")
}

fn collector() -> Value {
    kit::yaml("collector/config.yaml")
}

fn prometheus() -> Value {
    kit::yaml("prometheus/prometheus.yml")
}

fn components_md() -> String {
    std::fs::read_to_string(kit::dir().join("collector/COMPONENTS.md")).expect("COMPONENTS.md")
}

/// The rows of the first table of COMPONENTS.md: (kind, type).
fn listed_components() -> BTreeSet<(String, String)> {
    components_md()
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let kind = *cells.get(1)?;
            let ty = cells.get(2)?.trim_matches('`');
            [
                "receiver",
                "processor",
                "exporter",
                "extension",
                "connector",
            ]
            .contains(&kind)
            .then(|| (kind.to_owned(), ty.to_owned()))
        })
        .collect()
}

/// The rows of the images table of COMPONENTS.md: image -> tag.
fn listed_images() -> BTreeMap<String, String> {
    components_md()
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let image = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            let tag = cells.get(3)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((image.to_owned(), tag.to_owned()))
        })
        .collect()
}

fn keys(value: &Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| {
            m.keys()
                .map(|k| k.as_str().expect("string key").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|v| v.as_str().expect("a string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `type/name` -> `type`.
fn component_type(id: &str) -> &str {
    id.split('/').next().unwrap()
}

/// `host:port` (or `0.0.0.0:port`) -> port.
fn port(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("`{endpoint}` has no port"))
}

fn host(endpoint: &str) -> &str {
    endpoint
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(endpoint)
}

#[test]
fn every_collector_component_is_listed_with_its_release() {
    let listed = listed_components();
    assert!(
        listed.len() >= 10,
        "COMPONENTS.md table not found: {listed:?}"
    );
    for file in [
        "collector/config.yaml",
        "collector/auth.yaml",
        "collector/gateway.yaml",
    ] {
        let config = kit::yaml(file);
        for (section, kind) in [
            ("receivers", "receiver"),
            ("processors", "processor"),
            ("exporters", "exporter"),
            ("extensions", "extension"),
            ("connectors", "connector"),
        ] {
            for id in keys(&config[section]) {
                let ty = component_type(&id).to_owned();
                assert!(
                    listed.contains(&(kind.to_owned(), ty.clone())),
                    "{file}: {kind} `{id}` is not in deploy/collector/COMPONENTS.md; add it with the release it ships in"
                );
            }
        }
    }
}

#[test]
fn removed_collector_components_are_not_used() {
    let text = std::fs::read_to_string(kit::dir().join("collector/config.yaml")).unwrap();
    let config = collector();
    for gone in ["jaeger", "logging"] {
        assert!(
            !keys(&config["exporters"])
                .iter()
                .any(|id| component_type(id) == gone),
            "the `{gone}` exporter is gone from current collector releases"
        );
    }
    assert!(
        !text.contains("14250"),
        "Jaeger's gRPC model port 14250 is gone in Jaeger v2: use OTLP"
    );
}

#[test]
fn collector_pipelines_use_only_defined_components_and_all_of_them() {
    for file in ["collector/config.yaml", "collector/gateway.yaml"] {
        pipelines_use_only_defined_components_and_all_of_them(file, &kit::yaml(file));
    }
}

fn pipelines_use_only_defined_components_and_all_of_them(file: &str, config: &Value) {
    let service = &config["service"];
    let mut used: BTreeSet<String> = strings(&service["extensions"]).into_iter().collect();
    let connectors: BTreeSet<String> = keys(&config["connectors"]).into_iter().collect();
    let pipelines = keys(&service["pipelines"]);
    for name in &pipelines {
        let pipeline = &service["pipelines"][name.as_str()];
        for (role, section) in [
            ("receivers", "receivers"),
            ("processors", "processors"),
            ("exporters", "exporters"),
        ] {
            for id in strings(&pipeline[role]) {
                let defined = keys(&config[section]).contains(&id) || connectors.contains(&id);
                assert!(
                    defined,
                    "{file}: pipeline {name}: {role} `{id}` is not defined"
                );
                used.insert(id);
            }
        }
        // memory_limiter first wherever data enters from the network (the collector's advice).
        if strings(&pipeline["receivers"]).contains(&"otlp".to_owned()) {
            assert_eq!(
                strings(&pipeline["processors"]).first().map(String::as_str),
                Some("memory_limiter"),
                "{file}: pipeline {name}: memory_limiter must come first"
            );
        }
    }
    for section in [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
    ] {
        for id in keys(&config[section]) {
            assert!(
                used.contains(&id),
                "{section}: `{id}` is defined and never used"
            );
        }
    }
    // Connectors: every pipeline a routing table names exists.
    for id in &connectors {
        let connector = &config["connectors"][id.as_str()];
        let mut targets = strings(&connector["default_pipelines"]);
        for route in connector["table"].as_sequence().into_iter().flatten() {
            targets.extend(strings(&route["pipelines"]));
        }
        for target in targets {
            assert!(
                pipelines.contains(&target),
                "connector {id} routes to `{target}`, which is no pipeline"
            );
        }
    }
}

#[test]
fn factory_traces_are_all_kept_and_product_traces_tail_sampled() {
    let config = collector();
    let pipelines = &config["service"]["pipelines"];
    let factory = strings(&pipelines["traces/factory"]["processors"]);
    let product = strings(&pipelines["traces/product"]["processors"]);
    assert!(
        !factory.iter().any(|p| component_type(p) == "tail_sampling"),
        "factory traces are kept at 100 %"
    );
    assert!(
        product.iter().any(|p| component_type(p) == "tail_sampling"),
        "product traces go through tail sampling"
    );
    let policies: Vec<String> = config["processors"]["tail_sampling"]["policies"]
        .as_sequence()
        .expect("tail_sampling policies")
        .iter()
        .map(|p| p["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        policies,
        ["status_code", "latency", "probabilistic"],
        "all errors, all slow, a share of the rest"
    );
    let route = &config["connectors"]["routing/traces"];
    assert_eq!(strings(&route["default_pipelines"]), ["traces/product"]);
    let rule = &route["table"][0];
    assert_eq!(rule["context"].as_str(), Some("resource"));
    assert!(rule["condition"]
        .as_str()
        .unwrap()
        .contains("attributes[\"service.name\"]"));
    assert_eq!(strings(&rule["pipelines"]), ["traces/factory"]);
}

#[test]
fn ports_agree_between_compose_collector_and_prometheus() {
    let compose = compose();
    let config = collector();
    let prometheus = prometheus();
    let services = keys(&compose["services"]);

    let otlp = &config["receivers"]["otlp"]["protocols"];
    assert_eq!(port(otlp["grpc"]["endpoint"].as_str().unwrap()), 4317);
    assert_eq!(port(otlp["http"]["endpoint"].as_str().unwrap()), 4318);
    let health = port(
        config["extensions"]["health_check"]["endpoint"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(health, 13133);

    // Published on loopback only, container port = the collector's.
    let published: Vec<String> = strings(&compose["services"]["otel-collector"]["ports"]);
    for expected in [4317, 4318, health] {
        assert!(
            published.contains(&format!("127.0.0.1:{expected}:{expected}")),
            "compose publishes {expected} of the collector on 127.0.0.1: {published:?}"
        );
    }
    for service in &services {
        for mapping in strings(&compose["services"][service.as_str()]["ports"]) {
            assert!(
                mapping.starts_with("127.0.0.1:"),
                "{service}: `{mapping}` is published beyond loopback"
            );
        }
    }

    // Prometheus scrapes the exporter's port (not only the collector's own 8888).
    let exporter_port = port(
        config["exporters"]["prometheus"]["endpoint"]
            .as_str()
            .unwrap(),
    );
    let self_port = config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]
        ["prometheus"]["port"]
        .as_u64()
        .unwrap() as u16;
    let mut targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in prometheus["scrape_configs"].as_sequence().unwrap() {
        let name = job["job_name"].as_str().unwrap().to_owned();
        for static_config in job["static_configs"].as_sequence().unwrap() {
            targets
                .entry(name.clone())
                .or_default()
                .extend(strings(&static_config["targets"]));
        }
    }
    assert_eq!(
        targets["otel-collector-exported"],
        [format!("otel-collector:{exporter_port}")]
    );
    assert_eq!(
        targets["otel-collector"],
        [format!("otel-collector:{self_port}")]
    );
    assert_eq!(
        targets["factory-observability"],
        ["host.docker.internal:9464"],
        "OTEL_EXPORTER_PROMETHEUS_PORT default"
    );
    let exported_job = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|job| job["job_name"] == "otel-collector-exported")
        .unwrap();
    let own_job = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|job| job["job_name"] == "factory-observability")
        .unwrap();
    // A program's /metrics serves the collector's names (`pipeline_runs_total`, not
    // `pipeline_runs_total_total`): nothing to rename at scrape time.
    assert!(
        own_job["metric_relabel_configs"].is_null(),
        "{:?}",
        own_job["metric_relabel_configs"]
    );
    assert_eq!(
        exported_job["honor_labels"].as_bool(),
        Some(true),
        "keep the sender's job (service.name)"
    );

    // Every scrape target and the Alertmanager are compose services (or the host gateway).
    for target in targets.values().flatten() {
        let h = host(target);
        assert!(
            services.iter().any(|s| s == h) || h == "host.docker.internal",
            "target {target} is no compose service"
        );
    }
    let alertmanager =
        strings(&prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]);
    assert_eq!(alertmanager, ["alertmanager:9093"]);
    assert!(strings(&compose["services"]["alertmanager"]["ports"])
        .contains(&"127.0.0.1:9093:9093".to_owned()));
    assert!(strings(&compose["services"]["prometheus"]["extra_hosts"])
        .contains(&"host.docker.internal:host-gateway".to_owned()));

    // Traces go to Jaeger over OTLP gRPC.
    let jaeger = config["exporters"]["otlp/jaeger"]["endpoint"]
        .as_str()
        .unwrap();
    assert_eq!(jaeger, "jaeger:4317");
    assert!(services.contains(&"jaeger".to_owned()));

    // Grafana reads the Prometheus of the stack.
    let datasources = kit::yaml("grafana/provisioning/datasources/datasources.yml");
    let urls: Vec<&str> = datasources["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&"http://prometheus:9090"), "{urls:?}");
    assert!(urls.contains(&"http://jaeger:16686"), "{urls:?}");
    // The dashboards name the Prometheus datasource by its provisioned uid.
    let prometheus_uid = datasources["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|d| d["type"] == "prometheus")
        .and_then(|d| d["uid"].as_str())
        .expect("a Prometheus datasource with a uid");
    for (path, dashboard) in kit::dashboards() {
        for panel in kit::panels(&dashboard) {
            if panel["type"] != "row" {
                assert_eq!(
                    panel["datasource"]["uid"],
                    prometheus_uid,
                    "{}: {}",
                    path.display(),
                    panel["title"]
                );
            }
        }
    }
    let provider = kit::yaml("grafana/provisioning/dashboards/dashboards.yml");
    let mounted = strings(&compose["services"]["grafana"]["volumes"]);
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert!(
        mounted
            .iter()
            .any(|v| v == &format!("./grafana/dashboards:{path}:ro")),
        "Grafana loads dashboards from {path}, which compose does not mount: {mounted:?}"
    );
}

#[test]
fn images_are_pinned_listed_and_every_service_has_a_health_check() {
    let compose = compose();
    let images = listed_images();
    let probe =
        serde_yaml_ng::to_string(&compose["services"]["health-probe"]["healthcheck"]["test"])
            .unwrap();
    for service in keys(&compose["services"]) {
        let spec = &compose["services"][service.as_str()];
        let image = spec["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{service}: no image"));
        let (name, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{service}: `{image}` has no tag"));
        assert!(
            tag != "latest" && !tag.is_empty(),
            "{service}: `{image}` is not pinned"
        );
        assert_eq!(
            images.get(name).map(String::as_str),
            Some(tag),
            "{service}: `{image}` is not in COMPONENTS.md's images"
        );
        if spec["healthcheck"].is_mapping() {
            continue;
        }
        // Distroless images: probed from the busybox sidecar.
        assert!(
            probe.contains(&format!("http://{service}:13133")),
            "{service} has no health check and the health-probe does not poll it: {probe}"
        );
    }
}

#[test]
fn compose_mounts_files_that_exist() {
    let compose = compose();
    let overlay = kit::yaml("docker-compose.auth.yml");
    for file in [&compose, &overlay] {
        for service in keys(&file["services"]) {
            for volume in strings(&file["services"][service.as_str()]["volumes"]) {
                let source = volume.split(':').next().unwrap();
                assert!(
                    source.starts_with("./"),
                    "{service}: `{volume}` is not relative to deploy/"
                );
                assert!(
                    kit::dir().join(source).exists(),
                    "{service}: `{source}` does not exist in deploy/"
                );
            }
        }
    }
    // The auth overlay loads both configs and needs the token.
    let command = strings(&overlay["services"]["otel-collector"]["command"]);
    assert_eq!(command.len(), 2, "{command:?}");
    assert!(command[1].ends_with("auth.yaml"));
    let auth = kit::yaml("collector/auth.yaml");
    assert_eq!(
        auth["extensions"]["bearertokenauth"]["token"].as_str(),
        Some("${env:OTEL_COLLECTOR_TOKEN}")
    );
    for protocol in ["grpc", "http"] {
        assert_eq!(
            auth["receivers"]["otlp"]["protocols"][protocol]["auth"]["authenticator"].as_str(),
            Some("bearertokenauth")
        );
    }
    let base_extensions = strings(&collector()["service"]["extensions"]);
    let auth_extensions = strings(&auth["service"]["extensions"]);
    for extension in base_extensions {
        assert!(
            auth_extensions.contains(&extension),
            "lists are replaced when configs merge: auth.yaml must repeat `{extension}`"
        );
    }
}

/// The metric names of names.rs's `metric` module, read from the source: a new or renamed
/// instrument there fails `emitted_catalogue_matches_names_rs` until the kit's catalogue knows it.
fn names_rs_metric_names() -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../names/src/lib.rs");
    let source = std::fs::read_to_string(path).expect("names.rs");
    let start = source
        .find("pub mod metric {")
        .expect("names.rs has `pub mod metric`");
    let block = &source[start..];
    let end = block.find("\n}").expect("end of `pub mod metric`");
    let block = &block[..end];
    let mut names = BTreeSet::new();
    let mut rest = block;
    while let Some(at) = rest.find("pub const ") {
        rest = &rest[at + "pub const ".len()..];
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let declaration = &rest[..rest.find(';').unwrap()];
        if ident.starts_with("UNIT_") || !declaration.contains("&str") {
            continue;
        }
        let value = declaration.split('"').nth(1).expect("a string constant");
        names.insert(value.to_owned());
    }
    names
}

#[test]
fn every_metric_of_names_rs_is_in_the_catalogue() {
    // The catalogue the kit checks against (names.rs `prometheus::CATALOGUE`) holds every
    // instrument of names.rs `metric` and every exporter health metric: a new instrument there
    // is either catalogued (and then the kit is checked against it) or fails here.
    let catalogued: BTreeSet<&str> = series::CATALOGUE.iter().map(|i| i.name).collect();
    for name in names_rs_metric_names() {
        assert!(
            catalogued.contains(name.as_str()),
            "`{name}` (names.rs `metric`) is missing from names.rs `prometheus::CATALOGUE`"
        );
    }
    for health in factory_observability::names::health::ALL {
        assert!(
            catalogued.contains(health.name),
            "`{}` is missing from the catalogue",
            health.name
        );
    }
}

#[test]
fn pending_names_have_not_landed_yet() {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../names/src/lib.rs"),
    )
    .unwrap();
    for pending in series::PENDING {
        assert!(
            !source.contains(&format!("\"{}\"", pending.instrument.name)),
            "`{}` is in names.rs now ({}): remove it from PENDING in tests/src/deploy/series.rs (the catalogue of names.rs takes over)",
            pending.instrument.name,
            pending.from
        );
    }
}

#[test]
fn every_rule_and_panel_reads_only_series_this_project_emits() {
    let known = series::known_series();
    let expressions: Vec<kit::Expression> = kit::rule_expressions()
        .into_iter()
        .chain(kit::dashboard_expressions())
        .collect();
    assert!(
        expressions.len() >= 11,
        "found only {} expressions",
        expressions.len()
    );
    let mut unknown = Vec::new();
    let mut read = BTreeSet::new();
    for expression in &expressions {
        let names = promql::metric_names(&expression.expr)
            .unwrap_or_else(|e| panic!("{}: {e}", expression.origin));
        assert!(
            !names.is_empty(),
            "{}: reads no metric: `{}`",
            expression.origin,
            expression.expr
        );
        for name in names {
            match known.get(&name) {
                Some(_) => {
                    read.insert(name);
                }
                None => unknown.push(format!("{}: `{name}`", expression.origin)),
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "series no program of this project emits:\n{}",
        unknown.join("\n")
    );
    for name in &read {
        if let Some(series::Source::Pending(otel, from)) = known.get(name) {
            println!("{name} ({otel}) is read before it lands: {from}");
        }
    }
}

#[test]
fn every_emitted_metric_is_on_a_dashboard_or_in_a_rule() {
    let mut read = BTreeSet::new();
    for expression in kit::rule_expressions()
        .into_iter()
        .chain(kit::dashboard_expressions())
    {
        read.extend(promql::metric_names(&expression.expr).unwrap());
    }
    // Every factory metric; the exporter health metrics shown are a choice (dropped, failed,
    // queue fill), not all of them.
    for instrument in series::CATALOGUE
        .iter()
        .filter(|i| !i.name.starts_with("otel.sdk."))
    {
        let names = series::stored_names(instrument);
        assert!(
            names.iter().any(|n| read.contains(n)),
            "{} ({names:?}) is emitted but no dashboard panel or rule shows it",
            instrument.name
        );
    }
}

/// `deploy/PROVEN.md` states the numbers this test counts in the kit's files.
#[test]
fn proven_md_states_what_the_kit_holds() {
    let counts = kit::Counts::of_kit();
    // At least what the issue asks for: the seed's four dashboards and the product's, and an
    // alert for each of the 11 conditions.
    assert!(counts.dashboards >= 5 && counts.alerts >= 11, "{counts:?}");
    kit::assert_proven_states(&format!(
        "{} alerts, each with a case where it fires and one where it stays silent",
        counts.alerts
    ));
    kit::assert_proven_states(&format!(
        "{} expressions ({} panel targets, {} variable selectors) of {} dashboards",
        counts.expressions(),
        counts.panel_targets,
        counts.variables,
        counts.dashboards
    ));
}

/// The Prometheus label of an OTLP attribute key, as the collector's prometheus exporter and the
/// SDK's both make it (`factory.run.id` -> `factory_run_id`).
fn label_of(key: &str) -> String {
    key.replace('.', "_")
}

/// A product's error ratio by the build that served it reads labels the collector makes from
/// the product's resource (`transform/provenance`, in the metrics pipeline), the same keys a
/// program's own `/metrics` turns into labels (`names::provenance::METRIC_LABELS`), and the
/// product dashboard's panel groups by exactly those labels.
#[test]
fn provenance_labels_are_copied_from_the_resource_and_grouped_by_on_the_product_dashboard() {
    use factory_observability::names::provenance::METRIC_LABELS;
    let config = collector();
    let metrics = strings(&config["service"]["pipelines"]["metrics"]["processors"]);
    assert!(
        metrics.contains(&"transform/provenance".to_owned()),
        "{metrics:?}"
    );
    let statements = strings(&config["processors"]["transform/provenance"]["metric_statements"]);
    let copied: Vec<String> = statements
        .iter()
        .map(|statement| {
            // set(datapoint.attributes["K"], resource.attributes["K"]) where resource.attributes["K"] != nil
            let key = statement
                .strip_prefix("set(datapoint.attributes[\"")
                .and_then(|rest| rest.split_once('"'))
                .map(|(key, _)| key)
                .unwrap_or_else(|| panic!("not a copy of a resource attribute: {statement}"));
            assert_eq!(
                statement,
                &format!(
                    "set(datapoint.attributes[\"{key}\"], resource.attributes[\"{key}\"]) \
                     where resource.attributes[\"{key}\"] != nil"
                )
            );
            key.to_owned()
        })
        .collect();
    assert_eq!(copied, METRIC_LABELS);

    let labels: Vec<String> = METRIC_LABELS.iter().map(|key| label_of(key)).collect();
    let panel = kit::dashboard_expressions()
        .into_iter()
        .find(|e| e.origin == "product-service.json: 5xx ratio by the build that served it (A)")
        .expect("the product dashboard's panel");
    let grouped = format!("sum by ({})", labels.join(", "));
    assert_eq!(panel.expr.matches(&grouped).count(), 3, "{}", panel.expr);
    assert_eq!(panel.expr.matches("sum by").count(), 3, "{}", panel.expr);
}

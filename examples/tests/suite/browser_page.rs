//! The product's page in a real browser: headless chromium (driven through chromedriver) loads
//! `GET /` from a running `product_service`, clicks "Create task", and the real collector
//! receives one trace from the click to the handler. And the page's script, built from npm
//! packages by `scripts/build-web.sh`, is checked to be built from the committed inputs.

use factory_observability_tests::browser::Browser;
use factory_observability_tests::collector::{parse_metrics, parse_spans, Collector, ReceivedSpan};
use std::path::Path;
use std::time::Duration;

/// The page's directory, from this crate's (`examples/`).
fn web_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/product_service/web"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What `sha256sum PATH...` prints for `paths` (relative to the repository), hashed again: the
/// inputs' digest that `scripts/build-web.sh` writes into the bundle's first line.
fn inputs_sha256(repository: &Path, paths: &[&str]) -> String {
    let mut listing = String::new();
    for path in paths {
        let content = std::fs::read(repository.join(path))
            .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let digest = ring::digest::digest(&ring::digest::SHA256, &content);
        listing.push_str(&format!("{}  {path}\n", hex(digest.as_ref())));
    }
    hex(ring::digest::digest(&ring::digest::SHA256, listing.as_bytes()).as_ref())
}

/// The committed `dist/app.js` says it was built from exactly the committed `package.json`,
/// `package-lock.json`, `src/main.js` and build script: changing any of them without running
/// `scripts/build-web.sh` fails here (no registry is reached at test time; `scripts/build-web.sh
/// --check` rebuilds and compares byte for byte where npm can install).
#[test]
fn the_page_script_is_built_from_the_committed_inputs() {
    let web = web_dir();
    let repository = web.join("../../..");
    let bundle = std::fs::read_to_string(web.join("dist/app.js")).expect("dist/app.js");
    let first_line = bundle.lines().next().unwrap_or_default();
    let recorded = first_line
        .split("from inputs sha256:")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .unwrap_or_else(|| panic!("no inputs digest in the bundle's first line: {first_line}"));
    let inputs = [
        "examples/product_service/web/package.json",
        "examples/product_service/web/package-lock.json",
        "examples/product_service/web/src/main.js",
        "scripts/build-web.sh",
    ];
    let build_script = std::fs::read_to_string(repository.join("scripts/build-web.sh")).unwrap();
    for input in &inputs {
        let relative = input.replace("examples/product_service/web", "$web");
        assert!(
            build_script.contains(&format!("\"{relative}\"")) || build_script.contains(input),
            "scripts/build-web.sh no longer hashes {input}: keep this list and its `inputs` equal"
        );
    }
    assert_eq!(
        recorded,
        inputs_sha256(&repository, &inputs),
        "dist/app.js was built from other inputs than the committed ones: run \
         scripts/build-web.sh and commit examples/product_service/web/dist/app.js"
    );
}

/// The lockfile pins every package the bundle is built from, by exact version and integrity
/// hash, and names no download address (the registry is the installing client's setting).
#[test]
fn the_lockfile_pins_every_package_by_version_and_hash() {
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(web_dir().join("package-lock.json")).unwrap(),
    )
    .unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(web_dir().join("package.json")).unwrap())
            .unwrap();
    for section in ["dependencies", "devDependencies"] {
        for (name, version) in manifest[section].as_object().unwrap() {
            let version = version.as_str().unwrap();
            assert!(
                version.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "package.json {section} {name}: {version:?} is a range; pin an exact version"
            );
            let locked = &lock["packages"][format!("node_modules/{name}")];
            assert_eq!(locked["version"], version, "{name} in package-lock.json");
        }
    }
    let packages = lock["packages"].as_object().unwrap();
    assert!(packages.len() > 10, "{} packages", packages.len());
    for (path, package) in packages {
        if path.is_empty() {
            continue;
        }
        assert!(
            package["integrity"]
                .as_str()
                .is_some_and(|hash| hash.starts_with("sha512-")),
            "{path} has no sha512 integrity hash"
        );
        assert!(
            package.get("resolved").is_none(),
            "{path} names a download address"
        );
    }
}

/// A running `product_service` exporting to a collector.
pub(crate) struct Product {
    child: std::process::Child,
    pub base: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Product {
    /// A test that failed before [`Product::stop`] leaves no product running.
    fn drop(&mut self) {
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the product on a free port, exporting OTLP/HTTP to `collector`, with the shutdown
/// report printed (`FACTORY_OBS_SUMMARY=1`), spans exported within 200 ms, plus `env`.
pub(crate) fn start_product(collector: &Collector, env: &[(&str, &str)]) -> Product {
    let endpoint = collector.endpoint();
    let mut all = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
    all.extend_from_slice(env);
    launch_product(&all)
}

/// Starts the product on a free port with the report printed and spans exported within 200 ms,
/// plus `env` (where it exports to among them).
fn launch_product(env: &[(&str, &str)]) -> Product {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("fo-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_product_service"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("OTEL_") || key.starts_with("FACTORY_OBS_") || key == "TRACEPARENT" {
            command.env_remove(&*key);
        }
    }
    let mut child = command
        .current_dir(&dir)
        .env("PRODUCT_ADDR", "127.0.0.1:0")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
        .env("FACTORY_OBS_SUMMARY", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the product starts");
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let base = ready
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {ready:?}"))
        .to_owned();
    Product {
        child,
        base,
        stderr: Some(stderr),
    }
}

impl Product {
    /// Stops it with SIGTERM, as a deployment would; returns what it printed on stderr (its
    /// delivery report).
    pub(crate) fn stop(mut self) -> String {
        // SAFETY: `kill` on the pid of a child this test started and has not waited for.
        let signalled = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(signalled, 0);
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        assert_eq!(status.code(), Some(0), "stderr: {stderr}");
        stderr
    }
}

/// The line of the delivery report on traces: `traces N/M delivered`.
pub(crate) fn traces_delivered(stderr: &str) -> (u64, u64) {
    let text = stderr
        .split("traces ")
        .nth(1)
        .and_then(|rest| rest.split(" delivered").next())
        .unwrap_or_else(|| panic!("no traces line in the report: {stderr}"));
    let (delivered, submitted) = text.split_once('/').expect("N/M");
    (delivered.parse().unwrap(), submitted.parse().unwrap())
}

/// The proof: chromium loads `GET /` from a running product, a click on "Create task"
/// is one trace at the real collector, `user.create_task` (service `product-webapp`, with
/// `task.id`) → the fetch instrumentation's CLIENT span → the product's `POST /tasks` SERVER
/// span (service `product-api`), each the parent of the next by id. The page's spans reached the
/// collector only through the product's `/v1/traces`, and the product's delivery report and
/// exporter-health metrics count them with its own spans.
#[test]
fn a_click_in_chromium_is_one_trace_from_the_button_to_the_handler() {
    let collector = Collector::start();
    let product = start_product(&collector, &[]);
    let browser = Browser::start();
    browser.open(&format!("{}/", product.base));
    browser.wait_for(
        "its script running",
        "return document.body.dataset.telemetry",
        Duration::from_secs(10),
    );
    browser.click("#create-task");
    let status = browser.wait_for(
        "the created task",
        "return document.getElementById('status').dataset.outcome && \
         document.getElementById('status').textContent",
        Duration::from_secs(10),
    );
    assert_eq!(status, "Created task 1");

    let click_trace = |output: &str| {
        let spans = parse_spans(output);
        let click = spans.iter().find(|span| span.name == "user.create_task")?;
        let in_trace: Vec<ReceivedSpan> = spans
            .iter()
            .filter(|span| span.trace_id == click.trace_id)
            .cloned()
            .collect();
        (in_trace.len() >= 3).then_some(in_trace)
    };
    collector.expect(
        "the click's trace: user.create_task, its fetch and POST /tasks",
        |output| click_trace(output).is_some(),
        Duration::from_secs(30),
    );
    let trace = click_trace(&collector.output()).unwrap();
    let by_name = |name: &str| {
        let found: Vec<&ReceivedSpan> = trace.iter().filter(|span| span.name == name).collect();
        assert_eq!(found.len(), 1, "one {name} in {trace:#?}");
        found[0].clone()
    };
    let click = by_name("user.create_task");
    let fetch = by_name("POST");
    let server = by_name("POST /tasks");
    assert_eq!(trace.len(), 3, "{trace:#?}");

    assert_eq!(click.parent_id, "", "the click starts the trace");
    assert_eq!(click.kind, "SPAN_KIND_INTERNAL");
    assert_eq!(click.attributes["task.id"], "Int(1)");
    assert_eq!(click.resource["service.name"], "Str(product-webapp)");

    assert_eq!(
        fetch.parent_id, click.span_id,
        "the fetch is the click's child"
    );
    assert_eq!(fetch.kind, "SPAN_KIND_CLIENT");
    assert_eq!(fetch.attributes["http.request.method"], "Str(POST)");
    assert_eq!(
        fetch.attributes["url.full"],
        format!("Str({}/tasks)", product.base)
    );
    assert_eq!(fetch.attributes["http.response.status_code"], "Int(201)");
    assert_eq!(fetch.resource["service.name"], "Str(product-webapp)");

    assert_eq!(
        server.parent_id, fetch.span_id,
        "the handler's span is the fetch's child"
    );
    assert_eq!(server.kind, "SPAN_KIND_SERVER");
    assert_eq!(server.attributes["http.route"], "Str(/tasks)");
    assert_eq!(server.attributes["http.response.status_code"], "Int(201)");
    assert_eq!(server.resource["service.name"], "Str(product-api)");

    // The page's resource is the product's stamp, not the browser's: the SDK the page runs
    // describes itself (telemetry.sdk.language = webjs) and that is not kept.
    assert!(
        !click.resource.contains_key("telemetry.sdk.language"),
        "{:?}",
        click.resource
    );

    drop(browser);
    let stderr = product.stop();
    let (delivered, submitted) = traces_delivered(&stderr);
    assert_eq!(delivered, submitted, "{stderr}");
    let spans = parse_spans(&collector.output());
    let received = spans.len() as u64;
    let from_page = spans
        .iter()
        .filter(|span| span.resource["service.name"] == "Str(product-webapp)")
        .count();
    // The page's three (the tasks it listed when it loaded, the click, its fetch) and the
    // product's (GET /, GET /app.js, GET /tasks, POST /tasks) are all counted as the product's.
    assert_eq!(from_page, 3, "{spans:#?}");
    assert_eq!(delivered, received, "{stderr}");

    // The endpoint's own metrics: three spans kept, one interaction, which did not fail.
    let points = parse_metrics(&collector.output());
    let last = |name: &str, attribute: (&str, &str)| {
        points
            .iter()
            .rev()
            .find(|point| {
                point.name == name
                    && point.attributes.get(attribute.0).map(String::as_str) == Some(attribute.1)
                    && !point.attributes.contains_key("error.type")
            })
            .map(|point| point.value.clone())
            .unwrap_or_else(|| panic!("no {name} {attribute:?} point"))
    };
    assert_eq!(
        last(
            factory_observability::names::browser::SPANS,
            ("factory_obs.browser.span.outcome", "Str(kept)")
        ),
        "3"
    );
    assert_eq!(
        last(
            factory_observability::names::browser::INTERACTIONS,
            ("factory_obs.browser.interaction.outcome", "Str(ok)")
        ),
        "1"
    );
    assert_eq!(
        last(
            "otel.sdk.exporter.span.exported",
            ("otel.component.type", "Str(otlp_http_span_exporter)")
        ),
        delivered.to_string(),
    );
}

/// Issue 23, `factory-obs trace` shows browser spans in the product's request tree: the product
/// on the embedded default (OTLP/JSON files in `FACTORY_OBS_DIR`, no collector), a click in
/// chromium, and `factory-obs trace <trace id>` over the files draws the click, its fetch and
/// the product's `POST /tasks` as one tree, each under its parent, with their services.
#[test]
fn factory_obs_trace_draws_the_click_above_the_products_request() {
    let dir = std::env::temp_dir().join(format!("fo-browser-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telemetry = dir.join("telemetry");
    let product = launch_product(&[("FACTORY_OBS_DIR", telemetry.to_str().unwrap())]);
    let browser = Browser::start();
    browser.open(&format!("{}/", product.base));
    browser.wait_for(
        "its script running",
        "return document.body.dataset.telemetry",
        Duration::from_secs(10),
    );
    browser.click("#create-task");
    browser.wait_for(
        "the created task",
        "return document.getElementById('status').dataset.outcome",
        Duration::from_secs(10),
    );
    // The page exports its batch within a second, the product writes it out within 200 ms:
    // wait for the click in the file before stopping both.
    let traces = telemetry.join("traces.jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&traces).is_ok_and(|text| text.contains("user.create_task")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the click never reached {}",
            traces.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(browser);
    let stderr = product.stop();
    let (delivered, submitted) = traces_delivered(&stderr);
    assert_eq!(delivered, submitted, "{stderr}");

    let spans = factory_observability_tests::otlp_json::read_spans(&traces);
    let click = spans
        .iter()
        .find(|span| span.name == "user.create_task")
        .unwrap_or_else(|| panic!("no click among {spans:#?}"));
    let (code, out, err) = crate::factory_obs_json(&["trace", &click.trace_id], &telemetry);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace {} started ", click.trace_id)),
        "{out}"
    );
    let labels: Vec<&str> = lines[2..]
        .iter()
        .map(|line| line.split("  |").next().unwrap().trim_end())
        .collect();
    assert_eq!(
        labels,
        [
            "[product-webapp] user.create_task",
            "  [product-webapp] POST",
            "    [product-api] POST /tasks",
        ],
        "{out}"
    );
}

//! The deploy/smoke stage: the factory calls the product it built, in the run's trace.
//!
//! With `PRODUCT_URL` set, the stage calls that product. Without it, the stage starts the
//! `product_service` binary built next to this one as a child process, on a free port and with
//! the environment carrier (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`), calls it and stops it with
//! SIGTERM, waiting for it to flush its telemetry. Each call is a CLIENT span (`send_traced`)
//! whose `traceparent` makes the product's SERVER span its child: `pipeline.run` → `smoke`
//! stage → `GET`/`POST` → `GET /health`, `POST /tasks`, `GET /tasks/{id}` of `product-api`.
//!
//! `cargo run --bin factory_pipeline` builds only this binary, so the product's code is compiled
//! into it as well (`main.rs` includes `product_service/main.rs`): when `product_service` is not
//! built next to it, the stage starts this executable with the argument [`PRODUCT_ARG`], which
//! serves the product instead of running the factory. Cargo has no stable way for one binary to
//! require another (artifact dependencies are unstable), and building it from here would make
//! the first run slow.

use factory_observability::pipeline_stage;
use factory_observability::propagation::{CommandExt as _, RequestBuilderExt as _};
use factory_observability::provenance::{CommandExt as _, Provenance};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// `PRODUCT_URL`: the base URL of a running product to smoke-test (`http://host:port`); when
/// unset, the stage starts `product_service` itself.
pub const PRODUCT_URL_ENV: &str = "PRODUCT_URL";

/// `FACTORY_PIPELINE_SMOKE`: `on` (default) or `off`, whether the run ends with the stage.
pub const SMOKE_ENV: &str = "FACTORY_PIPELINE_SMOKE";

/// `FACTORY_PIPELINE_KEEP_PRODUCT`: `on` leaves the product the stage started running after
/// the run (deployed), and prints `deployed <url> pid <pid>` on stdout; `off` (default) stops it.
pub const KEEP_PRODUCT_ENV: &str = "FACTORY_PIPELINE_KEEP_PRODUCT";

/// `PRODUCT_PROMETHEUS_PORT`: the port of the deployed product's `/metrics` (its
/// `OTEL_EXPORTER_PROMETHEUS_PORT`; default 0, a free one).
pub const PRODUCT_PROMETHEUS_PORT_ENV: &str = "PRODUCT_PROMETHEUS_PORT";

/// `FACTORY_PIPELINE_PRODUCT_COMMAND`: the product to deploy instead of `product_service`, a
/// program and its arguments separated by spaces (no quoting), e.g.
/// `python3 examples/product_python/product.py`. It is started as `product_service` is (same
/// environment, provenance included) and must serve the same calls and print
/// `listening on http://ADDR` first.
pub const PRODUCT_COMMAND_ENV: &str = "FACTORY_PIPELINE_PRODUCT_COMMAND";

/// The product example's binary, next to this one.
const PRODUCT_BINARY: &str = "product_service";

/// `factory_pipeline product_service`: this executable serves the product (the smoke stage's
/// child when the product's own binary is not built).
pub const PRODUCT_ARG: &str = "product_service";

/// How long the child may take to print its address, each call to answer, and the child to
/// exit after SIGTERM (flushing its telemetry) before it is killed.
const START_TIMEOUT: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The product the stage calls.
#[derive(Clone, Debug)]
pub enum Target {
    /// A product already running at this base URL (`PRODUCT_URL`).
    Running(String),
    /// The `product_service` binary (or [`PRODUCT_COMMAND_ENV`]'s program) to start as a child
    /// process, with these arguments.
    Binary(PathBuf, Vec<String>),
}

impl Target {
    /// What the environment asks for: `Ok(None)` when the stage is off; an error naming the
    /// variable when a value is bad.
    pub fn from_env() -> Result<Option<Target>, String> {
        match std::env::var(SMOKE_ENV) {
            Err(_) => {}
            Ok(value) => match value.trim() {
                "on" | "" => {}
                "off" => return Ok(None),
                _ => return Err(format!("{SMOKE_ENV}={value:?}: expected on or off")),
            },
        }
        if let Ok(url) = std::env::var(PRODUCT_URL_ENV) {
            let url = url.trim().trim_end_matches('/');
            if !url.is_empty() {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!(
                        "{PRODUCT_URL_ENV}={url:?}: expected a base URL such as http://127.0.0.1:3000"
                    ));
                }
                return Ok(Some(Target::Running(url.to_owned())));
            }
        }
        if let Ok(command) = std::env::var(PRODUCT_COMMAND_ENV) {
            let mut words = command.split_whitespace().map(str::to_owned);
            if let Some(program) = words.next() {
                return Ok(Some(Target::Binary(
                    PathBuf::from(program),
                    words.collect(),
                )));
            }
        }
        match sibling_binary(PRODUCT_BINARY) {
            Some(path) if path.is_file() => Ok(Some(Target::Binary(path, Vec::new()))),
            _ => {
                let this = std::env::current_exe().map_err(|error| {
                    format!("cannot find this executable to serve the product: {error}")
                })?;
                Ok(Some(Target::Binary(this, vec![PRODUCT_ARG.to_owned()])))
            }
        }
    }
}

/// `name` in the directory of the running executable.
fn sibling_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(
        exe.parent()?
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX)),
    )
}

/// What can go wrong with the smoke test.
#[derive(Debug)]
pub enum SmokeError {
    /// The product could not be started or did not say where it listens.
    Start(String),
    /// A call did not get an answer.
    Call(&'static str, reqwest::Error),
    /// A call got an answer the product should not give.
    Unexpected(&'static str, String),
}

impl fmt::Display for SmokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmokeError::Start(message) => write!(f, "the product did not start: {message}"),
            SmokeError::Call(call, error) => write!(f, "{call}: {error}"),
            SmokeError::Unexpected(call, what) => write!(f, "{call}: {what}"),
        }
    }
}

impl std::error::Error for SmokeError {}

/// The product's calls answered as expected: how many (3).
// `cicd.pipeline.task.type` (CI/CD conventions, `build`, `deploy` or `test`): a stage's kind is the
// program's to say; this one deploys the product.
#[pipeline_stage(name = "smoke", fields(cicd.pipeline.task.type = "deploy"))]
pub fn smoke(target: &Target) -> Result<u32, SmokeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| SmokeError::Start(format!("no tokio runtime: {error}")))?;
    match target {
        Target::Running(url) => runtime.block_on(call_product(url)),
        Target::Binary(path, args) => {
            // Started inside the stage: the child's own spans outside requests (if any) are
            // children of this stage.
            let keep = keep_product()?;
            let product = ChildProduct::start(path, args, !keep)?;
            let result = runtime.block_on(call_product(&product.base_url));
            if result.is_ok() && keep {
                product.keep();
            } else {
                product.stop();
            }
            result
        }
    }
}

/// `FACTORY_PIPELINE_KEEP_PRODUCT`.
fn keep_product() -> Result<bool, SmokeError> {
    match std::env::var(KEEP_PRODUCT_ENV).as_deref().map(str::trim) {
        Err(_) | Ok("off" | "") => Ok(false),
        Ok("on") => Ok(true),
        Ok(other) => Err(SmokeError::Start(format!(
            "{KEEP_PRODUCT_ENV}={other:?}: expected on or off"
        ))),
    }
}

/// `GET /health`, `POST /tasks`, `GET /tasks/{id}`, each a CLIENT span of this stage.
async fn call_product(base: &str) -> Result<u32, SmokeError> {
    // No crypto provider to install: `init` made ring rustls's default.
    let client = reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .build()
        .map_err(|error| SmokeError::Start(format!("no HTTP client: {error}")))?;

    const HEALTH: &str = "GET /health";
    let health = client
        .get(format!("{base}/health"))
        .send_traced()
        .await
        .map_err(|error| SmokeError::Call(HEALTH, error))?;
    expect_status(HEALTH, &health, 200)?;

    const CREATE: &str = "POST /tasks";
    let title = "smoke test";
    let created = client
        .post(format!("{base}/tasks"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "title": title }).to_string())
        .send_traced()
        .await
        .map_err(|error| SmokeError::Call(CREATE, error))?;
    expect_status(CREATE, &created, 201)?;
    let created = json_of(CREATE, created).await?;
    let id = created["id"]
        .as_u64()
        .ok_or_else(|| SmokeError::Unexpected(CREATE, format!("no task id in {created}")))?;

    const READ: &str = "GET /tasks/{id}";
    let read = client
        .get(format!("{base}/tasks/{id}"))
        .send_traced()
        .await
        .map_err(|error| SmokeError::Call(READ, error))?;
    expect_status(READ, &read, 200)?;
    let read = json_of(READ, read).await?;
    if read["title"] != title {
        return Err(SmokeError::Unexpected(
            READ,
            format!("task {id} reads back as {read}"),
        ));
    }
    Ok(3)
}

fn expect_status(
    call: &'static str,
    response: &reqwest::Response,
    expected: u16,
) -> Result<(), SmokeError> {
    let status = response.status().as_u16();
    if status == expected {
        Ok(())
    } else {
        Err(SmokeError::Unexpected(
            call,
            format!("HTTP {status}, expected {expected}"),
        ))
    }
}

async fn json_of(
    call: &'static str,
    response: reqwest::Response,
) -> Result<serde_json::Value, SmokeError> {
    let body = response
        .bytes()
        .await
        .map_err(|error| SmokeError::Call(call, error))?;
    serde_json::from_slice(&body)
        .map_err(|error| SmokeError::Unexpected(call, format!("the body is not JSON: {error}")))
}

/// `product_service` running as a child of this process; stopped (SIGTERM, then kill after
/// [`STOP_TIMEOUT`]) when dropped.
struct ChildProduct {
    child: Option<Child>,
    base_url: String,
}

impl ChildProduct {
    /// Starts `path` on a free loopback port and waits until it listens; `in_run_trace`: with
    /// the environment carrier, so that what it does outside requests is in the run's trace (a
    /// product deployed to stay has traces of its own: its requests from this stage still join
    /// the run's trace through their `traceparent`).
    fn start(path: &Path, args: &[String], in_run_trace: bool) -> Result<ChildProduct, SmokeError> {
        let mut command = Command::new(path);
        command
            .args(args)
            .env("PRODUCT_ADDR", "127.0.0.1:0")
            // The product is a service of its own: `init("product-api")` names it, not the
            // factory's OTEL_SERVICE_NAME; its /metrics (if Prometheus is configured) on a
            // port of its own; no second run summary on this terminal.
            .env_remove("OTEL_SERVICE_NAME")
            .env(
                "OTEL_EXPORTER_PROMETHEUS_PORT",
                std::env::var(PRODUCT_PROMETHEUS_PORT_ENV).unwrap_or_else(|_| "0".into()),
            )
            .env("FACTORY_OBS_SUMMARY", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if in_run_trace {
            command.with_trace_context();
        }
        if let Ok(attributes) = std::env::var("OTEL_RESOURCE_ATTRIBUTES") {
            command.env(
                "OTEL_RESOURCE_ATTRIBUTES",
                without_service_name(&attributes),
            );
        }
        // The deploy gives the product its provenance: this run, its pipeline, the revision,
        // the winning candidate and the models, on every span, metric and log it records.
        if let Some(provenance) = Provenance::of_current_run() {
            command.with_provenance(&provenance);
        }
        let mut child = command
            .spawn()
            .map_err(|error| SmokeError::Start(format!("{}: {error}", path.display())))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (first_line, received) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = first_line.send(lines.next());
            // Keeps reading, so that the child never blocks on a full pipe.
            for _ in lines {}
        });
        let mut product = ChildProduct {
            child: Some(child),
            base_url: String::new(),
        };
        let line = match received.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => {
                return Err(SmokeError::Start(format!(
                    "{} exited before it listened{}",
                    path.display(),
                    product.exit_status()
                )))
            }
            Err(_) => {
                return Err(SmokeError::Start(format!(
                    "{} did not listen within {START_TIMEOUT:?}",
                    path.display()
                )))
            }
        };
        product.base_url = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| SmokeError::Start(format!("unexpected first line {line:?}")))?
            .to_owned();
        Ok(product)
    }

    /// `: exit status N` once the child has exited, for an error message.
    fn exit_status(&mut self) -> String {
        let Some(child) = self.child.as_mut() else {
            return String::new();
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return format!(" ({status})");
            }
            thread::sleep(Duration::from_millis(10));
        }
        String::new()
    }

    /// Leaves the product running after this process (deployed): says where, on stdout.
    fn keep(mut self) {
        if let Some(child) = self.child.take() {
            println!("deployed {} pid {}", self.base_url, child.id());
        }
    }

    /// SIGTERM, then waits for the child to flush and exit.
    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        #[cfg(unix)]
        {
            let pid = libc::pid_t::try_from(child.id()).unwrap_or(0);
            if pid > 0 {
                // SAFETY: `kill` only sends a signal to the child this process started and
                // has not reaped yet, so the pid is still its.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        #[cfg(not(unix))]
        let _ = child.kill();
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        eprintln!(
                            "factory_pipeline: warning: {PRODUCT_BINARY} exited with {status}"
                        );
                    }
                    return;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    eprintln!(
                        "factory_pipeline: warning: {PRODUCT_BINARY} did not stop within \
                         {STOP_TIMEOUT:?} of SIGTERM; killed"
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }
}

impl Drop for ChildProduct {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES` without a `service.name` entry: the factory's name is not the
/// product's.
fn without_service_name(attributes: &str) -> String {
    attributes
        .split(',')
        .filter(|entry| {
            entry
                .split_once('=')
                .is_none_or(|(key, _)| key.trim() != "service.name")
        })
        .collect::<Vec<_>>()
        .join(",")
}

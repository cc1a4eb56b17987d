//! A real Prometheus server on loopback (Debian's `prometheus` 2.42, installed by
//! `scripts/install-prometheus-tools.sh`), with its own config, a free port and a temporary data
//! directory, and a client of its HTTP API.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running Prometheus; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Prometheus {
    child: Child,
    port: u16,
    dir: PathBuf,
    http: reqwest::blocking::Client,
}

/// A local port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
    listener.local_addr().expect("local address").port()
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML; relative paths resolve against `dir`) in `dir`
    /// and waits (at most 30 s) until it is ready.
    pub fn start(dir: &Path, config: &str) -> Prometheus {
        std::fs::create_dir_all(dir.join("data")).expect("data directory");
        std::fs::write(dir.join("prometheus.yml"), config).expect("write the config");
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
        let child = Command::new(super::kit::tool("prometheus"))
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let server = Prometheus {
            child,
            port,
            dir: dir.to_owned(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .tls_backend_preconfigured(plain_http_tls())
                .build()
                .expect("HTTP client"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = server.http.get(server.url("/-/ready")).send() {
                if response.status().is_success() {
                    return server;
                }
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus was not ready in 30 s:\n{}", server.log());
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/<path>` with `params`: the `data` of a successful answer.
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<serde_json::Value, String> {
        let response = self
            .http
            .get(self.url(&format!("/api/v1/{path}")))
            .query(params)
            .send()
            .map_err(|e| format!("GET {path}: {e}"))?;
        let body: serde_json::Value =
            serde_json::from_str(&response.text().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("{path} {params:?}: {body}"));
        }
        Ok(body["data"].clone())
    }

    /// An instant query: its result vector (or scalar as one element).
    pub fn query(&self, expr: &str) -> Result<Vec<serde_json::Value>, String> {
        let data = self.api("query", &[("query", expr)])?;
        Ok(match &data["result"] {
            serde_json::Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        })
    }

    /// The scrape targets: (job, health) of each active target.
    pub fn targets(&self) -> Vec<(String, String)> {
        self.api("targets", &[])
            .map(|data| {
                data["activeTargets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        (
                            t["labels"]["job"].as_str().unwrap_or_default().to_owned(),
                            t["health"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls `expr` until it returns at least one series, at most `timeout`.
    pub fn wait_for_data(&self, expr: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.query(expr).is_ok_and(|r| !r.is_empty()) {
                return true;
            }
            thread::sleep(Duration::from_millis(250));
        }
        false
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The TLS settings reqwest insists on even for plain `http://`: the runtime's reqwest features
/// (`rustls-no-provider`) unify with ours, so the client is given its crypto provider (ring, as
/// the runtime's) and no roots: it only ever talks to a local Prometheus over HTTP.
pub(crate) fn plain_http_tls() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth()
}

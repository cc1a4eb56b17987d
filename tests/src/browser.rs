//! A real headless browser for end-to-end tests: Debian's `chromium`, driven through
//! `chromedriver` (Debian's `chromium-driver`, installed with it by `scripts/install-chromium.sh`)
//! with the W3C WebDriver protocol (<https://www.w3.org/TR/webdriver2/>): plain HTTP and JSON,
//! spoken here with the tests' blocking reqwest client.
//!
//! [`Browser::start`] starts chromedriver on a port it picks itself, opens a session with the
//! flags this machine needs (headless, no sandbox as root, no GPU, no background networking: the
//! machine has no network beyond loopback) and a fresh profile, and ends both when dropped.
//! `CHROMIUM` and `CHROMEDRIVER` name other binaries.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The environment variables naming the browser and its driver.
pub const CHROMIUM_ENV: &str = "CHROMIUM";
pub const CHROMEDRIVER_ENV: &str = "CHROMEDRIVER";

/// WebDriver "Elements": the key of a web element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long chromedriver may take to start, and one command to answer (a session start
/// launches chromium).
const START_TIMEOUT: Duration = Duration::from_secs(20);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The flags chromium needs here: headless, as root (no sandbox), without a GPU, and without
/// the connections it makes on its own (refused on this machine, many at a time).
const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A chromedriver process and one browser session in it.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::blocking::Client,
    profile: PathBuf,
}

/// The binary `env` names, or `name` on the `PATH`.
fn binary(env: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("sh runs");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    assert!(
        !path.is_empty(),
        "{name} is not installed: run scripts/install-chromium.sh (or set {env})"
    );
    PathBuf::from(path)
}

impl Browser {
    /// Starts chromedriver and a headless chromium session with a fresh profile.
    ///
    /// # Panics
    ///
    /// When chromium or chromedriver is missing, or either does not start in time; the message
    /// says what they printed.
    pub fn start() -> Browser {
        let chromium = binary(CHROMIUM_ENV, "chromium");
        let chromedriver = binary(CHROMEDRIVER_ENV, "chromedriver");
        // Port 0: chromedriver picks a free port and says which, so no other process can take
        // it between our choice and its bind.
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let port = match read_port(&mut driver) {
            Ok(port) => port,
            Err(message) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("{} did not start: {message}", chromedriver.display());
            }
        };
        let profile = std::env::temp_dir().join(format!(
            "factory-obs-chromium-{}-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&profile);
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|flag| flag.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let client = reqwest::blocking::Client::builder()
            .timeout(COMMAND_TIMEOUT)
            .tls_backend_preconfigured(crate::deploy::prometheus::plain_http_tls())
            .no_proxy()
            .build()
            .expect("an HTTP client");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            client,
            profile,
        };
        // WebDriver "New Session".
        let created = browser.command(
            reqwest::Method::POST,
            "/session",
            json!({
                "capabilities": {
                    "alwaysMatch": {
                        "browserName": "chrome",
                        "goog:chromeOptions": {
                            "binary": chromium.display().to_string(),
                            "args": args,
                        }
                    }
                }
            }),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {created}"))
            .to_owned();
        browser
    }

    /// Sends one WebDriver command; returns its `value`.
    ///
    /// # Panics
    ///
    /// When the driver cannot be reached or answers with an error (WebDriver "Errors":
    /// `{"value": {"error", "message"}}`).
    fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method.clone(), &url);
        if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let bytes = response
            .bytes()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let answer: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: not JSON ({e})"));
        assert!(
            status.is_success(),
            "WebDriver {method} {path} failed ({status}): {}",
            answer["value"]
        );
        answer["value"].clone()
    }

    fn session_command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Loads `url` and waits until the page has loaded (WebDriver "Navigate To").
    pub fn open(&self, url: &str) {
        self.session_command(reqwest::Method::POST, "/url", json!({ "url": url }));
    }

    /// Runs `script` (a function body; `return` gives the result) in the page (WebDriver
    /// "Execute Script").
    pub fn run(&self, script: &str) -> Value {
        self.session_command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Runs `script` every 50 ms until it returns something other than `null`, `false` or `""`;
    /// returns that.
    ///
    /// # Panics
    ///
    /// When it does not within `timeout`; the message names `what` and the page's body text.
    pub fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.run(script);
            let empty = value.is_null() || value == json!(false) || value == json!("");
            if !empty {
                return value;
            }
            if Instant::now() >= deadline {
                let body = self.run("return document.body ? document.body.innerText : ''");
                panic!("the page never showed {what} within {timeout:?}; its text: {body}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the element `css` selects, as a user would (WebDriver "Element Click":
    /// scrolled into view, the click dispatched at its centre).
    pub fn click(&self, css: &str) {
        let element = self.session_command(
            reqwest::Method::POST,
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        let id = element[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {element}"))
            .to_owned();
        self.session_command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // WebDriver "Delete Session": chromium exits with it.
            let _ = self
                .client
                .delete(format!("{}/session/{}", self.base, self.session))
                .send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Reads chromedriver's stdout until it says which port it listens on ("ChromeDriver was
/// started successfully on port N."), at most [`START_TIMEOUT`].
fn read_port(driver: &mut Child) -> Result<u16, String> {
    let stdout = driver.stdout.take().ok_or("no stdout")?;
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // Read to the end even once nobody listens: a closed pipe would kill chromedriver
            // at its next line.
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    let mut printed = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let port = rest.trim_end_matches('.').trim();
                    return port.parse().map_err(|_| format!("not a port in {line:?}"));
                }
                printed.push_str(&line);
                printed.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "no port after {START_TIMEOUT:?}; it printed: {printed}"
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!("it exited; it printed: {printed}"))
            }
        }
    }
}

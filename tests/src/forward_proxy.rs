//! Debian's tinyproxy (installed by `scripts/install-tinyproxy.sh`) as the forward proxy a
//! program is told about through `HTTP_PROXY` / `HTTPS_PROXY`, run as the test's own process with
//! a generated configuration on a free loopback port. Its log names every connection it made,
//! which is how a test knows the export went through it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Environment variable naming the tinyproxy binary (default: `tinyproxy` on the `PATH`).
pub const TINYPROXY_ENV: &str = "TINYPROXY";

/// A running tinyproxy; stopped when dropped.
pub struct ForwardProxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ForwardProxy {
    /// Listens on `127.0.0.1:{port}`, tunnels `CONNECT` to any port and forwards plain HTTP.
    ///
    /// # Panics
    ///
    /// When tinyproxy cannot be started or is not listening within 10 s.
    pub fn start(dir: &Path) -> ForwardProxy {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create tinyproxy's directory");
        let port = crate::collector::closed_port();
        let log = dir.join("tinyproxy.log");
        // No `ConnectPort` line: `CONNECT` is allowed to every port.
        let config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 64\nLogLevel Connect\n\
             LogFile \"{log}\"\nPidFile \"{pid}\"\n",
            log = log.display(),
            pid = dir.join("tinyproxy.pid").display(),
        );
        let config_path = dir.join("tinyproxy.conf");
        std::fs::write(&config_path, config).expect("write tinyproxy.conf");
        let binary = std::env::var(TINYPROXY_ENV).unwrap_or_else(|_| "tinyproxy".into());
        let child = Command::new(&binary)
            .arg("-d")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("run {binary} (scripts/install-tinyproxy.sh installs it): {error}")
            });
        let mut proxy = ForwardProxy { child, port, log };
        let log = proxy.log.clone();
        crate::peer::wait_until_listening(&mut proxy.child, "tinyproxy", port, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
        proxy
    }

    /// `http://127.0.0.1:{port}`, the value of `HTTP_PROXY` / `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The targets (`host:port`) of the `CONNECT` requests received so far, in order: one per
    /// tunnel.
    pub fn connects(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| line.split_once("): CONNECT "))
            .filter_map(|(_, request)| request.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    /// tinyproxy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Debian's tinyproxy (installed by `scripts/install-tinyproxy.sh`) as a forward HTTP proxy on a
//! free loopback port, run as the test's own process with a generated configuration; it logs
//! every `CONNECT` it is asked for, which [`ForwardProxy::connects`] reads back.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the tinyproxy binary (default: `tinyproxy` on the `PATH`, else
/// `/usr/bin/tinyproxy`).
pub const TINYPROXY_ENV: &str = "TINYPROXY";

/// A running tinyproxy; stopped when dropped.
pub struct ForwardProxy {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl ForwardProxy {
    /// Starts tinyproxy on `127.0.0.1` (free port), accepting loopback clients, `CONNECT` to any
    /// port (no `ConnectPort` line), its log in `dir`.
    ///
    /// # Panics
    ///
    /// When tinyproxy cannot be found or is not listening within 10 s.
    pub fn start(dir: &Path) -> ForwardProxy {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create tinyproxy's directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir_text = dir.display();
        let config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 32\nAllow 127.0.0.1\n\
             LogLevel Connect\nLogFile \"{dir_text}/tinyproxy.log\"\n\
             PidFile \"{dir_text}/tinyproxy.pid\"\n"
        );
        let config_path = dir.join("tinyproxy.conf");
        std::fs::write(&config_path, config).expect("write tinyproxy.conf");
        let child = Command::new(find_tinyproxy())
            // In the foreground, as the test's child.
            .arg("-d")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run tinyproxy (scripts/install-tinyproxy.sh installs it)");
        let mut proxy = ForwardProxy {
            child,
            port,
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                panic!("tinyproxy exited ({status}): {}", proxy.log());
            }
            assert!(
                Instant::now() < deadline,
                "tinyproxy is not listening: {}",
                proxy.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    /// `http://127.0.0.1:{port}`, for `HTTP_PROXY` or `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The targets (`host:port`) of the `CONNECT` requests received so far, in order.
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
        std::fs::read_to_string(self.dir.join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_tinyproxy() -> PathBuf {
    if let Some(path) = std::env::var_os(TINYPROXY_ENV) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("tinyproxy"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/tinyproxy"))
}

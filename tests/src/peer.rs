//! What starting a peer program on loopback needs: finding it (its variable, else its installer),
//! waiting until it listens, or saying why not.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Waits (at most 10 s) until `child`, the program `name`, accepts connections on
/// `127.0.0.1:{port}`.
///
/// # Panics
///
/// When it exits first or is still not listening after 10 s; the message holds `log()`.
pub fn wait_until_listening(child: &mut Child, name: &str, port: u16, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited ({status}): {}", log());
        }
        assert!(
            Instant::now() < deadline,
            "{name} is not listening: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A peer's executable: the file `$variable` names, else the path printed by the project's own
/// installer `scripts/{installer}` (idempotent, and the one place that pins its version).
///
/// # Panics
///
/// When `$variable` names no file (`hint` says what it should name), or when the installer
/// fails or prints no file (`needs` says what it needs).
pub fn find_installed(variable: &str, hint: &str, installer: &str, needs: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return path;
        }
        panic!(
            "{variable}={} is not a file; point it at {hint}, or unset it and run \
             `scripts/test.sh`",
            path.display()
        );
    }
    let script = format!("{}/../scripts/{installer}", env!("CARGO_MANIFEST_DIR"));
    let lookup = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output();
    if let Ok(lookup) = lookup {
        if lookup.status.success() {
            let path = PathBuf::from(String::from_utf8_lossy(&lookup.stdout).trim());
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "{hint} was not found and scripts/{installer} could not install it (it needs {needs}): \
         set {variable}"
    );
}

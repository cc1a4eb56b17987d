//! What starting a peer program on loopback needs: waiting until it listens, or saying why not.

use std::net::TcpStream;
use std::process::Child;
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

//! Debian's nginx (installed by `scripts/install-nginx.sh`) as a TLS-terminating proxy in front
//! of a local collector's OTLP/HTTP (`proxy_pass`) or OTLP/gRPC (`grpc_pass`, HTTP/2) receiver,
//! run as the test's own process with a generated configuration on a free loopback port.

use crate::tls::TestPki;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Environment variable naming the nginx binary (default: `nginx` on the `PATH`, else
/// `/usr/sbin/nginx`).
pub const NGINX_ENV: &str = "NGINX";

/// A running nginx; stopped when dropped.
pub struct TlsProxy {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl TlsProxy {
    /// Serves `https://localhost:{port}` with `pki`'s server certificate and forwards to
    /// `http://127.0.0.1:{upstream_port}`. With `require_client_certificate`, a client must
    /// present a certificate signed by `pki`'s CA (`ssl_verify_client on`).
    ///
    /// # Panics
    ///
    /// When nginx cannot be found or is not listening within 10 s.
    pub fn start(
        dir: &Path,
        pki: &TestPki,
        upstream_port: u16,
        require_client_certificate: bool,
    ) -> TlsProxy {
        TlsProxy::start_with(
            dir,
            pki,
            Upstream::Http(upstream_port),
            require_client_certificate,
        )
    }

    /// As [`TlsProxy::start`], for gRPC: HTTP/2 over TLS (ALPN `h2`) on `https://localhost:{port}`,
    /// forwarded with `grpc_pass` to the gRPC receiver on `127.0.0.1:{upstream_port}`.
    ///
    /// # Panics
    ///
    /// When nginx cannot be found or is not listening within 10 s.
    pub fn start_grpc(
        dir: &Path,
        pki: &TestPki,
        upstream_port: u16,
        require_client_certificate: bool,
    ) -> TlsProxy {
        TlsProxy::start_with(
            dir,
            pki,
            Upstream::Grpc(upstream_port),
            require_client_certificate,
        )
    }

    fn start_with(
        dir: &Path,
        pki: &TestPki,
        upstream: Upstream,
        require_client_certificate: bool,
    ) -> TlsProxy {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("logs")).expect("create nginx's directory");
        let port = crate::collector::closed_port();
        let client_verification = if require_client_certificate {
            format!(
                "ssl_client_certificate {};\n        ssl_verify_client on;",
                pki.ca.display()
            )
        } else {
            String::new()
        };
        let (listen_options, location) = match upstream {
            Upstream::Http(port) => ("ssl", format!("proxy_pass http://127.0.0.1:{port};")),
            // nginx 1.22 (Debian 12): `http2` is a `listen` option.
            Upstream::Grpc(port) => ("ssl http2", format!("grpc_pass grpc://127.0.0.1:{port};")),
        };
        let dir_text = dir.display();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir_text}/nginx.pid;\n\
             error_log {dir_text}/logs/error.log info;\nevents {{ worker_connections 64; }}\n\
             http {{\n    access_log {dir_text}/logs/access.log;\n\
                 client_body_temp_path {dir_text}/body;\n    proxy_temp_path {dir_text}/proxy;\n\
                 fastcgi_temp_path {dir_text}/fastcgi;\n    uwsgi_temp_path {dir_text}/uwsgi;\n\
                 scgi_temp_path {dir_text}/scgi;\n\
                 server {{\n        listen 127.0.0.1:{port} {listen_options};\n\
                 client_max_body_size 0;\n\
                 ssl_certificate {cert};\n        ssl_certificate_key {key};\n        {client_verification}\n\
                 location / {{ {location} }}\n    }}\n}}\n",
            cert = pki.server_certificate.display(),
            key = pki.server_key.display(),
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let child = Command::new(find_nginx())
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("logs/error.log"))
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run nginx (scripts/install-nginx.sh installs it)");
        let mut proxy = TlsProxy {
            child,
            port,
            dir: dir.to_owned(),
        };
        let error_log = dir.join("logs/error.log");
        crate::peer::wait_until_listening(&mut proxy.child, "nginx", port, || {
            std::fs::read_to_string(&error_log).unwrap_or_default()
        });
        proxy
    }

    /// `https://localhost:{port}`.
    pub fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
    }
}

/// Where nginx forwards to.
enum Upstream {
    /// OTLP/HTTP on this port.
    Http(u16),
    /// OTLP/gRPC on this port.
    Grpc(u16),
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_nginx() -> PathBuf {
    if let Some(path) = std::env::var_os(NGINX_ENV) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nginx"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

//! Certificates for TLS tests, generated afresh (rcgen): a private CA, a server certificate for
//! `localhost` and `127.0.0.1` signed by it, and a client certificate for mutual TLS.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// PEM files in one directory.
pub struct TestPki {
    /// The CA's certificate (what `OTEL_EXPORTER_OTLP_CERTIFICATE` names).
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub server_certificate: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// A client certificate signed by the CA, and its key.
    pub client_certificate: PathBuf,
    /// The client certificate's private key.
    pub client_key: PathBuf,
}

impl TestPki {
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: trust this CA.
    pub fn trust_env(&self) -> (&'static str, String) {
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            self.ca.display().to_string(),
        )
    }

    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`: present this CA's client certificate.
    pub fn client_certificate_env(&self) -> (&'static str, String) {
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            self.client_certificate.display().to_string(),
        )
    }

    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`: the client certificate's key.
    pub fn client_key_env(&self) -> (&'static str, String) {
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            self.client_key.display().to_string(),
        )
    }

    /// Generates a CA named `name` and its certificates into `dir`.
    ///
    /// # Panics
    ///
    /// When generating or writing fails.
    pub fn generate(dir: &Path, name: &str) -> TestPki {
        std::fs::create_dir_all(dir).expect("create the certificates' directory");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("self-signed CA");

        let leaf = |sans: Vec<String>, usage: ExtendedKeyUsagePurpose, common_name: &str| {
            let mut params = CertificateParams::new(sans).expect("leaf parameters");
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().expect("leaf key");
            let certificate = params.signed_by(&key, &ca).expect("leaf signed by the CA");
            (certificate.pem(), key.serialize_pem())
        };
        let (server_pem, server_key_pem) = leaf(
            vec!["localhost".into(), "127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
            "localhost",
        );
        let (client_pem, client_key_pem) = leaf(
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
            "factory client",
        );
        let write = |file: &str, text: &str| {
            let path = dir.join(file);
            std::fs::write(&path, text).expect("write a PEM file");
            path
        };
        TestPki {
            ca: write("ca.pem", &ca.pem()),
            server_certificate: write("server.pem", &server_pem),
            server_key: write("server.key", &server_key_pem),
            client_certificate: write("client.pem", &client_pem),
            client_key: write("client.key", &client_key_pem),
        }
    }
}

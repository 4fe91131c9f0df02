//! The lab's certificate: one self-signed certificate for every lab name
//! and 127.0.0.1, written to a PEM file that profiles pass as `cacert`.

use std::io;
use std::path::Path;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Names the certificate covers.
pub const NAMES: [&str; 4] = ["lab.test", "*.lab.test", "*.execute-api.lab.test", "127.0.0.1"];

pub struct LabCert {
    pub cert_der: CertificateDer<'static>,
    pub pem: String,
    key_pkcs8: Vec<u8>,
}

impl LabCert {
    pub fn generate() -> io::Result<LabCert> {
        let key = rcgen::generate_simple_self_signed(NAMES.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(io::Error::other)?;
        Ok(LabCert {
            cert_der: key.cert.der().clone(),
            pem: key.cert.pem(),
            key_pkcs8: key.signing_key.serialize_der(),
        })
    }

    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }

    pub fn write_pem(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, &self.pem)
    }

    /// A client configuration that trusts the lab (for the edge's origin).
    pub fn client_config(&self) -> io::Result<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert_der.clone()).map_err(io::Error::other)?;
        let mut config = rustls::ClientConfig::builder_with_provider(crate::probe::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

//! Test certificates for mutual TLS, made with rcgen in a temp folder:
//! CA A (the one the server trusts), a server certificate for 127.0.0.1
//! and localhost from A, a client certificate from A, and a client
//! certificate from another CA, B.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};

pub struct Pki {
    pub dir: tempfile::TempDir,
    /// CA A's certificate: the server's trust anchor for clients, and the
    /// client's for the server (`--cacert`).
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// From A: accepted.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// From B: refused.
    pub other_cert: PathBuf,
    pub other_key: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    dir: &Path,
    file: &str,
    names: &[&str],
    cn: &str,
    usage: ExtendedKeyUsagePurpose,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> (PathBuf, PathBuf) {
    let mut params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    let (cert_path, key_path) = (dir.join(format!("{file}.pem")), dir.join(format!("{file}.key")));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let a = ca("coldlink test CA A");
        let b = ca("coldlink test CA B");
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, a.pem()).unwrap();
        std::fs::write(dir.path().join("other-ca.pem"), b.pem()).unwrap();
        let (server_cert, server_key) = leaf(
            dir.path(),
            "server",
            &["127.0.0.1", "localhost"],
            "server",
            ExtendedKeyUsagePurpose::ServerAuth,
            &a,
        );
        let (client_cert, client_key) = leaf(
            dir.path(),
            "client",
            &[],
            "client-a",
            ExtendedKeyUsagePurpose::ClientAuth,
            &a,
        );
        let (other_cert, other_key) = leaf(
            dir.path(),
            "other",
            &[],
            "client-b",
            ExtendedKeyUsagePurpose::ClientAuth,
            &b,
        );
        Pki {
            ca: ca_path,
            server_cert,
            server_key,
            client_cert,
            client_key,
            other_cert,
            other_key,
            dir,
        }
    }
}

//! TLS client set-up: trust roots, `--cacert`, `--insecure`, ALPN, and a
//! warm-up handshake so that one-time crypto initialisation never lands in a
//! measured phase.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::record::TlsInfo;

/// What the user asked of TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Extra trust anchors (PEM), added to the system / webpki roots.
    pub ca_files: Vec<PathBuf>,
    /// Accept any certificate (still checks the handshake signatures).
    pub insecure: bool,
    /// Offer only HTTP/1.1 in ALPN.
    pub http1_only: bool,
}

/// A problem setting TLS up, before any probe is sent.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("--cacert {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build the client configuration used for every probe.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = provider();
    let builder =
        ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let mut config = if opts.insecure {
        // No roots are needed, but a bad --cacert is still bad input.
        add_ca_files(&mut RootCertStore::empty(), &opts.ca_files)?;
        let verifier = AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(&opts.ca_files)?)
            .with_no_client_auth()
    };
    config.alpn_protocols = if opts.http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The system's roots plus the `--cacert` files.
fn roots(ca_files: &[PathBuf]) -> Result<Arc<RootCertStore>, TlsSetupError> {
    if ca_files.is_empty() {
        return Ok(system_roots());
    }
    let mut roots = RootCertStore::clone(&system_roots());
    add_ca_files(&mut roots, ca_files)?;
    Ok(Arc::new(roots))
}

/// Add every certificate of the `--cacert` files; an unreadable file, one
/// with no PEM certificate, or a certificate that is no usable trust anchor
/// is an error naming the file.
fn add_ca_files(roots: &mut RootCertStore, ca_files: &[PathBuf]) -> Result<(), TlsSetupError> {
    for path in ca_files {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| TlsSetupError::CaFile {
                path: path.clone(),
                reason: format!("not a usable CA certificate: {e}"),
            })?;
        }
    }
    Ok(())
}

/// The operating system's roots, or the bundled webpki roots when the
/// system has none (a bare container). Read once per process: parsing the
/// system's bundle is most of a run's start-up (about 18 M instructions, a
/// few hundred files), and every prober (one per shard, two in `diagnose`)
/// would otherwise read it again.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(roots)
        })
        .clone()
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let fail = |reason: String| TlsSetupError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| fail(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(fail(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into(),
        ));
    }
    Ok(certs)
}

/// Facts about a finished handshake.
pub fn info(conn: &rustls::ClientConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    TlsInfo {
        version,
        resumed: matches!(conn.handshake_kind(), Some(rustls::HandshakeKind::Resumed)),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    }
}

/// Run one complete handshake in memory with the same crypto provider, so
/// that lazy one-time initialisation (key generation tables, verifier set-up)
/// is paid here and not inside the first probe's `tls` phase.
/// Once per process: what it initialises is process-wide.
pub fn warm_up() {
    static WARM: Once = Once::new();
    WARM.call_once(|| {
        if let Err(e) = in_memory_handshake() {
            tracing::debug!("TLS warm-up failed (probes still work): {e}");
        }
    });
}

fn in_memory_handshake() -> Result<(), Box<dyn std::error::Error>> {
    let key = rcgen::generate_simple_self_signed(vec!["warm-up.invalid".to_string()])?;
    let cert = key.cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.signing_key.serialize_der())?;
    let provider = provider();
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key_der)?;
    let mut roots = RootCertStore::empty();
    roots.add(cert)?;
    let client_config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("warm-up.invalid")?;
    let mut client = rustls::ClientConnection::new(Arc::new(client_config), name)?;
    let mut server = rustls::ServerConnection::new(Arc::new(server_config))?;
    for _ in 0..10 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        let mut buf = Vec::new();
        client.write_tls(&mut buf)?;
        server.read_tls(&mut buf.as_slice())?;
        server.process_new_packets()?;
        let mut buf = Vec::new();
        server.write_tls(&mut buf)?;
        client.read_tls(&mut buf.as_slice())?;
        client.process_new_packets()?;
    }
    Err("handshake did not finish".into())
}

/// `--insecure`: any certificate, any name. Signatures are still verified so
/// the handshake costs what a real one costs.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_roots_are_read_once_per_process() {
        assert!(Arc::ptr_eq(&system_roots(), &system_roots()));
        let a = client_config(&TlsOptions::default()).unwrap();
        let b = client_config(&TlsOptions::default()).unwrap();
        // Each prober still gets a configuration (and a session cache) of its own.
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_bad_cacert_is_refused_even_with_insecure() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("not-pem.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        // PEM, but what it holds is no certificate.
        let not_der = dir.path().join("not-der.pem");
        std::fs::write(
            &not_der,
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for path in [not_pem, not_der] {
            for insecure in [false, true] {
                let opts = TlsOptions {
                    ca_files: vec![path.clone()],
                    insecure,
                    http1_only: false,
                };
                let err = client_config(&opts).unwrap_err().to_string();
                let name = path.file_name().unwrap().to_str().unwrap();
                assert!(err.contains(name), "insecure={insecure}: {err}");
            }
        }
    }
}

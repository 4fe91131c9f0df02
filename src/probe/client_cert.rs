//! Client certificates (mutual TLS, `--cert` / `--key`): the certificate
//! and its key read once and checked to belong together before anything
//! is sent; the TLS connectors that present them, one per identity per
//! prober; and the words for a server that refuses one.
//!
//! The key is a secret: nothing here shows its content, and the `Debug`
//! of every type shows the certificate's path only.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::Resumption;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{AlertDescription, ClientConfig, InconsistentKeys};
use tokio_rustls::TlsConnector;

/// Where a client identity comes from: the certificate (chain) file and
/// the key file, as given. Two targets with the same paths share
/// connections; with other paths (or none) they never do.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientCertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl fmt::Debug for ClientCertPaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key's path is not shown where it is not needed.
        f.debug_struct("ClientCertPaths")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

/// A client certificate and its private key, read and checked.
pub struct ClientIdentity {
    pub paths: Arc<ClientCertPaths>,
    key: Arc<CertifiedKey>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert", &self.paths.cert)
            .finish_non_exhaustive()
    }
}

/// Which of the two files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Cert,
    Key,
}

/// What is wrong with a certificate or key file.
#[derive(Debug, thiserror::Error)]
pub enum ClientCertProblem {
    #[error("no such file")]
    Missing,
    #[error("a folder, not a file")]
    Folder,
    #[error("cannot read it: {0}")]
    Unreadable(io::Error),
    #[error("not PEM{0}")]
    NotPem(String),
    #[error("no certificate (-----BEGIN CERTIFICATE-----) in it")]
    NoCertificate,
    #[error("no private key (-----BEGIN PRIVATE KEY-----, RSA or EC) in it")]
    NoKey,
    #[error("an encrypted private key; decrypt it first (openssl pkey -in FILE -out FILE.key)")]
    EncryptedKey,
    #[error("not a usable private key ({0})")]
    BadKey(String),
    #[error("not a usable certificate ({0})")]
    BadCertificate(String),
    #[error("this key does not belong to the certificate {}", .0.display())]
    Mismatch(PathBuf),
}

impl ClientCertProblem {
    /// True when the file is not what it should be at all (missing, not
    /// PEM, the wrong contents): worth saying what was expected.
    pub fn is_wrong_file(&self) -> bool {
        use ClientCertProblem::*;
        matches!(
            self,
            Missing | Folder | Unreadable(_) | NotPem(_) | NoCertificate | NoKey
        )
    }
}

/// A certificate or key file that cannot be used, before anything is sent.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct ClientCertError {
    pub part: Part,
    pub path: PathBuf,
    #[source]
    pub problem: ClientCertProblem,
}

impl ClientIdentity {
    /// Read the certificate chain and the key, and check that the key is
    /// the certificate's (rustls compares their public keys).
    pub fn load(paths: ClientCertPaths) -> Result<Arc<ClientIdentity>, ClientCertError> {
        let fail = |part: Part, path: &Path| {
            let path = path.to_path_buf();
            move |problem| ClientCertError { part, path, problem }
        };
        let cert_text = read(&paths.cert).map_err(fail(Part::Cert, &paths.cert))?;
        let chain = certificates(&cert_text).map_err(fail(Part::Cert, &paths.cert))?;
        let key_text = read(&paths.key).map_err(fail(Part::Key, &paths.key))?;
        let key = private_key(&key_text).map_err(fail(Part::Key, &paths.key))?;
        let provider = super::tls::provider();
        let key = match CertifiedKey::from_der(chain, key, &provider) {
            Ok(key) => key,
            Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
                return Err(fail(Part::Key, &paths.key)(ClientCertProblem::Mismatch(
                    paths.cert.clone(),
                )))
            }
            Err(rustls::Error::InvalidCertificate(e)) => {
                return Err(fail(Part::Cert, &paths.cert)(ClientCertProblem::BadCertificate(
                    format!("{e:?}"),
                )))
            }
            // What the key loader refused: its words name the algorithm,
            // never the key's bytes.
            Err(e) => {
                return Err(fail(Part::Key, &paths.key)(ClientCertProblem::BadKey(
                    e.to_string(),
                )))
            }
        };
        Ok(Arc::new(ClientIdentity {
            paths: Arc::new(paths),
            key: Arc::new(key),
        }))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ClientCertProblem> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ClientCertProblem::Missing),
        Ok(m) if m.is_dir() => return Err(ClientCertProblem::Folder),
        _ => {}
    }
    std::fs::read(path).map_err(ClientCertProblem::Unreadable)
}

/// A file with no PEM section at all is "not PEM"; one whose sections are
/// something else lacks what was asked for.
fn looks_like_pem(text: &[u8]) -> bool {
    text.windows(11).any(|w| w == b"-----BEGIN ")
}

fn certificates(text: &[u8]) -> Result<Vec<CertificateDer<'static>>, ClientCertProblem> {
    if !looks_like_pem(text) {
        return Err(ClientCertProblem::NotPem(String::new()));
    }
    let chain: Vec<_> = CertificateDer::pem_slice_iter(text)
        .collect::<Result<_, _>>()
        .map_err(|e| ClientCertProblem::NotPem(format!(" ({e})")))?;
    if chain.is_empty() {
        return Err(ClientCertProblem::NoCertificate);
    }
    Ok(chain)
}

fn private_key(text: &[u8]) -> Result<PrivateKeyDer<'static>, ClientCertProblem> {
    if !looks_like_pem(text) {
        return Err(ClientCertProblem::NotPem(String::new()));
    }
    match PrivateKeyDer::from_pem_slice(text) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) if text.windows(9).any(|w| w == b"ENCRYPTED") => {
            Err(ClientCertProblem::EncryptedKey)
        }
        Err(pem::Error::NoItemsFound) => Err(ClientCertProblem::NoKey),
        // The decoder's words could quote the key's text: not shown.
        Err(_) => Err(ClientCertProblem::NotPem(
            " (a PEM section is malformed)".to_string(),
        )),
    }
}

/// The TLS connectors of one prober: the one without a client certificate,
/// and one per client identity, each made once (by `Prober::prepare`, else
/// on its first connection, before any phase of that probe is timed) and
/// kept.
pub struct Connectors {
    base: Arc<ClientConfig>,
    plain: TlsConnector,
    with_cert: Mutex<Vec<(Arc<ClientCertPaths>, TlsConnector)>>,
}

impl Connectors {
    pub fn new(base: Arc<ClientConfig>) -> Connectors {
        Connectors {
            plain: TlsConnector::from(base.clone()),
            base,
            with_cert: Mutex::new(Vec::new()),
        }
    }

    /// The connector for a target's identity (or none).
    pub fn get(&self, identity: Option<&ClientIdentity>) -> TlsConnector {
        let Some(identity) = identity else {
            return self.plain.clone();
        };
        let mut made = self.with_cert.lock().expect("connectors lock");
        if let Some((_, c)) = made.iter().find(|(p, _)| *p == identity.paths) {
            return c.clone();
        }
        let connector = TlsConnector::from(Arc::new(self.config_for(identity)));
        made.push((identity.paths.clone(), connector.clone()));
        connector
    }

    /// The base configuration presenting `identity`. Its own session
    /// cache: a resumed session carries the client authentication of the
    /// one it resumes, so sessions must never cross identities. rustls
    /// already refuses to resume under another certificate resolver; a
    /// cache apiece also keeps one identity's sessions from taking the
    /// room of another's.
    fn config_for(&self, identity: &ClientIdentity) -> ClientConfig {
        let mut config = ClientConfig::clone(&self.base);
        config.client_auth_cert_resolver = Arc::new(SingleCertAndKey::from(identity.key.clone()));
        config.resumption = Resumption::default();
        config
    }
}

/// When `err` is a TLS alert by which the server refused the client
/// certificate (or asked for one that was not sent), the words for it.
/// `sent`: whether this probe presented a certificate.
pub fn refusal(err: &(dyn StdError + 'static), sent: bool) -> Option<String> {
    let alert = received_alert(err)?;
    let name =
        match alert {
            AlertDescription::CertificateRequired => return Some(
                "the server requires a client certificate and none was sent (TLS alert certificate_required)"
                    .to_string(),
            ),
            AlertDescription::BadCertificate => "bad_certificate",
            AlertDescription::UnknownCA => "unknown_ca",
            AlertDescription::CertificateUnknown => "certificate_unknown",
            AlertDescription::AccessDenied => "access_denied",
            AlertDescription::CertificateExpired => "certificate_expired",
            AlertDescription::CertificateRevoked => "certificate_revoked",
            AlertDescription::UnsupportedCertificate => "unsupported_certificate",
            _ => return None,
        };
    Some(if sent {
        format!("the server refused the client certificate (TLS alert {name})")
    } else {
        format!("the server refused the connection and no client certificate was sent; it may require one (TLS alert {name})")
    })
}

/// The alert the peer sent, wherever it is in the error's causes.
/// tokio-rustls wraps rustls' error in an `io::Error`, whose `source()`
/// skips it: look inside with `get_ref`.
fn received_alert(err: &(dyn StdError + 'static)) -> Option<AlertDescription> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let inner = e
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn StdError + 'static));
        for candidate in [Some(e), inner].into_iter().flatten() {
            if let Some(rustls::Error::AlertReceived(alert)) = candidate.downcast_ref::<rustls::Error>() {
                return Some(*alert);
            }
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and its key, as PEM.
    fn pair() -> (String, String) {
        let k = rcgen::generate_simple_self_signed(vec!["client.test".to_string()]).unwrap();
        (k.cert.pem(), k.signing_key.serialize_pem())
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn one_file_may_hold_both_and_debug_shows_neither_the_key_nor_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair();
        let both = write(dir.path(), "both.pem", &format!("{key}{cert}"));
        let id = ClientIdentity::load(ClientCertPaths {
            cert: both.clone(),
            key: both,
        })
        .unwrap();
        let shown = format!("{id:?} {:?}", id.paths);
        assert!(shown.contains("both.pem"), "{shown}");
        let secret = key.lines().nth(1).unwrap();
        assert!(!shown.contains(secret));
        let secret_dir = dir.path().join("secret-key-folder");
        std::fs::create_dir(&secret_dir).unwrap();
        let paths = ClientCertPaths {
            cert: PathBuf::from("c.pem"),
            key: secret_dir.join("k.pem"),
        };
        assert!(!format!("{paths:?}").contains("secret-key-folder"));
    }

    #[test]
    fn each_problem_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair();
        let (_, other_key) = pair();
        let cert = write(dir.path(), "c.pem", &cert);
        let key = write(dir.path(), "k.pem", &key);
        let other = write(dir.path(), "o.pem", &other_key);
        let text = write(dir.path(), "t.txt", "hello");
        let load = |c: &Path, k: &Path| {
            ClientIdentity::load(ClientCertPaths {
                cert: c.to_path_buf(),
                key: k.to_path_buf(),
            })
            .map(|_| ())
            .unwrap_err()
        };
        let e = load(&dir.path().join("none.pem"), &key);
        assert!(matches!(
            (e.part, &e.problem),
            (Part::Cert, ClientCertProblem::Missing)
        ));
        let e = load(&text, &key);
        assert!(matches!(
            (e.part, &e.problem),
            (Part::Cert, ClientCertProblem::NotPem(_))
        ));
        let e = load(&key, &key);
        assert!(matches!(
            (e.part, &e.problem),
            (Part::Cert, ClientCertProblem::NoCertificate)
        ));
        let e = load(&cert, &cert);
        assert!(matches!(
            (e.part, &e.problem),
            (Part::Key, ClientCertProblem::NoKey)
        ));
        let e = load(&cert, dir.path());
        assert!(matches!(
            (e.part, &e.problem),
            (Part::Key, ClientCertProblem::Folder)
        ));
        let e = load(&cert, &other);
        assert!(matches!(
            (e.part, &e.problem),
            (Part::Key, ClientCertProblem::Mismatch(_))
        ));
        assert_eq!(e.path, other);
        let encrypted = write(
            dir.path(),
            "e.pem",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\naGVsbG8=\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        let e = load(&cert, &encrypted);
        assert!(matches!(e.problem, ClientCertProblem::EncryptedKey));
    }

    #[test]
    fn a_connector_per_identity_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let load = |name: &str| {
            let (cert, key) = pair();
            ClientIdentity::load(ClientCertPaths {
                cert: write(dir.path(), &format!("{name}.pem"), &cert),
                key: write(dir.path(), &format!("{name}.key"), &key),
            })
            .unwrap()
        };
        let (a, b) = (load("a"), load("b"));
        let base = super::super::tls::client_config(&Default::default()).unwrap();
        let connectors = Connectors::new(base.clone());
        let config = |id: Option<&ClientIdentity>| connectors.get(id).config().clone();
        assert!(Arc::ptr_eq(&config(None), &base));
        let first = config(Some(&a));
        assert!(Arc::ptr_eq(&first, &config(Some(&a))), "made once");
        assert!(!Arc::ptr_eq(&first, &config(Some(&b))));
    }

    #[test]
    fn refusal_alerts_are_named_others_are_not() {
        let alert =
            |a: AlertDescription| io::Error::new(io::ErrorKind::InvalidData, rustls::Error::AlertReceived(a));
        let e = alert(AlertDescription::CertificateRequired);
        assert_eq!(
            refusal(&e, false).unwrap(),
            "the server requires a client certificate and none was sent (TLS alert certificate_required)"
        );
        let e = alert(AlertDescription::UnknownCA);
        assert_eq!(
            refusal(&e, true).unwrap(),
            "the server refused the client certificate (TLS alert unknown_ca)"
        );
        assert!(refusal(&e, false)
            .unwrap()
            .contains("no client certificate was sent"));
        assert_eq!(refusal(&alert(AlertDescription::HandshakeFailure), true), None);
        assert_eq!(refusal(&io::Error::other("reset"), true), None);
    }
}

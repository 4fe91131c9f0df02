//! Mutual TLS against an in-process rustls server that requires a client
//! certificate from CA A (WebPkiClientVerifier), as API Gateway's custom
//! domains with mutual TLS do: a refusal fails the handshake with an alert.
//! On TLS 1.2 the alert ends the handshake; on TLS 1.3 the client's
//! handshake is over first and the alert arrives with the response.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use coldlink::probe::{
    ClientCertPaths, ClientIdentity, ConnectionPolicy, ErrorKind, Phase, ProbeSettings, Prober, RequestSpec,
    Target, TlsOptions,
};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::common::pki::Pki;

/// The server: the common name of each accepted client certificate, in
/// order of the handshakes that succeeded.
struct MtlsServer {
    addr: SocketAddr,
    accepted: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MtlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(pki: &Pki, version: &'static rustls::SupportedProtocolVersion) -> MtlsServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca).unwrap())
        .unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let chain = vec![CertificateDer::from_pem_file(&pki.server_cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&pki.server_key).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let seen = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).into_fallible().await {
                    Ok(tls) => tls,
                    // The alert is out: read until the client closes, so
                    // that a reset never overtakes the alert on its way.
                    Err((_, mut tcp)) => {
                        let mut sink = [0u8; 1024];
                        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
                        return;
                    }
                };
                let cn = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(common_name)
                    .unwrap_or_default();
                seen.lock().unwrap().push(cn);
                let service = service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(bytes::Bytes::from(
                        "ok\n",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    MtlsServer { addr, accepted, task }
}

/// The CN of a test certificate: rcgen writes it as a UTF8String; find
/// the text after the CN's object id.
fn common_name(cert: &CertificateDer<'_>) -> String {
    let der = cert.as_ref();
    let cn_oid = [0x06, 0x03, 0x55, 0x04, 0x03];
    // The last CN is the subject's (the issuer's comes first).
    let at = der.windows(5).rposition(|w| w == cn_oid).expect("a CN");
    let len = der[at + 6] as usize;
    String::from_utf8_lossy(&der[at + 7..at + 7 + len]).into_owned()
}

fn prober(pki: &Pki, policy: ConnectionPolicy) -> Prober {
    Prober::new(ProbeSettings {
        connections: policy,
        tls: TlsOptions {
            ca_files: vec![pki.ca.clone()],
            ..TlsOptions::default()
        },
        ..ProbeSettings::default()
    })
    .unwrap()
}

fn target(name: &str, server: &MtlsServer, cert: Option<(&std::path::Path, &std::path::Path)>) -> Target {
    let url = url::Url::parse(&format!("https://127.0.0.1:{}/", server.addr.port())).unwrap();
    let identity = cert.map(|(cert, key)| {
        ClientIdentity::load(ClientCertPaths {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
        .unwrap()
    });
    Target::new(name, url, None, Arc::new(RequestSpec::default())).with_client_cert(identity)
}

async fn right_none_and_other(version: &'static rustls::SupportedProtocolVersion, tls: &str) {
    let pki = Pki::new();
    let server = start(&pki, version).await;
    let prober = prober(&pki, ConnectionPolicy::Fresh);

    let right = target("right", &server, Some((&pki.client_cert, &pki.client_key)));
    let r = prober.probe(&right, 1, Instant::now()).await;
    assert!(r.error.is_none(), "{tls}: {r:?}");
    assert_eq!(r.status, Some(200));
    assert_eq!(r.tls.as_ref().unwrap().version, tls);
    assert_eq!(*server.accepted.lock().unwrap(), ["client-a"]);
    // The server gives sessions to resume, and a new connection with the
    // same certificate resumes one...
    let r = prober.probe(&right, 2, Instant::now()).await;
    assert!(
        r.error.is_none() && r.tls.as_ref().unwrap().resumed,
        "{tls}: {r:?}"
    );

    // ...but one without a certificate never does: a resumed session
    // would carry the other's authentication (each identity has its own
    // session cache, and rustls resumes only under the certificate that
    // made the session), so the server asks, and refuses.
    let none = target("none", &server, None);
    let r = prober.probe(&none, 3, Instant::now()).await;
    let e = r
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("{tls}: no error: {r:?}"));
    assert_eq!(e.kind, ErrorKind::Tls, "{tls}: {e:?}");
    assert_eq!(
        e.message,
        "the server requires a client certificate and none was sent (TLS alert certificate_required)",
        "{tls}"
    );
    // TLS 1.2: the alert ends the handshake. TLS 1.3: the client's
    // handshake is over first; the alert comes with the response.
    let expected = if tls == "TLSv1.2" {
        [Phase::Tls, Phase::Tls]
    } else {
        [Phase::Send, Phase::Ttfb]
    };
    assert!(expected.contains(&e.phase), "{tls}: {e:?}");
    assert!(r.tls.as_ref().is_none_or(|t| !t.resumed), "{tls}: {r:?}");

    let other = target("other", &server, Some((&pki.other_cert, &pki.other_key)));
    let r = prober.probe(&other, 4, Instant::now()).await;
    let e = r
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("{tls}: no error: {r:?}"));
    assert_eq!(e.kind, ErrorKind::Tls, "{tls}: {e:?}");
    assert_eq!(
        e.message, "the server refused the client certificate (TLS alert unknown_ca)",
        "{tls}"
    );
    // Only the right certificate was ever accepted (twice).
    assert_eq!(*server.accepted.lock().unwrap(), ["client-a", "client-a"]);
}

#[tokio::test]
async fn tls13_right_certificate_ok_none_and_another_cas_refused_by_name() {
    right_none_and_other(&rustls::version::TLS13, "TLSv1.3").await;
}

#[tokio::test]
async fn tls12_right_certificate_ok_none_and_another_cas_refused_by_name() {
    right_none_and_other(&rustls::version::TLS12, "TLSv1.2").await;
}

/// Issue 16: a pooled connection made with one identity (or none) never
/// carries a probe of a target with another, though the origin is the same.
#[tokio::test]
async fn the_pool_never_lends_a_connection_across_identities() {
    let pki = Pki::new();
    let server = start(&pki, &rustls::version::TLS13).await;
    let prober = prober(&pki, ConnectionPolicy::Reuse);
    let right = target("right", &server, Some((&pki.client_cert, &pki.client_key)));
    let none = target("none", &server, None);
    let right_again = target("right-again", &server, Some((&pki.client_cert, &pki.client_key)));

    let first = prober.probe(&right, 1, Instant::now()).await;
    assert!(first.error.is_none(), "{first:?}");
    let r = prober.probe(&none, 3, Instant::now()).await;
    assert_eq!(r.error.as_ref().map(|e| e.kind), Some(ErrorKind::Tls), "{r:?}");
    assert!(!r.conn.as_ref().is_some_and(|c| c.reused), "{r:?}");
    // Same files, loaded apart: the same identity, so the connection is shared.
    let r = prober.probe(&right_again, 3, Instant::now()).await;
    assert!(r.error.is_none(), "{r:?}");
    let conn = r.conn.unwrap();
    assert!(conn.reused, "{conn:?}");
    assert_eq!(conn.id, first.conn.unwrap().id);
    assert_eq!(*server.accepted.lock().unwrap(), ["client-a"]);
}

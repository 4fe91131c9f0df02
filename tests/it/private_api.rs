//! Issue #16 §2: the four ways to call a private API through an interface
//! VPC endpoint (docs/private-apis.md), each against a loopback stand-in
//! for the endpoint: a TLS server that records, per request, the TLS
//! server name (SNI), the Host (`:authority` over HTTP/2) and
//! `x-apigw-api-id`, and answers as an endpoint does when it cannot tell
//! which API is meant: 403 `{"message":"Forbidden"}`.
//!
//! Not a VPC endpoint: what AWS does is in the doc, with what was and was
//! not tested. Certificates are checked (`--cacert`, never `-k`), so a
//! wrong server name fails the handshake as it would there.

use crate::common::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::common::{bin, start_dns, Dns};

const API: &str = "a1b2c3d4e5";
const REGION: &str = "eu-west-1";
const VPCE: &str = "vpce-0123456789abcdef0";

/// (a) private DNS on the endpoint: the API's own execute-api name.
fn private_dns() -> String {
    format!("{API}.execute-api.{REGION}.amazonaws.com")
}

/// (b) the Route 53 alias the endpoint gets for each API it is associated with.
fn route53_alias() -> String {
    format!("{API}-{VPCE}.execute-api.{REGION}.amazonaws.com")
}

/// (c) the endpoint's own hostname.
fn vpce_host() -> String {
    format!("{VPCE}-abcdefgh.execute-api.{REGION}.vpce.amazonaws.com")
}

/// (d) a private custom domain name.
const CUSTOM_DOMAIN: &str = "orders.internal.example.com";

/// One request as the stand-in saw it.
#[derive(Clone, Debug)]
struct Seen {
    sni: Option<String>,
    /// Host header (HTTP/1.1) or `:authority` (HTTP/2), port included.
    host: String,
    api_id: Option<String>,
    http: hyper::Version,
    status: u16,
}

struct Endpoint {
    port: u16,
    ca_file: PathBuf,
    seen: Arc<Mutex<Vec<Seen>>>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Endpoint {
    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}/test/orders", self.port)
    }

    /// `--resolve` pinning `host` at this port to loopback.
    fn pin(&self, host: &str) -> String {
        format!("{host}:{}:127.0.0.1", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// How the stand-in judges a request.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Which API is meant comes from the Host, or from `x-apigw-api-id`
    /// when the Host is the endpoint's own name.
    Basic,
    /// Also refuse a request whose Host is not the TLS server name: how
    /// the doc describes a strict endpoint access mode (modelled, not
    /// AWS's code).
    Strict,
}

/// The stand-in: one certificate for the names a VPC endpoint answers to
/// (its wildcards) and the private custom domain; h2 and http/1.1 offered.
async fn start_endpoint(mode: Mode) -> Endpoint {
    let names = vec![
        format!("*.execute-api.{REGION}.amazonaws.com"),
        format!("*.execute-api.{REGION}.vpce.amazonaws.com"),
        CUSTOM_DOMAIN.to_string(),
    ];
    let key = rcgen::generate_simple_self_signed(names).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("endpoint-ca.pem");
    std::fs::write(&ca_file, key.cert.pem()).unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.signing_key.serialize_der()).unwrap();
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![key.cert.der().clone()], key_der)
            .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, log) = (acceptor.clone(), log.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (_, conn) = tls.get_ref();
                let sni = conn.server_name().map(str::to_string);
                let h2 = conn.alpn_protocol() == Some(b"h2");
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = answer(&req, sni.clone(), mode);
                    log.lock().unwrap().push(seen.clone());
                    async move { Ok::<_, std::convert::Infallible>(response(seen.status)) }
                });
                let io = TokioIo::new(tls);
                if h2 {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }
            });
        }
    });
    Endpoint {
        port,
        ca_file,
        seen,
        _dir: dir,
        task,
    }
}

/// What the stand-in makes of one request.
fn answer<B>(req: &hyper::Request<B>, sni: Option<String>, mode: Mode) -> Seen {
    let host = match req.uri().authority() {
        Some(a) => a.to_string(),
        None => req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    let api_id = req
        .headers()
        .get("x-apigw-api-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let name = host.rsplit_once(':').map_or(host.as_str(), |(n, _)| n);
    let endpoint_name = name.ends_with(".vpce.amazonaws.com");
    let forbidden =
        (endpoint_name && api_id.is_none()) || (mode == Mode::Strict && sni.as_deref() != Some(name));
    Seen {
        sni,
        host: host.clone(),
        api_id,
        http: req.version(),
        status: if forbidden { 403 } else { 200 },
    }
}

fn response(status: u16) -> hyper::Response<Full<bytes::Bytes>> {
    let body = if status == 200 {
        r#"{"orders":[]}"#
    } else {
        r#"{"message":"Forbidden"}"#
    };
    let mut r = hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-requestid", "req-private");
    if status == 403 {
        r = r.header("x-amzn-errortype", "ForbiddenException");
    }
    r.body(Full::new(bytes::Bytes::from(body))).unwrap()
}

/// Run coldlink off the runtime (the stand-in keeps serving), with no
/// proxy variables and no RUST_LOG inherited.
async fn coldlink(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(bin());
        cmd.args(&args).env_remove("RUST_LOG").env("NO_COLOR", "1");
        for var in coldlink::commands::notes::PROXY_VARS {
            cmd.env_remove(var);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn s(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The NDJSON records coldlink printed.
fn records(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `probe URL --format ndjson --cacert CA` plus `extra`; every record written
/// to `out` too, for `diagnose --from`.
async fn probe(ep: &Endpoint, url: &str, extra: &[&str], out: &Path) -> Output {
    let mut a = s(&["probe", url, "--format", "ndjson", "--cacert"]);
    a.push(ep.ca_file.to_str().unwrap().into());
    a.extend(s(&["--out", out.to_str().unwrap()]));
    a.extend(s(extra));
    coldlink(a).await
}

/// The kind `diagnose --from` gives each target of the records in `file`.
async fn kinds(file: &Path) -> Vec<(String, String)> {
    let out = coldlink(s(&[
        "diagnose",
        "--from",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["url"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (a) and (b): the API's execute-api name, and the Route 53 alias, pinned
/// to the endpoint with `--resolve`: no DNS, and SNI and Host are the
/// URL's name (HTTP/2 and HTTP/1.1). The same through a DNS server that
/// answers with the endpoint's address (`--dns-server`). Both are
/// `execute-api` targets.
#[tokio::test]
async fn the_execute_api_name_and_the_route53_alias_keep_sni_and_host_as_the_url() {
    let ep = start_endpoint(Mode::Strict).await;
    let (dns, queries) = start_dns(Dns::Loopback {
        delay: std::time::Duration::ZERO,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.ndjson");
    for name in [private_dns(), route53_alias()] {
        let url = ep.url(&name);
        let pin = ep.pin(&name);
        let dns_server = dns.to_string();
        let ways: [(&[&str], hyper::Version, bool); 3] = [
            (&["--resolve", &pin], hyper::Version::HTTP_2, false),
            (&["--resolve", &pin, "--http1.1"], hyper::Version::HTTP_11, false),
            (&["--dns-server", &dns_server], hyper::Version::HTTP_2, true),
        ];
        for (extra, http, resolved) in ways {
            let before = ep.seen().len();
            let asked = queries.load(std::sync::atomic::Ordering::SeqCst);
            let out = probe(&ep, &url, extra, &file).await;
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {extra:?}: {}",
                text(&out.stderr)
            );
            let seen = ep.seen();
            assert_eq!(seen.len(), before + 1, "{name} {extra:?}");
            let got = &seen[before];
            assert_eq!(got.sni.as_deref(), Some(name.as_str()), "{extra:?}");
            assert_eq!(got.host, format!("{name}:{}", ep.port), "{extra:?}");
            assert_eq!((got.http, got.status, got.api_id.as_deref()), (http, 200, None));
            let record = &records(&out)[0];
            assert_eq!(record["status"], 200);
            assert_eq!(record["remote"], format!("127.0.0.1:{}", ep.port));
            // A pinned address needs no DNS: no phase, no query.
            let dns_ms = &record["phases_ms"]["dns"];
            let asked_now = queries.load(std::sync::atomic::Ordering::SeqCst);
            if resolved {
                assert!(dns_ms.is_number(), "{record}");
                assert!(asked_now > asked);
            } else {
                assert!(dns_ms.is_null(), "{record}");
                assert_eq!(asked_now, asked, "{extra:?} asked the DNS server");
            }
        }
    }
    let kinds = kinds(&file).await;
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    for (url, kind) in kinds {
        assert_eq!(kind, "execute-api", "{url}");
    }
}

/// (c) the endpoint's own hostname: it serves every API it is associated
/// with, so without `x-apigw-api-id` it cannot tell which one (403);
/// `--api-id` (or a profile's `[connection] api_id`) sends it, and SNI and
/// Host stay the endpoint's name. An `execute-api` target.
#[tokio::test]
async fn the_endpoint_hostname_needs_the_api_id_and_keeps_sni_and_host() {
    let ep = start_endpoint(Mode::Strict).await;
    let name = vpce_host();
    let url = ep.url(&name);
    let pin = ep.pin(&name);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.ndjson");

    let out = probe(&ep, &url, &["--resolve", &pin, "--api-id", API], &file).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = ep.seen().pop().unwrap();
    assert_eq!(got.sni.as_deref(), Some(name.as_str()));
    assert_eq!(got.host, format!("{name}:{}", ep.port));
    assert_eq!((got.api_id.as_deref(), got.status), (Some(API), 200));
    assert_eq!(records(&out)[0]["status"], 200);

    // Without it: the endpoint's 403, a failed probe (exit 1) whose record
    // says so.
    let out = probe(&ep, &url, &["--resolve", &pin], &file).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let got = ep.seen().pop().unwrap();
    assert_eq!((got.api_id, got.status), (None, 403));
    let record = &records(&out)[0];
    assert_eq!(record["status"], 403, "{record}");
    assert_eq!(record["error"]["kind"], "status", "{record}");
    assert_eq!(record["headers"]["x-amzn-errortype"], "ForbiddenException");

    // From a profile's [connection], with the pin and the CA there too.
    let profile = dir.path().join("private.toml");
    std::fs::write(
        &profile,
        format!(
            "[[target]]\nname = \"orders-vpce\"\nurl = \"{url}\"\n\n[connection]\nresolve = [\"{pin}\"]\ncacert = [\"{}\"]\napi_id = \"{API}\"\n\n[burst]\nrequests = 2\nconcurrency = 1\n",
            ep.ca_file.display()
        ),
    )
    .unwrap();
    let before = ep.seen().len();
    let out = coldlink(s(&[
        "run",
        "--profile",
        profile.to_str().unwrap(),
        "--burst",
        "-q",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let seen = ep.seen();
    assert_eq!(seen.len(), before + 2);
    for got in &seen[before..] {
        assert_eq!(got.api_id.as_deref(), Some(API));
        assert_eq!((got.sni.as_deref(), got.status), (Some(name.as_str()), 200));
    }

    let kinds = kinds(&file).await;
    assert_eq!(kinds, [(url.clone(), "execute-api".to_string())]);
}

/// (d) a private custom domain name: SNI and Host are the domain; coldlink
/// counts it a `custom-domain` target (what `edge` compares with the
/// execute-api URL), although it has no CloudFront in front.
#[tokio::test]
async fn a_private_custom_domain_is_a_custom_domain_target_with_its_own_sni_and_host() {
    let ep = start_endpoint(Mode::Strict).await;
    let url = ep.url(CUSTOM_DOMAIN);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.ndjson");
    let out = probe(&ep, &url, &["--resolve", &ep.pin(CUSTOM_DOMAIN)], &file).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = ep.seen().pop().unwrap();
    assert_eq!(got.sni.as_deref(), Some(CUSTOM_DOMAIN));
    assert_eq!(got.host, format!("{CUSTOM_DOMAIN}:{}", ep.port));
    assert_eq!(got.status, 200);
    assert_eq!(kinds(&file).await, [(url, "custom-domain".to_string())]);
}

/// The form the doc warns against: the endpoint's hostname with
/// `-H 'Host: {api}.execute-api…'`. Over HTTP/1.1 the Host header is the
/// override while SNI stays the URL's name, so a server that wants them to
/// agree (strict mode, as the stand-in models it) refuses it; a lenient one
/// serves it. Over HTTP/2 the override is the `:authority` (HTTP/2 has no
/// Host header), as curl sends it: the same Host, the same SNI.
#[tokio::test]
async fn a_host_override_changes_the_host_but_not_the_sni() {
    let strict = start_endpoint(Mode::Strict).await;
    let basic = start_endpoint(Mode::Basic).await;
    let name = vpce_host();
    let host = format!("Host: {}", private_dns());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.ndjson");
    for (ep, code, status) in [(&strict, 1, 403), (&basic, 0, 200)] {
        let pin = ep.pin(&name);
        let out = probe(
            ep,
            &ep.url(&name),
            &["--resolve", &pin, "--http1.1", "-H", &host],
            &file,
        )
        .await;
        assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
        let got = ep.seen().pop().unwrap();
        assert_eq!(
            got.sni.as_deref(),
            Some(name.as_str()),
            "SNI stays the URL's name"
        );
        assert_eq!(
            got.host,
            private_dns(),
            "the Host header is the override, as written"
        );
        assert_eq!((got.http, got.status), (hyper::Version::HTTP_11, status));
    }
    let pin = basic.pin(&name);
    let out = probe(
        &basic,
        &basic.url(&name),
        &["--resolve", &pin, "-H", &host],
        &file,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = basic.seen().pop().unwrap();
    assert_eq!(got.http, hyper::Version::HTTP_2);
    assert_eq!(
        got.sni.as_deref(),
        Some(name.as_str()),
        "SNI stays the URL's name"
    );
    assert_eq!(got.host, private_dns(), "h2: the override as :authority");
    assert_eq!((got.api_id, got.status), (None, 200));
}

/// A name the certificate does not cover fails the handshake: the server
/// name really is checked (why the doc says the URL's host must be a name
/// the endpoint's certificate has).
#[tokio::test]
async fn a_name_outside_the_endpoint_certificate_fails_in_tls() {
    let ep = start_endpoint(Mode::Basic).await;
    let name = "orders.other.example.com";
    let dir = tempfile::tempdir().unwrap();
    let out = probe(
        &ep,
        &ep.url(name),
        &["--resolve", &ep.pin(name)],
        &dir.path().join("r"),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let record = &records(&out)[0];
    assert_eq!(record["error"]["kind"], "tls", "{record}");
    assert!(ep.seen().is_empty());
}

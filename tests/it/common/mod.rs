//! Test harness: loopback HTTP and HTTPS servers on port 0 that record what
//! they received and misbehave on demand. Certificates are made at test
//! time with rcgen; nothing touches the network beyond 127.0.0.1. (A little
//! over 500 lines: the servers share their state and accept loop; the DNS
//! server and the AWS emulators live in modules of their own.)
#![allow(dead_code)]

pub mod aws_diagnose;
mod dns;
pub mod localstack;
pub mod moto;
pub mod path_config;
pub mod pki;
pub mod record;
pub mod runner;
pub mod server_process;
pub mod tmux;

pub use dns::{start_dns, Dns};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the server answers.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// 200 with a small body, keep-alive.
    Ok,
    /// Wait this long before sending the response headers.
    DelayHeaders(Duration),
    /// Send the headers and part of the body, then reset the connection.
    ResetMidResponse,
    /// Read the request and never answer.
    NeverAnswer,
    /// Answer with keep-alive, then close a connection idle this long.
    CloseIdleAfter(Duration),
    /// Answer with bytes that are not HTTP.
    Garbage,
    /// Answer with this status.
    Status(u16),
    /// Send the headers at once and the body this much later.
    SlowBody(Duration),
    /// Answer with this status and every request header echoed back, as a
    /// backend behind API Gateway may: under its own name, renamed
    /// `x-amzn-remapped-<name>`, inside a longer value under
    /// `x-amzn-remapped-x-echo-<name>`, and all together in `via`.
    Echo(u16),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Received {
    /// Which accepted connection (1, 2, …) carried it.
    pub conn: usize,
    pub request_line: String,
    /// Lower-cased names, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct State {
    pub requests: Mutex<Vec<Received>>,
    pub accepted: AtomicUsize,
    pub open: AtomicUsize,
    pub max_open: AtomicUsize,
}

pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<State>,
    /// The CA (self-signed server certificate) as a PEM file, for --cacert.
    pub ca_file: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.ca_file.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.addr.port())
    }

    /// The same server by name, so that DNS (the hosts file) is used.
    pub fn url_localhost(&self, path: &str) -> String {
        self.url(path).replace("127.0.0.1", "localhost")
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.requests.lock().unwrap().clone()
    }
}

/// A plain HTTP server.
pub async fn start(behavior: Behavior) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State::default());
    let task = tokio::spawn(accept_loop(listener, None, behavior, state.clone()));
    Server {
        addr,
        state,
        ca_file: None,
        _dir: None,
        task,
    }
}

/// A self-signed certificate for `names`, written as a CA file, and a
/// server configuration that offers `alpn`.
fn server_tls(names: &[&str], alpn: &[u8]) -> (rustls::ServerConfig, PathBuf, tempfile::TempDir) {
    let key =
        rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, key.cert.pem()).unwrap();
    let cert = key.cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.signing_key.serialize_der()).unwrap();
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key_der)
            .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    (config, ca_file, dir)
}

/// An HTTPS server whose self-signed certificate names `names` only.
pub async fn start_tls(behavior: Behavior, names: &[&str]) -> Server {
    let (config, ca_file, dir) = server_tls(names, b"http/1.1");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State::default());
    let task = tokio::spawn(accept_loop(listener, Some(acceptor), behavior, state.clone()));
    Server {
        addr,
        state,
        ca_file: Some(ca_file),
        _dir: Some(dir),
        task,
    }
}

/// An HTTPS server that negotiates HTTP/2 (ALPN h2) and answers 200 with
/// the request's HTTP version in the body; served by hyper.
pub async fn start_h2(names: &[&str]) -> Server {
    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let (config, ca_file, dir) = server_tls(names, b"h2");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State::default());
    let st = state.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let n = st.accepted.fetch_add(1, Ordering::SeqCst) + 1;
            let (acceptor, st) = (acceptor.clone(), st.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let st = st.clone();
                    async move {
                        st.requests.lock().unwrap().push(Received {
                            conn: n,
                            request_line: format!("{} {} {:?}", req.method(), req.uri(), req.version()),
                            headers: req
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                                .collect(),
                            body: Vec::new(),
                        });
                        let body = format!("{:?}", req.version());
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            bytes::Bytes::from(body),
                        )))
                    }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Server {
        addr,
        state,
        ca_file: Some(ca_file),
        _dir: Some(dir),
        task,
    }
}

/// A TCP proxy on 127.0.0.1:0 that delays every chunk by `one_way` in both
/// directions, like a network with a round trip of twice that.
pub async fn start_delay_proxy(upstream: SocketAddr, one_way: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                return;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(delayed_pipe(cr, sw, one_way));
            tokio::spawn(delayed_pipe(sr, cw, one_way));
        }
    });
    addr
}

async fn delayed_pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let _ = tx.send((tokio::time::Instant::now() + delay, buf[..n].to_vec()));
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// A listener whose accept queue is full and never drained: the kernel
/// drops further SYNs, so a new connection hangs in `connect`. Returns the
/// address and the sockets that keep the queue full.
pub async fn start_full_backlog() -> (SocketAddr, Vec<tokio::net::TcpStream>, tokio::net::TcpListener) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        match tokio::time::timeout(Duration::from_millis(200), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => fillers.push(s),
            _ => break,
        }
    }
    (addr, fillers, listener)
}

/// A loopback port with nothing listening: connecting is refused.
///
/// The socket stays bound, but never listens, for as long as the guard lives:
/// a port merely freed again could be taken by another test's server in the
/// meantime (CI once got a 404 from a "closed" port).
pub struct ClosedPort {
    pub addr: SocketAddr,
    _bound: socket2::Socket,
}

pub fn closed_port() -> ClosedPort {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    ClosedPort { addr, _bound: socket }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    behavior: Behavior,
    state: Arc<State>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let n = state.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        let open = state.open.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_open.fetch_max(open, Ordering::SeqCst);
        let (tls, behavior, state) = (tls.clone(), behavior.clone(), state.clone());
        tokio::spawn(async move {
            if matches!(behavior, Behavior::ResetMidResponse) {
                // Closing with SO_LINGER 0 sends RST instead of FIN.
                let _ = tcp.set_zero_linger();
            }
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        serve(stream, n, &behavior, &state).await;
                    }
                }
                None => serve(tcp, n, &behavior, &state).await,
            }
            state.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    conn: usize,
    behavior: &Behavior,
    state: &State,
) {
    let mut stream = BufReader::new(stream);
    let mut first = true;
    loop {
        let next = read_request(&mut stream, conn);
        let req = match behavior {
            Behavior::CloseIdleAfter(idle) if !first => match tokio::time::timeout(*idle, next).await {
                Ok(r) => r,
                Err(_) => return, // idle too long: close (FIN)
            },
            _ => next.await,
        };
        let Some(req) = req else { return };
        first = false;
        state.requests.lock().unwrap().push(req);
        let body = b"{\"ok\":true}";
        match behavior {
            Behavior::Ok | Behavior::CloseIdleAfter(_) => {
                if write_response(&mut stream, 200, body).await.is_err() {
                    return;
                }
            }
            Behavior::Status(code) => {
                if write_response(&mut stream, *code, body).await.is_err() {
                    return;
                }
            }
            Behavior::Echo(code) => {
                let echoed = state.requests.lock().unwrap().last().cloned();
                if let Some(req) = echoed {
                    if write_echo(&mut stream, *code, &req.headers, body).await.is_err() {
                        return;
                    }
                }
            }
            Behavior::SlowBody(d) => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                let s = stream.get_mut();
                if s.write_all(head.as_bytes()).await.is_err() || s.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(*d).await;
                if s.write_all(body).await.is_err() || s.flush().await.is_err() {
                    return;
                }
            }
            Behavior::DelayHeaders(d) => {
                tokio::time::sleep(*d).await;
                if write_response(&mut stream, 200, body).await.is_err() {
                    return;
                }
            }
            Behavior::ResetMidResponse => {
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n0123456789";
                let _ = stream.get_mut().write_all(head.as_bytes()).await;
                let _ = stream.get_mut().flush().await;
                // Give the client a moment to read the partial response, then RST on drop.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
            Behavior::NeverAnswer => {
                std::future::pending::<()>().await;
            }
            Behavior::Garbage => {
                let _ = stream
                    .get_mut()
                    .write_all(b"SSH-2.0-OpenSSH_9.6 this is not http\r\n\r\n")
                    .await;
                let _ = stream.get_mut().flush().await;
                return;
            }
        }
    }
}

async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    conn: usize,
) -> Option<Received> {
    let mut request_line = String::new();
    if stream.read_line(&mut request_line).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await.ok()?;
    Some(Received {
        conn,
        request_line: request_line.trim_end().to_string(),
        headers,
        body,
    })
}

async fn write_response<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    status: u16,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-amzn-requestid: req-{status}\r\nset-cookie: session=server-secret\r\n\r\n",
        body.len()
    );
    let s = stream.get_mut();
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    s.flush().await
}

async fn write_echo<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nx-amzn-requestid: req-echo\r\n",
        body.len()
    );
    // Framing and connection management stay the server's own.
    let framing = ["content-length", "transfer-encoding", "connection", "keep-alive"];
    let mut all = Vec::new();
    for (name, value) in headers.iter().filter(|(n, _)| !framing.contains(&n.as_str())) {
        head.push_str(&format!(
            "{name}: {value}\r\nx-amzn-remapped-{name}: {value}\r\nx-amzn-remapped-x-echo-{name}: you sent {value}!\r\n"
        ));
        all.push(value.as_str());
    }
    head.push_str(&format!("via: 1.1 echo ({})\r\n\r\n", all.join(", ")));
    let s = stream.get_mut();
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    s.flush().await
}

/// Path of the built binary, for command-line tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_coldlink")
}

/// Run the binary with `args` to its end: no log filter from the test's
/// environment, no colour.
pub fn coldlink(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// A child's stdout or stderr as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Read `from` line by line until a line contains `needle`; everything read
/// so far is returned. Panics, with what was read, if `from` ends first.
pub fn read_until_line(from: &mut impl std::io::BufRead, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            from.read_line(&mut line).expect("read a line") > 0,
            "ended before a line with {needle:?}:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
    }
}

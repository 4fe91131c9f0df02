//! Listeners of the lab: TCP on 127.0.0.1:0, optionally TLS (with a
//! handshake delay and no session resumption, for `slow-tls`), optionally
//! behind a gate that makes the kernel really drop SYNs (`syn-loss`).
//!
//! The gate keeps the listen queue full with connections of its own for a
//! `closed` window of every period; a client SYN that arrives then is
//! dropped by the kernel, and the client's TCP retransmits it after its
//! initial RTO (1 s on Linux). The window is placed so that the
//! retransmission always lands while the queue is open: connect ≈ 1 s.
//! These are real kernel timers, so `--speed` does not compress them.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// The kernel's initial SYN retransmission timeout.
pub const SYN_RTO: Duration = Duration::from_secs(1);
/// Above this, the closed window would outlast the 1 s retransmission and
/// SYNs would be dropped twice (2 s stalls on a kernel with linear SYN
/// timeouts, 3 s on an exponential one): the lab keeps to one loss.
pub const MAX_LOSS: f64 = 0.3;
/// Queue length while the gate is closed: small, so that filling it is quick.
const BACKLOG: u32 = 4;
/// Queue length while the gate is open (and without a gate): no SYN is
/// dropped outside the closed windows.
const OPEN_BACKLOG: u32 = 1024;

/// When SYNs are dropped: a `closed` window once every `period`, the first
/// half a period after the gate opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynGate {
    pub closed: Duration,
    pub period: Duration,
}

impl SynGate {
    /// A gate dropping SYNs that arrive in a fraction `loss` of the time
    /// (at most [`MAX_LOSS`]), placed so that a retransmission 1 s later is let in.
    pub fn with_loss(loss: f64) -> Option<SynGate> {
        if loss <= 0.0 {
            return None;
        }
        let loss = loss.min(MAX_LOSS); // validated by the scenario
                                       // closed + (period - closed) must contain t + 1 s for every t in
                                       // [0, closed): with period = 1 s + 2·closed the retransmission lands
                                       // in [1 s, 1 s + closed) ⊂ [closed, period).
        let closed = Duration::from_secs_f64(loss / (1.0 - 2.0 * loss));
        Some(SynGate {
            closed,
            period: SYN_RTO + closed * 2,
        })
    }
}

/// Bind 127.0.0.1:0 with a long listen queue (a gate shortens it in its
/// closed windows).
pub async fn bind() -> io::Result<(SocketAddr, TcpListener)> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse().expect("literal"))?;
    let listener = socket.listen(OPEN_BACKLOG)?;
    Ok((listener.local_addr()?, listener))
}

/// The lab's listeners for one server: 127.0.0.1 and, when this machine has
/// IPv6 on loopback, ::1 on the same port, so that one URL (one name with an
/// A and an AAAA record) reaches both. `v6` is `None` without IPv6.
pub struct DualListener {
    pub addr: SocketAddr,
    pub v4: TcpListener,
    pub v6: Option<TcpListener>,
}

/// Bind 127.0.0.1:0, then ::1 on the port it got; when another socket holds
/// that port on ::1, start again on another port (a few times, then serve
/// IPv4 only rather than fail the lab).
pub async fn bind_dual() -> io::Result<DualListener> {
    const TRIES: usize = 8;
    let mut last = None;
    for _ in 0..TRIES {
        let (addr, v4) = bind().await?;
        match bind_v6(addr.port()) {
            Ok(v6) => {
                return Ok(DualListener {
                    addr,
                    v4,
                    v6: Some(v6),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some((addr, v4)),
            Err(e) => {
                tracing::debug!("lab: no IPv6 on loopback ({e}); serving 127.0.0.1 only");
                return Ok(DualListener { addr, v4, v6: None });
            }
        }
    }
    let (addr, v4) = last.expect("TRIES > 0");
    tracing::debug!(
        "lab: port {} is taken on ::1; serving 127.0.0.1 only",
        addr.port()
    );
    Ok(DualListener { addr, v4, v6: None })
}

fn bind_v6(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v6()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), port))?;
    socket.listen(OPEN_BACKLOG)
}

/// True when this machine can listen on ::1 (the lab serves IPv6 then).
pub fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Accept until cancelled; with a gate, keep the queue full in closed windows.
pub async fn accept_loop(
    listener: TcpListener,
    gate: Option<SynGate>,
    accepted: mpsc::Sender<TcpStream>,
    cancel: CancellationToken,
) {
    match gate {
        None => loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((s, _)) => {
                        let _ = s.set_nodelay(true);
                        if accepted.send(s).await.is_err() { return }
                    }
                    Err(e) => tracing::debug!("lab accept: {e}"),
                },
                _ = cancel.cancelled() => return,
            }
        },
        Some(gate) => gated_accept(listener, gate, accepted, cancel).await,
    }
}

async fn gated_accept(
    listener: TcpListener,
    gate: SynGate,
    accepted: mpsc::Sender<TcpStream>,
    cancel: CancellationToken,
) {
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    // The lab comes up open: the first closed window is half a period in,
    // so that a client that starts at once (a test, `probe --lab`) meets
    // the path as it mostly is, not a window that begins with it.
    let first = tokio::time::Instant::now() + gate.period / 2;
    let mut fillers: Vec<TcpStream> = Vec::new();
    let mut filler_ports = HashSet::new();
    let mut cycle: u32 = 0;
    loop {
        let closed_at = first + gate.period * cycle;
        let open_at = closed_at + gate.closed;
        cycle += 1;
        // Open: a long queue, and accept everything until the next closed
        // window; our own connections are dropped, the others served.
        let _ = socket2::SockRef::from(&listener).listen(OPEN_BACKLOG as i32);
        loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((s, peer)) => {
                        if filler_ports.remove(&peer.port()) {
                            continue;
                        }
                        let _ = s.set_nodelay(true);
                        if accepted.send(s).await.is_err() { return }
                    }
                    Err(e) => tracing::debug!("lab accept: {e}"),
                },
                _ = tokio::time::sleep_until(closed_at) => break,
                _ = cancel.cancelled() => return,
            }
        }
        fillers.clear();
        filler_ports.clear();
        // Closed: shrink the queue (listen() again on the same socket), fill
        // it with our own connections, and accept nothing.
        let _ = socket2::SockRef::from(&listener).listen(BACKLOG as i32);
        // A queue of `BACKLOG` holds `BACKLOG + 1` connections. A filler
        // that is not let in means the queue is full already (clients got
        // there first): give up at the window's end, never later, or the
        // window would stretch and catch the 1 s retransmissions too.
        for _ in 0..=BACKLOG {
            match tokio::time::timeout_at(open_at, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    if let Ok(local) = s.local_addr() {
                        filler_ports.insert(local.port());
                    }
                    fillers.push(s);
                }
                // The queue is full: SYNs are being dropped now.
                _ => break,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(open_at) => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// TLS for a lab listener: the lab certificate, HTTP/1.1 only, and for
/// `slow-tls` a delay before the handshake and no session resumption.
#[derive(Clone)]
pub struct LabTls {
    pub acceptor: TlsAcceptor,
    pub delay: Duration,
}

impl LabTls {
    pub fn new(cert: &super::tls::LabCert, delay: Duration, resumption: bool) -> io::Result<LabTls> {
        let mut config = rustls::ServerConfig::builder_with_provider(crate::probe::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert_der.clone()], cert.key_der())
            .map_err(io::Error::other)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        if !resumption {
            config.send_tls13_tickets = 0;
            config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        }
        Ok(LabTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            delay,
        })
    }

    /// Handshake, after the configured delay (the ClientHello waits).
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.acceptor.accept(tcp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retransmission_always_lands_in_the_open_window() {
        for loss in [0.05, 0.2, 0.3, 0.9] {
            let g = SynGate::with_loss(loss).unwrap();
            assert!(g.closed < g.period);
            // A SYN at the last instant of the closed window is retried at
            // closed + 1 s, which must be before the next closed window.
            assert!(g.closed + SYN_RTO < g.period, "{loss}: {g:?}");
            // A SYN at the start is retried at 1 s, after the window closed.
            assert!(SYN_RTO >= g.closed, "{loss}: {g:?}");
            let fraction = g.closed.as_secs_f64() / g.period.as_secs_f64();
            assert!((fraction - loss.min(MAX_LOSS)).abs() < 0.01, "{loss}: {fraction}");
        }
        assert!(SynGate::with_loss(0.0).is_none());
    }
}

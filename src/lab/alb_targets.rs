//! The lab ALB's side toward its targets: a target chosen per request
//! (at random, as an ALB balances per request, not per flow), a pool of
//! keep-alive connections per target reusing the most recent one, idle
//! ones closed after the idle timeout, and the ALB's own 502/504 pages when
//! a target refuses, resets or stays silent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::nlb::Fault;

/// Counters in the shape of the ALB's CloudWatch metrics (monotonic; the
/// publisher sends each minute's difference).
#[derive(Debug, Default)]
pub struct AlbStats {
    /// `RequestCount`: requests the ALB received.
    pub requests: AtomicU64,
    /// `NewConnectionCount`: connections the gateway opened to the ALB
    /// (not published: the tests read it to see a reconnect).
    pub new_connections: AtomicU64,
    /// `HTTPCode_ELB_502_Count`: 502 pages the ALB answered itself.
    pub elb_502: AtomicU64,
    /// `HTTPCode_ELB_504_Count`: 504 pages (a target silent past the idle timeout).
    pub elb_504: AtomicU64,
    /// `HTTPCode_Target_5XX_Count`: 5xx answers passed on from targets.
    pub target_5xx: AtomicU64,
    /// `TargetConnectionErrorCount`: connections to a target that failed.
    pub target_connection_errors: AtomicU64,
    /// `TargetResponseTime`, summed over answered requests (microseconds,
    /// real time) with its count: the publisher averages per minute.
    pub target_response_us: AtomicU64,
    pub target_responses: AtomicU64,
}

/// The ALB's settings, already scaled to the lab's speed.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbConfig {
    pub targets: Vec<SocketAddr>,
    /// `idle_timeout.timeout_seconds`: idle connections on both sides are
    /// closed (FIN); a target silent this long gets the 504 page.
    pub idle_timeout: Duration,
    /// `client_keep_alive.seconds`: a gateway connection older than this
    /// is closed gracefully after its next response.
    pub client_keep_alive: Duration,
    /// For this long after the idle timeout, a request on the idle gateway
    /// connection meets it closing: reset, no answer.
    pub close_race: Duration,
    /// Background requests of other clients, per second of real time
    /// (0: none), spread over the targets like the probe's.
    pub other_traffic: f64,
    /// How long the ALB waits for a target's SYN-ACK (10 s, scaled).
    pub connect_timeout: Duration,
    /// (target index, fault), as on the NLB path.
    pub faults: Vec<(usize, Fault)>,
}

/// The page the ALB answers with itself.
pub fn page(status: u16) -> (String, String) {
    let title = match status {
        502 => "502 Bad Gateway",
        503 => "503 Service Temporarily Unavailable",
        _ => "504 Gateway Time-out",
    };
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    (title.to_string(), body)
}

/// A request's head as the gateway sent it.
pub struct Head {
    pub method: String,
    pub path: String,
    /// Every header but `connection`, lower-cased names.
    pub headers: Vec<(String, String)>,
    pub close: bool,
}

/// Headers that are the hop's own, not passed on.
pub(super) fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "content-length" | "transfer-encoding" | "te" | "upgrade"
    )
}

/// What a counted answer adds to the stats (the target side counts its own).
fn count(stats: &AlbStats, status: u16, from_target: bool) {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    match (from_target, status) {
        (false, 502) => drop(stats.elb_502.fetch_add(1, Ordering::Relaxed)),
        (false, 504) => drop(stats.elb_504.fetch_add(1, Ordering::Relaxed)),
        (true, s) if s >= 500 => drop(stats.target_5xx.fetch_add(1, Ordering::Relaxed)),
        _ => {}
    }
}

/// The ALB's answer to one request.
pub struct Answer {
    pub status: u16,
    /// Headers to send (the target's, or the ALB's own page's).
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// An answer's body: the ALB's own page, or a target's body passed on as
/// it arrives (never collected: a streamed answer streams through).
pub enum Body {
    Page(Bytes),
    Target(Streamed),
}

/// A target's body still to be read, with the connection it comes on
/// (back to the pool once the body has ended).
pub struct Streamed {
    body: hyper::body::Incoming,
    conn: SendRequest<Full<Bytes>>,
    target: usize,
    /// The target's `content-length`, if it sent one (else chunked).
    pub length: Option<u64>,
}

impl Answer {
    fn page(status: u16) -> Answer {
        let (_, body) = page(status);
        Answer {
            status,
            headers: vec![
                ("server".into(), "awselb/2.0".into()),
                ("content-type".into(), "text/html".into()),
            ],
            body: Body::Page(body.into()),
        }
    }
}

struct Idle {
    conn: SendRequest<Full<Bytes>>,
    since: Instant,
}

pub struct Targets {
    config: Arc<AlbConfig>,
    stats: Arc<AlbStats>,
    /// Per target, idle connections, the most recent last.
    idle: Vec<Mutex<Vec<Idle>>>,
}

/// Idle connections kept at most per target.
const MAX_IDLE: usize = 64;

impl Targets {
    pub fn new(config: Arc<AlbConfig>, stats: Arc<AlbStats>) -> Arc<Targets> {
        let idle = config.targets.iter().map(|_| Mutex::new(Vec::new())).collect();
        Arc::new(Targets { config, stats, idle })
    }

    /// Close (FIN) target connections idle longer than the idle timeout,
    /// a few times per timeout, until cancelled.
    pub fn reap(self: &Arc<Self>, cancel: CancellationToken) {
        let me = self.clone();
        let every = (self.config.idle_timeout / 8).max(Duration::from_millis(5));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = cancel.cancelled() => return,
                }
                for pool in &me.idle {
                    let mut pool = pool.lock().expect("pool lock");
                    pool.retain(|c| c.since.elapsed() < me.config.idle_timeout && !c.conn.is_closed());
                }
            }
        });
    }

    fn checkout(&self, target: usize) -> Option<SendRequest<Full<Bytes>>> {
        let mut pool = self.idle[target].lock().expect("pool lock");
        while let Some(c) = pool.pop() {
            if !c.conn.is_closed() && c.since.elapsed() < self.config.idle_timeout {
                return Some(c.conn);
            }
        }
        None
    }

    fn checkin(&self, target: usize, conn: SendRequest<Full<Bytes>>) {
        if conn.is_closed() {
            return;
        }
        let mut pool = self.idle[target].lock().expect("pool lock");
        if pool.len() < MAX_IDLE {
            pool.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// A new connection to `target`, or the status of the ALB's page when
    /// none can be had: 502 refused, 504 not answered within the connect
    /// timeout.
    async fn connect(&self, target: usize) -> Result<SendRequest<Full<Bytes>>, u16> {
        let fault = self
            .config
            .faults
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, f)| *f);
        let attempt = async {
            match fault {
                Some(Fault::Refuse) => return None,
                Some(Fault::SlowConnect(d)) => tokio::time::sleep(d).await,
                _ => {}
            }
            let tcp = TcpStream::connect(self.config.targets[target]).await.ok()?;
            let _ = tcp.set_nodelay(true);
            let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await.ok()?;
            tokio::spawn(conn);
            Some(sender)
        };
        match tokio::time::timeout(self.config.connect_timeout, attempt).await {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(502),
            Err(_) => Err(504),
        }
    }

    /// Pass one request to a target and return its answer or the ALB's page.
    pub async fn forward(&self, head: &Head, body: Bytes) -> Answer {
        // Chosen at random per request: each target's requests arrive as a
        // Poisson stream, so its connections' idle ages vary as on a real ALB.
        let target = rand::random_range(0..self.config.targets.len());
        let answer = self.try_target(target, head, body).await;
        let from_target = answer
            .headers
            .iter()
            .all(|(k, v)| k != "server" || v != "awselb/2.0");
        count(&self.stats, answer.status, from_target);
        answer
    }

    async fn try_target(&self, target: usize, head: &Head, body: Bytes) -> Answer {
        let mut conn = match self.checkout(target) {
            Some(c) => c,
            None => match self.connect(target).await {
                Ok(c) => c,
                Err(status) => {
                    self.stats
                        .target_connection_errors
                        .fetch_add(1, Ordering::Relaxed);
                    return Answer::page(status);
                }
            },
        };
        let mut req = Request::builder().method(head.method.as_str()).uri(&head.path);
        for (k, v) in &head.headers {
            req = req.header(k, v);
        }
        let Ok(req) = req.body(Full::new(body)) else {
            return Answer::page(502);
        };
        let slow_answer = match self.config.faults.iter().find(|(t, _)| *t == target) {
            Some((_, Fault::SlowAnswer(d))) => *d,
            _ => Duration::ZERO,
        };
        let sent = Instant::now();
        // `TargetResponseTime` ends at the response's headers (AWS's
        // definition), not at the end of its body.
        let first = async {
            if !slow_answer.is_zero() {
                tokio::time::sleep(slow_answer).await;
            }
            conn.send_request(req).await
        };
        match tokio::time::timeout(self.config.idle_timeout, first).await {
            Ok(Ok(resp)) => {
                let took = sent.elapsed().as_micros() as u64;
                self.stats.target_response_us.fetch_add(took, Ordering::Relaxed);
                self.stats.target_responses.fetch_add(1, Ordering::Relaxed);
                let length = resp
                    .headers()
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                let (parts, body) = resp.into_parts();
                let headers = parts
                    .headers
                    .iter()
                    .filter(|(k, _)| !hop_by_hop(k.as_str()))
                    .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                    .collect();
                Answer {
                    status: parts.status.as_u16(),
                    headers,
                    body: Body::Target(Streamed {
                        body,
                        conn,
                        target,
                        length,
                    }),
                }
            }
            // Closed or reset by the target as it was reused.
            Ok(Err(_)) => Answer::page(502),
            // Silent past the idle timeout.
            Err(_) => Answer::page(504),
        }
    }

    /// Pass a target's body on to `out` frame by frame, after `head` (the
    /// answer's head, sent with the first frame so that a small answer is
    /// one write: two segments would wait on the peer's delayed ACK).
    /// The idle timer runs between frames, not over the whole body; false
    /// when the body could not be passed on whole (the target stalled past
    /// the idle timeout or closed, or the gateway went away): the gateway
    /// connection must then be closed, as the ALB does.
    pub async fn pass_on<W>(&self, mut s: Streamed, mut head: Vec<u8>, out: &mut W, send_body: bool) -> bool
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        use tokio::io::AsyncWriteExt;
        let chunked = s.length.is_none() && send_body;
        loop {
            match tokio::time::timeout(self.config.idle_timeout, s.body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else { continue };
                    if data.is_empty() || !send_body {
                        continue;
                    }
                    if chunked {
                        head.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                        head.extend_from_slice(&data);
                        head.extend_from_slice(b"\r\n");
                    } else {
                        head.extend_from_slice(&data);
                    }
                    if out.write_all(&head).await.is_err() || out.flush().await.is_err() {
                        return false;
                    }
                    head.clear();
                }
                Ok(None) => break,
                Ok(Some(Err(_))) | Err(_) => {
                    // Whatever was received goes out before the close.
                    let _ = out.write_all(&head).await;
                    return false;
                }
            }
        }
        if chunked {
            head.extend_from_slice(b"0\r\n\r\n");
        }
        self.checkin(s.target, s.conn);
        head.is_empty() || (out.write_all(&head).await.is_ok() && out.flush().await.is_ok())
    }
}

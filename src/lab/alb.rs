//! An Application Load Balancer in miniature, in the NLB's place on an ALB
//! path (VPC link V2): an HTTP/1.1 proxy that terminates the gateway's
//! connections and keeps its own keep-alive connections to the targets,
//! with its idle timeout, client keep-alive duration and 502/504 pages
//! (`server: awselb/2.0`). Counts what CloudWatch's `AWS/ApplicationELB`
//! would show.
//!
//! The gateway side is written out by hand (as the backend is) so that its
//! idle close and close race are exactly what the scenario asks for; the
//! target side is [`alb_targets`](super::alb_targets).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::alb_targets::{Answer, Targets};
use super::nlb::Fault;

/// Counters in the shape of the ALB's CloudWatch metrics (monotonic; the
/// publisher sends each minute's difference).
#[derive(Debug, Default)]
pub struct AlbStats {
    /// `RequestCount`: requests the ALB received.
    pub requests: AtomicU64,
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

/// Start the ALB on 127.0.0.1:0.
pub async fn start(config: AlbConfig, cancel: CancellationToken) -> io::Result<(SocketAddr, Arc<AlbStats>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(AlbStats::default());
    let config = Arc::new(config);
    let targets = Targets::new(config.clone(), stats.clone());
    targets.reap(cancel.clone());
    if config.other_traffic > 0.0 {
        tokio::spawn(other_traffic(
            targets.clone(),
            config.other_traffic,
            cancel.clone(),
        ));
    }
    tokio::spawn(async move {
        loop {
            let client = tokio::select! {
                r = listener.accept() => match r {
                    Ok((s, _)) => s,
                    Err(_) => { tokio::time::sleep(Duration::from_millis(10)).await; continue }
                },
                _ = cancel.cancelled() => return,
            };
            let (config, targets, cancel) = (config.clone(), targets.clone(), cancel.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = serve(client, &config, &targets) => {}
                    _ = cancel.cancelled() => {}
                }
            });
        }
    });
    Ok((addr, stats))
}

/// Other clients' requests at random (exponential) intervals, so that the
/// target connections' idle ages vary whatever the probe's gaps.
async fn other_traffic(targets: Arc<Targets>, per_second: f64, cancel: CancellationToken) {
    loop {
        let u: f64 = rand::rng().random_range(f64::EPSILON..1.0);
        let wait = Duration::from_secs_f64((-u.ln() / per_second).min(3600.0));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel.cancelled() => return,
        }
        let targets = targets.clone();
        tokio::spawn(async move {
            let head = Head {
                method: "GET".into(),
                path: "/".into(),
                headers: vec![("host".into(), "other.lab.internal".into())],
                close: false,
            };
            let _ = targets.forward(&head, bytes::Bytes::new()).await;
        });
    }
}

/// A request's head as the gateway sent it.
pub struct Head {
    pub method: String,
    pub path: String,
    /// Every header but `connection`, lower-cased names.
    pub headers: Vec<(String, String)>,
    pub close: bool,
}

/// One gateway connection: requests until the gateway closes, the idle
/// timeout (plus its race) passes, or the client keep-alive is over.
async fn serve(stream: TcpStream, config: &AlbConfig, targets: &Targets) {
    let _ = stream.set_nodelay(true);
    let opened = Instant::now();
    let mut stream = BufReader::new(stream);
    let mut idle_since = Instant::now();
    loop {
        let limit = config.idle_timeout + config.close_race;
        let next = read_request(&mut stream);
        let Ok(Ok(Some((head, body)))) =
            tokio::time::timeout(limit.saturating_sub(idle_since.elapsed()), next).await
        else {
            // Idle past the timer (a FIN), or the gateway closed.
            return;
        };
        if idle_since.elapsed() > config.idle_timeout {
            // The connection was closing already: the request meets a reset.
            let _ = stream.get_ref().set_zero_linger();
            return;
        }
        let answer = targets.forward(&head, body).await;
        // A connection past the client keep-alive ends after this answer.
        let close = head.close || opened.elapsed() >= config.client_keep_alive;
        let written = write_answer(stream.get_mut(), &head, &answer, close).await;
        if !written || close {
            let _ = stream.get_mut().shutdown().await;
            return;
        }
        idle_since = Instant::now();
    }
}

async fn write_answer(s: &mut TcpStream, head: &Head, answer: &Answer, close: bool) -> bool {
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n", answer.body.len()));
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    // One write: a head and a body in two segments would wait on the
    // peer's delayed ACK.
    let mut bytes = out.into_bytes();
    if head.method != "HEAD" {
        bytes.extend_from_slice(&answer.body);
    }
    s.write_all(&bytes).await.is_ok() && s.flush().await.is_ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// Headers that are the hop's own, not passed on.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "content-length" | "transfer-encoding" | "te" | "upgrade"
    )
}

async fn read_request(stream: &mut BufReader<TcpStream>) -> io::Result<Option<(Head, bytes::Bytes)>> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let (mut headers, mut len, mut close) = (Vec::new(), 0usize, false);
    loop {
        let mut h = String::new();
        if stream.read_line(&mut h).await? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            match k.as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                k if hop_by_hop(k) => {}
                _ => headers.push((k, v)),
            }
        }
    }
    let mut body = vec![0; len.min(1 << 20)];
    stream.read_exact(&mut body).await?;
    let head = Head {
        method,
        path,
        headers,
        close,
    };
    Ok(Some((head, body.into())))
}

/// What a counted answer adds to the stats (the target side counts its own).
pub(super) fn count(stats: &AlbStats, status: u16, from_target: bool) {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    match (from_target, status) {
        (false, 502) => drop(stats.elb_502.fetch_add(1, Ordering::Relaxed)),
        (false, 504) => drop(stats.elb_504.fetch_add(1, Ordering::Relaxed)),
        (true, s) if s >= 500 => drop(stats.target_5xx.fetch_add(1, Ordering::Relaxed)),
        _ => {}
    }
}

pub(super) fn is_hop_by_hop(name: &str) -> bool {
    hop_by_hop(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pages_are_the_albs() {
        let (_, body) = super::page(502);
        assert_eq!(
            body,
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
        );
        assert!(super::page(504).1.contains("<h1>504 Gateway Time-out</h1>"));
    }
}

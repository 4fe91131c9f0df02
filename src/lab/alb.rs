//! An Application Load Balancer in miniature, in the NLB's place on an ALB
//! path (VPC link V2): an HTTP/1.1 proxy that terminates the gateway's
//! connections and keeps its own keep-alive connections to the targets,
//! with its idle timeout, client keep-alive duration and 502/504 pages
//! (`server: awselb/2.0`). Counts what CloudWatch's `AWS/ApplicationELB`
//! would show.
//!
//! The gateway side is written out by hand (as the backend is) so that its
//! idle close and close race are exactly what the scenario asks for; the
//! target side (a pool per target) is in `alb_targets`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::alb_targets::{hop_by_hop, Answer, Body, Head, Targets};
pub use super::alb_targets::{page, AlbConfig, AlbStats};

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
    let counted = stats.clone();
    tokio::spawn(async move {
        let stats = counted;
        loop {
            let client = tokio::select! {
                r = listener.accept() => match r {
                    Ok((s, _)) => {
                        stats.new_connections.fetch_add(1, Ordering::Relaxed);
                        s
                    }
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

/// Other clients' requests in flight at most: a tick that finds this many
/// still waiting (targets slower than the traffic) is skipped, so a slow
/// target cannot pile up tasks without bound.
const OTHER_IN_FLIGHT: usize = 32;

/// Other clients' requests at random (exponential) intervals, so that the
/// target connections' idle ages vary whatever the probe's gaps.
async fn other_traffic(targets: Arc<Targets>, per_second: f64, cancel: CancellationToken) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    loop {
        let u: f64 = rand::rng().random_range(f64::EPSILON..1.0);
        let wait = Duration::from_secs_f64((-u.ln() / per_second).min(3600.0));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel.cancelled() => return,
        }
        if in_flight.load(Ordering::Relaxed) >= OTHER_IN_FLIGHT {
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (targets, in_flight) = (targets.clone(), in_flight.clone());
        tokio::spawn(async move {
            let head = Head {
                method: "GET".into(),
                path: "/".into(),
                headers: vec![("host".into(), "other.lab.internal".into())],
                close: false,
            };
            let answer = targets.forward(&head, bytes::Bytes::new()).await;
            if let Body::Target(s) = answer.body {
                targets.pass_on(s, Vec::new(), &mut tokio::io::sink(), true).await;
            }
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
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
        let written = write_answer(stream.get_mut(), targets, &head, answer, close).await;
        if !written || close {
            let _ = stream.get_mut().shutdown().await;
            return;
        }
        idle_since = Instant::now();
    }
}

/// Write the answer: the ALB's page whole, a target's body as it arrives
/// (its length if the target sent one, else chunked). False when the
/// connection cannot carry on.
async fn write_answer(
    s: &mut TcpStream,
    targets: &Targets,
    head: &Head,
    answer: Answer,
    close: bool,
) -> bool {
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    match &answer.body {
        Body::Page(b) => out.push_str(&format!("content-length: {}\r\n", b.len())),
        Body::Target(t) => match t.length {
            Some(n) => out.push_str(&format!("content-length: {n}\r\n")),
            None if head.method != "HEAD" => out.push_str("transfer-encoding: chunked\r\n"),
            None => {}
        },
    }
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    let send_body = head.method != "HEAD";
    match answer.body {
        Body::Page(b) => {
            // One write: a head and a body in two segments would wait on
            // the peer's delayed ACK.
            if send_body {
                bytes.extend_from_slice(&b);
            }
            s.write_all(&bytes).await.is_ok() && s.flush().await.is_ok()
        }
        Body::Target(t) => targets.pass_on(t, bytes, s, send_body).await,
    }
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

async fn read_request(stream: &mut BufReader<TcpStream>) -> io::Result<Option<(Head, bytes::Bytes)>> {
    let Some(r) = super::http1::read_request(stream).await? else {
        return Ok(None);
    };
    let head = Head {
        method: r.method,
        path: r.path,
        headers: r.headers.into_iter().filter(|(k, _)| !hop_by_hop(k)).collect(),
        close: r.close,
    };
    Ok(Some((head, r.body.into())))
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

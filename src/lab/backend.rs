//! The app behind nginx in the seed article: `/` the status of the API,
//! `/header` the Host header it received, `/foo/*` everything under /foo.
//! A small HTTP/1.1 server written out by hand so that its keep-alive
//! behaviour is exactly what a scenario asks for. It is traced, as an app
//! with an X-Ray SDK would be: each request that carries a trace header with
//! a parent becomes an [`AppRecord`] for the X-Ray publisher.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq)]
pub struct BackendConfig {
    /// Added before every answer.
    pub delay: Duration,
    /// A uniform random extra delay in [0, jitter).
    pub jitter: Duration,
    /// Fraction of requests answered 500.
    pub error_rate: f64,
    /// Idle keep-alive connections are closed (FIN) after this long.
    pub keepalive_timeout: Option<Duration>,
    /// For a while after `keepalive_timeout`, a request on the idle
    /// connection finds it being closed: reset without an answer (the
    /// keep-alive race, made reproducible).
    pub close_race: Duration,
    /// The body goes out in this many chunks (`transfer-encoding:
    /// chunked`; 1: whole, with a content-length)…
    pub stream_chunks: usize,
    /// …the first at once, the others spread evenly over this long.
    pub stream_duration: Duration,
}

/// What the app did for one traced request: its X-Ray segment's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    /// The trace's root id and the caller's segment (the gateway's
    /// integration subsegment), from `X-Amzn-Trace-Id`.
    pub root: String,
    pub parent: String,
    pub received: SystemTime,
    pub answered: SystemTime,
    pub status: u16,
}

/// Listeners for the app's traced requests (the X-Ray publisher). Nothing
/// is kept without one.
pub type AppLog = super::fanout::Fanout<AppRecord>;

/// Start one backend on 127.0.0.1:0.
pub async fn start(
    id: usize,
    config: BackendConfig,
    log: Arc<AppLog>,
    cancel: CancellationToken,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = listener.accept() => if let Ok((s, _)) = r {
                    let (config, log, cancel) = (config.clone(), log.clone(), cancel.clone());
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = serve(id, s, &config, &log) => {}
                            _ = cancel.cancelled() => {}
                        }
                    });
                },
                _ = cancel.cancelled() => return,
            }
        }
    });
    Ok(addr)
}

struct Request {
    method: String,
    path: String,
    host: String,
    close: bool,
    /// `X-Amzn-Trace-Id`, as received.
    trace: Option<String>,
}

async fn serve(id: usize, stream: TcpStream, config: &BackendConfig, log: &AppLog) {
    let _ = stream.set_nodelay(true);
    let mut stream = BufReader::new(stream);
    let mut idle_since = Instant::now();
    loop {
        // Wait for the next request; close gracefully once the keep-alive
        // timer and the race window have both passed.
        let limit = config.keepalive_timeout.map(|k| k + config.close_race);
        let next = read_request(&mut stream);
        let req = match limit {
            Some(limit) => match tokio::time::timeout(limit.saturating_sub(idle_since.elapsed()), next).await
            {
                Ok(r) => r,
                Err(_) => return,
            },
            None => next.await,
        };
        let Ok(Some(req)) = req else { return };
        let received = SystemTime::now();
        if let Some(k) = config.keepalive_timeout {
            if idle_since.elapsed() > k {
                // Closing already: the request meets a reset.
                let _ = stream.get_ref().set_zero_linger();
                return;
            }
        }
        let mut wait = config.delay;
        if !config.jitter.is_zero() {
            wait += config.jitter.mul_f64(rand::rng().random::<f64>());
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let failing = config.error_rate > 0.0 && rand::rng().random::<f64>() < config.error_rate;
        let (status, body) = if failing {
            (500, r#"{"message":"backend error"}"#.to_string())
        } else {
            route(id, &req)
        };
        let keepalive = match config.keepalive_timeout {
            Some(k) => format!("keep-alive: timeout={}\r\n", k.as_secs().max(1)),
            None => String::new(),
        };
        let chunked = config.stream_chunks > 1 && req.method != "HEAD";
        let length = if chunked {
            "transfer-encoding: chunked\r\n".to_string()
        } else {
            format!("content-length: {}\r\n", body.len())
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\n{length}server: coldlink-lab-backend\r\n{keepalive}{}\r\n",
            reason(status),
            if req.close { "connection: close\r\n" } else { "" }
        );
        let s = stream.get_mut();
        let written = s.write_all(head.as_bytes()).await.is_ok()
            && if chunked {
                write_chunks(s, &body, config).await
            } else {
                req.method == "HEAD" || s.write_all(body.as_bytes()).await.is_ok()
            }
            && s.flush().await.is_ok();
        if let Some((root, parent)) = req.trace.as_deref().and_then(root_and_parent) {
            log.send(&AppRecord {
                root,
                parent,
                received,
                answered: SystemTime::now(),
                status,
            });
        }
        if !written || req.close {
            return;
        }
        idle_since = Instant::now();
    }
}

/// A streamed body: the answer first, then newlines (JSON still), one
/// chunk every `stream_duration / (chunks - 1)`.
async fn write_chunks(s: &mut TcpStream, body: &str, config: &BackendConfig) -> bool {
    let gap = config.stream_duration / (config.stream_chunks as u32 - 1);
    let chunk = |data: &str| format!("{:x}\r\n{data}\r\n", data.len());
    if s.write_all(chunk(body).as_bytes()).await.is_err() || s.flush().await.is_err() {
        return false;
    }
    for _ in 1..config.stream_chunks {
        tokio::time::sleep(gap).await;
        if s.write_all(chunk("\n").as_bytes()).await.is_err() || s.flush().await.is_err() {
            return false;
        }
    }
    s.write_all(b"0\r\n\r\n").await.is_ok()
}

/// `Root=…;Parent=…;Sampled=1` → (root, parent); untraced without both.
fn root_and_parent(header: &str) -> Option<(String, String)> {
    let field = |name: &str| {
        header
            .split(';')
            .find_map(|p| p.trim().strip_prefix(name))
            .map(str::to_string)
    };
    Some((field("Root=")?, field("Parent=")?))
}

fn route(id: usize, req: &Request) -> (u16, String) {
    let path = req.path.split('?').next().unwrap_or("/");
    match path {
        "/" => (200, format!(r#"{{"status":"ok","backend":{id}}}"#)),
        "/header" => (200, format!(r#"{{"host":{:?},"backend":{id}}}"#, req.host)),
        p if p == "/foo" || p.starts_with("/foo/") => (200, format!(r#"{{"path":{p:?},"backend":{id}}}"#)),
        _ => (404, r#"{"message":"not found"}"#.to_string()),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Internal Server Error",
    }
}

async fn read_request(stream: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let Some(r) = super::http1::read_request(stream).await? else {
        return Ok(None);
    };
    Ok(Some(Request {
        host: r.header("host").unwrap_or_default().to_string(),
        trace: r.header("x-amzn-trace-id").map(str::to_string),
        method: r.method,
        path: r.path,
        close: r.close,
    }))
}

#[cfg(test)]
mod tests {
    use super::root_and_parent;

    #[test]
    fn a_trace_header_needs_a_root_and_a_parent_to_be_continued() {
        assert_eq!(
            root_and_parent("Root=1-5f000000-000000000000000000000001;Parent=2b3c4d5e6f7a8b9c;Sampled=1"),
            Some((
                "1-5f000000-000000000000000000000001".into(),
                "2b3c4d5e6f7a8b9c".into()
            ))
        );
        assert_eq!(
            root_and_parent("Root=1-5f000000-000000000000000000000001;Sampled=1"),
            None
        );
    }
}

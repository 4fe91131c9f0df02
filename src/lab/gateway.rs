//! API Gateway toward its integration, in miniature: HTTPS in front, a pool
//! of keep-alive connections to the NLB behind, the stage's integration
//! timeout (504), 502 when the integration connection is reset (optionally
//! after one retry on a new connection), request ids, and X-Ray trace roots
//! taken from the caller's `X-Amzn-Trace-Id` when it sends one. Every
//! request leaves a record of the gateway's own timings.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use super::gateway_body::GatewayBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::Rng;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::listener::{self, LabTls, SynGate};
use super::segment_id::{segment_id, INTEGRATION_SALT};
use super::upstream::{Connector, Policy, Upstream};
use crate::probe::trace;

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    pub stage: String,
    pub integration_timeout: Duration,
    pub upstream: Policy,
    pub retry_on_reset: bool,
    /// A reused integration connection that stays silent this long is
    /// abandoned and the request retried on a new one (how a silently
    /// dropped flow ends: after retransmissions, seconds later).
    pub stall_retry: Option<Duration>,
    pub tls_delay: Duration,
    pub tls_resumption: bool,
    pub syn_loss: f64,
    /// Fraction of the time SYNs to the gateway's ::1 listener only are
    /// dropped (`ipv6-path`), on top of `syn_loss`.
    pub ipv6_syn_loss: f64,
    /// The integration endpoint's host, sent as Host to the backend.
    pub integration_host: String,
    /// `responseTransferMode`: buffer the integration's answer (the
    /// integration timeout covers all of it) or stream it (the timeout
    /// bounds the first byte; a stream silent for `stream_idle` is cut).
    pub transfer_mode: TransferMode,
    /// A streamed response's idle timeout (5 min, scaled).
    pub stream_idle: Duration,
}

/// How the gateway returns the integration's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferMode {
    #[default]
    Buffered,
    Stream,
}

/// What the integration answered: status, the headers the gateway passes
/// on, and the body (whole, or still arriving in stream mode).
struct Integrated {
    status: StatusCode,
    server: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
    body: GatewayBody,
    reused: bool,
    attempts: u32,
}

/// What the gateway saw of one request (the X-Ray emulation reads these).
#[derive(Debug, Clone, Serialize)]
pub struct GatewayRecord {
    pub trace_id: String,
    /// The caller's segment id, from its trace header's `Parent=`.
    pub parent: Option<String>,
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub received: SystemTime,
    pub integration_start: SystemTime,
    pub integration_end: SystemTime,
    pub responded: SystemTime,
    /// The integration request went out on a pooled connection first.
    pub upstream_reused: bool,
    pub attempts: u32,
}

/// The most recent gateway records (bounded).
#[derive(Debug, Default)]
pub struct GatewayLog {
    records: Mutex<VecDeque<GatewayRecord>>,
    /// Listeners for every new record (the X-Ray and CloudWatch publishers).
    listeners: super::fanout::Fanout<GatewayRecord>,
}

const LOG_CAPACITY: usize = 10_000;

impl GatewayLog {
    /// Every record from now on, on a channel of `capacity`.
    pub fn subscribe(&self, capacity: usize) -> tokio::sync::mpsc::Receiver<GatewayRecord> {
        self.listeners.subscribe(capacity)
    }

    fn push(&self, r: GatewayRecord) {
        self.listeners.send(&r);
        let mut q = self.records.lock().expect("log lock");
        if q.len() == LOG_CAPACITY {
            q.pop_front();
        }
        q.push_back(r);
    }

    pub fn find(&self, trace_id: &str) -> Option<GatewayRecord> {
        self.records
            .lock()
            .expect("log lock")
            .iter()
            .rev()
            .find(|r| r.trace_id == trace_id)
            .cloned()
    }
}

struct State {
    config: GatewayConfig,
    upstream: Arc<Upstream>,
    log: Arc<GatewayLog>,
}

/// Start the gateway on 127.0.0.1 and ::1 (same port, see
/// [`listener::bind_dual`]); returns its IPv4 address.
pub async fn start(
    config: GatewayConfig,
    nlb: SocketAddr,
    tls: LabTls,
    cancel: CancellationToken,
) -> io::Result<(SocketAddr, Arc<GatewayLog>)> {
    let gate = SynGate::with_loss(config.syn_loss);
    // The IPv6 listener's queue is the same kernel mechanism, gated on its
    // own: only clients on ::1 lose SYNs.
    let gate_v6 = SynGate::with_loss(config.syn_loss.max(config.ipv6_syn_loss));
    let listeners = listener::bind_dual().await?;
    let addr = listeners.addr;
    let log = Arc::new(GatewayLog::default());
    let state = Arc::new(State {
        upstream: Upstream::new(Connector::Plain(nlb), config.upstream),
        config,
        log: log.clone(),
    });
    let (tx, mut rx) = mpsc::channel(256);
    if let Some(v6) = listeners.v6 {
        tokio::spawn(listener::accept_loop(v6, gate_v6, tx.clone(), cancel.clone()));
    }
    tokio::spawn(listener::accept_loop(listeners.v4, gate, tx, cancel.clone()));
    tokio::spawn(async move {
        while let Some(stream) = rx.recv().await {
            let (state, tls, cancel) = (state.clone(), tls.clone(), cancel.clone());
            tokio::spawn(async move {
                let Ok(stream) = tls.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(&state, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = cancel.cancelled() => {}
                }
            });
        }
    });
    Ok((addr, log))
}

async fn handle(state: &Arc<State>, req: Request<Incoming>) -> Response<GatewayBody> {
    let received = SystemTime::now();
    let caller_trace = req
        .headers()
        .get(trace::TRACE_HEADER)
        .and_then(|v| v.to_str().ok());
    let trace_id = caller_trace
        .and_then(trace::root_of)
        .unwrap_or_else(|| trace::new_root_id(received));
    // A traced caller's segment (`Parent=`): the stage segment hangs under
    // it, as API Gateway's does.
    let caller_segment = caller_trace.and_then(trace::parent_of);
    let request_id = random_id(&[8, 4, 4, 4, 12]);
    let apigw_id = random_id(&[16]);
    let method = req.method().clone();
    let full_path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let prefix = format!("/{}", state.config.stage);
    let path = match full_path.strip_prefix(&prefix) {
        Some("") => Some("/".to_string()),
        Some(rest) if rest.starts_with('/') => Some(rest.to_string()),
        // `/test?x=1`: the stage root with a query.
        Some(rest) if rest.starts_with('?') => Some(format!("/{rest}")),
        _ => None,
    };
    let integration_start = SystemTime::now();
    let error = |status, body: &'static [u8], reused, attempts| Integrated {
        status,
        server: None,
        content_type: None,
        body: GatewayBody::full(Bytes::from_static(body)),
        reused,
        attempts,
    };
    let answer = match path {
        None => error(
            StatusCode::FORBIDDEN,
            br#"{"message":"Missing Authentication Token"}"#,
            false,
            0,
        ),
        Some(path) => {
            // The app continues the trace under the integration subsegment.
            let parent = segment_id(&request_id, INTEGRATION_SALT);
            let integration = integrate(state, &method, &path, &trace_id, &parent);
            match tokio::time::timeout(state.config.integration_timeout, integration).await {
                Ok(Ok(r)) => r,
                Ok(Err((reused, attempts))) => error(
                    StatusCode::BAD_GATEWAY,
                    br#"{"message":"Internal server error"}"#,
                    reused,
                    attempts,
                ),
                Err(_) => error(
                    StatusCode::GATEWAY_TIMEOUT,
                    br#"{"message":"Endpoint request timed out"}"#,
                    false,
                    1,
                ),
            }
        }
    };
    let Integrated {
        status,
        server,
        content_type,
        body,
        reused,
        attempts,
    } = answer;
    let integration_end = SystemTime::now();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        content_type.unwrap_or(HeaderValue::from_static("application/json")),
    );
    // An HTTP proxy integration remaps the integration's `server` header
    // (API Gateway's header remapping, as the lab models it).
    if let Some(server) = server {
        h.insert("x-amzn-remapped-server", server);
    }
    for (name, value) in [
        ("x-amzn-requestid", request_id.clone()),
        ("x-amz-apigw-id", apigw_id),
        ("x-amzn-trace-id", trace::header_value(&trace_id)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    state.log.push(GatewayRecord {
        trace_id,
        parent: caller_segment,
        request_id,
        method: method.to_string(),
        path: full_path,
        status: status.as_u16(),
        received,
        integration_start,
        integration_end,
        responded: SystemTime::now(),
        upstream_reused: reused,
        attempts,
    });
    resp
}

/// The integration request; on failure, whether the first attempt used a
/// pooled connection and how many attempts were made.
async fn integrate(
    state: &Arc<State>,
    method: &http::Method,
    path: &str,
    trace_id: &str,
    parent: &str,
) -> Result<Integrated, (bool, u32)> {
    let trace_header = format!("Root={trace_id};Parent={parent};Sampled=1");
    let mut first_reused = false;
    for attempt in 1..=2u32 {
        let pooled = if attempt == 1 {
            state.upstream.checkout()
        } else {
            None
        };
        let reused = pooled.is_some();
        if attempt == 1 {
            first_reused = reused;
        }
        let mut conn = match pooled {
            Some(c) => c,
            None => match state.upstream.connect().await {
                Ok(c) => c,
                Err(_) => return Err((first_reused, attempt)),
            },
        };
        let Ok(req) = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", &state.config.integration_host)
            .header(trace::TRACE_HEADER, &trace_header)
            .body(Full::new(Bytes::new()))
        else {
            return Err((first_reused, attempt));
        };
        let sent = Instant::now();
        let stream = state.config.transfer_mode == TransferMode::Stream;
        let answer = async {
            let resp = conn.send_request(req).await?;
            let (parts, incoming) = resp.into_parts();
            // Streamed: only the head is waited for here.
            let body = if stream {
                Err(incoming)
            } else {
                Ok(incoming.collect().await?.to_bytes())
            };
            Ok::<_, hyper::Error>((parts, body))
        };
        let outcome = match (reused, state.config.stall_retry) {
            (true, Some(stall)) => tokio::time::timeout(stall, answer).await.ok(),
            _ => Some(answer.await),
        };
        match outcome {
            Some(Ok((parts, body))) => {
                let body = match body {
                    Ok(whole) => {
                        state.upstream.checkin(conn);
                        GatewayBody::full(whole)
                    }
                    // The connection is pooled again once the stream is over.
                    Err(incoming) => {
                        let st = state.clone();
                        GatewayBody::stream(incoming, state.config.stream_idle, move |whole| {
                            if whole {
                                st.upstream.checkin(conn);
                            }
                        })
                    }
                };
                return Ok(Integrated {
                    status: parts.status,
                    server: parts.headers.get("server").cloned(),
                    content_type: parts.headers.get("content-type").cloned(),
                    body,
                    reused: first_reused,
                    attempts: attempt,
                });
            }
            // A silent pooled connection: give up on it and try a new one.
            None if attempt == 1 => {
                tracing::debug!(
                    "lab gateway: pooled integration connection silent for {:?}",
                    sent.elapsed()
                );
                continue;
            }
            // Only requests that may be repeated are retried.
            Some(Err(_)) if attempt == 1 && state.config.retry_on_reset && method.is_idempotent() => continue,
            _ => return Err((first_reused, attempt)),
        }
    }
    Err((first_reused, 2))
}

fn random_id(groups: &[usize]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rng = rand::rng();
    let mut out = String::new();
    for (i, n) in groups.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        for _ in 0..*n {
            out.push(HEX[rng.random_range(0..16)] as char);
        }
    }
    out
}

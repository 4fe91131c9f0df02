//! One probe, end to end: acquire a connection (pooled, or DNS → TCP → TLS →
//! HTTP handshake), send the request, time the response, classify failure.
//!
//! Long on purpose: every timestamp of one probe is taken in this one file,
//! in the order the request goes, so that the phases stay disjoint.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Body as _;
use rustls::pki_types::ServerName;
use tokio::time::{timeout_at, Sleep};

use super::classify;
use super::client_cert::Connectors;
use super::conn::{ConnFacts, Connection, HttpVersion, Transport};
use super::dns::{Dns, ResolvePin};
use super::dual_stack;
use super::exchange_marks::{conn_info, mark_body_end, mark_headers, waiting_if_sent};
use super::io::IoMarks;
use super::kernel_time::{self, StampedTcp};
use super::pool::Pool;
use super::record::{
    CapturedHeaders, ConnInfo, ErrorKind, LabRun, Phase, ProbeError, ProbeRecord, Timestamp, TlsInfo,
    RECORD_VERSION,
};
use super::refusal;
use super::request;
use super::syn_schedule::SynSysctls;
use super::target::Target;
use super::timing::{self, ms, Marks};
use super::tls::{self, TlsOptions, TlsSetupError};
use super::trace;
use crate::format;

/// Whether probes share connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionPolicy {
    /// A new connection for every probe, closed afterwards.
    Fresh,
    /// Keep-alive: reuse an idle connection when there is one.
    Reuse,
}

impl ConnectionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionPolicy::Fresh => "fresh",
            ConnectionPolicy::Reuse => "reuse",
        }
    }
}

/// Per-phase and overall time limits. The overall default (60 s) is longer
/// than API Gateway's 29 s integration timeout, so a 504 is measured rather
/// than cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub total: Duration,
    pub dns: Duration,
    pub connect: Duration,
    pub tls: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            total: Duration::from_secs(60),
            // Two resolver attempts of 5 s each must fit.
            dns: Duration::from_secs(15),
            // SYN retransmits at 1, 3, 7, 15 s must be observable.
            connect: Duration::from_secs(20),
            tls: Duration::from_secs(15),
        }
    }
}

/// Everything the engine needs to send probes; built from validated config.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub connections: ConnectionPolicy,
    pub timeouts: Timeouts,
    pub trace_header: bool,
    pub dns_server: Option<SocketAddr>,
    pub resolve: Vec<ResolvePin>,
    pub tls: TlsOptions,
    /// Idle connections kept per origin in `reuse` mode.
    pub max_idle_per_origin: usize,
    /// The lab these probes go to (a profile's `[lab]`), for the records.
    pub lab: Option<Arc<LabRun>>,
    /// The vantage point these probes run from, for the records.
    pub vantage: Option<Arc<str>>,
    /// Name each probe's client segment as its trace's parent
    /// (`--xray-segments`: `trace::client_segment_id`).
    pub trace_parent: bool,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            connections: ConnectionPolicy::Fresh,
            timeouts: Timeouts::default(),
            trace_header: true,
            dns_server: None,
            resolve: Vec::new(),
            tls: TlsOptions::default(),
            max_idle_per_origin: 8,
            lab: None,
            vantage: None,
            trace_parent: false,
        }
    }
}

/// A failure at an instant, before it is placed in a phase.
struct Failure {
    kind: ErrorKind,
    message: String,
    at: Instant,
    /// Set when the phase is known regardless of which one was open.
    phase: Option<Phase>,
}

impl Failure {
    fn now(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            at: Instant::now(),
            phase: None,
        }
    }
}

/// What the exchange learned, filled in as it goes so that a failed probe
/// still reports everything it got to.
#[derive(Default)]
struct Outcome {
    remote: Option<SocketAddr>,
    local: Option<SocketAddr>,
    conn: Option<ConnInfo>,
    tls: Option<TlsInfo>,
    http: Option<&'static str>,
    status: Option<u16>,
    headers: CapturedHeaders,
    body_bytes: Option<u64>,
    /// The connection's I/O marks and when the request started, once known.
    io: Option<(Arc<IoMarks>, Instant)>,
    /// Set once a TCP connect begins: the SYN schedule it runs on.
    syn_sysctls: Option<SynSysctls>,
}

impl Outcome {
    /// What the connection about to carry the request tells.
    fn note_connection(&mut self, facts: &ConnFacts) {
        self.remote = Some(facts.remote);
        self.local = facts.local;
        self.tls = facts.tls.clone();
        self.http = Some(facts.http.as_str());
    }

    /// What the response's head tells: status, captured headers and HTTP
    /// version. True when the server will close the connection after it.
    fn note_response<B>(
        &mut self,
        response: &http::Response<B>,
        target: &Target,
        conn_http: HttpVersion,
    ) -> bool {
        self.status = Some(response.status().as_u16());
        let (headers, closes) = request::read_head(response, &target.redaction);
        self.headers = headers;
        self.http = Some(match response.version() {
            http::Version::HTTP_10 => "1.0",
            http::Version::HTTP_2 => "2",
            _ => conn_http.as_str(),
        });
        closes
    }
}

/// The probe engine. One per process; safe to share between tasks.
pub struct Prober {
    settings: ProbeSettings,
    dns: Dns,
    tls: Connectors,
    pool: Pool,
    /// Read once, when the prober is made: the namespace a process runs in
    /// does not change under it, and a sysctl changed mid-run is rare
    /// enough not to cost two file reads per connection.
    syn_sysctls: Option<SynSysctls>,
}

/// Connection ids are process-unique, across every prober.
static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// This process's run id: 8 random hex digits, in every record.
pub fn run_id() -> &'static str {
    shared_run_id()
}

/// [`run_id`] as every record holds it: one string, shared.
fn shared_run_id() -> &'static Arc<str> {
    static RUN: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    RUN.get_or_init(|| format!("{:08x}", rand::random::<u32>()).into())
}

impl Prober {
    /// Set up DNS, TLS and the pool, and warm the TLS stack.
    pub fn new(settings: ProbeSettings) -> Result<Prober, TlsSetupError> {
        let config = tls::client_config(&settings.tls)?;
        tls::warm_up();
        Ok(Prober {
            dns: Dns::new(settings.dns_server, settings.resolve.clone()),
            tls: Connectors::new(config),
            pool: Pool::new(settings.max_idle_per_origin),
            syn_sysctls: SynSysctls::read(),
            settings,
        })
    }

    /// Make the TLS connectors of these targets' client certificates now,
    /// before any probe (otherwise each is made on its first connection).
    pub fn prepare(&self, targets: &[Target]) {
        for t in targets.iter().filter(|t| t.endpoint.tls) {
            self.tls.get(t.client_cert.as_deref());
        }
    }

    /// Send one probe to `target`. `scheduled` is when the plan wanted it
    /// sent; time before the probe really starts shows as `queue`.
    /// Never fails: a failing target is data in the record.
    pub async fn probe(&self, target: &Target, seq: u64, scheduled: Instant) -> ProbeRecord {
        let timer = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
        self.probe_within(target, seq, scheduled, timer).await
    }

    /// [`Prober::probe`] with the caller's timer for the probe's overall
    /// deadline. A worker that sends probe after probe passes the same one
    /// each time: moving a registered timer's deadline later is one atomic
    /// store, where a timer of its own cost each probe an insert into the
    /// timer wheel and a removal (issue 20).
    pub async fn probe_within(
        &self,
        target: &Target,
        seq: u64,
        scheduled: Instant,
        timer: Pin<&mut Sleep>,
    ) -> ProbeRecord {
        let start = Instant::now();
        // One wall-clock reading per probe; every time of the record is
        // placed relative to it.
        let wall_start = std::time::SystemTime::now();
        let wall = |at: Instant| match start.checked_duration_since(at) {
            Some(before) => wall_start - before,
            None => wall_start + at.duration_since(start),
        };
        let deadline = start + self.settings.timeouts.total;
        let trace_id = match target.prepared.user_trace() {
            // The user sets the header: record their root, send theirs.
            Some(theirs) => theirs.map(str::to_string),
            None => self.settings.trace_header.then(|| trace::new_root_id(wall_start)),
        };
        let mut marks = Marks::new(scheduled);
        let mut out = Outcome::default();

        // One deadline for the whole probe (a timer per step would cost a
        // timer-wheel insert per request and per body frame); DNS, connect
        // and TLS have their own shorter limits inside.
        // Pinned here and passed by reference: the exchange future is the
        // bulk of the probe's state, and moving it into `within` by value
        // cost two copies of it per probe (issue 20).
        let result = {
            let exchange = pin!(self.exchange(target, &mut marks, &mut out, trace_id.as_deref(), deadline));
            within(timer, deadline, exchange).await
        };
        let result = match result {
            Some(result) => result,
            None => Err(self.timed_out(&mut marks, &out)),
        };
        let error = result.err().map(|f| {
            let phase = f.phase.or(marks.open_phase()).unwrap_or(Phase::Ttfb);
            marks.close_open(f.at);
            ProbeError {
                kind: f.kind,
                phase,
                message: f.message,
            }
        });
        let timing = timing::phases(&marks);
        ProbeRecord {
            v: RECORD_VERSION,
            run: Some(shared_run_id().clone()),
            target: target.name.clone(),
            url: target.url_text.clone(),
            seq,
            at: Timestamp(wall_start),
            scheduled_at: Timestamp(wall(scheduled)),
            remote: out.remote,
            local: out.local,
            family: dual_stack::of_probe(out.remote, target),
            conn: out.conn,
            phases_ms: timing.phases,
            total_ms: timing.total_ms,
            status: out.status,
            http: out.http.map(Cow::Borrowed),
            tls: out.tls,
            trace_id,
            headers: out.headers,
            body_bytes: out.body_bytes,
            error,
            lab: self.settings.lab.clone(),
            syn_sysctls: out.syn_sysctls,
            vantage: self.settings.vantage.clone(),
        }
    }

    /// The overall deadline passed: say where, from the phase that was open.
    fn timed_out(&self, marks: &mut Marks, out: &Outcome) -> Failure {
        let limit = humantime::format_duration(self.settings.timeouts.total);
        // Once the request is out, the wait is for the server.
        if marks.open_phase() == Some(Phase::Send) {
            if let Some((io, send_start)) = &out.io {
                waiting_if_sent(marks, io, *send_start);
            }
        }
        let message = match marks.open_phase() {
            Some(Phase::Body) => format!("the body did not complete within {limit}"),
            Some(Phase::Send) if out.io.is_none() => format!("the connection was not ready within {limit}"),
            Some(Phase::Send) => format!("the request could not be sent within {limit}"),
            _ => format!("no response within {limit}"),
        };
        Failure::now(ErrorKind::Timeout, message)
    }

    async fn exchange(
        &self,
        target: &Target,
        marks: &mut Marks,
        out: &mut Outcome,
        trace_id: Option<&str>,
        deadline: Instant,
    ) -> Result<(), Failure> {
        // Signing is the tool's own work: done before `acquire`, so that
        // its time is `queue` (the signature does not depend on the
        // connection; HTTP/2's :authority is the signed Host).
        let signature = match &target.sigv4 {
            None => None,
            Some(signer) => Some(
                signer
                    .sign(std::time::SystemTime::now())
                    .await
                    .map_err(|e| Failure {
                        phase: Some(Phase::Queue),
                        ..Failure::now(ErrorKind::Io, e.to_string())
                    })?,
            ),
        };
        let (mut conn, stale_idle) = self.acquire(target, marks, out, deadline).await?;
        let (reconnected, stale_idle_ms) = (stale_idle.is_some(), stale_idle.map(ms));
        out.note_connection(&conn.facts);
        let fresh = self.settings.connections == ConnectionPolicy::Fresh;
        let mut request =
            target
                .prepared
                .build_traced(conn.facts.http, trace_id, self.settings.trace_parent, fresh);
        if let Some(signature) = signature {
            signature.apply(request.headers_mut());
        }

        let send_start = Instant::now();
        // The send's start on the connection's clock: ns after its I/O
        // marks' base, which is when it was established.
        debug_assert_eq!(conn.marks.base(), conn.facts.established);
        let send = conn.marks.since_base(send_start);
        out.conn = Some(conn_info(&conn.facts, send, reconnected, stale_idle_ms));
        conn.marks.arm();
        marks.begin(Phase::Send, send_start);
        out.io = Some((conn.marks.clone(), send_start));
        let response = match conn.send(request).await {
            Err(e) => {
                waiting_if_sent(marks, &conn.marks, send_start);
                return Err(failure(target, &e, classify::hyper_kind(&e)));
            }
            Ok(response) => response,
        };
        let headers_in = mark_headers(marks, &conn.marks, send);
        let status = response.status();
        let peer_closes = out.note_response(&response, target, conn.facts.http);
        // A refusal is explained from its headers and the start of its
        // body; nothing is kept on the success path.
        let ok = target.request.status_ok(status.as_u16());
        let refused_headers = (!ok).then(|| response.headers().clone());
        let mut refused_body = Vec::new();

        let mut body = response.into_body();
        let mut bytes = 0u64;
        // A body known complete (its Content-Length all in) is not polled
        // once more for its end: that poll costs as much as a frame.
        while !body.is_end_stream() {
            match body.frame().await {
                None => break,
                Some(Err(e)) => {
                    out.body_bytes = Some(bytes);
                    return Err(failure(target, &e, classify::hyper_kind(&e)));
                }
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        bytes += data.len() as u64;
                        if !ok && refused_body.len() < refusal::BODY_PREFIX {
                            let room = refusal::BODY_PREFIX - refused_body.len();
                            refused_body.extend_from_slice(&data[..data.len().min(room)]);
                        }
                    }
                    out.body_bytes = Some(bytes);
                }
            }
        }
        let body_end_ns = mark_body_end(marks, &conn.marks, headers_in);
        // Taken before the connection goes back to the pool.
        let refused_at = conn.marks.at(body_end_ns);
        out.body_bytes = Some(bytes);
        self.release(target, conn, body_end_ns, peer_closes, out);
        if let Some(headers) = refused_headers {
            let (kind, message) = match refusal::explain(
                status.as_u16(),
                &headers,
                &refused_body,
                target.sigv4.is_some(),
                &target.redaction,
            ) {
                Some(r) => (r.kind, r.message),
                None => (ErrorKind::Status, format!("HTTP {status}")),
            };
            return Err(Failure {
                kind,
                message,
                at: refused_at,
                phase: Some(Phase::Ttfb),
            });
        }
        Ok(())
    }

    /// The exchange is over: the connection is counted used, and back in
    /// the pool in `reuse` mode unless the server said it will close it.
    fn release(
        &self,
        target: &Target,
        mut conn: Box<Connection>,
        body_end_ns: u64,
        peer_closes: bool,
        out: &mut Outcome,
    ) {
        conn.facts.requests += 1;
        conn.facts.last_used_ns = body_end_ns;
        if let Some(info) = out.conn.as_mut() {
            info.requests = conn.facts.requests;
        }
        if self.settings.connections == ConnectionPolicy::Reuse && !peer_closes {
            self.pool.checkin(&target.origin, conn);
        }
    }

    /// A connection ready to take a request: a live pooled one in `reuse`
    /// mode, else a new one. Returns how long the newest pooled connection
    /// found closed by the peer had been idle, if one was.
    async fn acquire(
        &self,
        target: &Target,
        marks: &mut Marks,
        out: &mut Outcome,
        deadline: Instant,
    ) -> Result<(Box<Connection>, Option<Duration>), Failure> {
        let mut stale_idle = None;
        if self.settings.connections == ConnectionPolicy::Reuse {
            loop {
                // One clock reading for the pool and the phase: the
                // checkout between them is a pop from a short list.
                let waited = Instant::now();
                let checkout = self.pool.checkout(&target.origin, waited);
                stale_idle = stale_idle.or(checkout.stale_idle);
                let Some(mut conn) = checkout.conn else { break };
                marks.begin(Phase::Send, waited);
                // An idle HTTP/1.1 connection is ready at once: no timer
                // for that (a timer made per probe costs more than it guards).
                let ready = {
                    let mut ready = pin!(conn.ready());
                    match std::future::poll_fn(|cx| Poll::Ready(ready.as_mut().poll(cx))).await {
                        Poll::Ready(ready) => Ok(ready),
                        Poll::Pending => timeout_at(deadline.into(), ready).await,
                    }
                };
                match ready {
                    Ok(Ok(())) => return Ok((conn, None)),
                    // Closed by the peer after the pool looked at it: stale too.
                    Ok(Err(_)) => {
                        stale_idle.get_or_insert(waited.saturating_duration_since(conn.facts.last_used()));
                    }
                    Err(_) => {
                        return Err(Failure::now(
                            ErrorKind::Timeout,
                            "pooled connection never became ready",
                        ))
                    }
                }
            }
        }
        // Boxed: opening a connection (DNS, TLS) is most of the probe
        // future's size, and keeping it out of line keeps every move of the
        // future cheap for the common, reused case.
        let mut conn = Box::new(Box::pin(self.open(target, marks, out, deadline)).await?);
        marks.begin(Phase::Send, Instant::now());
        match timeout_at(deadline.into(), conn.ready()).await {
            Ok(Ok(())) => Ok((conn, stale_idle)),
            Ok(Err(e)) => Err(failure(target, &e, classify::hyper_kind(&e))),
            Err(_) => Err(Failure::now(
                ErrorKind::Timeout,
                "new connection never became ready",
            )),
        }
    }

    /// A new connection: DNS (unless the host is an IP or pinned), TCP, TLS,
    /// and the HTTP handshake.
    async fn open(
        &self,
        target: &Target,
        marks: &mut Marks,
        out: &mut Outcome,
        deadline: Instant,
    ) -> Result<Connection, Failure> {
        let ep = &target.endpoint;
        let timeouts = self.settings.timeouts;
        // Before the first phase: a new identity's connector is made here
        // once, and that is the tool's own work (`queue`).
        let connector = self.tls.get(target.client_cert.as_deref());
        let addrs = if let Some(ip) = ep.ip {
            vec![SocketAddr::new(ip, ep.port)]
        } else if let Some(addr) = self.dns.pinned(&ep.host, ep.port, target.family) {
            vec![addr]
        } else {
            // Made before the clock starts: it builds the lookup's own
            // resolver, which is the tool's work, not the resolver's.
            let lookup = self.dns.lookup(&ep.host, ep.port, target.family);
            let begun = Instant::now();
            marks.begin(Phase::Dns, begun);
            let limit = deadline.min(begun + timeouts.dns);
            let found = match timeout_at(limit.into(), lookup).await {
                Err(_) => Err(Failure::now(
                    ErrorKind::Timeout,
                    format!(
                        "resolving {} took longer than {}",
                        ep.host,
                        format::whole_ms(limit - begun)
                    ),
                )),
                Ok(Err(f)) => Err(Failure::now(f.kind, f.message)),
                Ok(Ok(addrs)) => Ok(addrs),
            }?;
            marks.end(Phase::Dns, Instant::now());
            found
        };

        let limit = deadline.min(Instant::now() + timeouts.connect);
        out.syn_sysctls = self.syn_sysctls;
        let (tcp, remote) = connect_any(&addrs, limit, marks).await?;
        out.remote = Some(remote);
        out.local = tcp.get_ref().local_addr().ok();

        let (transport, tls_info) = if ep.tls {
            let begun = Instant::now();
            marks.begin(Phase::Tls, begun);
            let name = ServerName::try_from(ep.host.clone())
                .map_err(|e| Failure::now(ErrorKind::Tls, format!("bad server name {}: {e}", ep.host)))?;
            let limit = deadline.min(begun + timeouts.tls);
            let stream = match timeout_at(limit.into(), connector.connect(name, tcp)).await {
                Err(_) => {
                    return Err(Failure::now(
                        ErrorKind::Timeout,
                        format!(
                            "TLS handshake took longer than {}",
                            format::whole_ms(limit - begun)
                        ),
                    ))
                }
                Ok(Err(e)) => return Err(failure(target, &e, classify::tls_kind(&e))),
                Ok(Ok(stream)) => stream,
            };
            marks.end(Phase::Tls, Instant::now());
            let info = tls::info(stream.get_ref().1);
            (Transport::Tls(Box::new(stream)), Some(info))
        } else {
            (Transport::Plain(tcp), None)
        };
        let http = match tls_info.as_ref().and_then(|t| t.alpn.as_deref()) {
            Some("h2") => HttpVersion::H2,
            _ => HttpVersion::H1,
        };
        out.tls = tls_info.clone();
        let established = Instant::now();
        let facts = ConnFacts {
            id: NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed),
            established,
            last_used_ns: 0,
            requests: 0,
            remote,
            local: out.local,
            tls: tls_info,
            http,
        };
        // The HTTP/2 preface goes out here: a failure belongs to `send`.
        marks.begin(Phase::Send, established);
        Connection::handshake(transport, IoMarks::new(established), facts)
            .await
            .map_err(|e| failure(target, &e, classify::hyper_kind(&e)))
    }
}

/// How much earlier than a probe's deadline a worker's timer may stay set.
/// Setting it costs a timer-wheel update per probe; left a little early
/// (set by an earlier probe), it is set again only if it fires before the
/// deadline (issue 20).
const TIMER_SLACK: Duration = Duration::from_secs(1);

/// `work`, unless `deadline` passes first (then `None`): what `timeout_at`
/// does, on a timer that outlives the probe. The timer is moved to
/// `deadline` unless it is already set at most [`TIMER_SLACK`] before it;
/// firing early, it is moved on and waited for again.
async fn within<F: Future>(mut timer: Pin<&mut Sleep>, deadline: Instant, work: F) -> Option<F::Output> {
    let deadline = tokio::time::Instant::from_std(deadline);
    let set = timer.deadline();
    if set > deadline || set + TIMER_SLACK < deadline {
        timer.as_mut().reset(deadline);
    }
    let mut work = pin!(work);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if tokio::time::Instant::now() >= deadline {
                return Poll::Ready(None);
            }
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    })
    .await
}

/// A failure of TLS or of the exchange, named as a refused client
/// certificate when the server's alert says it is one.
fn failure(target: &Target, err: &(dyn std::error::Error + 'static), kind: ErrorKind) -> Failure {
    match classify::cert_refusal(err, target.client_cert.is_some()) {
        Some((kind, message)) => Failure::now(kind, message),
        None => Failure::now(kind, classify::message(err)),
    }
}

/// Connect to the first address that accepts, in resolver order. Refusals
/// and unreachable addresses move on to the next; running out of time does not.
///
/// `connect` begins just before the first SYN leaves (each socket is made
/// and configured before its `connect()` call) and ends when the SYN-ACK
/// came in, by the kernel's RTT sample when it has one
/// ([`kernel_time::connect_end`]), else when the task woke to it.
async fn connect_any(
    addrs: &[SocketAddr],
    limit: Instant,
    marks: &mut Marks,
) -> Result<(StampedTcp, SocketAddr), Failure> {
    let mut last: Option<Failure> = None;
    let mut begun = false;
    for &addr in addrs {
        let (socket, stamps) = match kernel_time::socket_for(addr) {
            Ok(made) => made,
            Err(e) => {
                if !begun {
                    marks.begin(Phase::Connect, Instant::now());
                    begun = true;
                }
                last = Some(Failure::now(
                    classify::io_kind(&e),
                    format!("connecting to {addr}: {e}"),
                ));
                continue;
            }
        };
        let began = Instant::now();
        if !begun {
            marks.begin(Phase::Connect, began);
            begun = true;
        }
        match timeout_at(limit.into(), socket.connect(addr)).await {
            Err(_) => {
                return Err(Failure::now(
                    ErrorKind::Timeout,
                    format!("connecting to {addr}: no answer in time"),
                ))
            }
            Ok(Ok(stream)) => {
                let woken = Instant::now();
                marks.end(Phase::Connect, kernel_time::connect_end(&stream, began, woken));
                return Ok((StampedTcp::new(stream, stamps), addr));
            }
            Ok(Err(e)) => {
                last = Some(Failure::now(
                    classify::io_kind(&e),
                    format!("connecting to {addr}: {e}"),
                ));
            }
        }
    }
    if !begun {
        marks.begin(Phase::Connect, Instant::now());
    }
    Err(last.unwrap_or_else(|| Failure::now(ErrorKind::Dns, "no address to connect to")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: one timer serves probe after probe; each gets its own
    /// deadline, whatever the ones before it did. (Deadlines from the
    /// paused clock, which `std::time::Instant::now` does not follow.)
    #[tokio::test(start_paused = true)]
    async fn a_reused_timer_bounds_each_piece_of_work_by_its_own_deadline() {
        let mut timer = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
        let limit = Duration::from_secs(60);
        // Work done at once leaves the timer armed for later.
        for _ in 0..3 {
            let deadline = tokio::time::Instant::now().into_std() + limit;
            assert_eq!(within(timer.as_mut(), deadline, async { 7 }).await, Some(7));
        }
        // Work that takes a while finishes before its deadline.
        let deadline = tokio::time::Instant::now().into_std() + limit;
        let slow = tokio::time::sleep(Duration::from_secs(30));
        assert_eq!(within(timer.as_mut(), deadline, slow).await, Some(()));
        // Work that never ends ends at its own deadline, not an earlier one.
        let begun = tokio::time::Instant::now();
        let deadline = tokio::time::Instant::now().into_std() + limit;
        let never = std::future::pending::<()>();
        assert_eq!(within(timer.as_mut(), deadline, never).await, None);
        let waited = begun.elapsed();
        assert!(
            waited >= limit && waited < limit + Duration::from_secs(1),
            "{waited:?}"
        );
    }

    /// Issue 20: a timer left set by an earlier probe, a little before this
    /// probe's deadline, is not moved; when it fires, the probe goes on
    /// until its own deadline, not the earlier one.
    #[tokio::test(start_paused = true)]
    async fn a_timer_left_early_does_not_end_the_work_early() {
        let mut timer = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
        let limit = Duration::from_secs(60);
        let first = tokio::time::Instant::now().into_std() + limit;
        assert_eq!(within(timer.as_mut(), first, async { 1 }).await, Some(1));
        // Half a second on: the timer stays at the first deadline.
        tokio::time::advance(Duration::from_millis(500)).await;
        let second = tokio::time::Instant::now().into_std() + limit;
        assert_eq!(within(timer.as_mut(), second, async { 3 }).await, Some(3));
        assert_eq!(timer.deadline().into_std(), first, "not moved within the slack");
        let begun = tokio::time::Instant::now();
        let never = std::future::pending::<()>();
        assert_eq!(within(timer.as_mut(), second, never).await, None);
        assert_eq!(
            tokio::time::Instant::now().into_std(),
            second,
            "ended at its own deadline"
        );
        assert_eq!(begun.elapsed(), limit);
        // Work that ends between the two deadlines is not cut off.
        let third = tokio::time::Instant::now().into_std() + limit;
        tokio::time::advance(Duration::from_millis(500)).await;
        let fourth = tokio::time::Instant::now().into_std() + limit;
        let slow = tokio::time::sleep_until((third + Duration::from_millis(250)).into());
        assert_eq!(within(timer.as_mut(), third, async { 2 }).await, Some(2));
        assert_eq!(within(timer.as_mut(), fourth, slow).await, Some(()));
    }
}

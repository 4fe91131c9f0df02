//! A Network Load Balancer in miniature: a TCP proxy over N targets, one
//! flow per client connection, new flows spread over the targets as a flow
//! hash would (each target once per N flows, in a random order), a per-flow
//! idle timer, and per-target faults. Counts what CloudWatch would show.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What happens to a flow whose idle timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdleBehaviour {
    /// The flow is forgotten; the next packet from the client gets a reset.
    Reset,
    /// The flow is forgotten silently; the client's bytes go nowhere and it
    /// waits on its own retransmissions and timeouts.
    Blackhole,
}

/// A fault of one target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// The connection to the target takes this long (a dead path timing out).
    SlowConnect(Duration),
    /// The target refuses: the client's flow is reset.
    Refuse,
    /// Every chunk from the target is held this long.
    SlowAnswer(Duration),
}

impl Fault {
    /// Whether an NLB health check would pass: a target that refuses or
    /// does not answer its SYN fails it; a slow answer does not.
    pub fn fails_health_check(&self) -> bool {
        matches!(self, Fault::SlowConnect(_) | Fault::Refuse)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NlbConfig {
    pub targets: Vec<SocketAddr>,
    pub idle_timeout: Option<Duration>,
    pub idle_behaviour: IdleBehaviour,
    /// (target index, fault)
    pub faults: Vec<(usize, Fault)>,
    /// A target deregistered, then dead, during the run.
    pub drain: Option<Drain>,
}

/// `nlb.drain`, in real time from the lab's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drain {
    /// The target, or `None`: the one that carried the latest request when
    /// it is deregistered (the one the gateway's pool is using).
    pub target: Option<usize>,
    /// No new flows to the target from then on.
    pub deregistered: Instant,
    /// Its flows go silent (or are reset, with `termination`) from then on.
    pub dies: Instant,
    pub termination: bool,
    /// From the deregistration to the death every chunk from the target is
    /// held this long: an app shutting down, or a target failing its health
    /// checks because it is slow, that still serves its flows.
    pub slow: Duration,
}

/// Which target is draining, once known, and the target that carried the
/// latest request (to know the one in use).
struct DrainState {
    target: AtomicUsize,
    last: AtomicUsize,
}

impl DrainState {
    const UNKNOWN: usize = usize::MAX;

    fn draining(&self) -> Option<usize> {
        Some(self.target.load(Ordering::Acquire)).filter(|&t| t != Self::UNKNOWN)
    }

    /// The target that carried the latest request (0 before any).
    fn in_use(&self) -> usize {
        self.last.load(Ordering::Relaxed)
    }
}

/// Counters in the shape of the NLB's CloudWatch metrics.
#[derive(Debug, Default)]
pub struct NlbStats {
    pub new_flows: AtomicU64,
    pub active_flows: AtomicU64,
    /// Resets sent by the load balancer itself (idle flows, refused targets).
    pub elb_resets: AtomicU64,
    /// Resets received from targets.
    pub target_resets: AtomicU64,
    /// Resets received from clients.
    pub client_resets: AtomicU64,
    pub idle_expired: AtomicU64,
}

pub async fn start(config: NlbConfig, cancel: CancellationToken) -> io::Result<(SocketAddr, Arc<NlbStats>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(NlbStats::default());
    let config = Arc::new(config);
    let mut deck = Deck::new(config.targets.len());
    let st = stats.clone();
    let drain_state = Arc::new(DrainState {
        target: AtomicUsize::new(config.drain.and_then(|d| d.target).unwrap_or(DrainState::UNKNOWN)),
        last: AtomicUsize::new(0),
    });
    // The target in use is chosen when the deregistration comes.
    if let Some(d) = config.drain.filter(|d| d.target.is_none()) {
        let (state, cancel) = (drain_state.clone(), cancel.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep_until(d.deregistered) => {
                    state.target.store(state.in_use(), Ordering::Release);
                }
                _ = cancel.cancelled() => {}
            }
        });
    }
    tokio::spawn(async move {
        loop {
            let client = tokio::select! {
                r = listener.accept() => match r {
                    Ok((s, _)) => s,
                    // Out of descriptors, say: do not spin.
                    Err(_) => { tokio::time::sleep(std::time::Duration::from_millis(10)).await; continue }
                },
                _ = cancel.cancelled() => return,
            };
            // A deregistered target gets no new flows.
            let draining = config
                .drain
                .filter(|d| Instant::now() >= d.deregistered)
                .and_then(|_| drain_state.draining());
            let mut target = deck.deal();
            while Some(target) == draining && config.targets.len() > 1 {
                target = deck.deal();
            }
            let (config, stats, cancel, state) =
                (config.clone(), st.clone(), cancel.clone(), drain_state.clone());
            tokio::spawn(async move {
                stats.new_flows.fetch_add(1, Ordering::Relaxed);
                stats.active_flows.fetch_add(1, Ordering::Relaxed);
                tokio::select! {
                    _ = flow(client, target, &config, &stats, &state) => {}
                    _ = cancel.cancelled() => {}
                }
                stats.active_flows.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    Ok((addr, stats))
}

/// Targets for new flows: every target once per round, in a fresh random
/// order each round. A real NLB hashes the flow's 5-tuple, which is as good
/// as random per flow; plain round-robin would line up with a client that
/// alternates its own targets (execute-api, custom domain, …) and send each
/// of them always to the same target. The rounds keep the shares exact.
struct Deck {
    order: Vec<usize>,
    dealt: usize,
}

impl Deck {
    fn new(targets: usize) -> Self {
        Deck {
            order: (0..targets.max(1)).collect(),
            dealt: usize::MAX,
        }
    }

    fn deal(&mut self) -> usize {
        if self.dealt >= self.order.len() {
            self.order.shuffle(&mut rand::rng());
            self.dealt = 0;
        }
        self.dealt += 1;
        self.order[self.dealt - 1]
    }
}

/// Close with a reset rather than a FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn flow(client: TcpStream, target: usize, config: &NlbConfig, stats: &NlbStats, state: &DrainState) {
    let _ = client.set_nodelay(true);
    let fault = config.faults.iter().find(|(t, _)| *t == target).map(|(_, f)| *f);
    match fault {
        Some(Fault::Refuse) => {
            stats.elb_resets.fetch_add(1, Ordering::Relaxed);
            return reset(client);
        }
        Some(Fault::SlowConnect(d)) => tokio::time::sleep(d).await,
        _ => {}
    }
    let Some(addr) = config.targets.get(target) else {
        return reset(client);
    };
    let upstream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(_) => {
            stats.elb_resets.fetch_add(1, Ordering::Relaxed);
            return reset(client);
        }
    };
    let _ = upstream.set_nodelay(true);
    let answer_delay = match fault {
        Some(Fault::SlowAnswer(d)) => d,
        _ => Duration::ZERO,
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let (mut cbuf, mut ubuf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let mut last = Instant::now();
    let (mut client_open, mut upstream_open) = (true, true);
    // Whether this flow's target is the draining one is known only at the
    // deregistration (the target in use is chosen then).
    let drain = config.drain;
    let this_drains = || state.draining() == Some(target);
    loop {
        let dies = async {
            match drain {
                Some(d) => {
                    tokio::time::sleep_until(d.dies).await;
                    if !this_drains() {
                        std::future::pending::<()>().await
                    }
                }
                None => std::future::pending().await,
            }
        };
        let idle = async {
            match config.idle_timeout {
                Some(t) => tokio::time::sleep_until(last + t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = cr.read(&mut cbuf), if client_open => match r {
                Ok(0) => {
                    client_open = false;
                    let _ = uw.shutdown().await;
                }
                // A reset from the client is passed on as a reset.
                Err(e) => {
                    if e.kind() == io::ErrorKind::ConnectionReset {
                        stats.client_resets.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = AsRef::<TcpStream>::as_ref(&uw).set_zero_linger();
                    break;
                }
                // The verdict is read at this task's wake-up, not at the
                // bytes' arrival: a flow whose task wakes after its idle
                // deadline treats the bytes as arriving idle, as a real NLB
                // would for bytes that arrive then, whichever of the timer
                // and the read wakes it first. So a late wake-up of the lab
                // itself (a loaded machine) counts as idle too, even for
                // bytes that reached the socket before the deadline.
                Ok(_) if config.idle_timeout.is_some_and(|t| last.elapsed() >= t) => {
                    stats.idle_expired.fetch_add(1, Ordering::Relaxed);
                    drop((ur, uw));
                    let client = cr.reunite(cw).expect("halves of one stream");
                    return expired_on_arrival(client, config.idle_behaviour, stats).await;
                }
                Ok(n) => {
                    last = Instant::now();
                    state.last.store(target, Ordering::Relaxed);
                    if uw.write_all(&cbuf[..n]).await.is_err() { break }
                }
            },
            r = ur.read(&mut ubuf), if upstream_open => match r {
                Ok(0) => {
                    upstream_open = false;
                    let _ = cw.shutdown().await;
                }
                // A reset from the target is passed on as a reset.
                Err(e) => {
                    if e.kind() == io::ErrorKind::ConnectionReset {
                        stats.target_resets.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = AsRef::<TcpStream>::as_ref(&cw).set_zero_linger();
                    break;
                }
                Ok(n) => {
                    let draining_slow = match drain {
                        Some(d) if Instant::now() >= d.deregistered && this_drains() => d.slow,
                        _ => Duration::ZERO,
                    };
                    let delay = answer_delay + draining_slow;
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    last = Instant::now();
                    if cw.write_all(&ubuf[..n]).await.is_err() { break }
                }
            },
            _ = dies => {
                // The target is gone: its flows go nowhere, or are reset.
                drop((ur, uw));
                let client = cr.reunite(cw).expect("halves of one stream");
                let behaviour = match drain.is_some_and(|d| d.termination) {
                    true => IdleBehaviour::Reset,
                    false => IdleBehaviour::Blackhole,
                };
                return expire(client, behaviour, stats).await;
            }
            _ = idle => {
                stats.idle_expired.fetch_add(1, Ordering::Relaxed);
                drop((ur, uw));
                let client = cr.reunite(cw).expect("halves of one stream");
                return expire(client, config.idle_behaviour, stats).await;
            }
        }
        if !client_open && !upstream_open {
            break;
        }
    }
}

/// The flow was forgotten before the client's bytes just read arrived:
/// they get what [`expire`] gives the next packet.
async fn expired_on_arrival(client: TcpStream, behaviour: IdleBehaviour, stats: &NlbStats) {
    match behaviour {
        IdleBehaviour::Reset => {
            stats.elb_resets.fetch_add(1, Ordering::Relaxed);
            reset(client);
        }
        IdleBehaviour::Blackhole => expire(client, behaviour, stats).await,
    }
}

/// The flow has been forgotten: what the client meets when it speaks again.
async fn expire(mut client: TcpStream, behaviour: IdleBehaviour, stats: &NlbStats) {
    let mut buf = [0u8; 4096];
    match behaviour {
        IdleBehaviour::Reset => {
            // Nothing is sent until the client sends something; a client
            // that just closes gets no reset.
            if let Ok(n) = client.read(&mut buf).await {
                if n > 0 {
                    stats.elb_resets.fetch_add(1, Ordering::Relaxed);
                    reset(client);
                }
            }
        }
        IdleBehaviour::Blackhole => {
            // Bytes vanish; no answer, no reset.
            while let Ok(n) = client.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that sends back what it reads.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    /// A loaded machine, made on purpose: the runtime's one thread is held
    /// past a flow's idle deadline while the client speaks, so the flow
    /// task wakes with its timer and the client's bytes both ready. The
    /// bytes must meet the forgotten flow every time (a coin toss between
    /// the two wake-ups forwarded them about half the time).
    ///
    /// The idle timer is long enough (500 ms) that an unplanned stall in
    /// the warm exchange does not expire the flow, and every read is
    /// bounded, so a wrong turn fails with a message instead of hanging.
    #[tokio::test(flavor = "current_thread")]
    async fn bytes_after_the_idle_deadline_are_reset_however_late_the_flow_wakes() {
        const FLOWS: u64 = 8;
        const READ_LIMIT: Duration = Duration::from_secs(10);
        let idle = Duration::from_millis(500);
        let cancel = CancellationToken::new();
        let config = NlbConfig {
            targets: vec![echo().await],
            idle_timeout: Some(idle),
            idle_behaviour: IdleBehaviour::Reset,
            faults: vec![],
            drain: None,
        };
        let (addr, stats) = start(config, cancel.clone()).await.unwrap();
        for _ in 0..FLOWS {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(b"a").await.unwrap();
            let mut buf = [0u8; 8];
            let warm = tokio::time::timeout(READ_LIMIT, client.read(&mut buf))
                .await
                .expect("no echo within 10 s while the flow was warm");
            assert_eq!(warm.unwrap(), 1, "the flow works while warm");
            // The stall (the fault under test, not a synchronisation):
            // nothing else on this runtime runs until the client has spoken.
            std::thread::sleep(idle + idle / 5);
            assert_eq!(client.try_write(b"b").unwrap(), 1);
            let answer = tokio::time::timeout(READ_LIMIT, client.read(&mut buf))
                .await
                .expect("neither an answer nor a reset within 10 s of the late bytes");
            assert!(
                !matches!(answer, Ok(n) if n > 0),
                "bytes sent after the idle deadline were forwarded: {answer:?}"
            );
        }
        assert_eq!(stats.elb_resets.load(Ordering::Relaxed), FLOWS);
        cancel.cancel();
    }
}

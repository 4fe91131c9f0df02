//! The thread that sends the client segments: batches of up to
//! [`BATCH`] documents a `PutTraceSegments` call, sent when full or
//! [`LINGER`] after the first of them came; a failed call is tried again
//! after a backoff that doubles up to [`MAX_BACKOFF`], [`ATTEMPTS`] times
//! in all (each attempt with the SDK's own retries), then dropped and
//! counted (the backoff and the log's limit are `publish::background`'s,
//! shared with CloudWatch's flusher). Failures are logged, as `tracing`
//! warnings, at most once every [`LOG_EVERY`]; each
//! batch given up on is also told to a [`GaveUp`] callback (the keep-warm
//! daemon's `coldlink_publish_failures_total{sink="xray"}`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{client, document, ClientProbe, Counters, SegmentSink, XraySegments};
use crate::probe::Target;
use crate::publish::background::{Backoff, RateLimitedLog};

/// Documents a call: the X-Ray daemon's batch; 50 documents of a few KB
/// are far below the API's request size.
pub const BATCH: usize = 50;
/// How long a batch waits to fill.
pub const LINGER: Duration = Duration::from_secs(1);
/// Probes waiting for their segment to be made and sent, at most.
pub const QUEUE: usize = 8192;
pub const ATTEMPTS: u32 = 3;
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// Called once per batch given up on: after its last attempt failed, when
/// X-Ray refused some of its segments, or when the shutdown's deadline
/// stopped it (the segments still queued then count as the batches they
/// would have made). Runs on the sending thread: keep it quick.
pub type GaveUp = Arc<dyn Fn() + Send + Sync>;

/// What became of the segments, when the publisher stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub sent: u64,
    pub dropped: u64,
    pub failed: u64,
}

impl Totals {
    /// One line for stderr, or `None` when every segment went.
    pub fn lost_line(&self) -> Option<String> {
        (self.dropped + self.failed > 0).then(|| {
            format!(
                "--xray-segments: {} client segments sent to X-Ray; {} refused or not delivered, {} dropped (queue full or shutting down)",
                self.sent, self.failed, self.dropped
            )
        })
    }
}

/// The running publisher: [`Publisher::sink`] for the probe loop,
/// [`Publisher::finish`] at the end.
#[derive(Debug)]
pub struct Publisher {
    sink: SegmentSink,
    counters: Arc<Counters>,
    /// Send what is queued, then stop.
    closing: CancellationToken,
    /// Stop now: the shutdown's deadline passed.
    abort: CancellationToken,
    done: oneshot::Receiver<()>,
}

impl Publisher {
    /// Start the sending thread for the probes of `targets`.
    pub fn start(cfg: &XraySegments, targets: &[Target]) -> std::io::Result<Publisher> {
        Publisher::start_counting(cfg, targets, Arc::new(|| {}))
    }

    /// [`Publisher::start`], telling `gave_up` of each batch given up on.
    pub fn start_counting(
        cfg: &XraySegments,
        targets: &[Target],
        gave_up: GaveUp,
    ) -> std::io::Result<Publisher> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let (closing, abort) = (CancellationToken::new(), CancellationToken::new());
        let (done_tx, done) = oneshot::channel();
        let thread = Worker {
            counters: counters.clone(),
            closing: closing.clone(),
            abort: abort.clone(),
            log: RateLimitedLog::new(LOG_EVERY),
            gave_up,
        };
        let cfg = cfg.clone();
        std::thread::Builder::new()
            .name("coldlink-xray".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async move {
                        let client = client(&cfg).await;
                        thread.run(&client, rx).await;
                    });
                }
                let _ = done_tx.send(());
            })?;
        Ok(Publisher {
            sink: SegmentSink::new(tx, counters.clone(), targets),
            counters,
            closing,
            abort,
            done,
        })
    }

    pub fn sink(&self) -> SegmentSink {
        self.sink.clone()
    }

    /// Send what is still queued, for at most `deadline`; what is left
    /// then is dropped. The totals of the whole run.
    pub async fn finish(self, deadline: Duration) -> Totals {
        self.closing.cancel();
        let mut done = self.done;
        if tokio::time::timeout(deadline, &mut done).await.is_err() {
            self.abort.cancel();
            // It stops at once now; wait for its counts.
            let _ = tokio::time::timeout(Duration::from_secs(1), done).await;
        }
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        Totals {
            sent: get(&self.counters.sent),
            dropped: get(&self.counters.dropped),
            failed: get(&self.counters.failed),
        }
    }
}

struct Worker {
    counters: Arc<Counters>,
    closing: CancellationToken,
    abort: CancellationToken,
    log: RateLimitedLog,
    gave_up: GaveUp,
}

impl Worker {
    async fn run(mut self, client: &aws_sdk_xray::Client, mut rx: mpsc::Receiver<ClientProbe>) {
        let mut batch: Vec<ClientProbe> = Vec::with_capacity(BATCH);
        let mut due: Option<Instant> = None;
        loop {
            if self.abort.is_cancelled() {
                break;
            }
            let closing = self.closing.is_cancelled();
            if closing {
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                if batch.is_empty() {
                    break;
                }
            } else if batch.len() < BATCH {
                let linger = async {
                    match due {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                let room = BATCH - batch.len();
                tokio::select! {
                    n = rx.recv_many(&mut batch, room) => {
                        if n == 0 {
                            // Every sink is gone: send what is left.
                            self.closing.cancel();
                        }
                        due.get_or_insert(Instant::now() + LINGER);
                        if batch.len() < BATCH {
                            continue;
                        }
                    }
                    _ = self.closing.cancelled() => continue,
                    _ = linger => {}
                }
            }
            due = None;
            let docs: Vec<String> = batch.drain(..).map(|p| document(&p)).collect();
            self.deliver(client, docs).await;
        }
        // Stopped at the deadline: what is still queued never went.
        rx.close();
        let mut left = batch.len();
        while rx.try_recv().is_ok() {
            left += 1;
        }
        Counters::add(&self.counters.dropped, left);
        for _ in 0..left.div_ceil(BATCH) {
            (self.gave_up)();
        }
        if left > 0 {
            tracing::warn!("--xray-segments: {left} client segments not sent before the shutdown's deadline");
        }
    }

    /// A failure, as a warning, unless one was said less than
    /// [`LOG_EVERY`] ago.
    fn warn(&mut self, line: &str) {
        if let Some(line) = self.log.admit(line) {
            tracing::warn!("--xray-segments: {line}");
        }
    }

    /// One batch: sent, retried with backoff, or given up and counted.
    async fn deliver(&mut self, client: &aws_sdk_xray::Client, docs: Vec<String>) {
        let n = docs.len();
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
        for attempt in 1..=ATTEMPTS {
            let put = crate::aws::xray::put_documents(client, docs.clone());
            let answer = tokio::select! {
                a = put => a,
                _ = self.abort.cancelled() => {
                    Counters::add(&self.counters.dropped, n);
                    (self.gave_up)();
                    return;
                }
            };
            match answer {
                Ok(refused) => {
                    Counters::add(&self.counters.sent, n - refused.len());
                    Counters::add(&self.counters.failed, refused.len());
                    if let Some(first) = refused.first() {
                        (self.gave_up)();
                        let line = format!("X-Ray refused {} of {n} client segments: {first}", refused.len());
                        self.warn(&line);
                    }
                    return;
                }
                Err(e) if attempt == ATTEMPTS => {
                    Counters::add(&self.counters.failed, n);
                    (self.gave_up)();
                    self.warn(&format!(
                        "{e}; {n} client segments given up after {ATTEMPTS} attempts"
                    ));
                    return;
                }
                Err(e) => {
                    let wait = backoff.failed();
                    self.warn(&format!(
                        "{e}; trying again in {}",
                        humantime::format_duration(wait)
                    ));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.abort.cancelled() => {
                            Counters::add(&self.counters.dropped, n);
                            (self.gave_up)();
                            return;
                        }
                    }
                }
            }
        }
    }
}

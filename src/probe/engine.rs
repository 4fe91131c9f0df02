//! The engine: a plan, its workers, and the batching of their records.
//!
//! Measured on 2 cores against a loopback nginx (docs/performance.md), the
//! fastest arrangement is also the most honest one: probes, their
//! connection driver tasks and the statistics on one current-thread runtime
//! (a shard), so that no cross-thread wake-up lands inside a measured phase.
//! A multi-threaded runtime spent its time waking tasks across threads
//! (500× the futex calls) and reached 60 % of the throughput. Closed-loop
//! bursts on fresh connections, whose cost is kernel connection set-up in the
//! caller's thread, run one shard per core, each with a prober of its own,
//! sharing the plan. A caller that must keep its own thread free of probes
//! (a dashboard) runs [`run`] on a runtime of its own.

use std::pin::pin;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::plan::Plan;
use super::prober::{ProbeSettings, Prober};
use super::record::ProbeRecord;
use super::runner;
use super::target::Target;
use super::tls::TlsSetupError;

/// Records as the engine publishes them: whatever accumulated since the
/// last batch (a single record when probes are sparse).
pub type RecordBatch = Vec<ProbeRecord>;

/// Largest batch passed on at once.
const BATCH: usize = 256;

/// Run `plan` with at most `max_in_flight` probes at once, publishing
/// records in batches, until the plan is done or `cancel` fires (probes in
/// flight finish). Fails only when TLS cannot be set up (a bad --cacert).
pub async fn run(
    settings: ProbeSettings,
    targets: Vec<Target>,
    plan: Box<dyn Plan>,
    max_in_flight: usize,
    batches: mpsc::Sender<RecordBatch>,
    cancel: CancellationToken,
) -> Result<(), TlsSetupError> {
    let shards = shards_for(&settings, plan.paced(), max_in_flight);
    let plan: runner::SharedPlan = Arc::new(Mutex::new(plan));
    let targets = Arc::new(targets);
    // Every shard's prober first (TLS roots, resolver settings): that is
    // the tool's set-up, and the plan's clock starts once it is done.
    let mut probers = Vec::with_capacity(shards);
    for _ in 0..shards {
        let prober = Arc::new(Prober::new(settings.clone())?);
        prober.prepare(&targets);
        probers.push(prober);
    }
    plan.lock()
        .expect("the plan lock is never poisoned")
        .begin_at(Instant::now());
    let prober = probers.remove(0);
    // Extra shards: a thread each, with a current-thread runtime and a
    // prober (pool, resolver) of its own, taking jobs from the same plan.
    let mut threads = Vec::new();
    for (index, shard_prober) in probers.into_iter().enumerate() {
        let shard = index + 1;
        let (plan, targets, batches, cancel) =
            (plan.clone(), targets.clone(), batches.clone(), cancel.clone());
        let workers = share(max_in_flight, shards, shard);
        threads.push(
            std::thread::Builder::new()
                .name(format!("coldlink-probe-{shard}"))
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a current-thread runtime builds");
                    runtime.block_on(shard_loop(shard_prober, targets, plan, workers, batches, cancel));
                })
                .expect("spawning a probe thread"),
        );
    }
    shard_loop(
        prober,
        targets,
        plan,
        share(max_in_flight, shards, 0),
        batches,
        cancel,
    )
    .await;
    let _ = tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    })
    .await;
    Ok(())
}

/// One shard per core for closed-loop bursts on new connections, whose
/// set-up is kernel work in the caller's thread; one otherwise (measured in
/// docs/performance.md: on keep-alive, a second thread only competes).
fn shards_for(settings: &ProbeSettings, paced: bool, max_in_flight: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if !paced && settings.connections == super::prober::ConnectionPolicy::Fresh && max_in_flight >= 8 {
        cores.min(max_in_flight / 4).max(1)
    } else {
        1
    }
}

/// Workers of shard `i` when `total` are spread over `shards`.
fn share(total: usize, shards: usize, i: usize) -> usize {
    (total / shards + usize::from(i < total % shards)).max(1)
}

/// The workers of one shard, and the forwarder that batches their records.
async fn shard_loop(
    prober: Arc<Prober>,
    targets: Arc<Vec<Target>>,
    plan: runner::SharedPlan,
    workers: usize,
    batches: mpsc::Sender<RecordBatch>,
    cancel: CancellationToken,
) {
    let paced = plan.lock().expect("plan lock").paced();
    if !paced {
        return burst_loop(prober, targets, plan, workers, batches, cancel).await;
    }
    // Paced probes publish here; one forwarder passes on everything that
    // has piled up, so the consumer wakes once per batch rather than per
    // record.
    let (records, mut local) = mpsc::channel::<ProbeRecord>(QUEUED);
    let forwarder = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while local.recv_many(&mut batch, BATCH).await > 0 {
            // Let the other ready workers finish their turn first; returns
            // at once when none are ready, so sparse probes are not delayed.
            tokio::task::yield_now().await;
            let room = BATCH.saturating_sub(batch.len());
            if room > 0 && !local.is_empty() {
                local.recv_many(&mut batch, room).await;
            }
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if batches.send(full).await.is_err() {
                break;
            }
        }
    });
    runner::run_shared(prober, targets, plan, workers, records, cancel).await;
    let _ = forwarder.await;
}

/// Records waiting in a shard, most of them, before they are passed on.
const QUEUED: usize = BATCH * 4;

/// A burst's workers put their records in one vector behind a lock that is
/// never contended (the workers and the forwarder share the shard's
/// thread): a push per record instead of a channel's send and receive
/// (issue 20). The forwarder takes whatever has piled up.
struct Pending {
    state: Mutex<PendingState>,
    /// For the forwarder: records arrived in an empty vector, or the
    /// workers are done.
    ready: Notify,
    /// For workers waiting on a full vector: the forwarder emptied it.
    room: Notify,
}

struct PendingState {
    records: Vec<ProbeRecord>,
    /// Every worker has finished: what is in `records` is the last.
    done: bool,
    /// Nobody takes batches any more.
    closed: bool,
}

impl Pending {
    fn state(&self) -> std::sync::MutexGuard<'_, PendingState> {
        self.state.lock().expect("the pending lock is never poisoned")
    }
}

#[derive(Clone)]
struct BurstSink(Arc<Pending>);

impl runner::RecordSink for BurstSink {
    // Inline: the record is then pushed straight from the worker's state,
    // not copied into this call's argument first.
    #[inline(always)]
    #[allow(clippy::result_large_err)]
    fn try_put(&self, record: ProbeRecord) -> Result<(), Option<ProbeRecord>> {
        let mut state = self.0.state();
        if state.closed {
            return Err(None);
        }
        if state.records.len() >= QUEUED {
            return Err(Some(record));
        }
        if state.records.is_empty() {
            self.0.ready.notify_one();
        }
        state.records.push(record);
        Ok(())
    }

    async fn put(&self, record: ProbeRecord) -> Result<(), ()> {
        loop {
            {
                let mut state = self.0.state();
                if state.closed {
                    return Err(());
                }
                if state.records.len() < QUEUED {
                    if state.records.is_empty() {
                        self.0.ready.notify_one();
                    }
                    state.records.push(record);
                    return Ok(());
                }
            }
            // Full: wait for the forwarder, registered before looking again
            // so that its taking the records in between is not missed.
            let mut room = pin!(self.0.room.notified());
            room.as_mut().enable();
            {
                let state = self.0.state();
                if state.closed || state.records.len() < QUEUED {
                    continue;
                }
            }
            room.await;
        }
    }
}

/// A closed-loop burst on one shard: its workers, and the forwarder that
/// passes on their records in batches.
async fn burst_loop(
    prober: Arc<Prober>,
    targets: Arc<Vec<Target>>,
    plan: runner::SharedPlan,
    workers: usize,
    batches: mpsc::Sender<RecordBatch>,
    cancel: CancellationToken,
) {
    let pending = Arc::new(Pending {
        state: Mutex::new(PendingState {
            records: Vec::with_capacity(BATCH),
            done: false,
            closed: false,
        }),
        ready: Notify::new(),
        room: Notify::new(),
    });
    let forwarder = tokio::spawn({
        let pending = pending.clone();
        async move {
            loop {
                pending.ready.notified().await;
                // Let the other ready workers finish their turn first;
                // returns at once when none are ready, so sparse probes are
                // not delayed.
                tokio::task::yield_now().await;
                let (batch, done) = {
                    let mut state = pending.state();
                    let batch = std::mem::replace(&mut state.records, Vec::with_capacity(BATCH));
                    (batch, state.done)
                };
                pending.room.notify_waiters();
                if !batch.is_empty() && batches.send(batch).await.is_err() {
                    pending.state().closed = true;
                    pending.room.notify_waiters();
                    break;
                }
                if done {
                    break;
                }
            }
        }
    });
    runner::pull(prober, targets, plan, workers, BurstSink(pending.clone()), cancel).await;
    pending.state().done = true;
    pending.ready.notify_one();
    let _ = forwarder.await;
}

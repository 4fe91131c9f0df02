//! The runner: `max_in_flight` workers take jobs from a plan in order, wait
//! for each job's time, and probe.
//! Records go out on a channel; whoever holds the receiver decides what they
//! become (stats, files, screens).
//!
//! Paced jobs keep their intended time as `scheduled_at` even when every
//! worker is busy, so the wait shows up as `queue` (no coordinated omission).
//! Because a slow probe holds only its own worker, a slow target does not
//! hold up the schedule of another as long as workers remain.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::plan::Plan;
use super::prober::Prober;
use super::record::ProbeRecord;
use super::target::Target;

/// A plan that several workers (and shards) take jobs from.
pub type SharedPlan = Arc<Mutex<Box<dyn Plan>>>;

/// Something that sends one probe. The real one is [`Prober`]; tests use
/// fakes on a paused clock.
pub trait Probe: Send + Sync + 'static {
    fn probe(
        &self,
        target: &Target,
        seq: u64,
        scheduled: std::time::Instant,
    ) -> impl Future<Output = ProbeRecord> + Send;
}

impl Probe for Prober {
    fn probe(
        &self,
        target: &Target,
        seq: u64,
        scheduled: std::time::Instant,
    ) -> impl Future<Output = ProbeRecord> + Send {
        Prober::probe(self, target, seq, scheduled)
    }
}

/// Run `plan` until it is exhausted or `cancel` fires. On cancellation no
/// new probe starts; probes in flight finish (each bounded by its own
/// timeout) and are published.
pub async fn run<P: Probe>(
    prober: Arc<P>,
    targets: Arc<Vec<Target>>,
    plan: Box<dyn Plan>,
    max_in_flight: usize,
    records: mpsc::Sender<ProbeRecord>,
    cancel: CancellationToken,
) {
    run_shared(
        prober,
        targets,
        Arc::new(Mutex::new(plan)),
        max_in_flight,
        records,
        cancel,
    )
    .await
}

/// [`run`] over a plan shared with other runners (the engine's shards).
pub async fn run_shared<P: Probe>(
    prober: Arc<P>,
    targets: Arc<Vec<Target>>,
    plan: SharedPlan,
    max_in_flight: usize,
    records: mpsc::Sender<ProbeRecord>,
    cancel: CancellationToken,
) {
    // Long-lived workers that take the next job from the plan themselves:
    // no task spawn per probe (which copies the large probe future) and no
    // hand-off between tasks (each a cross-thread wake-up).
    let tracker = TaskTracker::new();
    for _ in 0..max_in_flight.max(1) {
        tracker.spawn(worker(
            prober.clone(),
            targets.clone(),
            plan.clone(),
            records.clone(),
            cancel.clone(),
        ));
    }
    drop(records);
    tracker.close();
    tracker.wait().await;
}

async fn worker<P: Probe>(
    prober: Arc<P>,
    targets: Arc<Vec<Target>>,
    plan: SharedPlan,
    records: mpsc::Sender<ProbeRecord>,
    cancel: CancellationToken,
) {
    loop {
        // Jobs are taken in plan order by whichever worker is free; a job
        // whose time has passed because every worker was busy keeps that
        // time, so the wait shows as `queue`.
        let Some(job) = plan.lock().expect("plan lock").next_job() else {
            break;
        };
        let scheduled = match job.at {
            Some(at) => {
                // The timer wheel wakes us up to a millisecond late; that
                // lateness is the tool's, and shows as `queue`.
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => at,
                    _ = cancel.cancelled() => break,
                }
            }
            // A closed-loop job is due the moment a worker is free.
            None => Instant::now(),
        };
        if cancel.is_cancelled() {
            break;
        }
        let record = Box::pin(prober.probe(&targets[job.target], job.seq, scheduled.into_std())).await;
        if records.send(record).await.is_err() {
            break;
        }
    }
}

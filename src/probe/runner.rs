//! The runner: one dispatcher takes jobs from a plan in order, waits for each
//! job's time, and starts it as soon as one of `max_in_flight` slots is free.
//! Records go out on a channel; whoever holds the receiver decides what they
//! become (stats, files, screens).
//!
//! Paced jobs keep their intended time as `scheduled_at` even when every
//! slot is busy, so the wait shows up as `queue` (no coordinated omission).
//! Because each job runs in its own task, a slow target does not hold up the
//! schedule of another as long as slots remain.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::plan::Plan;
use super::prober::Prober;
use super::record::ProbeRecord;
use super::target::Target;

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
    mut plan: Box<dyn Plan>,
    max_in_flight: usize,
    records: mpsc::Sender<ProbeRecord>,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let tracker = TaskTracker::new();
    while let Some(job) = plan.next_job() {
        if let Some(at) = job.at {
            // The timer wheel wakes us up to a millisecond late; that lateness
            // is the tool's, and shows as `queue` because `at` stays the
            // probe's scheduled time.
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = cancel.cancelled() => break,
            }
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("semaphore is never closed"),
            _ = cancel.cancelled() => break,
        };
        if cancel.is_cancelled() || records.is_closed() {
            break;
        }
        // A closed-loop job is due the moment a slot frees up.
        let scheduled = job.at.unwrap_or_else(Instant::now);
        let (prober, targets, records) = (prober.clone(), targets.clone(), records.clone());
        tracker.spawn(async move {
            let record = prober
                .probe(&targets[job.target], job.seq, scheduled.into_std())
                .await;
            let _ = records.send(record).await;
            drop(slot);
        });
    }
    tracker.close();
    tracker.wait().await;
}

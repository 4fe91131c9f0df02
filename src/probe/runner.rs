//! The runner: jobs from a plan, at most `max_in_flight` probes at once.
//! Records go out on a channel; whoever holds the receiver decides what they
//! become (stats, files, screens).
//!
//! Paced jobs keep their intended time as `scheduled_at` even when every
//! worker is busy, so the wait shows up as `queue` (no coordinated omission).
//! Paced jobs each run in a task of their own, so a slow target does not hold
//! up the schedule of another as long as slots remain (`run` sizes the slots
//! so that a target answering only at its timeout cannot use them all).

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::plan::Plan;
use super::prober::Prober;
use super::record::ProbeRecord;
use super::target::Target;
use super::wake::Alarm;

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

    /// [`Probe::probe`] bounded by the caller's `timer` (see
    /// [`Prober::probe_within`]); by default the timer goes unused.
    fn probe_within(
        &self,
        target: &Target,
        seq: u64,
        scheduled: std::time::Instant,
        _timer: Pin<&mut Sleep>,
    ) -> impl Future<Output = ProbeRecord> + Send {
        self.probe(target, seq, scheduled)
    }
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

    fn probe_within(
        &self,
        target: &Target,
        seq: u64,
        scheduled: std::time::Instant,
        timer: Pin<&mut Sleep>,
    ) -> impl Future<Output = ProbeRecord> + Send {
        Prober::probe_within(self, target, seq, scheduled, timer)
    }
}

/// Where a burst worker ([`pull`]) puts its records.
pub(super) trait RecordSink: Clone + Send + Sync + 'static {
    /// Hands on one record if there is room now; else gives it back
    /// (`Err(Some)`) to be [`put`](Self::put), or `Err(None)` once nobody
    /// takes records any more. No future: the usual case, room, costs no
    /// copy of the record into one (issue 20).
    // The record comes back only when there is no room (rare); boxing it
    // would cost an allocation on that path for nothing on the usual one.
    #[allow(clippy::result_large_err)]
    fn try_put(&self, record: ProbeRecord) -> Result<(), Option<ProbeRecord>>;

    /// Hands on one record, waiting while there is no room; `Err` once
    /// nobody takes records any more.
    fn put(&self, record: ProbeRecord) -> impl Future<Output = Result<(), ()>> + Send;
}

impl RecordSink for mpsc::Sender<ProbeRecord> {
    #[allow(clippy::result_large_err)]
    fn try_put(&self, record: ProbeRecord) -> Result<(), Option<ProbeRecord>> {
        match self.try_send(record) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(record)) => Err(Some(record)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(None),
        }
    }

    async fn put(&self, record: ProbeRecord) -> Result<(), ()> {
        self.send(record).await.map_err(drop)
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

/// [`run`] over a plan shared with other runners.
pub async fn run_shared<P: Probe>(
    prober: Arc<P>,
    targets: Arc<Vec<Target>>,
    plan: SharedPlan,
    max_in_flight: usize,
    records: mpsc::Sender<ProbeRecord>,
    cancel: CancellationToken,
) {
    let paced = plan.lock().expect("plan lock").paced();
    if paced {
        dispatch(prober, targets, plan, max_in_flight, records, cancel).await
    } else {
        pull(prober, targets, plan, max_in_flight, records, cancel).await
    }
}

/// Paced plans: each job starts at its time in a task of its own, at most
/// `max_in_flight` at once. A job that finds every slot taken keeps its
/// time, so the wait shows as `queue`. Rates are low here; a task per probe
/// costs nothing that matters. Each job's time is waited for with an
/// [`Alarm`] (a timerfd in the runtime's reactor), not tokio's
/// millisecond timer wheel alone.
async fn dispatch<P: Probe>(
    prober: Arc<P>,
    targets: Arc<Vec<Target>>,
    plan: SharedPlan,
    max_in_flight: usize,
    records: mpsc::Sender<ProbeRecord>,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let tracker = TaskTracker::new();
    let mut alarm = Alarm::new();
    loop {
        let next = plan.lock().expect("plan lock").next_job();
        let Some(job) = next else {
            let end = plan.lock().expect("plan lock").ends_at();
            if let Some(end) = end {
                tokio::select! {
                    _ = tokio::time::sleep_until(end) => {}
                    _ = cancel.cancelled() => {}
                }
            }
            break;
        };
        let at = job.at.unwrap_or_else(Instant::now);
        // Whatever lateness is left (the thread not getting the CPU in
        // time) is the tool's, and shows as `queue`.
        tokio::select! {
            () = alarm.sleep_until(at) => {}
            _ = cancel.cancelled() => break,
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = cancel.cancelled() => break,
        };
        let (prober, targets, records) = (prober.clone(), targets.clone(), records.clone());
        tracker.spawn(async move {
            let record = Box::pin(prober.probe(&targets[job.target], job.seq, at.into_std())).await;
            let _ = records.send(record).await;
            drop(slot);
        });
    }
    tracker.close();
    tracker.wait().await;
}

/// Closed-loop plans (bursts): long-lived workers take the next job from
/// the plan themselves, with no task spawned per probe (which copies the
/// probe future) and no hand-off between tasks. Each worker keeps one timer
/// for its probes' deadlines, and its probe future in place (issue 20: a
/// box per probe was an allocation and a copy of the future).
pub(super) async fn pull<P: Probe, S: RecordSink>(
    prober: Arc<P>,
    targets: Arc<Vec<Target>>,
    plan: SharedPlan,
    max_in_flight: usize,
    records: S,
    cancel: CancellationToken,
) {
    let tracker = TaskTracker::new();
    for _ in 0..max_in_flight.max(1) {
        let (prober, targets, plan, records, cancel) = (
            prober.clone(),
            targets.clone(),
            plan.clone(),
            records.clone(),
            cancel.clone(),
        );
        tracker.spawn(async move {
            let mut timer = pin!(tokio::time::sleep_until(Instant::now()));
            loop {
                let Some(job) = plan.lock().expect("plan lock").next_job() else {
                    break;
                };
                if cancel.is_cancelled() {
                    break;
                }
                // A closed-loop job is due the moment a worker is free.
                let scheduled = job.at.unwrap_or_else(Instant::now);
                let record = prober
                    .probe_within(
                        &targets[job.target],
                        job.seq,
                        scheduled.into_std(),
                        timer.as_mut(),
                    )
                    .await;
                let waiting = match records.try_put(record) {
                    Ok(()) => continue,
                    Err(None) => break,
                    Err(Some(record)) => record,
                };
                if records.put(waiting).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(records);
    tracker.close();
    tracker.wait().await;
}

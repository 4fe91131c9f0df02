//! The runner: C workers take jobs from a plan, wait for each job's time,
//! probe, and publish records on a channel. It owns no output: whoever holds
//! the receiver decides what records become (stats, files, screens).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::plan::Plan;
use super::prober::Prober;
use super::record::ProbeRecord;
use super::target::Target;

/// Run `plan` with `concurrency` workers until it is exhausted or `cancel`
/// fires. On cancellation no new probe starts; probes in flight finish (each
/// is bounded by its own timeout) and are published.
pub async fn run(
    prober: Arc<Prober>,
    targets: Arc<Vec<Target>>,
    plan: Box<dyn Plan>,
    concurrency: usize,
    records: mpsc::Sender<ProbeRecord>,
    cancel: CancellationToken,
) {
    let plan = Arc::new(Mutex::new(plan));
    let tracker = TaskTracker::new();
    for _ in 0..concurrency.max(1) {
        let (prober, targets, plan, records, cancel) = (
            prober.clone(),
            targets.clone(),
            plan.clone(),
            records.clone(),
            cancel.clone(),
        );
        tracker.spawn(async move {
            loop {
                let Some(job) = plan.lock().expect("plan lock").next_job() else {
                    break;
                };
                let scheduled = match job.at {
                    Some(at) => {
                        tokio::select! {
                            _ = wait_until(at) => at,
                            _ = cancel.cancelled() => break,
                        }
                    }
                    None => Instant::now(),
                };
                if cancel.is_cancelled() {
                    break;
                }
                let target = &targets[job.target];
                let record = prober.probe(target, job.seq, scheduled.into_std()).await;
                if records.send(record).await.is_err() {
                    break;
                }
            }
        });
    }
    tracker.close();
    tracker.wait().await;
}

/// Sleep until `at`, then spin out the timer wheel's millisecond of slack so
/// that paced probes start on time instead of showing up to 1 ms of `queue`.
/// The spin is capped in real time so it cannot run away under a paused clock.
async fn wait_until(at: Instant) {
    const SLACK: Duration = Duration::from_millis(2);
    if let Some(early) = at.checked_sub(SLACK) {
        if early > Instant::now() {
            tokio::time::sleep_until(early).await;
        }
    }
    let target = at.into_std();
    let cap = std::time::Instant::now() + SLACK;
    loop {
        let now = std::time::Instant::now();
        if now >= target || now >= cap {
            break;
        }
        tokio::task::yield_now().await;
    }
}

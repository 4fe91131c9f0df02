//! The engine: a plan, its workers, and the batching of their records.
//!
//! Measured on 2 cores against a loopback nginx (docs/performance.md), the
//! fastest arrangement is also the most honest one: probes, connection
//! driver tasks and the consumer of records on one current-thread runtime.
//! A multi-threaded runtime spent its time waking tasks across threads
//! (500× the futex calls) and reached 60 % of the throughput; a second probe
//! thread competed with the server for the cores. A caller that must keep
//! its own thread free of probes (a dashboard) runs [`run`] on a runtime of
//! its own.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
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
    let prober = Arc::new(Prober::new(settings)?);
    let plan: runner::SharedPlan = Arc::new(Mutex::new(plan));
    // Workers publish here; one forwarder passes on everything that has
    // piled up, so a burst costs the consumer one wake-up per batch rather
    // than per record.
    let (records, mut local) = mpsc::channel::<ProbeRecord>(BATCH * 4);
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
    runner::run_shared(
        prober,
        Arc::new(targets),
        plan,
        max_in_flight.max(1),
        records,
        cancel,
    )
    .await;
    let _ = forwarder.await;
    Ok(())
}

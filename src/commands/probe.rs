//! `coldlink probe`: a count plan over URLs.

use std::io::Write;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{exit, sink};
use crate::config::{ConfigError, ProbeConfig};
use crate::probe::{engine, CountPlan, Pacing};

/// Run the probes; returns the exit code. Errors are the tool's own (bad
/// input, an unwritable file, a closed stdout), never a failing target.
pub async fn run(
    cfg: ProbeConfig,
    stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
) -> anyhow::Result<u8> {
    let targets = cfg.targets.clone();
    let pacing = cfg.interval.map_or(Pacing::None, Pacing::Interval);
    let plan = CountPlan::new(targets.len(), cfg.per_target, pacing, Instant::now());
    let (tx, rx) = mpsc::channel(64);
    let engine = engine::run(
        cfg.settings.clone(),
        targets,
        Box::new(plan),
        cfg.concurrency,
        tx,
        cancel.clone(),
    );
    let output = sink::spawn(rx, cfg.output.clone(), stdout, cancel.clone());
    let engine = engine.await;
    let stats = sink::join(output).await;
    engine.map_err(|e| ConfigError(e.to_string()))?;
    let stats = stats?;
    Ok(if stats.failed() > 0 {
        exit::PROBLEM
    } else {
        exit::OK
    })
}

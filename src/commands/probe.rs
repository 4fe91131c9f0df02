//! `coldlink probe`: a count plan over URLs.

use std::io::Write;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{exit, sink};
use crate::config::{ConfigError, ProbeConfig};
use crate::probe::{runner, CountPlan, Pacing, Prober};

/// Run the probes; returns the exit code. Errors are the tool's own (bad
/// input, an unwritable file, a closed stdout), never a failing target.
pub async fn run(cfg: ProbeConfig, stdout: &mut impl Write, cancel: CancellationToken) -> anyhow::Result<u8> {
    let prober = Arc::new(Prober::new(cfg.settings.clone()).map_err(|e| ConfigError(e.to_string()))?);
    let targets = Arc::new(cfg.targets.clone());
    let pacing = cfg.interval.map_or(Pacing::None, Pacing::Interval);
    let plan = CountPlan::new(targets.len(), cfg.per_target, pacing, Instant::now());
    let (tx, rx) = mpsc::channel(256);
    let runner = tokio::spawn(runner::run(
        prober,
        targets,
        Box::new(plan),
        cfg.concurrency,
        tx,
        cancel.clone(),
    ));
    let stats = sink::consume(rx, &cfg.output, stdout, &cancel).await;
    runner.await?;
    let stats = stats?;
    Ok(if stats.failed() > 0 {
        exit::PROBLEM
    } else {
        exit::OK
    })
}

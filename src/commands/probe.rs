//! `coldlink probe`: a count plan over URLs.

use crate::exit::Exit;
use std::io::Write;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::output;
use crate::config::ProbeConfig;
use crate::probe::{CountPlan, Pacing};

/// Run the probes; returns the exit code.
pub async fn run(
    cfg: ProbeConfig,
    stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    let targets = cfg.targets.clone();
    let pacing = cfg.interval.map_or(Pacing::None, Pacing::Interval);
    let plan = CountPlan::new(targets.len(), cfg.per_target, pacing, Instant::now());
    output::probe_into_output(
        cfg.settings,
        targets,
        Box::new(plan),
        cfg.concurrency,
        cfg.output,
        stdout,
        cancel,
    )
    .await
}

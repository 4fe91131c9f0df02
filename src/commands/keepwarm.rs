//! `coldlink keepwarm`: config in, a cron run or the daemon out.

use crate::exit::Exit;
use std::io::Write;

use tokio_util::sync::CancellationToken;

use crate::config::{KeepwarmConfig, KeepwarmMode};

pub async fn run(
    cfg: KeepwarmConfig,
    stdout: &mut dyn Write,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    match cfg.mode {
        KeepwarmMode::Once => crate::keepwarm::once::run(cfg, stdout, cancel).await,
        KeepwarmMode::Daemon { interval, jitter } => {
            // The daemon's lines are a log: stderr, like every log.
            crate::keepwarm::daemon::run(cfg, interval, jitter, &mut std::io::stderr(), cancel).await
        }
    }
}

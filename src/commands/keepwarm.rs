//! `coldlink keepwarm`: config in, a cron run or the daemon out.

use crate::exit::Exit;
use std::io::Write;

use tokio_util::sync::CancellationToken;

use std::path::PathBuf;

use super::CommandError;
use crate::keepwarm::warmness::idle_timer_from;
use crate::keepwarm::{KeepwarmConfig, KeepwarmMode};

/// `--from`: what the files say of the path's idle timer, into `cfg`.
/// Config only checked that they are there; reading them is a diagnosis.
pub fn read_idle_timer(cfg: &mut KeepwarmConfig, from: &[PathBuf]) -> Result<(), CommandError> {
    if !from.is_empty() {
        cfg.idle_timer = idle_timer_from(from)?;
    }
    Ok(())
}

pub async fn run(
    cfg: KeepwarmConfig,
    stdout: &mut dyn Write,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    match cfg.mode {
        KeepwarmMode::Once => crate::keepwarm::once::run(cfg, stdout, cancel).await,
        KeepwarmMode::Daemon { interval, jitter } => {
            // The daemon's lines are a log: stderr, like every log.
            crate::keepwarm::daemon::run(cfg, interval, jitter, &mut crate::logs::stderr(), cancel).await
        }
    }
}

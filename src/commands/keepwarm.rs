//! `coldlink keepwarm`: config in, the run (`--once`) out.

use std::io::Write;

use tokio_util::sync::CancellationToken;

use crate::config::KeepwarmConfig;

pub async fn run(
    cfg: KeepwarmConfig,
    stdout: &mut dyn Write,
    cancel: CancellationToken,
) -> anyhow::Result<u8> {
    crate::keepwarm::once::run(cfg, stdout, cancel).await
}

//! `coldlink watch`: config in, the dashboard until the user quits.

use tokio_util::sync::CancellationToken;

use crate::config::WatchConfig;

pub async fn run(cfg: WatchConfig, cancel: CancellationToken) -> anyhow::Result<u8> {
    crate::tui::run(cfg, cancel).await
}

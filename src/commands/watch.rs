//! `coldlink watch`: config in, the dashboard until the user quits.

use crate::exit::Exit;
use tokio_util::sync::CancellationToken;

use crate::config::WatchConfig;

pub async fn run(cfg: WatchConfig, cancel: CancellationToken) -> anyhow::Result<Exit> {
    crate::tui::run(cfg, cancel).await
}

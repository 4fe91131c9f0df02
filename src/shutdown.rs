//! Ctrl-C and SIGTERM: the first asks the run to stop (probes in flight
//! finish, summaries print); a second Ctrl-C leaves at once.

use tokio_util::sync::CancellationToken;

/// Install the handlers; `cancel` fires on the first signal.
pub fn install(cancel: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: waiting for probes in flight (Ctrl-C again to quit at once)");
        cancel.cancel();
        wait_for_signal().await;
        // A second signal is the user insisting: leave without the summary.
        std::process::exit(130);
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! Ctrl-C and SIGTERM: the first asks the run to stop (probes in flight
//! finish, summaries print); a second one leaves at once (exit 130).

use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

/// Run before a second signal ends the process at once: the dashboard
/// restores the terminal here, since no destructor runs on that path.
static BEFORE_FORCED_EXIT: OnceLock<fn()> = OnceLock::new();

/// Register `hook` to run before a forced exit (the first one registered wins).
pub fn before_forced_exit(hook: fn()) {
    let _ = BEFORE_FORCED_EXIT.set(hook);
}

fn forced_exit() -> ! {
    if let Some(hook) = BEFORE_FORCED_EXIT.get() {
        hook();
    }
    std::process::exit(130);
}

/// Install the handlers; `cancel` fires on the first signal. The handlers
/// are registered before this returns, so a signal that arrives while the
/// run is starting is not lost (nor fatal).
pub fn install(cancel: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        tokio::spawn(async move {
            for round in 0..2 {
                tokio::select! {
                    _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
                    _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
                }
                if round == 0 {
                    tracing::info!("stopping: waiting for probes in flight (Ctrl-C again to quit at once)");
                    cancel.cancel();
                }
            }
            // A second signal is the user insisting: leave without the summary.
            forced_exit();
        });
    }
    #[cfg(not(unix))]
    {
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
            let _ = tokio::signal::ctrl_c().await;
            forced_exit();
        });
    }
}

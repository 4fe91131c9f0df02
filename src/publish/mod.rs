//! Publishing the probes' numbers where a fleet's numbers live:
//! CloudWatch (`--cloudwatch-namespace`, by `PutMetricData`) or CloudWatch
//! Embedded Metric Format lines (`--emf`), per target and vantage, once a
//! minute. The probes hand each record to a [`Tap`] (a short lock, no I/O);
//! a background task ([`flush`]) does the rest. [`contract`] names what is
//! published.

pub mod aggregate;
mod background;
pub mod cloudwatch;
pub mod contract;
pub mod distribution;
pub mod emf;
pub mod flush;
pub mod namespace;
pub mod xray_segments;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use aggregate::Tap;
pub use background::{OutageLog, RateLimitedLog, OUTAGE_LOG_EVERY};
pub use flush::{Stats, Timing};
pub use namespace::Namespace;

/// The namespace when `--emf` is given without `--cloudwatch-namespace`.
pub const DEFAULT_NAMESPACE: &str = "Coldlink";

/// What to publish and where; built by `config`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishSettings {
    pub namespace: Namespace,
    pub route: Route,
}

/// `PutMetricData`, or EMF lines instead (both would count every probe
/// twice in the same namespace).
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    PutMetricData(crate::aws::AwsOptions),
    Emf(EmfOut),
}

impl Route {
    /// The `sink` label of what is given up on.
    pub fn sink(&self) -> &'static str {
        match self {
            Route::PutMetricData(_) => "cloudwatch",
            Route::Emf(_) => "emf",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EmfOut {
    Stdout,
    /// Appended to.
    File(PathBuf),
}

/// What publishing tells its owner: a line to log (rate-limited already,
/// never a secret; [`Hooks::log_warnings`] logs it as the project does)
/// and each batch given up on, by sink (`cloudwatch`: a
/// batch too old to retry or left unsent at the stop; `emf`: an
/// interval's lines that could not be written). A failed call that is
/// retried is logged and counted in [`Stats`], not here.
#[derive(Clone)]
pub struct Hooks {
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
    pub on_failure: Arc<dyn Fn(&'static str) + Send + Sync>,
}

impl Hooks {
    /// Lines as `tracing` warnings, as X-Ray's sender and the rest of
    /// coldlink log (on stderr: [`crate::logs`]); failures only counted.
    pub fn log_warnings() -> Hooks {
        Hooks {
            log: Arc::new(|line| tracing::warn!("{line}")),
            on_failure: Arc::new(|_| {}),
        }
    }

    /// The same lines, and each batch given up on to `count` as well.
    pub fn counting(self, count: impl Fn(&'static str) + Send + Sync + 'static) -> Hooks {
        Hooks {
            on_failure: Arc::new(count),
            ..self
        }
    }

    fn failed(&self, sink: &'static str) {
        (self.on_failure)(sink);
    }
}

/// `--emf FILE` could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("--emf {}: cannot write there: {source}", path.display())]
pub struct EmfOpenError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Publishing could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Emf(#[from] EmfOpenError),
    #[error("cannot start the publishing thread: {0}")]
    Thread(std::io::Error),
}

/// A running publisher: its tap for the probes, its task.
pub struct Publisher {
    tap: Tap,
    stop: CancellationToken,
    task: JoinHandle<()>,
    stats: Arc<Stats>,
    /// Where it publishes (`cloudwatch`, `emf`), for a stop it gave up on.
    sink: &'static str,
    hooks: Hooks,
}

/// How long a stop waits for the publisher beyond its own deadline: a
/// write that never returns (an EMF line into a pipe nobody reads, a stuck
/// disk) holds the publishing thread, whose deadline is a timer on that
/// same thread and cannot fire.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

impl Publisher {
    /// Start publishing as `settings` say, on a thread of its own with its
    /// own runtime: the minute's encoding, signing, TLS and the writes of
    /// EMF lines (a full pipe, a stuck disk) must never hold the runtime
    /// that times the probes.
    pub async fn start(settings: &PublishSettings, hooks: Hooks) -> Result<Publisher, StartError> {
        let emf: Option<Box<dyn Write + Send>> = match &settings.route {
            Route::PutMetricData(_) => None,
            Route::Emf(EmfOut::Stdout) => Some(Box::new(std::io::stdout())),
            Route::Emf(EmfOut::File(path)) => Some(Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| EmfOpenError {
                        path: path.clone(),
                        source,
                    })?,
            )),
        };
        let (aws, sink) = match &settings.route {
            Route::PutMetricData(aws) => (Some(aws.clone()), "cloudwatch"),
            Route::Emf(_) => (None, "emf"),
        };
        let own_hooks = hooks.clone();
        let tap = Tap::new();
        let stats = Arc::new(Stats::default());
        let stop = CancellationToken::new();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let (namespace, flusher_tap, flusher_stats, flusher_stop) = (
            settings.namespace.clone(),
            tap.clone(),
            stats.clone(),
            stop.clone(),
        );
        std::thread::Builder::new()
            .name("coldlink-publish".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                match runtime {
                    Err(e) => (hooks.log)(&format!("publishing is off: cannot start its runtime: {e}")),
                    Ok(runtime) => runtime.block_on(async move {
                        let client = match aws {
                            Some(aws) => Some(aws_sdk_cloudwatch::Client::new(
                                &crate::aws::sdk_config(&aws, false).await,
                            )),
                            None => None,
                        };
                        let flusher = flush::Flusher::new(
                            flusher_tap,
                            namespace,
                            client,
                            emf,
                            Timing::default(),
                            flusher_stats,
                            hooks,
                        );
                        flusher.run(flusher_stop).await;
                    }),
                }
                let _ = done_tx.send(());
            })
            .map_err(StartError::Thread)?;
        // The owner awaits the thread's end as a task of its own runtime.
        let task = tokio::spawn(async move {
            let _ = done.await;
        });
        Ok(Publisher {
            tap,
            stop,
            task,
            stats,
            sink,
            hooks: own_hooks,
        })
    }

    /// [`Publisher::start`] when there is something to publish.
    pub async fn start_if(
        settings: Option<&PublishSettings>,
        hooks: Hooks,
    ) -> Result<Option<Publisher>, StartError> {
        match settings {
            Some(s) => Ok(Some(Publisher::start(s, hooks).await?)),
            None => Ok(None),
        }
    }

    /// A publisher on any sink and writer, on the current runtime (tests
    /// use stand-ins and a paused clock; [`Publisher::start`] is the one
    /// that keeps off the probes' runtime).
    pub fn with<S: cloudwatch::Sink>(
        namespace: Namespace,
        sink: Option<S>,
        emf: Option<Box<dyn Write + Send>>,
        timing: Timing,
        hooks: Hooks,
    ) -> Publisher {
        let tap = Tap::new();
        let stats = Arc::new(Stats::default());
        let stop = CancellationToken::new();
        let name = if sink.is_some() { "cloudwatch" } else { "emf" };
        let flusher = flush::Flusher::new(
            tap.clone(),
            namespace,
            sink,
            emf,
            timing,
            stats.clone(),
            hooks.clone(),
        );
        let task = tokio::spawn(flusher.run(stop.clone()));
        Publisher {
            tap,
            stop,
            task,
            stats,
            sink: name,
            hooks,
        }
    }

    pub fn tap(&self) -> &Tap {
        &self.tap
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Publish the last interval (within the stop deadline) and end; a
    /// publisher stuck in a write is left behind after `STOP_GRACE`
    /// more, its last interval counted as given up on.
    pub async fn finish(self) -> Arc<Stats> {
        self.stop.cancel();
        let limit = background::STOP_DEADLINE + STOP_GRACE;
        if tokio::time::timeout(limit, self.task).await.is_err() {
            (self.hooks.log)(&format!(
                "{}: the last interval was not published: a write did not return within {} s of the stop",
                self.sink,
                limit.as_secs()
            ));
            self.hooks.failed(self.sink);
        }
        self.stats
    }
}

#[cfg(test)]
mod tests;

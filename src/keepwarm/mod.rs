//! `coldlink keepwarm`: keep the path warm, and tell whether it is.
//!
//! `--once` is for cron: one probe per target, one line per target, an exit
//! code, and a lock so that a run still waiting on a slow target is not
//! joined by the next. `--interval` is the daemon: the same targets on a
//! schedule, outages logged with backoff, Prometheus metrics.

pub mod daemon;
pub mod error;
pub mod heartbeat;
pub mod lock;
pub mod metrics;
pub mod once;
pub mod outage;
pub mod serve;
pub mod settings;
pub mod warmness;

pub use error::Error;
pub use lock::{Lock, LockError};
pub use settings::{KeepwarmConfig, KeepwarmMode};

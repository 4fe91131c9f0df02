//! `coldlink keepwarm`: keep the path warm, and tell whether it is.
//!
//! `--once` is for cron: one probe per target, one line per target, an exit
//! code, and a lock so that a run still waiting on a slow target is not
//! joined by the next.

pub mod lock;
pub mod once;

pub use lock::{Lock, LockError};

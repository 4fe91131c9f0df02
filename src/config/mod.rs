//! Command line and profile → one validated configuration per command.
//! Later code never sees raw arguments; every error here names the flag or
//! the file, line and key, and what would be valid, and exits 2. Config
//! reads no file beyond a profile and a client certificate and its key
//! (read to check them: PEM, the key the certificate's), and checks that
//! the others are there.
//!
//! - [`file`](mod@file): the profile file as written; [`profile`]: it validated.
//! - [`layer`]: the ONE connection settings type, flags over profile over
//!   defaults; [`source`]: URLs | profile | lab, resolved once.
//! - one module per command; [`error`]: what can be wrong, as data.

mod aws;
mod client_cert;
mod diagnose;
pub mod error;
pub mod file;
mod keepwarm;
pub mod layer;
mod probe;
pub mod profile;
pub mod publish;
mod rerun;
mod run;
pub mod sigv4;
pub mod source;
pub mod targets;
mod watch;
mod xray_segments;

pub use aws::{
    is_execute_api_host, names_nothing, CloudWatchLookup, PathConfigLookup, XrayLookup, DEFAULT_XRAY_WAIT,
};
pub use diagnose::{DiagnoseConfig, DiagnoseSource};
pub use error::{ConfigError, KeyProblem, NotAFile};
pub use keepwarm::{KeepwarmConfig, KeepwarmMode, DEFAULT_KEEPWARM_SLOW};
pub use layer::Connection;
pub use probe::{OutputConfig, ProbeConfig};
pub use profile::{Burst, DiagnoseSettings, Profile, Schedule, TargetDef};
pub use run::{RunConfig, RunPlan};
pub use source::{targets_from, LabContext};
pub use watch::{WatchConfig, DEFAULT_KEEP_WARM, DEFAULT_WATCH_INTERVAL};

use std::path::Path;

/// A command's settings built from its flags, for the settings types that
/// a feature owns (the dashboard's, keep-warm's); `config`'s own have an
/// inherent `from_args` of the same shape. `lab`: a lab started for the
/// command (`--lab`).
pub trait FromArgs<A>: Sized {
    fn from_args(args: &A, lab: Option<LabContext<'_>>) -> Result<Self, ConfigError>;
}

/// A command's `--out`, checked before anything runs (a lab included).
pub fn check_out(out: Option<&Path>) -> Result<(), ConfigError> {
    out.map_or(Ok(()), |out| check_writable(out, "--out"))
}

/// Fail before any probe is sent if an output file cannot be written. A
/// file this check creates is removed again: another input may yet be
/// refused, and a refused command leaves nothing behind.
pub fn check_writable(path: &Path, flag: &'static str) -> Result<(), ConfigError> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| ConfigError::NotWritable {
            flag,
            path: path.to_path_buf(),
            source,
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

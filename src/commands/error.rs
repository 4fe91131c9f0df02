//! What stops a command once its configuration is accepted (exit 2): a
//! file it reads or writes, the lab, the TLS set-up. Bad input is
//! `config::ConfigError`; features report their own (`keepwarm::Error`,
//! `tui::Error`).

use std::path::PathBuf;

use crate::probe::tls::TlsSetupError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// `--sigv4` without credentials: nothing was sent.
    #[error("--sigv4: no usable AWS credentials (tried the environment, --aws-profile / AWS_PROFILE or the profile's [aws] profile in the shared config and credentials files, SSO, web identity, ECS and the instance role); nothing was sent: {cause}")]
    Sigv4Credentials { cause: String },
    /// A records file (`--out`, `--records`) that cannot be opened.
    #[error("{flag} {}: {source}", path.display())]
    Open {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--out: writing a record failed: {source}")]
    Write {
        #[source]
        source: std::io::Error,
    },
    /// `report FILE...`: a file that cannot be read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `report FILE...`: files that hold no record.
    #[error("{}: no probe records in it (expected the NDJSON records of probe --out, run, keepwarm, watch or diagnose --records; .gz too)", list(paths))]
    NoRecords { paths: Vec<PathBuf> },
    /// `report FILE...` or `diagnose --from FILE...` (`flag`, with its
    /// space, or ""): records that cannot be read as one run (lab runs at
    /// different speeds or of different scenarios, or lab and real);
    /// merged, their targets would mix the runs and one run would label
    /// them all. `what` is [`crate::records::TimeScales::mixed`]'s.
    #[error(
        "{flag}{}: the records mix {what}; {command} each run's records by themselves",
        list(paths)
    )]
    MixedRuns {
        flag: &'static str,
        command: &'static str,
        what: String,
        paths: Vec<PathBuf>,
    },
    /// `diagnose --from`: reading the records failed (the message names the file).
    #[error("--from {source}")]
    From {
        #[source]
        source: std::io::Error,
    },
    /// `diagnose --from`: files that hold no record.
    #[error("--from {}: no probe records in it (expected the NDJSON records of run, keepwarm, watch, probe --out or diagnose --records; .gz too)", named.join(", "))]
    FromWithoutRecords { named: Vec<String> },
    /// `keepwarm --from`: no idle timer could be read (the message names the file).
    #[error("--from {source}")]
    IdleTimer {
        #[from]
        source: crate::keepwarm::warmness::FromError,
    },
    #[error("coldlink man {name}: no such subcommand; one of {}", names.join(", "))]
    NoSuchPage { name: String, names: Vec<String> },
    /// `man --dir`: `doing` is what failed, e.g. "cannot create it".
    #[error("--dir {}: {doing}", path.display())]
    ManDir {
        path: PathBuf,
        doing: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the lab could not start: {source}")]
    LabStart {
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error(transparent)]
    Scenario(#[from] crate::lab::scenario::ScenarioError),
}

fn list(paths: &[PathBuf]) -> String {
    let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    named.join(", ")
}

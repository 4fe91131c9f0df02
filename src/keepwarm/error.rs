//! What stops keep-warm before or while it runs (exit 2): the lock, the
//! metrics address, the records file, the TLS set-up.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::lock::LockError;
use crate::probe::tls::TlsSetupError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another daemon holds the lock.
    #[error("{source}; not starting a second daemon")]
    Held {
        #[source]
        source: LockError,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("--metrics-listen {addr}: cannot listen there: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("--out {}: {source}", path.display())]
    Out {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--out: writing a record failed: {source}")]
    Write {
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

//! What stops the dashboard (exit 2): no terminal, or its records file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("watch draws a dashboard and needs a terminal on stdout; for headless probing use coldlink run --profile FILE --out FILE")]
    NotATerminal,
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
}

//! Stored records (from `run`, `keepwarm`, `watch`, `probe --out`) into a
//! [`Builder`]: [`records::read_observations`] parses them on every core,
//! one builder per parsing thread, merged here.

use std::path::PathBuf;

use super::dataset::Builder;
use crate::records::{self, ReadReport};

/// Read every file into one builder. An unreadable file is an error (bad
/// input); unreadable lines are counted in the report, never fatal.
pub fn read_files(paths: &[PathBuf], builder: Builder) -> std::io::Result<(Builder, ReadReport)> {
    let (parsed, report) =
        records::read_observations(paths, Builder::new, |b, o, file| b.add_from(o, Some(file)))?;
    let mut builder = builder;
    for b in parsed {
        builder.absorb(b);
    }
    Ok((builder, report))
}

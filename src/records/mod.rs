//! Probe records after the probe: written to disk, read back, and reduced to
//! the facts the analyses use. One reader (plain or gzip, with bad-line
//! accounting), one writer (and its off-thread form for the daemon), and one
//! conversion from a record to an [`Observation`], used by `diagnose`,
//! `watch` and `keepwarm` alike.
//!
//! The record itself, [`ProbeRecord`](crate::probe::ProbeRecord), is the
//! probe's output and stays in `probe`; this module only builds on it.

mod family;
mod observation;
mod read;
mod reuse;
mod scales;
mod time;
mod view;
mod writer;

pub use family::{family_of, family_of_remote};
pub use observation::Observation;
pub use read::{for_each_record, open, read_observations, BadLine, ReadReport, BAD_SAMPLES, MAX_LINE};
pub use reuse::{ByReuse, Reuse};
pub use scales::TimeScales;
pub use time::parse_time;
pub use view::RecordView;
pub use writer::{NdjsonWriter, QueuedWriter};

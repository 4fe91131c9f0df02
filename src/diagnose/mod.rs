//! `coldlink diagnose`: records in, a verdict out. Detectors are pure
//! functions over a [`Dataset`]; the report is plain data that each format
//! serialises.

mod both;
pub mod cloudwatch;
pub mod configured;
pub mod coverage;
pub mod dataset;
mod delayed_ack;
pub(crate) mod detect;
mod evidence;
pub mod finding;
pub(crate) mod num;
pub mod path_kind;
pub mod paths;
pub mod read;
pub mod render;
pub mod report;
pub mod xray;

pub use dataset::{Builder, Dataset, Observation};
pub use detect::{conclusive, idle_timer, percent, ratio, run_all, IdleTimer};
pub use evidence::AwsEvidence;
pub use finding::{Cause, Finding, Severity};
pub use path_kind::{PathHint, PathKind, PathSource, TargetPath};
pub use read::read_files;
pub use report::{Plots, Report};

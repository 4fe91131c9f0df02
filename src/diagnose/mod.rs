//! `coldlink diagnose`: records in, a verdict out. Detectors are pure
//! functions over a [`Dataset`]; the report is plain data that each format
//! serialises.

pub mod cloudwatch;
pub mod coverage;
pub mod dataset;
pub mod delayed_ack;
pub mod detect;
pub mod evidence;
pub mod finding;
pub mod num;
pub mod read;
pub mod render;
pub mod report;
pub mod xray;

pub use dataset::{Builder, Dataset, Observation};
pub use evidence::AwsEvidence;
pub use finding::{Cause, Finding, Severity};
pub use report::{Plots, Report};

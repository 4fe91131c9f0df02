//! Latency statistics: HDR histograms per target × phase.

pub mod histogram;
pub mod summary;

pub use histogram::{LatencyHistogram, Percentiles};
pub use summary::{RunStats, TargetStats, TargetSummary};

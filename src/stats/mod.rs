//! Latency statistics: HDR histograms per target × phase.

pub mod breakdown;
pub mod family;
pub mod histogram;
pub mod summary;

pub use breakdown::{Breakdown, GroupRow};
pub use family::FamilyStats;
pub use histogram::{LatencyHistogram, Percentiles};
pub use summary::{RunStats, TargetStats, TargetSummary};

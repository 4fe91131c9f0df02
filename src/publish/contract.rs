//! The published names: a contract. Dashboards, alarms and the fleet's
//! other hosts read these; renaming one breaks them (docs/keepwarm.md,
//! "Publishing to CloudWatch", lists them).
//!
//! | metric            | unit         | dimensions                    | what                                   |
//! |-------------------|--------------|-------------------------------|----------------------------------------|
//! | `ProbeLatency`    | Milliseconds | Target, Vantage, Phase        | each phase's time and the total, as a distribution |
//! | `ProbeSuccess`    | Count        | Target, Vantage               | probes that got a complete, acceptable answer |
//! | `ProbeFailure`    | Count        | Target, Vantage, Kind         | failed probes by error kind            |
//! | `WarmShare`       | Percent      | Target, Vantage               | successful probes on a kept-alive connection, of all |

use crate::probe::record::Phase;

pub const LATENCY: &str = "ProbeLatency";
pub const SUCCESS: &str = "ProbeSuccess";
pub const FAILURE: &str = "ProbeFailure";
pub const WARM_SHARE: &str = "WarmShare";

pub const TARGET: &str = "Target";
pub const VANTAGE: &str = "Vantage";
pub const PHASE: &str = "Phase";
pub const KIND: &str = "Kind";

/// The `Phase` dimension's value of the total.
pub const TOTAL: &str = "total";

/// CloudWatch's and EMF's unit names.
pub const MILLISECONDS: &str = "Milliseconds";
pub const COUNT: &str = "Count";
pub const PERCENT: &str = "Percent";

/// A dimension's value is 1 to 1024 characters: longer ones are cut.
pub const DIMENSION_VALUE_MAX: usize = 1024;

/// The `Phase` dimension's values, in wire order, then the total.
pub fn phase_names() -> impl Iterator<Item = &'static str> {
    Phase::ALL.into_iter().map(Phase::as_str).chain([TOTAL])
}

/// A dimension value CloudWatch takes: cut to 1024 characters; an empty
/// one (which it refuses) is `-`.
pub fn dimension_value(s: &str) -> String {
    if s.is_empty() {
        return "-".to_string();
    }
    s.chars().take(DIMENSION_VALUE_MAX).collect()
}

/// The `Vantage` of a record that carries none: this host's name (the
/// `--vantage` default), else `unknown` ([`crate::probe::vantage::or_host`]),
/// so that the published numbers always name a vantage (the one a
/// keep-warm daemon without `--vantage` labels its Prometheus series
/// with).
///
/// This is the one place the publishers decide it ([`super::Tap`] asks
/// it); `report --by vantage` says `(unknown)` for such records instead,
/// its own contract.
pub fn fallback_vantage() -> std::sync::Arc<str> {
    crate::probe::vantage::or_host(None)
}

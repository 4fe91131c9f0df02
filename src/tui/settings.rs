//! What the dashboard runs with: the targets, the schedule it probes on,
//! the burst and sweep its keys start, and keep-warm, all in real time.
//! Built by `config` from the command line and a profile.

use std::path::PathBuf;
use std::time::Duration;

use crate::probe::plan::{Burst, Schedule};
use crate::probe::{ConnectionPolicy, ProbeSettings, Target, TargetKind};

#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The profile's name, the lab's, or "urls".
    pub name: String,
    pub targets: Vec<Target>,
    /// Connection settings of the schedule.
    pub settings: ProbeSettings,
    /// Real time.
    pub schedule: Schedule,
    /// Probes a schedule may have in flight.
    pub max_in_flight: usize,
    /// Key `b`.
    pub burst: Burst,
    /// Key `s`: quiet gaps, real time.
    pub sweep: Vec<Duration>,
    /// Key `k`: the ping interval, real time.
    pub keep_warm: Duration,
    /// Keep-warm is on from the start (`--keep-warm`).
    pub keep_warm_on: bool,
    /// Scenario time ÷ real time: the lab's speed, else 1.
    pub scale: f64,
    pub lab: Option<String>,
    /// `--slow`, scenario milliseconds.
    pub slow_ms: Option<f64>,
    pub out: Option<PathBuf>,
}

impl WatchConfig {
    /// The targets' kinds, for the live detectors.
    pub fn kinds(&self) -> Vec<(String, TargetKind)> {
        self.targets
            .iter()
            .map(|t| (t.name.to_string(), t.kind))
            .collect()
    }

    /// Settings of keep-warm's pings: kept-alive connections.
    pub fn keep_warm_settings(&self) -> ProbeSettings {
        let mut s = self.settings.clone();
        s.connections = ConnectionPolicy::Reuse;
        s
    }
}

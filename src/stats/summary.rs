//! Per-target aggregates: counts, error kinds, connection reuse and one
//! histogram per phase. Bounded memory, mergeable across runs.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use super::histogram::{LatencyHistogram, Percentiles};
use crate::probe::{ErrorKind, Phase, ProbeRecord};

/// Aggregates of one target.
#[derive(Debug, Clone, Default)]
pub struct TargetStats {
    pub name: String,
    pub url: String,
    pub probes: u64,
    pub ok: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
    pub fresh: u64,
    pub reused: u64,
    pub reconnected: u64,
    /// Indexed like [`Phase::ALL`].
    phases: [LatencyHistogram; 7],
    /// Total time of probes that got a response (error-free or a bad status).
    total: LatencyHistogram,
}

impl TargetStats {
    pub fn new(name: &str, url: &str) -> Self {
        TargetStats {
            name: name.to_string(),
            url: url.to_string(),
            ..Default::default()
        }
    }

    /// Fold one record in. Phase histograms take every phase the probe
    /// completed; the phase a failure happened in is left out, since its
    /// duration is time-to-failure, not a latency.
    pub fn record(&mut self, r: &ProbeRecord) {
        self.probes += 1;
        match &r.error {
            None => self.ok += 1,
            Some(e) => *self.errors.entry(e.kind).or_default() += 1,
        }
        if let Some(conn) = &r.conn {
            if conn.reused {
                self.reused += 1;
            } else {
                self.fresh += 1;
            }
            if conn.reconnected {
                self.reconnected += 1;
            }
        }
        for (phase, ms) in r.completed_phases() {
            self.phases[phase.index()].record_ms(ms);
        }
        if r.got_response() {
            self.total.record_ms(r.total_ms);
        }
    }

    pub fn phase(&self, phase: Phase) -> &LatencyHistogram {
        &self.phases[phase.index()]
    }

    pub fn total(&self) -> &LatencyHistogram {
        &self.total
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The serialisable view.
    pub fn summary(&self) -> TargetSummary {
        TargetSummary {
            name: self.name.clone(),
            url: self.url.clone(),
            probes: self.probes,
            ok: self.ok,
            errors: self
                .errors
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), *v))
                .collect(),
            connections: ConnectionCounts {
                fresh: self.fresh,
                reused: self.reused,
                reconnected: self.reconnected,
            },
            total_ms: self.total.percentiles(),
            phases_ms: Phase::ALL
                .iter()
                .map(|p| (*p, self.phase(*p).percentiles()))
                .collect(),
        }
    }
}

impl AddAssign<&TargetStats> for TargetStats {
    fn add_assign(&mut self, rhs: &TargetStats) {
        self.probes += rhs.probes;
        self.ok += rhs.ok;
        for (k, v) in &rhs.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        self.fresh += rhs.fresh;
        self.reused += rhs.reused;
        self.reconnected += rhs.reconnected;
        for (mine, theirs) in self.phases.iter_mut().zip(rhs.phases.iter()) {
            *mine += theirs;
        }
        self.total += &rhs.total;
    }
}

/// Aggregates of every target of a run, in the order targets first appeared.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub targets: Vec<TargetStats>,
}

impl RunStats {
    pub fn record(&mut self, r: &ProbeRecord) {
        match self.targets.iter_mut().find(|t| *t.name == *r.target) {
            Some(t) => t.record(r),
            None => {
                let mut t = TargetStats::new(&r.target, &r.url);
                t.record(r);
                self.targets.push(t);
            }
        }
    }

    pub fn probes(&self) -> u64 {
        self.targets.iter().map(|t| t.probes).sum()
    }

    pub fn failed(&self) -> u64 {
        self.targets.iter().map(|t| t.failed()).sum()
    }

    pub fn summaries(&self) -> Vec<TargetSummary> {
        self.targets.iter().map(TargetStats::summary).collect()
    }
}

impl AddAssign<&RunStats> for RunStats {
    fn add_assign(&mut self, rhs: &RunStats) {
        for theirs in &rhs.targets {
            match self.targets.iter_mut().find(|t| t.name == theirs.name) {
                Some(mine) => *mine += theirs,
                None => self.targets.push(theirs.clone()),
            }
        }
    }
}

/// A target's summary as written in JSON output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSummary {
    pub name: String,
    pub url: String,
    pub probes: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub connections: ConnectionCounts,
    pub total_ms: Option<Percentiles>,
    /// Keyed by [`Phase`]: listed in the order a request goes through them.
    pub phases_ms: BTreeMap<Phase, Option<Percentiles>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConnectionCounts {
    pub fresh: u64,
    pub reused: u64,
    pub reconnected: u64,
}

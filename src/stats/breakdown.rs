//! Per-target breakdowns by a key (remote address, connection, minute):
//! the rows behind "slow probes cluster on one NLB node" or "on one minute".

use std::collections::BTreeMap;

use serde::Serialize;

use super::histogram::{LatencyHistogram, Percentiles};
use crate::probe::ProbeRecord;

/// Groups per target beyond which further keys are pooled as `(other)`, so
/// that a breakdown by connection of a million fresh probes stays bounded
/// (each group holds two compact histograms of about 21 KB).
pub const MAX_GROUPS: usize = 1_000;
const OTHER: &str = "(other)";

#[derive(Debug, Clone)]
pub struct GroupStats {
    pub probes: u64,
    pub failed: u64,
    pub reused: u64,
    total: LatencyHistogram,
    ttfb: LatencyHistogram,
}

impl Default for GroupStats {
    fn default() -> Self {
        GroupStats {
            probes: 0,
            failed: 0,
            reused: 0,
            total: LatencyHistogram::compact(),
            ttfb: LatencyHistogram::compact(),
        }
    }
}

impl GroupStats {
    fn record(&mut self, r: &ProbeRecord) {
        self.probes += 1;
        if !r.is_ok() {
            self.failed += 1;
        }
        if r.conn.as_ref().is_some_and(|c| c.reused) {
            self.reused += 1;
        }
        if r.got_response() {
            self.total.record_ms(r.total_ms);
        }
        if let Some(ttfb) = r.phases_ms.ttfb {
            self.ttfb.record_ms(ttfb);
        }
    }
}

/// One row of a breakdown, as printed in JSON.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    pub key: String,
    pub probes: u64,
    pub failed: u64,
    pub reused: u64,
    pub total_ms: Option<Percentiles>,
    pub ttfb_ms: Option<Percentiles>,
}

/// Groups per target, in the order targets first appeared.
#[derive(Debug, Default)]
pub struct Breakdown {
    targets: Vec<(String, BTreeMap<String, GroupStats>)>,
}

impl Breakdown {
    pub fn record(&mut self, key: String, r: &ProbeRecord) {
        let groups = match self.targets.iter_mut().position(|(t, _)| **t == *r.target) {
            Some(i) => &mut self.targets[i].1,
            None => {
                self.targets.push((r.target.to_string(), BTreeMap::new()));
                &mut self.targets.last_mut().expect("just pushed").1
            }
        };
        let key = if groups.len() >= MAX_GROUPS && !groups.contains_key(&key) {
            OTHER.to_string()
        } else {
            key
        };
        groups.entry(key).or_default().record(r);
    }

    pub fn rows(&self) -> Vec<(String, Vec<GroupRow>)> {
        self.targets
            .iter()
            .map(|(target, groups)| {
                let rows = groups
                    .iter()
                    .map(|(key, g)| GroupRow {
                        key: key.clone(),
                        probes: g.probes,
                        failed: g.failed,
                        reused: g.reused,
                        total_ms: g.total.percentiles(),
                        ttfb_ms: g.ttfb.percentiles(),
                    })
                    .collect();
                (target.clone(), rows)
            })
            .collect()
    }
}

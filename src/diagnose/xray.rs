//! X-Ray evidence for the report: which probes to look up (every slow or
//! failed one, and an even sample of the others as a baseline) and, from
//! the traces found, where their time went. The lookup itself is
//! `aws::xray`'s; this module only chooses and summarises.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::num::quantiles;
use crate::aws::segments::{Breakdown, TraceError};
use crate::probe::trace::TraceKey;

/// At most this many probes are looked up (BatchGetTraces takes five a call).
pub const MAX_LOOKUPS: usize = 200;
/// Fast probes looked up as the baseline the slow ones are compared with.
pub const BASELINE: usize = 20;

/// A probe to look up: its index in the dataset and its trace id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub sample: usize,
    pub trace: TraceKey,
    pub slow: bool,
}

/// Every slow or failed probe that carried a trace id (the most recent
/// first when there are too many), then an even spread of the others.
pub fn pick(ds: &Dataset) -> Vec<Pick> {
    let traced = || {
        ds.samples
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.trace.map(|t| (i, s, t)))
    };
    let mut slow: Vec<Pick> = traced()
        .filter(|(_, s, _)| s.failed() || (s.responded() && ds.is_slow(s)))
        .map(|(i, _, t)| Pick {
            sample: i,
            trace: t,
            slow: true,
        })
        .collect();
    let keep_slow = MAX_LOOKUPS - BASELINE;
    if slow.len() > keep_slow {
        slow.drain(..slow.len() - keep_slow);
    }
    let fast: Vec<Pick> = traced()
        .filter(|(_, s, _)| s.ok() && !ds.is_slow(s))
        .map(|(i, _, t)| Pick {
            sample: i,
            trace: t,
            slow: false,
        })
        .collect();
    // An even spread over the run, so the baseline covers its whole length.
    let take = (MAX_LOOKUPS - slow.len()).min(BASELINE).min(fast.len());
    if take > 0 {
        let step = fast.len() as f64 / take as f64;
        slow.extend((0..take).map(|k| fast[(k as f64 * step) as usize]));
    }
    slow
}

/// p50 and p99 of one part of the breakdown, in scenario ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p50: f64,
    pub p99: f64,
    /// How many traces had this part.
    pub n: usize,
}

/// Where the time went, part by part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parts {
    /// The client's total less the gateway's stage segment: DNS, connect,
    /// TLS, the edge, the network.
    pub before_gateway: Option<Spread>,
    /// The stage segment, end to end.
    pub gateway: Option<Spread>,
    /// The integration request: VPC link, NLB, nginx, app.
    pub integration: Option<Spread>,
    /// The app's own segment (when the app is traced).
    pub app: Option<Spread>,
}

/// `aws.xray` in the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct XrayEvidence {
    pub probes_looked_up: usize,
    pub traces_found: usize,
    /// Ids X-Ray never returned: not sampled, an HTTP API, or not arrived
    /// within the wait.
    pub missing: usize,
    /// Traces found but unreadable (no stage segment, say), by reason.
    pub unreadable: BTreeMap<String, usize>,
    /// Over every trace found.
    pub breakdown_ms: Parts,
    /// Over the slow or failed probes' traces only.
    pub slow_breakdown_ms: Parts,
    /// The lookup stopped on this error; what was found before is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Summarise what the lookup found for `picks`.
pub fn evidence(
    ds: &Dataset,
    picks: &[Pick],
    found: &BTreeMap<String, Result<Breakdown, TraceError>>,
    missing: usize,
    error: Option<String>,
) -> XrayEvidence {
    let mut ev = XrayEvidence {
        probes_looked_up: picks.len(),
        missing,
        error,
        ..XrayEvidence::default()
    };
    let mut all: Vec<(f64, &Breakdown)> = Vec::new();
    let mut slow: Vec<(f64, &Breakdown)> = Vec::new();
    for p in picks {
        match found.get(&p.trace.to_string()) {
            Some(Ok(b)) => {
                let total = ds.samples[p.sample].total_ms;
                all.push((total, b));
                if p.slow {
                    slow.push((total, b));
                }
            }
            Some(Err(e)) => *ev.unreadable.entry(e.to_string()).or_default() += 1,
            None => {}
        }
    }
    ev.traces_found = all.len();
    ev.breakdown_ms = parts(ds.scale, &all);
    ev.slow_breakdown_ms = parts(ds.scale, &slow);
    ev
}

/// X-Ray's times are real; the client's `total` is already in scenario time.
fn parts(scale: f64, traces: &[(f64, &Breakdown)]) -> Parts {
    let spread = |v: Vec<f64>| {
        let n = v.len();
        (n > 0).then(|| {
            let q = quantiles(v, &[0.5, 0.99]);
            Spread {
                p50: round(q[0]),
                p99: round(q[1]),
                n,
            }
        })
    };
    Parts {
        before_gateway: spread(
            traces
                .iter()
                .map(|(total, b)| (total - b.gateway_ms * scale).max(0.0))
                .collect(),
        ),
        gateway: spread(traces.iter().map(|(_, b)| b.gateway_ms * scale).collect()),
        integration: spread(
            traces
                .iter()
                .filter_map(|(_, b)| b.integration_ms.map(|v| v * scale))
                .collect(),
        ),
        app: spread(
            traces
                .iter()
                .filter_map(|(_, b)| b.app_ms.map(|v| v * scale))
                .collect(),
        ),
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

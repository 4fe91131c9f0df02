//! The probes' side of publishing: each record folded into its series'
//! counters and histograms under a short lock, nothing sent, nothing
//! awaited. The flusher takes the whole interval at once and starts a new
//! one. Memory is bounded: one histogram per phase per series (two
//! significant digits, a few KiB each), and at most [`MAX_SERIES`] series.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::contract::{self, TOTAL};
use super::distribution::Latencies;
use crate::probe::record::Phase;
use crate::probe::{ErrorKind, ProbeRecord};

/// Series (target × vantage) kept at once; records of any further series
/// are counted in [`Interval::dropped_records`] and not published. Targets
/// come from one profile, so this is a guard, not a limit anyone meets.
pub const MAX_SERIES: usize = 1_000;

/// A series' identity: what the metrics' `Target` and `Vantage` say.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    pub target: Arc<str>,
    pub vantage: Arc<str>,
}

/// One series' interval.
#[derive(Debug, Clone, Default)]
pub struct SeriesData {
    /// By `Phase` dimension value (`dns`, …, `total`); only those measured.
    pub latencies: BTreeMap<&'static str, Latencies>,
    pub probes: u64,
    pub success: u64,
    pub failures: BTreeMap<ErrorKind, u64>,
    /// Successful probes on a kept-alive connection.
    pub warm: u64,
}

impl SeriesData {
    /// Warm probes of all probes, in percent; `None` without probes.
    pub fn warm_share(&self) -> Option<f64> {
        (self.probes > 0).then(|| self.warm as f64 * 100.0 / self.probes as f64)
    }
}

/// What one flush publishes.
#[derive(Debug, Default)]
pub struct Interval {
    pub series: BTreeMap<SeriesKey, SeriesData>,
    pub dropped_records: u64,
}

impl Interval {
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// Records in, intervals out. Cheap to clone: a handle on one interval.
#[derive(Clone, Debug)]
pub struct Tap {
    current: Arc<Mutex<Interval>>,
    /// For records that carry none: [`contract::fallback_vantage`].
    fallback_vantage: Arc<str>,
}

impl Default for Tap {
    fn default() -> Tap {
        Tap::new()
    }
}

impl Tap {
    pub fn new() -> Tap {
        Tap {
            current: Arc::default(),
            fallback_vantage: contract::fallback_vantage(),
        }
    }

    /// Fold one record in: the latencies of the phases it completed (and
    /// its total when it got an answer, as the Prometheus metrics do), the
    /// outcome and whether it found the path warm.
    pub fn observe(&self, r: &ProbeRecord) {
        let key = SeriesKey {
            target: r.target.clone(),
            vantage: r.vantage.clone().unwrap_or_else(|| self.fallback_vantage.clone()),
        };
        let mut interval = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !interval.series.contains_key(&key) && interval.series.len() >= MAX_SERIES {
            interval.dropped_records += 1;
            return;
        }
        let s = interval.series.entry(key).or_default();
        for (phase, ms) in r.completed_phases() {
            s.latencies.entry(phase_name(phase)).or_default().record_ms(ms);
        }
        if r.got_response() {
            s.latencies.entry(TOTAL).or_default().record_ms(r.total_ms);
        }
        s.probes += 1;
        match &r.error {
            None => {
                s.success += 1;
                s.warm += u64::from(r.conn.as_ref().is_some_and(|c| c.reused));
            }
            Some(e) => *s.failures.entry(e.kind).or_default() += 1,
        }
    }

    /// The interval so far; a new one starts empty.
    pub fn take(&self) -> Interval {
        let mut interval = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *interval)
    }
}

fn phase_name(phase: Phase) -> &'static str {
    debug_assert!(contract::phase_names().any(|p| p == phase.as_str()));
    phase.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::record::{ConnInfo, ProbeError};

    fn record(target: &str, vantage: Option<&str>, total: f64) -> ProbeRecord {
        let mut r: ProbeRecord = serde_json::from_value(serde_json::json!({
            "v": 1, "target": target, "url": "http://127.0.0.1/", "seq": 1,
            "at": "2026-12-07T14:00:00Z", "scheduled_at": "2026-12-07T14:00:00Z",
            "remote": null, "conn": null,
            "phases_ms": {"queue": 0.1, "dns": 1.0, "connect": 2.0, "tls": null, "send": 0.1, "ttfb": 5.0, "body": 0.2},
            "total_ms": total, "status": 200, "http": "1.1", "tls": null, "trace_id": null, "error": null
        }))
        .unwrap();
        r.vantage = vantage.map(Arc::from);
        r
    }

    #[test]
    fn series_are_keyed_by_target_and_vantage_with_the_fallback_for_none() {
        let tap = Tap::new();
        tap.observe(&record("api", Some("eu-west-1b"), 10.0));
        tap.observe(&record("api", Some("eu-west-1b"), 12.0));
        tap.observe(&record("api", None, 30.0));
        let mut failed = record("api", None, 5000.0);
        failed.error = Some(ProbeError {
            kind: ErrorKind::Timeout,
            phase: Phase::Ttfb,
            message: "timed out".into(),
        });
        tap.observe(&failed);
        let mut warm = record("api", None, 8.0);
        warm.conn = Some(
            serde_json::from_value::<ConnInfo>(serde_json::json!({
                "id": 1, "reused": true, "idle_ms": 1.0, "age_ms": 10.0, "requests": 2
            }))
            .unwrap(),
        );
        tap.observe(&warm);
        let interval = tap.take();
        assert_eq!(interval.series.len(), 2);
        let zone = &interval.series[&SeriesKey {
            target: "api".into(),
            vantage: "eu-west-1b".into(),
        }];
        assert_eq!((zone.probes, zone.success), (2, 2));
        assert_eq!(zone.latencies[TOTAL].count(), 2);
        let host = &interval.series[&SeriesKey {
            target: "api".into(),
            vantage: contract::fallback_vantage(),
        }];
        assert_eq!((host.probes, host.success, host.warm), (3, 2, 1));
        assert_eq!(host.failures[&ErrorKind::Timeout], 1);
        // The timeout's total is no latency; its completed phases are.
        assert_eq!(host.latencies[TOTAL].count(), 2);
        assert_eq!(host.latencies["dns"].count(), 3);
        assert!((host.warm_share().unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert!(tap.take().is_empty(), "a new interval starts empty");
    }
}

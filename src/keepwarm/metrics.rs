//! The daemon's Prometheus metrics (prometheus-client, OpenMetrics text):
//!
//! - `coldlink_probe_phase_seconds{target, phase}`: a histogram per phase,
//!   and `phase="total"`;
//! - `coldlink_probes_total{target, outcome}`: `ok`, `slow`, or the error
//!   kind (`timeout`, `reset`, `refused`, `dns`, `tls`, `protocol`,
//!   `status`, `io`);
//! - `coldlink_connection_reused_total{target}`;
//! - `coldlink_last_success_timestamp_seconds{target}`: Unix time of the
//!   last probe that was ok (not slow, not failed);
//! - `coldlink_probe_success{target}`: 1 when the target's last probe was
//!   ok, 0 when it failed or was slow;
//! - `coldlink_build_info{version}` (always 1) and
//!   `coldlink_start_time_seconds`: which daemon this is, and since when.
//!
//! The last two make alerts work from the first ping: a target that has
//! failed since the daemon started has no last success, so "no success for
//! X" counts from the start time instead (`deploy/prometheus/`).

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::probe::{ErrorKind, ProbeRecord};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    target: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    target: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// Buckets from 0.5 ms to about 65 s, doubling: a loopback answer and an
/// integration timeout in one histogram.
fn buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0005, 2.0, 18)
}

pub struct Metrics {
    registry: Registry,
    phases: Family<PhaseLabels, Histogram>,
    probes: Family<OutcomeLabels, Counter>,
    reused: Family<TargetLabels, Counter>,
    last_success: Family<TargetLabels, Gauge<f64, AtomicU64>>,
    success: Family<TargetLabels, Gauge>,
    slow: Duration,
}

impl Metrics {
    /// The daemon's metrics; `started` is when it started, the time a
    /// target that never succeeded has been without success since.
    pub fn new(slow: Duration, started: SystemTime) -> Metrics {
        let mut registry = Registry::default();
        let phases = Family::<PhaseLabels, Histogram>::new_with_constructor(|| Histogram::new(buckets()));
        let probes = Family::<OutcomeLabels, Counter>::default();
        let reused = Family::<TargetLabels, Counter>::default();
        let last_success = Family::<TargetLabels, Gauge<f64, AtomicU64>>::default();
        let success = Family::<TargetLabels, Gauge>::default();
        let start_time = Gauge::<f64, AtomicU64>::default();
        start_time.set(unix_seconds(started));
        registry.register(
            "coldlink_probe_phase_seconds",
            "Time of each phase of each keep-warm probe, and its total",
            phases.clone(),
        );
        registry.register(
            "coldlink_probes",
            "Keep-warm probes by outcome: ok, slow, or the error kind",
            probes.clone(),
        );
        registry.register(
            "coldlink_connection_reused",
            "Keep-warm probes that found a kept-alive connection",
            reused.clone(),
        );
        registry.register(
            "coldlink_last_success_timestamp_seconds",
            "Unix time of the last keep-warm probe that was ok",
            last_success.clone(),
        );
        registry.register(
            "coldlink_probe_success",
            "1 when the target's last keep-warm probe was ok, 0 when it failed or was slow",
            success.clone(),
        );
        // The Prometheus convention for "which build is this": an info
        // metric, `coldlink_build_info{version} 1`. Its absence is the
        // daemon's absence.
        registry.register(
            "coldlink_build",
            "The coldlink build serving these metrics",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            }),
        );
        registry.register(
            "coldlink_start_time_seconds",
            "Unix time the keep-warm daemon started",
            start_time,
        );
        Metrics {
            registry,
            phases,
            probes,
            reused,
            last_success,
            success,
            slow,
        }
    }

    /// Start every target's `ok`, `slow` and error-kind counters (and its
    /// reused counter) at zero, so that `increase()` sees a target's first
    /// timeout as one.
    pub fn preset(&self, targets: &[String]) {
        let kinds = [
            ErrorKind::Timeout,
            ErrorKind::Reset,
            ErrorKind::Refused,
            ErrorKind::Dns,
            ErrorKind::Tls,
            ErrorKind::Protocol,
            ErrorKind::Status,
            ErrorKind::Io,
        ];
        for target in targets {
            for outcome in ["ok", "slow"].into_iter().chain(kinds.iter().map(|k| k.as_str())) {
                let _ = self.probes.get_or_create(&OutcomeLabels {
                    target: target.clone(),
                    outcome: outcome.to_string(),
                });
            }
            let _ = self.reused.get_or_create(&TargetLabels {
                target: target.clone(),
            });
        }
    }

    /// Fold one probe in.
    pub fn observe(&self, r: &ProbeRecord) {
        let target = r.target.to_string();
        for (phase, ms) in r.completed_phases() {
            let labels = PhaseLabels {
                target: target.clone(),
                phase: phase.as_str().to_string(),
            };
            self.phases.get_or_create(&labels).observe(ms / 1000.0);
        }
        if r.got_response() {
            let labels = PhaseLabels {
                target: target.clone(),
                phase: "total".to_string(),
            };
            self.phases.get_or_create(&labels).observe(r.total_ms / 1000.0);
        }
        let outcome = outcome(r, self.slow);
        self.probes
            .get_or_create(&OutcomeLabels {
                target: target.clone(),
                outcome: outcome.to_string(),
            })
            .inc();
        let t = TargetLabels { target };
        if r.conn.as_ref().is_some_and(|c| c.reused) {
            self.reused.get_or_create(&t).inc();
        }
        self.success.get_or_create(&t).set(i64::from(outcome == "ok"));
        if outcome == "ok" {
            let end = r.at.0 + Duration::from_secs_f64(r.total_ms.max(0.0) / 1000.0);
            self.last_success.get_or_create(&t).set(unix_seconds(end));
        }
    }

    /// The text exposition, as served on /metrics.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// `ok`, `slow`, or the error kind. Slow is judged on network time, like
/// diagnose and watch: the tool's own `queue` is not the path's.
pub fn outcome(r: &ProbeRecord, slow: Duration) -> &'static str {
    match &r.error {
        Some(e) => e.kind.as_str(),
        None if r.network_ms() >= slow.as_secs_f64() * 1000.0 => "slow",
        None => "ok",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Phase, ProbeError};

    /// A probe of target `a` that took `total_ms`, failed or not.
    fn probe(total_ms: f64, failed: bool) -> ProbeRecord {
        let mut r: ProbeRecord = serde_json::from_str(&format!(
            r#"{{"v":1,"target":"a","url":"http://x/","seq":1,"at":"2026-11-22T00:00:00Z","scheduled_at":"2026-11-22T00:00:00Z","remote":null,"conn":null,"phases_ms":{{}},"total_ms":{total_ms},"status":200,"http":null,"tls":null,"trace_id":null,"error":null}}"#
        ))
        .unwrap();
        if failed {
            r.error = Some(ProbeError {
                kind: ErrorKind::Refused,
                phase: Phase::Connect,
                message: "refused".into(),
            });
        }
        r
    }

    /// The sample lines of the exposition that start with `name`.
    fn samples(m: &Metrics, name: &str) -> Vec<String> {
        m.encode()
            .lines()
            .filter(|l| l.starts_with(name))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn build_info_and_start_time_are_there_before_any_probe() {
        let started = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let m = Metrics::new(Duration::from_secs(1), started);
        m.preset(&["a".to_string()]);
        assert_eq!(
            samples(&m, "coldlink_build_info"),
            [format!(
                "coldlink_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            )]
        );
        assert_eq!(
            samples(&m, "coldlink_start_time_seconds"),
            ["coldlink_start_time_seconds 1700000000.0"]
        );
        assert!(
            samples(&m, "coldlink_probe_success").is_empty(),
            "no success or failure to tell before the first ping"
        );
    }

    #[test]
    fn probe_success_is_the_last_pings_outcome() {
        let m = Metrics::new(Duration::from_millis(100), SystemTime::now());
        for (r, success) in [
            (probe(5.0, true), 0),
            (probe(5.0, false), 1),
            (probe(500.0, false), 0),
            (probe(5.0, false), 1),
        ] {
            m.observe(&r);
            assert_eq!(
                samples(&m, "coldlink_probe_success"),
                [format!("coldlink_probe_success{{target=\"a\"}} {success}")],
                "after a probe of {} ms, failed: {}",
                r.total_ms,
                r.error.is_some()
            );
        }
    }
}

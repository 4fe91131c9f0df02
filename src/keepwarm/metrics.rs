//! The daemon's Prometheus metrics (prometheus-client, OpenMetrics text):
//!
//! - `coldlink_probe_phase_seconds{target, phase}`: a histogram per phase,
//!   and `phase="total"`;
//! - `coldlink_probes_total{target, outcome}`: `ok`, `slow`, or the error
//!   kind (`timeout`, `reset`, `refused`, `dns`, `tls`, `protocol`,
//!   `status`, `io`);
//! - `coldlink_connection_reused_total{target}`;
//! - `coldlink_last_success_timestamp_seconds{target}`: Unix time of the
//!   last probe that was ok (not slow, not failed).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
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
    slow: Duration,
}

impl Metrics {
    pub fn new(slow: Duration) -> Metrics {
        let mut registry = Registry::default();
        let phases = Family::<PhaseLabels, Histogram>::new_with_constructor(|| Histogram::new(buckets()));
        let probes = Family::<OutcomeLabels, Counter>::default();
        let reused = Family::<TargetLabels, Counter>::default();
        let last_success = Family::<TargetLabels, Gauge<f64, AtomicU64>>::default();
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
        Metrics {
            registry,
            phases,
            probes,
            reused,
            last_success,
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
        let target = r.target.clone();
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
        if outcome == "ok" {
            let end = r.at.0 + Duration::from_secs_f64(r.total_ms.max(0.0) / 1000.0);
            let unix = end.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            self.last_success.get_or_create(&t).set(unix.as_secs_f64());
        }
    }

    /// The text exposition, as served on /metrics.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }
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

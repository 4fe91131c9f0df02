//! The daemon's Prometheus metrics (prometheus-client, OpenMetrics text).
//! (About 550 lines with its tests, 350 without: the bucket edges' reasons
//! and the tests of every series' labels.)
//! Every series carries `vantage`, where the daemon probes from:
//!
//! - `coldlink_probe_phase_seconds{target, vantage, phase}`: a histogram per
//!   phase, and `phase="total"` (buckets: [`BUCKETS`]);
//! - `coldlink_probes_total{target, vantage, outcome}`: `ok`, `slow`, or the
//!   error kind (`timeout`, `reset`, `refused`, `dns`, `tls`, `protocol`,
//!   `status`, `io`);
//! - `coldlink_connection_reused_total{target, vantage}` and
//!   `coldlink_connection_new_total{target, vantage}`: pings that found a
//!   kept-alive connection, and pings that had to open one (pings that
//!   never got a connection are in neither);
//! - `coldlink_warm_probes_total{target, vantage}`: pings that found the
//!   path warm, a kept-alive connection and `ok` (the daemon's closing
//!   "found the path warm" count): warm share is its rate over
//!   `coldlink_probes_total`'s, taken at query time;
//! - `coldlink_last_success_timestamp_seconds{target, vantage}`: Unix time
//!   of the last probe that was ok (not slow, not failed);
//! - `coldlink_probe_success{target, vantage}`: 1 when the target's last
//!   probe was ok, 0 when it failed or was slow;
//! - `coldlink_publish_failures_total{vantage, sink}`: batches a publisher
//!   (`cloudwatch`, `emf`, `xray` for `--xray-segments`) gave up on
//!   ([`Metrics::publish_failures`]);
//! - `coldlink_build_info{version, vantage}` (always 1) and
//!   `coldlink_start_time_seconds{vantage}`: which daemon this is, from
//!   where, and since when.
//!
//! The last two make alerts work from the first ping: a target that has
//! failed since the daemon started has no last success, so "no success for
//! X" counts from the start time instead (`deploy/prometheus/`).
//!
//! Classic histograms: prometheus-client 0.24 has no native (sparse)
//! histograms, and its text encoding could not carry them anyway (they
//! need Prometheus's protobuf exposition).
//!
//! Over 500 lines with its tests (about 330 without): one registry, whose
//! tests check each series' labels, counters and the buckets' marks.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::probe::{ErrorKind, ProbeRecord};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    target: String,
    vantage: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    target: String,
    vantage: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
    vantage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VantageLabels {
    vantage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    vantage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SinkLabels {
    vantage: String,
    sink: String,
}

/// The phase histograms' upper bounds, in seconds (and `+Inf`). Classic
/// buckets cost a series each per target × vantage × phase, so each edge
/// sits where it tells something on this path, and a quantile that lands
/// in a bucket reads as the mark it holds rather than as a power of two:
///
/// - 0.5 ms to 50 ms in 1-2-5 steps: a loopback or same-host answer (under
///   1 ms) apart from in-region (1–10 ms) and cross-AZ or cross-region
///   ones (10–50 ms), where most keep-warm pings land;
/// - 0.1 to 1 s: slow backends; 1 s is keepwarm's default `--slow`;
/// - 1.5, 3.5, 7.5, 15.5 s: just above Linux's SYN retransmits (the lost
///   SYN answered at 1 s, 3 s, 7 s, 15 s, plus a round trip), so a connect
///   that needed one retransmit reads as 1–1.5 s, two as 1.5–3.5 s (the
///   doubling buckets before put one retransmit at 1.02–2 s);
/// - 28 and 30 s: API Gateway's 29 s integration timeout (and an HTTP
///   API's 30 s cap): an answer between them is the gateway giving up;
/// - 60 s: the probes' default `--timeout`, and an ALB's default idle
///   timeout; slower is `+Inf`.
pub const BUCKETS: [f64; 18] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1.5, 3.5, 7.5, 15.5, 28.0, 30.0, 60.0,
];

/// The vantage the metrics carry: `vantage` when set (`--vantage`, a
/// profile's), else the host's name, else `unknown`
/// ([`crate::probe::vantage::or_host`]).
pub fn vantage_label(vantage: Option<&str>) -> String {
    crate::probe::vantage::or_host(vantage).to_string()
}

pub struct Metrics {
    registry: Registry,
    vantage: String,
    phases: Family<PhaseLabels, Histogram>,
    probes: Family<OutcomeLabels, Counter>,
    reused: Family<TargetLabels, Counter>,
    new: Family<TargetLabels, Counter>,
    warm: Family<TargetLabels, Counter>,
    last_success: Family<TargetLabels, Gauge<f64, AtomicU64>>,
    success: Family<TargetLabels, Gauge>,
    publish_failures: Family<SinkLabels, Counter>,
    slow: Duration,
}

impl Metrics {
    /// The daemon's metrics, every series labelled `vantage` (see
    /// [`vantage_label`]); `started` is when it started, the time a target
    /// that never succeeded has been without success since.
    pub fn new(slow: Duration, started: SystemTime, vantage: String) -> Metrics {
        let mut registry = Registry::default();
        let phases = Family::<PhaseLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(BUCKETS.iter().copied())
        });
        let probes = Family::<OutcomeLabels, Counter>::default();
        let reused = Family::<TargetLabels, Counter>::default();
        let new = Family::<TargetLabels, Counter>::default();
        let warm = Family::<TargetLabels, Counter>::default();
        let last_success = Family::<TargetLabels, Gauge<f64, AtomicU64>>::default();
        let success = Family::<TargetLabels, Gauge>::default();
        let publish_failures = Family::<SinkLabels, Counter>::default();
        let start_time = Family::<VantageLabels, Gauge<f64, AtomicU64>>::default();
        start_time
            .get_or_create(&VantageLabels {
                vantage: vantage.clone(),
            })
            .set(unix_seconds(started));
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
            "coldlink_connection_new",
            "Keep-warm probes that had to open a new connection",
            new.clone(),
        );
        registry.register(
            "coldlink_warm_probes",
            "Keep-warm probes that found the path warm: a kept-alive connection, and ok",
            warm.clone(),
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
        registry.register(
            "coldlink_publish_failures",
            "Batches of metrics a publisher (the sink: cloudwatch, emf) could not deliver",
            publish_failures.clone(),
        );
        // The Prometheus convention for "which build is this": an info
        // metric, `coldlink_build_info{version, vantage} 1`. Its absence is
        // the daemon's absence; its vantage names a daemon gone quiet.
        registry.register(
            "coldlink_build",
            "The coldlink build serving these metrics, and where it probes from",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
                vantage: vantage.clone(),
            }),
        );
        registry.register(
            "coldlink_start_time_seconds",
            "Unix time the keep-warm daemon started",
            start_time,
        );
        Metrics {
            registry,
            vantage,
            phases,
            probes,
            reused,
            new,
            warm,
            last_success,
            success,
            publish_failures,
            slow,
        }
    }

    /// The vantage every series carries.
    pub fn vantage(&self) -> &str {
        &self.vantage
    }

    /// Start every target's `ok`, `slow` and error-kind counters (and its
    /// connection and warm counters) at zero, so that `increase()` sees a
    /// target's first timeout as one.
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
                    vantage: self.vantage.clone(),
                    outcome: outcome.to_string(),
                });
            }
            let t = self.target(target);
            for family in [&self.reused, &self.new, &self.warm] {
                let _ = family.get_or_create(&t);
            }
        }
    }

    /// Fold one probe in.
    pub fn observe(&self, r: &ProbeRecord) {
        let phase = |phase: &str| PhaseLabels {
            target: r.target.to_string(),
            vantage: self.vantage.clone(),
            phase: phase.to_string(),
        };
        for (p, ms) in r.completed_phases() {
            self.phases.get_or_create(&phase(p.as_str())).observe(ms / 1000.0);
        }
        if r.got_response() {
            self.phases
                .get_or_create(&phase("total"))
                .observe(r.total_ms / 1000.0);
        }
        let outcome = outcome(r, self.slow);
        self.probes
            .get_or_create(&OutcomeLabels {
                target: r.target.to_string(),
                vantage: self.vantage.clone(),
                outcome: outcome.to_string(),
            })
            .inc();
        let t = self.target(&r.target);
        match r.conn.as_ref().map(|c| c.reused) {
            Some(true) => {
                self.reused.get_or_create(&t).inc();
                if outcome == "ok" {
                    self.warm.get_or_create(&t).inc();
                }
            }
            Some(false) => {
                self.new.get_or_create(&t).inc();
            }
            None => {}
        }
        self.success.get_or_create(&t).set(i64::from(outcome == "ok"));
        if outcome == "ok" {
            let end = r.at.0 + Duration::from_secs_f64(r.total_ms.max(0.0) / 1000.0);
            self.last_success.get_or_create(&t).set(unix_seconds(end));
        }
    }

    /// The failure counter of one publisher (`sink`: `cloudwatch`,
    /// `emf`, `xray`), created at zero so that `increase()` sees its first
    /// failure: `coldlink_publish_failures_total{vantage, sink}`. The
    /// handle is a cheap clone of the series (an `Arc`): a publisher's task
    /// keeps it and calls `inc()` once per batch it gave up on.
    pub fn publish_failures(&self, sink: &str) -> Counter {
        self.publish_failures.get_or_create_owned(&SinkLabels {
            vantage: self.vantage.clone(),
            sink: sink.to_string(),
        })
    }

    /// Count one batch that `sink` could not deliver.
    pub fn count_publish_failure(&self, sink: &str) {
        self.publish_failures(sink).inc();
    }

    /// The text exposition, as served on /metrics.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }

    fn target(&self, target: &str) -> TargetLabels {
        TargetLabels {
            target: target.to_string(),
            vantage: self.vantage.clone(),
        }
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
    use crate::probe::{ConnInfo, Phase, ProbeError};

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

    /// `probe`, on a connection reused or new.
    fn on_connection(mut r: ProbeRecord, reused: bool) -> ProbeRecord {
        r.conn = Some(ConnInfo {
            id: 1,
            reused,
            idle_ms: None,
            age_ms: 0.0,
            requests: 1,
            reconnected: false,
            stale_idle_ms: None,
        });
        r
    }

    fn metrics(slow: Duration) -> Metrics {
        Metrics::new(slow, SystemTime::now(), "eu-west-1a".to_string())
    }

    /// The sample lines of the exposition that start with `name`.
    fn samples(m: &Metrics, name: &str) -> Vec<String> {
        m.encode()
            .lines()
            .filter(|l| l.starts_with(name))
            .map(str::to_string)
            .collect()
    }

    /// The value of the one sample `series` (name and labels as encoded).
    fn value(m: &Metrics, series: &str) -> f64 {
        let text = m.encode();
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"));
        line.parse().unwrap()
    }

    #[test]
    fn build_info_and_start_time_are_there_before_any_probe() {
        let started = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let m = Metrics::new(Duration::from_secs(1), started, "eu-west-1a".to_string());
        m.preset(&["a".to_string()]);
        assert_eq!(
            samples(&m, "coldlink_build_info"),
            [format!(
                "coldlink_build_info{{version=\"{}\",vantage=\"eu-west-1a\"}} 1",
                env!("CARGO_PKG_VERSION")
            )]
        );
        assert_eq!(
            samples(&m, "coldlink_start_time_seconds"),
            ["coldlink_start_time_seconds{vantage=\"eu-west-1a\"} 1700000000.0"]
        );
        assert!(
            samples(&m, "coldlink_probe_success").is_empty(),
            "no success or failure to tell before the first ping"
        );
    }

    #[test]
    fn probe_success_is_the_last_pings_outcome() {
        let m = metrics(Duration::from_millis(100));
        for (r, success) in [
            (probe(5.0, true), 0),
            (probe(5.0, false), 1),
            (probe(500.0, false), 0),
            (probe(5.0, false), 1),
        ] {
            m.observe(&r);
            assert_eq!(
                samples(&m, "coldlink_probe_success"),
                [format!(
                    "coldlink_probe_success{{target=\"a\",vantage=\"eu-west-1a\"}} {success}"
                )],
                "after a probe of {} ms, failed: {}",
                r.total_ms,
                r.error.is_some()
            );
        }
    }

    /// Issue #21: a stale or failing daemon is attributable to its vantage
    /// in every series, the publishers' failures included.
    #[test]
    fn every_series_carries_the_vantage() {
        let m = metrics(Duration::from_millis(100));
        m.preset(&["a".to_string()]);
        m.observe(&on_connection(probe(5.0, false), true));
        m.observe(&probe(5.0, true));
        m.count_publish_failure("cloudwatch");
        let text = m.encode();
        let series: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(series.len() > 20, "{text}");
        for line in series {
            assert!(line.contains("vantage=\"eu-west-1a\""), "{line}");
        }
    }

    #[test]
    fn warm_is_a_reused_connection_and_ok_and_new_connections_are_counted() {
        let m = metrics(Duration::from_millis(100));
        m.preset(&["a".to_string()]);
        let t = "{target=\"a\",vantage=\"eu-west-1a\"}";
        for r in [
            on_connection(probe(5.0, false), false),  // the first: new
            on_connection(probe(5.0, false), true),   // warm
            on_connection(probe(500.0, false), true), // reused, but slow: not warm
            on_connection(probe(5.0, false), true),   // warm
            probe(5.0, true),                         // refused: no connection at all
        ] {
            m.observe(&r);
        }
        assert_eq!(value(&m, &format!("coldlink_connection_new_total{t}")), 1.0);
        assert_eq!(value(&m, &format!("coldlink_connection_reused_total{t}")), 3.0);
        assert_eq!(value(&m, &format!("coldlink_warm_probes_total{t}")), 2.0);
        let probes: f64 = samples(&m, "coldlink_probes_total")
            .iter()
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
            .sum();
        assert_eq!(probes, 5.0, "warm share 2/5");
    }

    #[test]
    fn a_publishers_failures_start_at_zero_and_count_through_its_handle() {
        let m = metrics(Duration::from_secs(1));
        let series = "coldlink_publish_failures_total{vantage=\"eu-west-1a\",sink=\"cloudwatch\"}";
        assert!(samples(&m, "coldlink_publish_failures_total").is_empty());
        let handle = m.publish_failures("cloudwatch");
        assert_eq!(value(&m, series), 0.0, "created at zero, for increase()");
        handle.clone().inc();
        m.count_publish_failure("cloudwatch");
        assert_eq!(value(&m, series), 2.0);
        m.count_publish_failure("emf");
        assert_eq!(samples(&m, "coldlink_publish_failures_total").len(), 2);
    }

    /// The buckets put each mark of the path in a bucket of its own: one
    /// lost SYN (answered after 1 s) above `--slow`'s 1 s and below two
    /// (3 s); API Gateway's 29 s timeout between 28 and 30 s.
    #[test]
    fn a_syn_retransmit_and_the_gateways_timeout_land_in_buckets_of_their_own() {
        let m = metrics(Duration::from_secs(100));
        let mut one_syn = probe(1030.0, false);
        one_syn.phases_ms.connect = Some(1020.0);
        let mut two_syns = probe(3030.0, false);
        two_syns.phases_ms.connect = Some(3020.0);
        let mut timeout = probe(29_050.0, false);
        timeout.phases_ms.ttfb = Some(29_010.0);
        for r in [&one_syn, &two_syns, &timeout] {
            m.observe(r);
        }
        let bucket = |phase: &str, le: &str| {
            value(
                &m,
                &format!(
                    "coldlink_probe_phase_seconds_bucket{{le=\"{le}\",target=\"a\",vantage=\"eu-west-1a\",phase=\"{phase}\"}}"
                ),
            )
        };
        assert_eq!(
            [
                bucket("connect", "1.0"),
                bucket("connect", "1.5"),
                bucket("connect", "3.5")
            ],
            [0.0, 1.0, 2.0]
        );
        assert_eq!([bucket("ttfb", "28.0"), bucket("ttfb", "30.0")], [0.0, 1.0]);
        assert!(BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_vantage_is_never_empty() {
        assert_eq!(vantage_label(Some("eu-west-1a")), "eu-west-1a");
        let host = vantage_label(None);
        assert!(!host.is_empty());
        assert_eq!(vantage_label(Some("")), host);
        let named = crate::probe::vantage::of_host();
        assert_eq!(host, named.as_deref().unwrap_or(crate::probe::vantage::UNKNOWN));
    }
}

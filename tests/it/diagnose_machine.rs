//! The probing machine's own stalls read in scenario time (the lab's
//! speed multiplies them): a hiccup that held every probe in flight for
//! 40 ms of real time is no bad path and no slow backend, at speed 10 or
//! 100; a target draining in the same run, slow in its answer alone while
//! the machine's own phases stay fast, still is a bad path.

use std::time::{Duration, SystemTime};

use crate::common::record::probe_record;
use coldlink::diagnose::report::{diagnose, Context};
use coldlink::diagnose::{Cause, Dataset, Severity};
use coldlink::probe::{ConnInfo, Phase, Phases, ProbeRecord, TargetKind, Timestamp};

/// Three probes in flight at once, back to back on each of three lanes:
/// 14 per lane on new connections, then 14 on the lane's last one (real
/// ms on loopback: 1 ms lookup, 3 ms handshake, 2 ms to first byte).
struct Plan {
    /// The machine held everything in flight from `.0` for `.1` (real ms).
    hiccup: Option<(f64, f64)>,
    /// Every probe started from `.0` to `.1` answered `.2` ms late (the
    /// lab's gateway funnels them into its pooled connection to the
    /// draining target).
    drain: Option<(f64, f64, f64)>,
}

impl Plan {
    fn records(&self) -> Vec<ProbeRecord> {
        let mut out = Vec::new();
        let mut seed: u64 = 7;
        let mut jitter = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64 * 0.6
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut seq = 0;
        for lane in 0..3u64 {
            let mut t = lane as f64 * 2.3;
            let mut conn = 0;
            for n in 0..28u64 {
                let fresh = n < 14;
                if fresh {
                    conn = lane * 100 + n + 1;
                }
                let target = if (lane + n) % 2 == 0 {
                    "execute-api"
                } else {
                    "custom-domain"
                };
                if let Some((at, held)) = self.hiccup {
                    if t > at && t < at + held {
                        t = at + held;
                    }
                }
                let mut phases: Vec<(Phase, f64)> = if fresh {
                    vec![
                        (Phase::Dns, 1.0 + jitter()),
                        (Phase::Connect, 0.3 + jitter() * 0.2),
                        (Phase::Tls, 3.0 + jitter()),
                        (Phase::Send, 0.2),
                        (Phase::Ttfb, 2.0 + jitter()),
                    ]
                } else {
                    vec![(Phase::Send, 0.2), (Phase::Ttfb, 2.0 + jitter())]
                };
                if let Some((from, to, late)) = self.drain {
                    if t >= from && t < to {
                        phases.last_mut().unwrap().1 += late;
                    }
                }
                let start = t;
                for (_, d) in phases.iter_mut() {
                    if let Some((at, held)) = self.hiccup {
                        if at >= t && at < t + *d {
                            *d += held;
                        }
                    }
                    t += *d;
                }
                let mut ph = Phases::default();
                for (p, d) in &phases {
                    match p {
                        Phase::Dns => ph.dns = Some(*d),
                        Phase::Connect => ph.connect = Some(*d),
                        Phase::Tls => ph.tls = Some(*d),
                        Phase::Send => ph.send = Some(*d),
                        _ => ph.ttfb = Some(*d),
                    }
                }
                let at = t0 + Duration::from_secs_f64(start / 1000.0);
                seq += 1;
                out.push(ProbeRecord {
                    run: Some("machine".into()),
                    target: target.into(),
                    url: if target == "execute-api" {
                        "https://abc123.execute-api.lab.test/test/header".into()
                    } else {
                        "https://api.lab.test/header".into()
                    },
                    seq,
                    at: Timestamp(at),
                    scheduled_at: Timestamp(at),
                    remote: Some("127.0.0.1:443".parse().unwrap()),
                    conn: Some(ConnInfo {
                        id: conn,
                        reused: !fresh,
                        idle_ms: (!fresh).then_some(0.5),
                        age_ms: 1.0,
                        requests: 1,
                        reconnected: false,
                        stale_idle_ms: None,
                    }),
                    total_ms: t - start,
                    phases_ms: ph,
                    status: Some(200),
                    http: Some("1.1".into()),
                    ..probe_record()
                });
                t += 0.3;
            }
        }
        out
    }
}

/// The verdict at `speed` and the findings at warning or above.
fn verdict(plan: &Plan, speed: f64) -> (Cause, Vec<String>) {
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    let ds = Dataset::from_records(&plan.records(), &kinds, speed);
    let (report, _) = diagnose(&ds, &Context::default());
    let warnings = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| format!("{}: {}", f.cause, f.title))
        .collect();
    (report.verdict, warnings)
}

#[test]
fn a_hiccup_of_the_machine_at_a_high_lab_speed_is_no_finding() {
    // The whole run lasts about 220 ms of real time; the hiccup falls
    // while the lanes open connections.
    for speed in [10.0, 100.0] {
        let plan = Plan {
            hiccup: Some((60.0, 40.0)),
            drain: None,
        };
        let (verdict, warnings) = verdict(&plan, speed);
        assert!(
            matches!(verdict, Cause::Healthy | Cause::Inconclusive) && warnings.is_empty(),
            "speed {speed}: {verdict} {warnings:?}"
        );
    }
}

#[test]
fn the_hiccup_is_a_stall_of_every_probe_in_flight() {
    // What the test above relies on: without the machine's rule these
    // probes would be slow (400 ms and 4 s of scenario time).
    let plan = Plan {
        hiccup: Some((60.0, 40.0)),
        drain: None,
    };
    let records = plan.records();
    let held = records.iter().filter(|r| r.total_ms > 40.0).count();
    assert_eq!(held, 3, "one probe per lane was in flight");
}

#[test]
fn a_draining_window_in_scenario_time_is_still_a_bad_path() {
    // Answers 30 ms (real) late for 60 ms, 300 ms late for 600 ms of
    // scenario time at speed 10, as the lab's `draining` does: every probe
    // in flight is late, but only in time to first byte.
    let plan = Plan {
        hiccup: None,
        drain: Some((40.0, 100.0, 30.0)),
    };
    let (verdict, warnings) = verdict(&plan, 10.0);
    assert_eq!(verdict, Cause::BadPath, "{warnings:?}");
    assert!(warnings[0].contains("confined to"), "{warnings:?}");
}

#[test]
fn a_draining_window_and_a_hiccup_in_one_run_is_a_bad_path() {
    let plan = Plan {
        hiccup: Some((20.0, 40.0)),
        drain: Some((80.0, 140.0, 30.0)),
    };
    let (verdict, warnings) = verdict(&plan, 10.0);
    assert_eq!(verdict, Cause::BadPath, "{warnings:?}");
    assert!(warnings[0].contains("confined to"), "{warnings:?}");
}

//! The idle analysis on a lab run at speed 50 from a busy machine: a few
//! real milliseconds of the machine's own delay on a healthy probe read
//! as a stall of a second or more, in scenario time. The NLB's 350 s timer
//! resets the pooled connections after the 360 s gap (two 502s); the
//! machine's delay must neither move that step to another clock nor make
//! it untelling. Synthetic records modelled on those `diagnose --lab
//! idle-timeout --idle-sweep` wrote on a loaded 2-core machine, reduced to
//! what matters.

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::diagnose::dataset::{Builder, Observation};
use crate::diagnose::evidence::AwsEvidence;
use crate::probe::record::Phases;

const SPEED: f64 = 50.0;
const TARGETS: [&str; 2] = ["execute-api", "custom-domain"];

/// One probe: start (real s), new connection or reused one idle for
/// `idle` real s, total real ms, status.
struct Probe {
    at: f64,
    target: usize,
    idle: Option<f64>,
    total_ms: f64,
    status: u16,
}

/// The plan of `diagnose --lab idle-timeout --idle-sweep`, in real time:
/// a burst on new connections paced every 100 ms (each probe a first
/// after a quiet gap of 90 ms, 4.5 s of scenario time), a back-to-back
/// burst on reused ones, then the sweep's gaps (scenario 8 s to 360 s),
/// one probe per target after each. After 360 s both fail (the reset).
/// `fresh_extra` adds real ms to the burst on new connections (by index),
/// `warm_extra` to the burst on reused ones.
fn plan(fresh_extra: &[(usize, f64)], warm_extra: &[(usize, f64)]) -> Vec<Probe> {
    let extra = |list: &[(usize, f64)], k: usize| list.iter().find(|(i, _)| *i == k).map_or(0.0, |(_, e)| *e);
    let mut probes = Vec::new();
    let mut at = 0.0;
    for k in 0..40 {
        probes.push(Probe {
            at,
            target: k % 2,
            idle: None,
            total_ms: 10.0 + (k % 5) as f64 * 0.2 + extra(fresh_extra, k),
            status: 200,
        });
        at += 0.1;
    }
    for k in 0..40 {
        let total_ms = 3.0 + (k % 4) as f64 * 0.1 + extra(warm_extra, k);
        probes.push(Probe {
            at,
            target: k % 2,
            idle: Some(0.001),
            total_ms,
            status: 200,
        });
        at += (total_ms + 1.0) / 1000.0;
    }
    for gap_s in [8.0, 30.0, 65.0, 80.0, 120.0, 360.0] {
        at += gap_s / SPEED;
        for target in 0..2 {
            probes.push(Probe {
                at,
                target,
                idle: Some(gap_s / SPEED + target as f64 * 0.001),
                total_ms: if gap_s > 350.0 { 1.0 } else { 3.0 },
                status: if gap_s > 350.0 { 502 } else { 200 },
            });
        }
        at += 0.004;
    }
    probes
}

fn dataset(probes: &[Probe]) -> Dataset {
    let mut b = Builder::new();
    for p in probes {
        b.add(&Observation {
            target: TARGETS[p.target],
            url: "https://lab.test/",
            at: Some(UNIX_EPOCH + Duration::from_secs(1_000) + Duration::from_secs_f64(p.at)),
            total_ms: p.total_ms,
            phases: Phases {
                connect: p.idle.is_none().then_some(0.05),
                ttfb: Some(p.total_ms - 0.1),
                ..Phases::default()
            },
            status: Some(p.status),
            reused: p.idle.is_some(),
            conn_idle_ms: p.idle.map(|s| s * 1000.0),
            lab: Some(("idle-timeout", SPEED)),
            ..Default::default()
        });
    }
    b.build(SPEED, None)
}

fn analysed(ds: &Dataset) -> Option<GapPattern> {
    let explained = vec![false; ds.samples.len()];
    let input = Input {
        ds,
        explained: &explained,
        aws: &AwsEvidence::default(),
    };
    analyse(&input, Bad::FailedOrStalled)
}

/// The step's bounds, in whole scenario seconds.
fn seconds(p: &GapPattern) -> (f64, f64) {
    ((p.lo_ms / 1000.0).round(), (p.hi_ms / 1000.0).round())
}

#[test]
fn the_quiet_burst_and_the_step_read_as_the_lab_wrote_them() {
    let ds = dataset(&plan(&[], &[]));
    let p = analysed(&ds).expect("the step at 360 s");
    assert_eq!((p.clock, p.shape), (Clock::Quiet, Shape::Step));
    assert_eq!(seconds(&p), (120.0, 360.0));
    assert_eq!((p.inside, p.below), ((1, 1), (0, 45)));
    assert_eq!(p.warm, (0, 38));
}

/// A healthy probe on a new connection, held 35 ms (real) by the busy
/// machine: 1.75 s of scenario time, a stall below the step on the quiet
/// time. The connection's own clock cannot measure a new connection and
/// leaves it out, which alone made it separate the periods "better": the
/// finding blamed a NAT or conntrack on the client side.
#[test]
fn a_stall_the_connections_clock_cannot_see_does_not_choose_it() {
    let ds = dataset(&plan(&[(7, 35.0)], &[]));
    let stalled_head = ds.samples.iter().position(|s| stalled(&ds, s)).expect("a stall");
    assert!(ds.samples[stalled_head].new_conn() && is_head(&ds, &ds.samples[stalled_head]));
    let p = analysed(&ds).expect("the step at 360 s");
    assert_eq!(p.clock, Clock::Quiet, "{p:?}");
    assert_eq!(seconds(&p), (120.0, 360.0));
    assert_eq!(p.below, (1, 45), "the stall is still counted where it fell");
}

/// Three healthy probes inside the burst on reused connections, held
/// 25–35 ms (real) each: 8 % of the probes inside bursts "stalled". One
/// quiet period above the step whose first requests were reset is still
/// telling: the machine's delay stalls, it does not reset connections.
#[test]
fn warm_stalls_of_a_busy_machine_do_not_make_a_reset_after_the_long_gap_untelling() {
    let ds = dataset(&plan(&[], &[(5, 25.0), (18, 35.0), (31, 30.0)]));
    let p = analysed(&ds).expect("the step at 360 s");
    assert_eq!((p.clock, p.shape), (Clock::Quiet, Shape::Step));
    assert_eq!(seconds(&p), (120.0, 360.0));
    assert_eq!(p.warm, (3, 38));
}

/// Where the long gap only stalled, stalls inside bursts still weigh: a
/// path that stalls when warm too is not shown to have an idle timer by
/// one stalled period.
#[test]
fn warm_stalls_still_weigh_against_a_lone_stalled_period() {
    let mut probes = plan(&[], &[(5, 25.0), (18, 35.0), (31, 30.0)]);
    for p in probes.iter_mut().filter(|p| p.status == 502) {
        (p.status, p.total_ms) = (200, 150.0);
    }
    assert_eq!(analysed(&dataset(&probes)).map(|p| p.clock), None);
    // Without them, the stalled period alone is telling.
    let mut quiet = plan(&[], &[]);
    for p in quiet.iter_mut().filter(|p| p.status == 502) {
        (p.status, p.total_ms) = (200, 150.0);
    }
    assert_eq!(analysed(&dataset(&quiet)).map(|p| p.clock), Some(Clock::Quiet));
}

/// Five healthy probes on new connections held by the busy machine: more
/// stalled periods below the step than the quiet time allows, so its plain
/// reading shows no step. Read without them (no idle clock places a new
/// connection's stall) it shows the step; the finding says what was set
/// aside and is never sure enough to end a plan early.
#[test]
fn a_step_read_only_without_some_probes_says_so_and_stays_unsure() {
    let fresh: Vec<(usize, f64)> = [3, 9, 15, 21, 27].iter().map(|&k| (k, 35.0)).collect();
    let ds = dataset(&plan(&fresh, &[]));
    let p = analysed(&ds).expect("the step at 360 s");
    assert_eq!((p.clock, p.shape), (Clock::Quiet, Shape::Step));
    assert_eq!(seconds(&p), (120.0, 360.0));
    assert_eq!(p.set_aside, 5);
    assert!(p.set_aside_line().is_some_and(|l| l.contains("without 5 bad")));
    let explained = vec![false; ds.samples.len()];
    let input = Input {
        ds: &ds,
        explained: &explained,
        aws: &AwsEvidence::default(),
    };
    let f = super::super::idle_timeout::detect(&input)
        .expect("idle-timeout")
        .finding;
    assert!(
        f.confidence <= GapPattern::SET_ASIDE_CONFIDENCE,
        "{}",
        f.confidence
    );
    assert!(
        f.evidence.iter().any(|e| e.contains("without 5 bad")),
        "{:?}",
        f.evidence
    );
    // Where the plain reading shows the step, nothing is set aside.
    let one = analysed(&dataset(&plan(&[(7, 35.0)], &[]))).expect("the step");
    assert_eq!(one.set_aside, 0);
}

//! The clocks the gap analysis (`gaps.rs`) can follow. An idle timer fires
//! on the idle age of the connection a request meets; the records show that
//! age only for the probe's own connection, so the pools further on are
//! read from the API's quiet time around them:
//!
//! - **the API's quiet time** (`Sample::session_gap_ms`): since any probe
//!   to any target ended, because the gateway pools its integration
//!   connections across the whole API;
//! - **the connection's own idle time** (`conn.idle_ms`): a pooled client
//!   connection can sit idle longer than the API was quiet (the probe's
//!   pool hands out its most recently used connection first and drops one
//!   that failed, so the next probe takes one idle since the burst). It is
//!   the clock of a timer on the probe's own connection: a direct backend,
//!   a NAT or conntrack on the client side;
//! - **the time since the API last answered**: a pool like nginx's hands
//!   out its most recently used connection first, and a failed request
//!   returns none to it, so right after a failure the next request meets a
//!   connection idle since the last success, however short the gap. Only
//!   a run of failures that began with an idle failure says so: one whose
//!   first failure came after a quiet gap of at least `chain_from` (the
//!   step's lower edge, `gaps.rs`). Any other run (an outage, errors
//!   independent of the gap) is measured by the quiet time, or its gaps
//!   would grow with its length and read as a step.
//!
//! Each clock gives the analysis its points: an idle period and whether the
//! first request(s) after it were bad.
//!
//! Over 600 lines with its tests (about 395 without): the three clocks
//! share `Point` and the grouping of one quiet gap's connections, and the
//! tests check the one-pass since-success sweep against `points` itself.

use crate::diagnose::dataset::{Dataset, Sample, SESSION_JOIN_REAL_MS};
use crate::format::human_ms;

/// What the idle periods are measured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The API's quiet time before a session.
    Quiet,
    /// The reused connection's own idle age (`conn.idle_ms`).
    ConnIdle,
    /// The time since the API last answered successfully.
    SinceSuccess,
}

impl Clock {
    /// The periods this clock measures, as the evidence counts them
    /// ("after 3/3 quiet periods ≥ 65 s …").
    pub fn periods(self) -> &'static str {
        match self {
            Clock::Quiet => "quiet periods",
            Clock::ConnIdle => "idle periods of the probe's own connection (conn.idle_ms)",
            Clock::SinceSuccess => "periods since the API last answered",
        }
    }
}

/// One idle period: its length on the clock, and its bad first probes with
/// each one's length (any bad probe makes the period bad).
#[derive(Debug, Clone)]
pub struct Point {
    pub gap: f64,
    pub bad: Vec<(usize, f64)>,
}

/// Idle times within this fraction of each other, in one quiet period,
/// are one period on the connection's clock (the levels' own width).
const SAME_PERIOD: f64 = 0.05;

/// The idle periods on `clock`, from the probes no earlier finding
/// explained. `head` says which probes are the first after a quiet period,
/// `bad` which of those count as bad.
///
/// A good probe on a new connection right after its target's reused
/// connection failed is left out on every clock: the failed connection was
/// dropped, and a fresh one says nothing about how long a pooled one may
/// sit idle.
///
/// On [`Clock::SinceSuccess`] only the runs of bad first probes (no
/// success between them) whose first came after a quiet gap of at least
/// `chain_from` ms are read as a pool's stale connections: their later
/// bad probes are measured since the last success, and as many good first
/// probes after them are left out as were bad (the gateway's pool lost a
/// connection to each, and may serve as many requests on fresh ones).
/// Every other probe is measured by its quiet time. `chain_from` is
/// ignored on the other clocks.
pub fn points(
    ds: &Dataset,
    explained: &[bool],
    clock: Clock,
    chain_from: f64,
    head: impl Fn(usize) -> bool,
    bad: impl Fn(usize) -> bool,
) -> Vec<Point> {
    // Per target: did its latest probe fail on a reused connection?
    let mut dropped = vec![false; ds.targets.len()];
    // The latest end of a successful probe, any target (s).
    let mut last_success = f64::NAN;
    // Bad first probes not yet made up for by a success: on the clock of
    // the time since the last success, each cost the gateway's pool a
    // connection, and as many successes after them may have gone out on
    // fresh ones (nginx's round robin opens one for a backend whose last
    // connection failed, at its next turn, whatever the gap).
    let mut lost = 0usize;
    // The quiet gap before the first bad first probe since the last
    // success: the run of failures it began is a pool's stale connections
    // only when that gap is at least `chain_from`.
    let mut run_from: Option<f64> = None;
    let chained =
        |run_from: Option<f64>| clock == Clock::SinceSuccess && run_from.is_some_and(|g| g >= chain_from);
    // The session being filled, by the index of its first probe.
    let mut sessions: Vec<(usize, Point)> = Vec::new();
    // Which quiet period a probe is in, counted here rather than from
    // `session_pos`, which a dataset split by family keeps from the whole.
    let (mut session, mut session_gap) = (0usize, f64::NAN);
    for (i, s) in ds.samples.iter().enumerate() {
        if s.session_pos == 0 || s.session_gap_ms.to_bits() != session_gap.to_bits() {
            session += 1;
            session_gap = s.session_gap_ms;
        }
        let t = s.target as usize;
        let fresh_after_failure = s.new_conn() && dropped.get(t).copied().unwrap_or(false);
        let refill = lost > 0 && !bad(i) && head(i);
        let counted = !explained[i] && (!fresh_after_failure || bad(i)) && !refill;
        if counted {
            let b = bad(i);
            match clock {
                Clock::ConnIdle => {
                    if let Some(idle) = conn_idle(ds, s) {
                        // Connections of one quiet period (one per target)
                        // that sat idle about as long are one period, as on
                        // the quiet clock: two targets must not make one bad
                        // gap look like two.
                        let same = sessions.last_mut().filter(|(f, p)| {
                            *f == session && (idle - p.gap).abs() <= SAME_PERIOD * p.gap.min(idle)
                        });
                        match same {
                            Some((_, p)) => {
                                if b {
                                    let gap = p.gap;
                                    p.bad.push((i, gap));
                                }
                            }
                            None => sessions.push((
                                session,
                                Point {
                                    gap: idle,
                                    bad: if b { vec![(i, idle)] } else { Vec::new() },
                                },
                            )),
                        }
                    }
                }
                Clock::Quiet | Clock::SinceSuccess if head(i) => {
                    let first = i - s.session_pos as usize;
                    let open = sessions.last().is_some_and(|(f, _)| *f == first);
                    if !open {
                        let gap = if chained(run_from) && last_success.is_finite() {
                            let first_start = ds.samples[first].start_s;
                            ((first_start - last_success) * 1000.0).max(s.session_gap_ms)
                        } else {
                            s.session_gap_ms
                        };
                        sessions.push((first, Point { gap, bad: Vec::new() }));
                    }
                    let point = &mut sessions.last_mut().expect("a session").1;
                    if b {
                        let gap = point.gap;
                        point.bad.push((i, gap));
                    }
                }
                _ => {}
            }
        }
        if !explained[i] {
            if bad(i) && head(i) {
                if run_from.is_none() {
                    run_from = Some(s.session_gap_ms);
                }
                lost += chained(run_from) as usize;
            } else if !bad(i) {
                lost = lost.saturating_sub(1);
            }
        }
        if let Some(d) = dropped.get_mut(t) {
            *d = s.failed() && !s.new_conn();
        }
        if s.ok() {
            run_from = None;
            if last_success.is_nan() || s.end_s > last_success {
                last_success = s.end_s;
            }
        }
    }
    sessions.into_iter().map(|(_, p)| p).collect()
}

/// The idle time (scenario ms) [`Clock::ConnIdle`] reads for `s`: none
/// for a new connection, nor for one reused inside a burst (idle for less
/// than a session's join): that clock cannot measure those probes.
pub fn conn_idle(ds: &Dataset, s: &Sample) -> Option<f64> {
    let idle = s.conn_idle_ms as f64;
    (!s.new_conn() && idle.is_finite() && idle >= SESSION_JOIN_REAL_MS * ds.scale).then_some(idle)
}

/// [`points`] on [`Clock::SinceSuccess`] for many values of `chain_from`
/// (`gaps.rs` tries up to 48): what does not depend on the edge (the
/// sessions, the dropped connections, the last success, where each run of
/// failures began) is worked out in one pass, and each edge then reads
/// only the first probes after a quiet period, not every probe again.
pub struct SinceSuccess {
    heads: Vec<Head>,
}

/// A first probe after a quiet period, not explained, with the state
/// [`points`] holds when it reaches it.
struct Head {
    i: usize,
    /// The session's first probe.
    first: usize,
    bad: bool,
    fresh_after_failure: bool,
    session_gap_ms: f64,
    /// Good probes inside bursts (not explained) since the previous head:
    /// each makes up for one lost connection.
    good_before: usize,
    /// Where the open run of failures began, before this probe.
    run_from: Option<f64>,
    /// Where it began after this probe (a bad head opens one).
    run_from_after: Option<f64>,
    /// The session's time since the last success (ms), if there was one.
    since_success_ms: Option<f64>,
}

impl SinceSuccess {
    pub fn new(
        ds: &Dataset,
        explained: &[bool],
        head: impl Fn(usize) -> bool,
        bad: impl Fn(usize) -> bool,
    ) -> Self {
        let mut dropped = vec![false; ds.targets.len()];
        let mut last_success = f64::NAN;
        let mut run_from: Option<f64> = None;
        let mut good_before = 0usize;
        let mut heads = Vec::new();
        for (i, s) in ds.samples.iter().enumerate() {
            let t = s.target as usize;
            if !explained[i] {
                let b = bad(i);
                if head(i) {
                    let first = i - s.session_pos as usize;
                    let before = run_from;
                    if b && run_from.is_none() {
                        run_from = Some(s.session_gap_ms);
                    }
                    heads.push(Head {
                        i,
                        first,
                        bad: b,
                        fresh_after_failure: s.new_conn() && dropped.get(t).copied().unwrap_or(false),
                        session_gap_ms: s.session_gap_ms,
                        good_before: std::mem::take(&mut good_before),
                        run_from: before,
                        run_from_after: run_from,
                        since_success_ms: last_success.is_finite().then(|| {
                            ((ds.samples[first].start_s - last_success) * 1000.0).max(s.session_gap_ms)
                        }),
                    });
                } else if !b {
                    good_before += 1;
                }
            }
            if let Some(d) = dropped.get_mut(t) {
                *d = s.failed() && !s.new_conn();
            }
            if s.ok() {
                run_from = None;
                if last_success.is_nan() || s.end_s > last_success {
                    last_success = s.end_s;
                }
            }
        }
        SinceSuccess { heads }
    }

    /// `points(…, Clock::SinceSuccess, chain_from, …)`, the same periods.
    pub fn points(&self, chain_from: f64) -> Vec<Point> {
        let chained = |run_from: Option<f64>| run_from.is_some_and(|g| g >= chain_from);
        let mut lost = 0usize;
        let mut sessions: Vec<(usize, Point)> = Vec::new();
        for h in &self.heads {
            lost = lost.saturating_sub(h.good_before);
            let refill = lost > 0 && !h.bad;
            if (!h.fresh_after_failure || h.bad) && !refill {
                let open = sessions.last().is_some_and(|(f, _)| *f == h.first);
                if !open {
                    let gap = match h.since_success_ms {
                        Some(ms) if chained(h.run_from) => ms,
                        _ => h.session_gap_ms,
                    };
                    sessions.push((h.first, Point { gap, bad: Vec::new() }));
                }
                let point = &mut sessions.last_mut().expect("a session").1;
                if h.bad {
                    let gap = point.gap;
                    point.bad.push((h.i, gap));
                }
            }
            if h.bad {
                lost += chained(h.run_from_after) as usize;
            } else {
                lost = lost.saturating_sub(1);
            }
        }
        sessions.into_iter().map(|(_, p)| p).collect()
    }
}

/// The quiet gaps (ms) that began a run of bad first probes, a run being
/// those with no success between them, as [`points`] reads them, one per
/// run, shortest first: the values of `chain_from` worth trying on
/// [`Clock::SinceSuccess`].
pub fn run_starts(
    ds: &Dataset,
    explained: &[bool],
    head: impl Fn(usize) -> bool,
    bad: impl Fn(usize) -> bool,
) -> Vec<f64> {
    let mut starts = Vec::new();
    let mut open = false;
    for (i, s) in ds.samples.iter().enumerate() {
        if !explained[i] && bad(i) && head(i) && !open {
            open = true;
            starts.push(s.session_gap_ms);
        }
        if s.ok() {
            open = false;
        }
    }
    starts.sort_by(f64::total_cmp);
    starts
}

/// The evidence line that names the clock a pattern follows, when it is
/// not the API's quiet time: which bad probes the quiet time would have
/// put below the step, and the age the chosen clock gives them.
/// `bad` holds each bad probe with its length on `clock`.
pub fn says(ds: &Dataset, clock: Clock, bad: &[(usize, f64)], hi_ms: f64) -> Option<String> {
    let early: Vec<&(usize, f64)> = bad
        .iter()
        .filter(|(i, _)| ds.samples[*i].session_gap_ms < hi_ms)
        .collect();
    let cases = |age: &dyn Fn(f64) -> String| {
        // One case per quiet period: a period's heads read the same.
        early
            .iter()
            .map(|(i, at)| {
                format!(
                    "{} after the API's previous request, {}",
                    human_ms(ds.samples[*i].session_gap_ms),
                    age(*at)
                )
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .take(3)
            .collect::<Vec<_>>()
            .join("; ")
    };
    match clock {
        Clock::Quiet => None,
        Clock::ConnIdle if early.is_empty() => Some(format!(
            "failures follow the connection's own idle time (conn.idle_ms), not the API's quiet time: every bad request came on a connection idle ≥ {}",
            human_ms(hi_ms)
        )),
        Clock::ConnIdle => Some(format!(
            "failures follow the connection's own idle time (conn.idle_ms), not the API's quiet time: {} of the {} bad requests came only {} (a pooled connection of the probe's own sat idle longer than the API was quiet: the timer is on the probe's connection — a direct backend, a NAT or conntrack on the client side)",
            early.len(),
            bad.len(),
            cases(&|at| format!("on a connection idle {}", human_ms(at)))
        )),
        Clock::SinceSuccess if early.is_empty() => Some(format!(
            "failures follow the time since the API last answered, not its quiet time: every bad request came ≥ {} after the last success",
            human_ms(hi_ms)
        )),
        Clock::SinceSuccess => Some(format!(
            "failures follow the time since the API last answered, not its quiet time: {} of the {} bad requests came right after a failure, only {} (a pool that hands out its most recently used connection first, as nginx's does, gets nothing back from a failed request: the next request meets another stale connection, idle since the last success)",
            early.len(),
            bad.len(),
            cases(&|at| format!("{} after the last success", human_ms(at)))
        )),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::diagnose::dataset::{Builder, Observation};
    use crate::probe::record::Phases;

    /// One target's probes: (start s, conn idle s or new, failed).
    pub(in crate::diagnose::detect) fn dataset(probes: &[(f64, Option<f64>, bool)]) -> Dataset {
        let mut b = Builder::new();
        for &(at, idle, failed) in probes {
            b.add(&Observation {
                target: "a",
                url: "http://a/",
                at: Some(UNIX_EPOCH + Duration::from_secs(1_000) + Duration::from_secs_f64(at)),
                total_ms: 20.0,
                phases: Phases {
                    connect: idle.is_none().then_some(1.0),
                    ttfb: Some(15.0),
                    ..Phases::default()
                },
                status: Some(if failed { 502 } else { 200 }),
                reused: idle.is_some(),
                conn_idle_ms: idle.map(|s| s * 1000.0),
                ..Default::default()
            });
        }
        b.build(1.0, None)
    }

    /// The periods on `clock`, every run of failures read as a pool's
    /// stale connections on the time since the last success.
    fn on(ds: &Dataset, clock: Clock) -> Vec<(f64, bool)> {
        on_from(ds, clock, 0.0)
    }

    fn on_from(ds: &Dataset, clock: Clock, chain_from_s: f64) -> Vec<(f64, bool)> {
        let explained = vec![false; ds.samples.len()];
        let head = |i: usize| ds.samples[i].session_gap_ms.is_finite();
        let bad = |i: usize| ds.samples[i].failed();
        let found = points(ds, &explained, clock, chain_from_s * 1000.0, head, bad);
        if clock == Clock::SinceSuccess {
            let swept = SinceSuccess::new(ds, &explained, head, bad).points(chain_from_s * 1000.0);
            assert_eq!(exact(&swept), exact(&found));
        }
        found
            .into_iter()
            .map(|p| ((p.gap / 1000.0).round(), !p.bad.is_empty()))
            .collect()
    }

    /// Points to the bit, for comparing two ways of finding them.
    fn exact(points: &[Point]) -> Vec<(u64, Vec<(usize, u64)>)> {
        points
            .iter()
            .map(|p| {
                (
                    p.gap.to_bits(),
                    p.bad.iter().map(|&(i, g)| (i, g.to_bits())).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_since_success_sweep_finds_the_points_of_every_edge() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(20);
        for _ in 0..200 {
            // Bursts and quiet gaps on two targets, failures of every kind
            // (some on new connections), some probes already explained.
            let mut b = Builder::new();
            let mut at = 0.0;
            for _ in 0..rng.random_range(1..120) {
                at += if rng.random_bool(0.3) {
                    rng.random_range(1.0..400.0)
                } else {
                    rng.random_range(0.01..0.5)
                };
                let reused = rng.random_bool(0.7);
                let failed = rng.random_bool(0.3);
                b.add(&Observation {
                    target: if rng.random_bool(0.5) { "a" } else { "b" },
                    url: "http://a/",
                    at: Some(UNIX_EPOCH + Duration::from_secs(1_000) + Duration::from_secs_f64(at)),
                    total_ms: 20.0,
                    phases: Phases {
                        connect: (!reused).then_some(1.0),
                        ttfb: Some(15.0),
                        ..Phases::default()
                    },
                    status: Some(if failed { 502 } else { 200 }),
                    reused,
                    conn_idle_ms: reused.then(|| rng.random_range(0.0..400_000.0)),
                    ..Default::default()
                });
            }
            let ds = b.build(1.0, None);
            let explained: Vec<bool> = ds.samples.iter().map(|_| rng.random_bool(0.1)).collect();
            let stalled: Vec<bool> = ds.samples.iter().map(|_| rng.random_bool(0.1)).collect();
            let head = |i: usize| super::super::gaps::is_head(&ds, &ds.samples[i]);
            let bad = |i: usize| ds.samples[i].failed() || stalled[i];
            let sweep = SinceSuccess::new(&ds, &explained, head, bad);
            let mut edges = run_starts(&ds, &explained, head, bad);
            edges.extend([0.0, f64::INFINITY, 1.0e9]);
            for chain_from in edges {
                assert_eq!(
                    exact(&sweep.points(chain_from)),
                    exact(&points(
                        &ds,
                        &explained,
                        Clock::SinceSuccess,
                        chain_from,
                        head,
                        bad
                    )),
                    "edge {chain_from}"
                );
            }
        }
    }

    #[test]
    fn each_clock_measures_the_idle_periods_its_own_way() {
        let ds = dataset(&[
            (0.0, None, false),
            (10.0, Some(10.0), false),
            // A long gap fails; 5 s later the pool's next connection,
            // idle since the start, fails too.
            (80.0, Some(70.0), true),
            (85.0, Some(200.0), true),
            // A new connection after the failure: evidence of nothing.
            (100.0, None, false),
            (130.0, Some(30.0), false),
            (160.0, Some(30.0), false),
        ]);
        assert_eq!(
            on(&ds, Clock::Quiet),
            [
                (10.0, false),
                (70.0, true),
                (5.0, true),
                (30.0, false),
                (30.0, false)
            ]
        );
        assert_eq!(
            on(&ds, Clock::ConnIdle),
            [
                (10.0, false),
                (70.0, true),
                (200.0, true),
                (30.0, false),
                (30.0, false)
            ]
        );
        assert_eq!(
            on(&ds, Clock::SinceSuccess),
            // Two failures cost the pool two connections: the two
            // successes after them (the first on a new connection) may
            // be fresh ones, evidence of nothing on this clock.
            [(10.0, false), (70.0, true), (75.0, true), (30.0, false)]
        );
    }

    #[test]
    fn on_the_since_success_clock_as_many_successes_as_failures_are_left_out() {
        // nginx's round robin over three backends, one target: three
        // failures in a row leave no backend a pooled connection, so the
        // next three requests open fresh ones, whatever their gaps (9 s
        // here, after which a pooled connection would have failed).
        let ds = dataset(&[
            (0.0, None, false),
            (1.0, Some(1.0), false),
            (9.0, Some(8.0), true),
            (14.0, Some(5.0), true),
            (15.0, Some(1.0), true),
            (22.0, Some(7.0), false),
            (23.0, Some(1.0), false),
            (32.0, Some(9.0), false),
            (33.0, Some(1.0), false),
        ]);
        assert_eq!(
            on(&ds, Clock::SinceSuccess),
            [
                (1.0, false),
                (8.0, true),
                (13.0, true),
                (14.0, true),
                (1.0, false)
            ]
        );
    }

    #[test]
    fn a_run_of_failures_begun_below_the_edge_keeps_its_quiet_times() {
        // An outage: four failures in a row after 6, 10, 18 and 28 s,
        // then successes. Since the last success they are 6, 16, 34 and
        // 62 s: a step that is only the outage's length.
        let ds = dataset(&[
            (0.0, None, false),
            (1.0, Some(1.0), false),
            (7.0, Some(6.0), true),
            (17.0, Some(10.0), true),
            (35.0, Some(18.0), true),
            (63.0, Some(28.0), true),
            (64.0, Some(1.0), false),
            (68.0, Some(4.0), false),
        ]);
        let starts = run_starts(
            &ds,
            &[false; 8],
            |i| ds.samples[i].session_gap_ms.is_finite(),
            |i| ds.samples[i].failed(),
        );
        assert_eq!(starts.len(), 1, "{starts:?}");
        assert_eq!((starts[0] / 1000.0).round(), 6.0, "{starts:?}");
        // Read as a pool's stale connections (begun at 6 s, inside a step
        // from 6 s): the gaps grow, and four successes are left out.
        assert_eq!(
            on_from(&ds, Clock::SinceSuccess, starts[0] / 1000.0),
            [
                (1.0, false),
                (6.0, true),
                (16.0, true),
                (34.0, true),
                (62.0, true)
            ]
        );
        // Begun below a step from 30 s: every probe at its quiet time.
        assert_eq!(on_from(&ds, Clock::SinceSuccess, 30.0), on(&ds, Clock::Quiet));
    }

    #[test]
    fn a_failure_on_a_new_connection_still_counts() {
        let ds = dataset(&[(0.0, None, false), (80.0, Some(80.0), true), (100.0, None, true)]);
        assert_eq!(on(&ds, Clock::Quiet), [(80.0, true), (20.0, true)]);
    }
}

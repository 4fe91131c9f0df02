//! One detector per cause id. Each is a pure function of the dataset (and
//! of which probes earlier detectors already explained) that returns at most
//! one finding. They run in a fixed order, from the most specific signature
//! (a 5 s DNS lookup, a stall only after quiet periods) to the most general
//! (errors), so that a probe is blamed on the narrowest cause that fits.

mod bad_path;
mod clock;
mod dns_timeout;
mod edge;
pub(crate) use edge::UNCHECKED_OPENING;
mod elb_metrics;
mod errors;
mod family;
pub mod gaps;
mod halves;
mod idle_timeout;
mod integration_timeout;
mod keepalive_race;
mod machine;
mod slow_backend;
mod slow_tls;
#[cfg(test)]
mod speculate_tests;
mod syn_loss;
mod vantage;
pub(crate) mod words;

use super::dataset::Dataset;
use super::evidence::AwsEvidence;
use super::finding::Finding;

/// A finding and the probes it accounts for.
#[derive(Debug, Clone)]
pub struct Detection {
    pub finding: Finding,
    pub explains: Vec<usize>,
}

impl Detection {
    pub fn new(finding: Finding, explains: Vec<usize>) -> Self {
        Detection { finding, explains }
    }
}

/// What every detector is given.
pub struct Input<'a> {
    pub ds: &'a Dataset,
    /// `explained[i]`: probe `i` is accounted for by an earlier finding.
    pub explained: &'a [bool],
    /// What X-Ray and CloudWatch said (`--xray`, `--cloudwatch`), if asked.
    pub aws: &'a AwsEvidence,
}

/// Client-side work (a resolver on loopback, the handshake's crypto) takes
/// a few real milliseconds that the lab's `--speed` does not compress but
/// the dataset scales all the same: at speed 100 a 3 ms handshake reads as
/// 300 ms. A phase counts as slow only above its floor in scenario time and
/// above this in real time; outside the lab (scale 1) the second always holds.
const CLIENT_NOISE_REAL_MS: f64 = 20.0;

/// `scenario_ms` is above `floor_ms` and not merely amplified client noise.
fn slower_than(ds: &Dataset, scenario_ms: f64, floor_ms: f64) -> bool {
    scenario_ms > floor_ms && ds.real_ms(scenario_ms) > CLIENT_NOISE_REAL_MS
}

type Detector = fn(&Input<'_>) -> Option<Detection>;

// The split for two threads (`detect_all_on`) falls after the idle ones.
const _: () = assert!(AFTER_IDLE < ELSEWHERE && ELSEWHERE < DETECTORS.len());

const DETECTORS: [Detector; 10] = [
    dns_timeout::detect,
    syn_loss::detect,
    slow_tls::detect,
    idle_timeout::detect,
    keepalive_race::detect,
    // After the idle detectors: a 504 only after long quiet periods is a
    // silent drop the gateway waited on, not a slow integration.
    integration_timeout::detect,
    bad_path::detect,
    slow_backend::detect,
    edge::detect,
    errors::detect,
];

/// Run every detector in order (and, when a target was probed over both IP
/// families, on each family by itself: `detect/family.rs`); with records
/// from several vantage points, say which of them see each finding
/// (`detect/vantage.rs`); most severe, most confident first.
pub fn run_all(ds: &Dataset, aws: &AwsEvidence) -> Vec<Finding> {
    let mut findings = vantage::compare(ds, family::split(ds, aws, detect_all(ds, aws)));
    findings.sort_by_key(|f| std::cmp::Reverse(f.rank()));
    findings
}

/// Every detector in order, at most one detection per cause, with the
/// probes each accounts for.
fn detect_all(ds: &Dataset, aws: &AwsEvidence) -> Vec<Detection> {
    detect_all_on(ds, aws, ds.samples.len() >= SPECULATE_FROM)
}

/// From this many probes the detectors after the idle ones run on two
/// threads (below, a thread costs more than it saves).
const SPECULATE_FROM: usize = 20_000;

/// Where the detectors after the idle ones are split: `DETECTORS[AFTER_IDLE
/// ..ELSEWHERE]` run on this thread, `DETECTORS[ELSEWHERE..]` on another.
/// The two groups cost about the same on a million records (bad_path and
/// keepalive_race here; slow_backend and edge there).
const AFTER_IDLE: usize = 4;
const ELSEWHERE: usize = 7;

/// [`detect_all`], with or without a second thread: the same detections.
///
/// A detector reads the probes earlier ones explained, so the order holds
/// the answer. With `speculate`, once the idle detectors are done the
/// detectors from [`ELSEWHERE`] on are run in order on a second thread
/// beside those before them, from the probes explained so far; their
/// detections are kept only when the ones before them explained no probe
/// that was not already explained (then each saw exactly what it would
/// have seen in turn), and otherwise thrown away and run again here.
fn detect_all_on(ds: &Dataset, aws: &AwsEvidence, speculate: bool) -> Vec<Detection> {
    let mut explained = vec![false; ds.samples.len()];
    let mut found: Vec<Detection> = Vec::new();
    let run = |detect: Detector, explained: &[bool]| detect(&Input { ds, explained, aws });
    let mut next = 0;
    while next < DETECTORS.len() {
        if speculate && next == AFTER_IDLE {
            // Each group in order on its own copy of what is explained.
            let in_turn = |group: &[Detector]| {
                let mut explained = explained.clone();
                let mut changed = false;
                let detections: Vec<_> = group
                    .iter()
                    .map(|&d| {
                        let d = run(d, &explained);
                        if let Some(d) = &d {
                            changed |= mark(&mut explained, &d.explains);
                        }
                        d
                    })
                    .collect();
                (detections, changed)
            };
            let ((theirs, _), (mine, changed)) = crate::diagnose::both::both(
                || in_turn(&DETECTORS[ELSEWHERE..]),
                || in_turn(&DETECTORS[AFTER_IDLE..ELSEWHERE]),
            );
            for d in mine {
                keep(&mut found, &mut explained, d);
            }
            if changed {
                next = ELSEWHERE;
                continue;
            }
            for d in theirs {
                keep(&mut found, &mut explained, d);
            }
            break;
        }
        let d = run(DETECTORS[next], &explained);
        keep(&mut found, &mut explained, d);
        next += 1;
    }
    elb_metrics::join(ds, aws, &mut found);
    found
}

/// Mark the probes a detection explains; whether any was not already.
fn mark(explained: &mut [bool], explains: &[usize]) -> bool {
    let mut changed = false;
    for &i in explains {
        changed |= !explained[i];
        explained[i] = true;
    }
    changed
}

/// A detector's answer taken in turn: its probes explained, and the
/// detection kept unless its cause was already found.
fn keep(found: &mut Vec<Detection>, explained: &mut [bool], d: Option<Detection>) {
    if let Some(d) = d {
        mark(explained, &d.explains);
        if !found.iter().any(|f| f.finding.cause == d.finding.cause) {
            found.push(d);
        }
    }
}

/// A finding this confident, at warning or above, settles a plan early:
/// sending the rest would only repeat it.
pub const CONCLUSIVE: f64 = 0.8;

/// The cause the records already show beyond doubt, if any: the plan that
/// produced them can stop (see `commands::diagnose`).
pub fn conclusive(ds: &Dataset) -> Option<crate::diagnose::Finding> {
    run_all(ds, &AwsEvidence::default())
        .into_iter()
        .find(|f| f.severity >= crate::diagnose::Severity::Warning && f.confidence >= CONCLUSIVE)
}

/// Target names of the given probes.
pub fn target_names(ds: &Dataset, idx: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut seen = vec![false; ds.targets.len()];
    for i in idx {
        seen[ds.samples[i].target as usize] = true;
    }
    ds.targets
        .iter()
        .zip(seen)
        .filter(|(_, s)| *s)
        .map(|(t, _)| t.name.clone())
        .collect()
}

/// `confidence` raised by AWS evidence, at most 0.95, to two decimals (so
/// that 0.85 + 0.05 reads 0.9 in JSON, not 0.9000000000000001).
pub fn raise(confidence: f64, by: f64) -> f64 {
    ((confidence + by).min(0.95) * 100.0).round() / 100.0
}

/// `12/40 (30 %)`.
pub fn ratio(part: usize, whole: usize) -> String {
    format!("{part}/{whole} ({})", percent(part, whole))
}

/// `30 %`: the share [`ratio`] shows, alone.
pub fn percent(part: usize, whole: usize) -> String {
    format!("{:.0} %", super::num::frac(part, whole) * 100.0)
}

/// What records say about an idle timer on the path: the longest quiet
/// gap the path stayed fast after, and the shortest it went cold after (ms
/// of the dataset's time: real time for stored records).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleTimer {
    pub fast_after_ms: f64,
    pub cold_after_ms: f64,
}

/// The idle timer the records show, found the way `idle-timeout` finds it
/// (every first probe after a gap from some length up failed or stalled);
/// `None` when none shows. What `keepwarm` checks its interval against.
///
/// Whichever clock the step follows (`gaps::analyse`), both numbers are an
/// idle time, which a ping every so often keeps short: the API's quiet
/// time, or the connection's own (`conn.idle_ms`); on the clock of the
/// time since the API last answered, the quiet time too. That clock only
/// decides which periods count (the ones right after an idle failure, on
/// the pool's next stale connection, go into the step); the periods at
/// the step's edges keep their quiet time, never an outage's length.
pub fn idle_timer(ds: &Dataset) -> Option<IdleTimer> {
    let explained = vec![false; ds.samples.len()];
    let input = Input {
        ds,
        explained: &explained,
        aws: &AwsEvidence::default(),
    };
    gaps::analyse(&input, gaps::Bad::FailedOrStalled)
        .filter(|p| p.shape == gaps::Shape::Step)
        .map(|p| IdleTimer {
            fast_after_ms: p.lo_ms,
            cold_after_ms: p.hi_ms,
        })
}

#[cfg(test)]
mod tests {
    use super::clock::tests::dataset;
    use super::*;

    /// (fast after, cold after) in whole seconds.
    fn timer_s(ds: &Dataset) -> Option<(f64, f64)> {
        idle_timer(ds).map(|t| {
            (
                (t.fast_after_ms / 1000.0).round(),
                (t.cold_after_ms / 1000.0).round(),
            )
        })
    }

    #[test]
    fn the_idle_timer_is_an_idle_time_on_every_clock() {
        // The kernel lab's idle-timeout-one-path, in short: a 5 s timer
        // behind nginx's round robin. 8 s fails; 1 s and 5 s after it meet
        // the pool's next stale connections and fail; three requests go
        // out on fresh ones (1 s, 7 s, 1 s); 9 s fails.
        let (ok, bad) = (false, true);
        let mut probes = vec![(0.0, None, ok)];
        let mut at = 0.0;
        let gaps = [1.0, 3.0, 1.0, 3.0, 1.0, 3.0, 8.0, 1.0, 5.0, 1.0, 7.0, 1.0, 9.0];
        let failed = [ok, ok, ok, ok, ok, ok, bad, bad, bad, ok, ok, ok, bad];
        for (gap, failed) in gaps.into_iter().zip(failed) {
            at += gap;
            probes.push((at, Some(gap), failed));
        }
        let ds = dataset(&probes);
        let explained = vec![false; ds.samples.len()];
        let input = Input {
            ds: &ds,
            explained: &explained,
            aws: &AwsEvidence::default(),
        };
        let p = gaps::analyse(&input, gaps::Bad::FailedOrStalled).expect("a step");
        assert_eq!(p.clock, clock::Clock::SinceSuccess);
        // Its bounds are quiet gaps the records hold (3 s clean, 8 s
        // failed), not a length since the last success (14 s); the 7 s
        // success, on a fresh connection, is left out.
        assert_eq!(timer_s(&ds), Some((3.0, 8.0)));
    }

    /// A lab run of `errors` (the app answers 500 at random), the plan's
    /// burst on new connections at 10 a second: the custom domain's 500s
    /// came after the slightly longer gaps (a fast probe to the other
    /// target before them), 95 ms against 85–90 ms. They were named an
    /// idle timer "between 90 ms and 95 ms"; an application's 500 is no
    /// lost connection.
    #[test]
    fn an_apps_500s_after_the_longer_gaps_of_a_burst_are_errors_not_a_timer() {
        use crate::probe::record::Phases;
        use crate::probe::{ErrorKind, Phase};
        use crate::records::Observation;
        use std::time::{Duration, UNIX_EPOCH};
        // (target, start ms, total ms, status) as the records had them.
        let probes = [
            ("execute-api", 0, 10.8, 200),
            ("custom-domain", 100, 11.9, 200),
            ("execute-api", 200, 5.0, 200),
            ("custom-domain", 300, 10.0, 500),
            ("execute-api", 400, 5.9, 200),
            ("custom-domain", 502, 15.9, 500),
            ("execute-api", 600, 4.5, 200),
            ("custom-domain", 700, 10.8, 500),
        ];
        let verdict = |status_of_failure: u16| {
            let mut b = crate::diagnose::dataset::Builder::new();
            for &(target, at, total_ms, status) in &probes {
                let status = if status == 500 { status_of_failure } else { status };
                b.add(&Observation {
                    target,
                    url: "http://a/",
                    at: Some(UNIX_EPOCH + Duration::from_secs(1_000) + Duration::from_millis(at)),
                    total_ms,
                    phases: Phases {
                        connect: Some(0.1),
                        ttfb: Some(total_ms - 1.0),
                        ..Phases::default()
                    },
                    status: Some(status),
                    error: (status >= 500).then_some((ErrorKind::Status, Phase::Ttfb)),
                    ..Default::default()
                });
            }
            let ds = b.build(1.0, None);
            run_all(&ds, &AwsEvidence::default())
                .into_iter()
                .map(|f| f.cause)
                .collect::<Vec<_>>()
        };
        let causes = verdict(500);
        assert_eq!(
            causes.first(),
            Some(&crate::diagnose::Cause::Errors),
            "{causes:?}"
        );
        assert!(
            !causes.contains(&crate::diagnose::Cause::IdleTimeout),
            "{causes:?}"
        );
        // A 503 is the application's too.
        assert!(!verdict(503).contains(&crate::diagnose::Cause::IdleTimeout));
    }

    #[test]
    fn an_outage_shows_no_idle_timer() {
        // Four failures in a row at growing gaps, clean gaps around them:
        // 6, 16, 34 and 62 s since the last success, but no step.
        let (ok, bad) = (false, true);
        let gaps = [
            1.0, 3.0, 8.0, 15.0, 25.0, 1.0, 5.0, 12.0, 20.0, 30.0, 2.0, 6.0, 10.0, 18.0, 28.0, 1.0, 4.0, 9.0,
            16.0, 26.0,
        ];
        let mut probes = vec![(0.0, None, ok)];
        let mut at = 0.0;
        for (k, gap) in gaps.into_iter().enumerate() {
            at += gap;
            probes.push((at, Some(gap), if (11..=14).contains(&k) { bad } else { ok }));
        }
        assert_eq!(timer_s(&dataset(&probes)), None);
    }
}

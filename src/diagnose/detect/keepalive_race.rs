//! `keepalive-race`: the side behind closes an idle keep-alive connection
//! just as the side in front reuses it; the request meets the close and
//! fails. Two routes to it:
//!
//! - by the quiet gap: failures cluster after gaps slightly longer than T —
//!   and stop again for longer gaps, where the close is complete and the
//!   upstream reconnects. On an ALB path a window near the ALB's idle
//!   timeout (60 s by default) is the ALB closing the gateway's idle
//!   connection with a FIN (the gateway → ALB leg);
//! - by the ALB's own 502 pages (`server: awselb/2.0`): a target whose
//!   keep-alive is shorter than the ALB's idle timeout (Node's 5 s against
//!   60 s) closes connections the ALB still reuses. The ALB's target
//!   connections are shared with all other traffic, so the failures need
//!   no quiet gap of the client's: a fast 502 on a fraction of requests.

use super::clock;
use super::gaps::{analyse, is_head, matching_timers, Bad, GapPattern, Shape};
use super::words::{ALB_IDLE_MS, ALB_IDLE_RAISE_FIX, TARGET_KEEPALIVE_FIX, TARGET_REFUSED_FIX};
use super::{percent, ratio, target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{frac, median, sorted};
use crate::diagnose::PathKind;
use crate::format::human_ms;

const FIX_NLB: &[&str] = &[
    "Make the side that reuses connections give up first: the backend's keep-alive timeout (nginx `keepalive_timeout`, the app server's idle timeout) longer than the upstream's idle reuse window, and still below the NLB idle timeout: gateway reuse window < backend keep-alive < NLB idle timeout.",
    "In nginx as the upstream client, `keepalive_timeout` in the `upstream` block shorter than the app's own idle timeout.",
    "Retry idempotent requests once on a reset or 502; watch `TCP_Target_Reset_Count` on the NLB.",
];

const FIX_ALB: &[&str] = &[
    ALB_IDLE_RAISE_FIX,
    TARGET_KEEPALIVE_FIX,
    "Retry idempotent requests once on a 502; watch `HTTPCode_ELB_502_Count` on the ALB.",
];

const FIX_UNKNOWN: &[&str] = &[
    "Make the side that reuses connections give up first: the backend's keep-alive timeout longer than the upstream's idle reuse window. Behind an NLB keep it below the NLB's idle timeout (`tcp.idle_timeout.seconds`, 350 s by default); behind an ALB the ALB's own idle timeout (`idle_timeout.timeout_seconds`, 60 s by default) closes the gateway's idle connections with a FIN: raise it above the longest quiet gap.",
    "Retry idempotent requests once on a reset or 502; watch `TCP_Target_Reset_Count` on an NLB, `HTTPCode_ELB_502_Count` on an ALB.",
];

/// The last fix of the ALB's own 502 pages, whatever their mechanism.
const RETRY_502: &str = "Retry idempotent requests once on a 502; `HTTPCode_ELB_502_Count` against `HTTPCode_Target_5XX_Count` on the ALB tells its own 502s from the targets'.";

/// nginx's upstream `keepalive_timeout` by default: a gateway pool that
/// closes its own idle connections at it serves the next request fresh.
const POOL_TIMER_MS: f64 = 60_000.0;

/// Pages in at least this many quarters of the run are spread over it
/// (a short target keep-alive); fewer, concentrated (a target going away).
const SPREAD_QUARTERS: usize = 3;

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    alb_pages(input).or_else(|| gap_window(input))
}

/// The ALB answered 502 itself on a fraction of requests.
fn alb_pages(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let pages: Vec<usize> = (0..ds.samples.len())
        .filter(|&i| !input.explained[i] && ds.samples[i].alb_answered && ds.samples[i].status == 502)
        .collect();
    let failed = (0..ds.samples.len())
        .filter(|&i| !input.explained[i] && ds.samples[i].failed())
        .count();
    // Two pages at least (one is a reconnect's bad luck), and most of the
    // failures: otherwise another cause owns them.
    if pages.len() < 2 || pages.len() * 2 < failed {
        return None;
    }
    let n = ds.samples.len();
    let totals = sorted(pages.iter().map(|&i| ds.samples[i].total_ms));
    let took = median(&totals);
    let fast = pages
        .iter()
        .all(|&i| !ds.is_slow(&ds.samples[i]) || ds.samples[i].total_ms < 1_000.0);
    // Heads meet connections idle for the client's whole gap; the others
    // are inside bursts. Pages among both: no gap of the client's needed.
    let heads: Vec<usize> = (0..n)
        .filter(|&i| !input.explained[i] && is_head(ds, &ds.samples[i]))
        .collect();
    let warm_n = (0..n)
        .filter(|&i| !input.explained[i] && !is_head(ds, &ds.samples[i]))
        .count();
    let head_pages = pages.iter().filter(|&&i| is_head(ds, &ds.samples[i])).count();
    let warm_pages = pages.len() - head_pages;
    let independent = warm_pages >= 1 && frac(warm_pages, warm_n) >= 0.3 * frac(head_pages, heads.len());
    // A target whose keep-alive is short loses races all run long; one that
    // went away (a deploy, a crash) or failed TLS gives pages in a window.
    let spread = quarters(ds, &pages) >= SPREAD_QUARTERS;
    let mut confidence: f64 = 0.75;
    if pages.len() >= 3 {
        confidence += 0.1;
    }
    if fast && independent {
        confidence += 0.05;
    }
    if !spread {
        confidence = confidence.min(0.6);
    }
    let severity = if frac(pages.len(), n) >= 0.05 || pages.len() >= 5 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let f = Finding::new(
        Cause::KeepaliveRace,
        severity,
        confidence,
        format!(
            "The ALB answered 502 itself on {} of requests{}: a target closed or refused the connection the ALB sent them on ({})",
            percent(pages.len(), n),
            if fast { format!(", fast ({})", human_ms(took)) } else { String::new() },
            if spread {
                "spread over the run: a target keep-alive shorter than the ALB's idle timeout; or a target refusing connections"
            } else {
                "in part of the run only: a target going away or refusing connections; or a target keep-alive shorter than the ALB's idle timeout"
            }
        ),
    )
    .evidence(format!(
        "{} answers were the ALB's own 502 page (`server: awselb/…`), taking {} (median; {}–{})",
        ratio(pages.len(), n),
        human_ms(took),
        human_ms(totals[0]),
        human_ms(totals[totals.len() - 1])
    ))
    .evidence(format!(
        "{} of the first probes after a pause (20 ms or more, real time: after a quiet gap or between new connections), {} of the later probes in a burst{}",
        ratio(head_pages, heads.len()),
        ratio(warm_pages, warm_n),
        if independent {
            ": independent of the client's pauses (the ALB shares its target connections with all other traffic)"
        } else {
            ""
        }
    ))
    .evidence(format!(
        "in {} of the run's 4 quarters: {}",
        quarters(ds, &pages),
        if spread {
            "spread over the run, as a short target keep-alive gives"
        } else {
            "concentrated, as a target going away or refusing connections gives"
        }
    ))
    .evidence("a fast 502 from the ALB, not the target's status: the target closed, reset or refused the connection the ALB sent the request on, or its TLS handshake failed; the access log shows `target_processing_time -1`")
    .fixes(&if spread {
        [TARGET_KEEPALIVE_FIX, TARGET_REFUSED_FIX, RETRY_502]
    } else {
        [TARGET_REFUSED_FIX, TARGET_KEEPALIVE_FIX, RETRY_502]
    })
    .targets(target_names(ds, pages.iter().copied()));
    Some(Detection::new(f, pages))
}

/// In how many quarters of the run (by start time) the probes fall.
fn quarters(ds: &crate::diagnose::Dataset, probes: &[usize]) -> usize {
    let starts = ds.samples.iter().map(|s| s.start_s);
    let (lo, hi) = starts.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
        (a.min(t), b.max(t))
    });
    if (hi - lo).is_nan() || hi - lo <= 0.0 {
        return 1;
    }
    let q: std::collections::BTreeSet<usize> = probes
        .iter()
        .map(|&i| (((ds.samples[i].start_s - lo) / (hi - lo) * 4.0) as usize).min(3))
        .collect();
    q.len()
}

/// Failures only after quiet gaps in a window just above a timer.
fn gap_window(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    // A race ends in a failure (a reset, the gateway's 502), not a stall:
    // only failures count as bad here.
    let p = analyse(input, Bad::Failed)?;
    let Shape::Window { beyond_ms } = p.shape else {
        return None;
    };
    let kind = ds.path_kind(p.bad.iter().map(|&i| ds.samples[i].target));
    let timers = matching_timers(p.lo_ms, p.hi_ms, kind);
    let mut confidence: f64 = 0.75;
    if p.inside.0 >= 3 {
        confidence += 0.1;
    }
    if p.set_aside > 0 {
        confidence = confidence.min(GapPattern::SET_ASIDE_CONFIDENCE);
    }
    let severity = if p.inside.0 == 1 {
        confidence = confidence.min(0.6);
        Severity::Warning
    } else {
        Severity::Critical
    };
    // The ALB closes the gateway's idle connections at its idle timeout:
    // a window there, failures not the ALB's own pages.
    let alb_leg = kind == PathKind::Alb
        && super::gaps::fits(p.lo_ms, p.hi_ms, ALB_IDLE_MS)
        && p.bad.iter().all(|&i| !ds.samples[i].alb_answered);
    let title = if alb_leg {
        format!(
            "Requests after {} idle fail, before and after that they succeed: the ALB closes the gateway's idle connection at its idle timeout ({} by default) as the gateway reuses it",
            span(p.hi_ms, p.max_bad_ms),
            human_ms(ALB_IDLE_MS)
        )
    } else {
        format!(
            "Requests after {} idle fail, before and after that they succeed: a keep-alive race near {}",
            span(p.hi_ms, p.max_bad_ms),
            human_ms(p.hi_ms)
        )
    };
    let mut f = Finding::new(Cause::KeepaliveRace, severity, confidence, title)
        .evidence(format!(
            "after {}/{} {} of {} the first requests failed (a reset, or the gateway's 502)",
            p.inside.0,
            p.inside.1,
            p.clock.periods(),
            span(p.hi_ms, p.max_bad_ms)
        ))
        .evidence(format!(
            "they failed after {}/{} periods ≤ {}, and {}/{} periods ≥ {}",
            p.below.0,
            p.below.1,
            human_ms(p.lo_ms),
            p.beyond.0,
            p.beyond.1,
            human_ms(beyond_ms)
        ))
        .fixes(match kind {
            PathKind::Alb => FIX_ALB,
            PathKind::Nlb => FIX_NLB,
            _ => FIX_UNKNOWN,
        })
        .targets(target_names(ds, p.bad.iter().copied()));
    if let Some(line) = clock::says(ds, p.clock, &p.bad_at, p.hi_ms) {
        f = f.evidence(line);
    }
    if let Some(line) = p.set_aside_line() {
        f = f.evidence(line);
    }
    if super::gaps::fits(p.max_bad_ms, beyond_ms, POOL_TIMER_MS) {
        f = f.evidence(format!(
            "the failures stop between {} and {}, where a pool that closes idle connections itself (nginx upstream `keepalive_timeout`, 60 s by default) opens fresh ones: an idle timer cut short by that pool looks the same; repeat the gaps on both sides of {} to tell them apart",
            human_ms(p.max_bad_ms),
            human_ms(beyond_ms),
            human_ms(POOL_TIMER_MS)
        ));
    }
    if alb_leg {
        f = f.evidence("on the gateway → ALB leg: the ALB is a proxy and closes an idle connection with a FIN (`idle_timeout.timeout_seconds`, 60 s by default), so the race costs a fast failure, not a stall");
    }
    if !timers.is_empty() {
        f = f.evidence(format!("the close lands near {}", timers.join("; or ")));
    }
    // The close lies between the longest gap that was fine and the
    // shortest that failed: what `--aws-config` compares with the timers.
    f.measured.timer_ms = Some([p.lo_ms, p.hi_ms]);
    Some(Detection::new(f, p.bad))
}

/// `65 s` or `65–80 s`.
fn span(lo: f64, hi: f64) -> String {
    if hi <= lo * 1.1 {
        format!("~{}", human_ms(lo))
    } else {
        format!("{}–{}", human_ms(lo), human_ms(hi))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::diagnose::dataset::{Builder, Observation};
    use crate::diagnose::evidence::AwsEvidence;
    use crate::probe::record::Phases;

    /// 80 probes, one a second; those in `pages` the ALB's own 502 page.
    fn run(pages: &[usize]) -> Detection {
        let mut b = Builder::new();
        for i in 0..80 {
            let page = pages.contains(&i);
            b.add(&Observation {
                target: "a",
                url: "http://a/",
                at: Some(UNIX_EPOCH + Duration::from_secs(6_000 + i as u64)),
                total_ms: 20.0,
                phases: Phases {
                    ttfb: Some(15.0),
                    ..Phases::default()
                },
                status: Some(if page { 502 } else { 200 }),
                alb_answered: page,
                ..Default::default()
            });
        }
        let ds = b.build(1.0, None);
        let explained = vec![false; ds.samples.len()];
        let aws = AwsEvidence::default();
        alb_pages(&Input {
            ds: &ds,
            explained: &explained,
            aws: &aws,
        })
        .expect("a finding")
    }

    #[test]
    fn pages_spread_over_the_run_are_a_short_keep_alive_first() {
        let d = run(&[3, 25, 47, 70]);
        let f = &d.finding;
        assert!(f.confidence > 0.6, "{}", f.confidence);
        assert_eq!(f.fix[0], TARGET_KEEPALIVE_FIX);
        assert!(f.title.contains("% of requests"), "{}", f.title);
        assert!(f.title.contains("refusing"), "{}", f.title);
    }

    #[test]
    fn pages_in_one_window_are_a_target_going_away_first_and_capped() {
        let d = run(&[40, 41, 42, 43, 44]);
        let f = &d.finding;
        assert!(f.confidence <= 0.6, "{}", f.confidence);
        assert_eq!(f.fix[0], TARGET_REFUSED_FIX);
        assert!(f.title.contains("keep-alive shorter"), "{}", f.title);
        let fixes: std::collections::BTreeSet<&String> = f.fix.iter().collect();
        assert_eq!(fixes.len(), f.fix.len(), "no fix twice");
    }
}

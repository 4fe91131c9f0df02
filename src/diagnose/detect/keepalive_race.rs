//! `keepalive-race`: the backend closes an idle keep-alive connection at T
//! just as the upstream reuses it; the request meets the close and fails.
//! Failures cluster after gaps slightly longer than T — and stop again for
//! longer gaps, where the close is complete and the upstream reconnects.

use super::gaps::{analyse, matching_timers, Bad, Shape};
use super::{target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::format::human_ms;

const FIX: &[&str] = &[
    "Make the side that reuses connections give up first: the backend's keep-alive timeout (nginx `keepalive_timeout`, the app server's idle timeout) longer than the upstream's idle reuse window, and still below the NLB idle timeout: gateway reuse window < backend keep-alive < NLB idle timeout.",
    "In nginx as the upstream client, `keepalive_timeout` in the `upstream` block shorter than the app's own idle timeout.",
    "Retry idempotent requests once on a reset or 502; watch `TCP_Target_Reset_Count` on the NLB.",
];

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    // A race ends in a failure (a reset, the gateway's 502), not a stall:
    // only failures count as bad here.
    let p = analyse(input, Bad::Failed)?;
    let Shape::Window { beyond_ms } = p.shape else {
        return None;
    };
    let timers = matching_timers(p.lo_ms, p.hi_ms);
    let mut confidence: f64 = 0.75;
    if p.inside.0 >= 3 {
        confidence += 0.1;
    }
    let severity = if p.inside.0 == 1 {
        confidence = confidence.min(0.6);
        Severity::Warning
    } else {
        Severity::Critical
    };
    let mut f = Finding::new(
        Cause::KeepaliveRace,
        severity,
        confidence,
        format!(
            "Requests after {} idle fail, before and after that they succeed: a keep-alive race near {}",
            span(p.hi_ms, p.max_bad_ms),
            human_ms(p.hi_ms)
        ),
    )
    .evidence(format!(
        "after {}/{} quiet periods of {} the first requests failed (a reset, or the gateway's 502)",
        p.inside.0,
        p.inside.1,
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
    .fixes(FIX)
    .targets(target_names(ds, p.bad.iter().copied()));
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

//! `idle-timeout`: a timer on the path forgets connections that sat unused
//! longer than T. Probes after a quiet gap longer than T stall (a silent
//! drop, then retransmits and a retry) or fail (a reset met by the gateway);
//! after shorter gaps, and inside bursts, they are fine. The step in
//! latency against the gap estimates T; T near 60, 75 or 350 s names the timer.

use super::gaps::{analyse, matching_timers, Bad, Shape};
use super::{target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::human_ms;

const FIX: &[&str] = &[
    "Order the timers so that the side behind the NLB closes idle connections first: nginx `keepalive_timeout` (and the app's) below the NLB idle timeout, e.g. 300 s < 350 s; the full order is gateway reuse window < backend keep-alive < NLB idle timeout. A closed connection ends with a FIN the gateway sees; a forgotten one is a silent drop it finds only by stalling.",
    "Or raise the idle timeout that fires: an NLB TCP listener's idle timeout can be set from 60 to 6000 s (TLS listeners stay at 350 s).",
    "A keep-warm ping more often than T (`coldlink keepwarm --interval …`) hides it for the connections it happens to use; it is not a fix.",
];

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let p = analyse(input, Bad::FailedOrStalled)?;
    if p.shape != Shape::Step {
        return None;
    }
    let timers = matching_timers(p.lo_ms, p.hi_ms);
    let timer = match timers.as_slice() {
        [] => format!(
            "an unknown timer between {} and {}",
            human_ms(p.lo_ms),
            human_ms(p.hi_ms)
        ),
        names => format!(
            "a timer between {} and {} — {}",
            human_ms(p.lo_ms),
            human_ms(p.hi_ms),
            names.join("; or ")
        ),
    };
    let what = if p.failed * 2 >= p.bad.len() {
        "fail".to_string()
    } else {
        format!("stall for {}", human_ms(p.stall_ms))
    };
    let mut confidence: f64 = 0.55;
    if p.inside.0 >= 3 {
        confidence += 0.15;
    }
    if !timers.is_empty() {
        confidence += 0.1;
    }
    let contrast =
        crate::diagnose::num::frac(p.inside.0, p.inside.1) - crate::diagnose::num::frac(p.below.0, p.below.1);
    if contrast >= 0.8 {
        confidence += 0.1;
    }
    let severity = if p.inside.0 == 1 {
        // One probe is a strong hint, not yet a proof.
        confidence = confidence.min(0.6);
        Severity::Warning
    } else if p.failed > 0 || p.stall_ms >= 1_000.0 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut f = Finding::new(
        Cause::IdleTimeout,
        severity,
        confidence,
        format!("Requests after ≥ {} idle {what}: {timer}", human_ms(p.hi_ms)),
    )
    .evidence(format!(
        "after {}/{} quiet periods ≥ {} the first requests were slow or failed; after {}/{} periods ≤ {}",
        p.inside.0,
        p.inside.1,
        human_ms(p.hi_ms),
        p.below.0,
        p.below.1,
        human_ms(p.lo_ms)
    ))
    .fixes(FIX)
    .targets(target_names(ds, p.bad.iter().copied()));
    if p.warm.1 > 0 {
        f = f.evidence(format!(
            "inside bursts (no quiet gap) {}/{} were slow or failed",
            p.warm.0, p.warm.1
        ));
    }
    // A silent drop the gateway does not give up on ends in its 504.
    let gave_up = p.bad.iter().filter(|&&i| ds.samples[i].status == 504).count();
    if p.failed > gave_up {
        f = f.evidence(format!(
            "{} failed (a reset connection: the gateway answers 502 unless it retries)",
            p.failed - gave_up
        ));
    }
    if gave_up > 0 {
        f = f.evidence(format!(
            "{gave_up} ended in a 504: the gateway waited on a silently dropped connection until its integration timeout"
        ));
    }
    if p.stall_ms.is_finite() {
        f = f.evidence(format!(
            "the slow ones took {} longer than usual (a silent drop: retransmits, then a new connection)",
            human_ms(p.stall_ms)
        ));
    }
    if p.inside.0 == 1 {
        f = f.evidence("one probe only: repeat the sweep (or its longest gap) to confirm");
    }
    if let Some(cw) = &input.aws.cloudwatch {
        f = with_cloudwatch(f, cw);
    }
    Some(Detection::new(f, p.bad))
}

/// The NLB's reset counts in the minutes of the slow probes: resets there
/// name the NLB (or a target behind it) as the one that forgot the flow;
/// none, with data, point at a timer elsewhere or at a silent drop.
fn with_cloudwatch(mut f: Finding, cw: &crate::diagnose::cloudwatch::CloudWatchEvidence) -> Finding {
    let has_reset_data = cw
        .metrics
        .iter()
        .any(|m| m.name.ends_with("_Reset_Count") && !m.values.is_empty());
    if !has_reset_data {
        return f;
    }
    let r = cw.resets();
    if r.in_slow_minutes > 0.0 {
        f.confidence = (f.confidence + 0.05).min(0.95);
        f.evidence.push(format!(
            "CloudWatch: the NLB counted resets in {} of the slow probes' minute(s) ({}); {} in the run's other minutes",
            r.slow_minutes,
            r.describe(),
            r.elsewhere
        ));
    } else {
        f.evidence.push(
            "CloudWatch: the NLB counted no resets in the slow probes' minutes: the timer that fired drops silently, or is not the NLB's (nginx keepalive_timeout, the target's conntrack, a NAT)"
                .to_string(),
        );
    }
    f
}

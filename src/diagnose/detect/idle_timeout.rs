//! `idle-timeout`: a timer on the path forgets connections that sat unused
//! longer than T. Probes after a quiet gap longer than T stall (a silent
//! drop, then retransmits and a retry) or fail (a reset met by the gateway);
//! after shorter gaps, and inside bursts, they are fine. The step in
//! latency against the gap estimates T; T near 60, 75 or 350 s names the timer.

use std::collections::BTreeSet;

use super::clock;
use super::gaps::{analyse, matching_timers, Bad, GapPattern, Shape};
use super::{target_names, Detection, Input};
use crate::diagnose::cloudwatch::CloudWatchEvidence;
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::PathKind;
use crate::format::human_ms;

const FIX_NLB: &[&str] = &[
    "Order the timers so that the side behind the NLB closes idle connections first: nginx `keepalive_timeout` (and the app's) below the NLB idle timeout, e.g. 300 s < 350 s; the full order is gateway reuse window < backend keep-alive < NLB idle timeout. A closed connection ends with a FIN the gateway sees; a forgotten one is a silent drop it finds only by stalling.",
    "Or raise the idle timeout that fires: an NLB TCP listener's idle timeout can be set from 60 to 6000 s (TLS listeners stay at 350 s).",
    KEEP_WARM,
];

const FIX_ALB: &[&str] = &[
    "An ALB closes a connection idle past its idle timeout (`idle_timeout.timeout_seconds`, 60 s by default) with a FIN: it does not forget it silently, so a stall after quiet periods on an ALB path is not the ALB's idle timer. Look for a timer that drops silently: a NAT gateway on the client side (350 s), conntrack or Nitro connection tracking on a host (350 s), the target's host or its firewall.",
    "Order the timers so that the side that closes does it first, and all below any silent 350 s timer on the way; the ALB's client keep-alive (`client_keep_alive.seconds`, 3600 s) only reconnects gracefully.",
    super::words::TARGET_KEEPALIVE_FIX,
    KEEP_WARM,
];

const FIX_CLOUD_MAP: &[&str] = &[
    "A Cloud Map path has no load balancer: the timer that forgets connections is the target's own (nginx `keepalive_timeout`, the app's) or a silent one on the way: a NAT gateway on the client side (350 s), conntrack or Nitro connection tracking (350 s). Make the side that closes do it with a FIN before any silent timer fires.",
    KEEP_WARM,
];

const FIX_UNKNOWN: &[&str] = &[
    "Order the timers so that the side behind the load balancer closes idle connections first: nginx `keepalive_timeout` (and the app's) below the load balancer's idle timeout: the NLB's (350 s, `tcp.idle_timeout.seconds`) or the ALB's (60 s, `idle_timeout.timeout_seconds`). An NLB forgets an idle flow silently (a stall); an ALB closes it with a FIN, so a stall behind an ALB points at a NAT gateway (350 s), conntrack or the target's host.",
    "Or raise the idle timeout that fires: an NLB TCP listener's from 60 to 6000 s (TLS listeners stay at 350 s), an ALB's from 1 to 4000 s. Name the load balancer (the profile's `[aws] nlb` or `alb`, or `--aws-config`) and coldlink says which.",
    KEEP_WARM,
];

const KEEP_WARM: &str = "A keep-warm ping more often than T (`coldlink keepwarm --interval …`) hides it for the connections it happens to use; it is not a fix.";

/// The fixes for the hop that is there.
fn fixes(kind: PathKind) -> &'static [&'static str] {
    match kind {
        PathKind::Nlb => FIX_NLB,
        PathKind::Alb => FIX_ALB,
        PathKind::CloudMap => FIX_CLOUD_MAP,
        PathKind::Unknown => FIX_UNKNOWN,
    }
}

/// What the hop says about a silent drop, when it is not the NLB's kind
/// of timer.
fn hop_evidence(kind: PathKind, stalled: bool) -> Option<&'static str> {
    match kind {
        PathKind::Alb if stalled => Some(
            "the path is an ALB: it closes idle connections with a FIN, so a silent drop is not its idle timer: a NAT gateway (350 s), conntrack (350 s) or the target's host",
        ),
        PathKind::CloudMap if stalled => Some(
            "the path is a Cloud Map service, with no load balancer: the timer is the target's own or a silent one on the way (a NAT gateway, conntrack: 350 s)",
        ),
        _ => None,
    }
}

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let p = analyse(input, Bad::FailedOrStalled)?;
    if p.shape != Shape::Step {
        return None;
    }
    let kind = ds.path_kind(targets_of(ds, &p.bad));
    let timers = matching_timers(p.lo_ms, p.hi_ms, kind);
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
    if p.set_aside > 0 {
        confidence = confidence.min(GapPattern::SET_ASIDE_CONFIDENCE);
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
        "after {}/{} {} ≥ {} the first requests were slow or failed; after {}/{} periods ≤ {}",
        p.inside.0,
        p.inside.1,
        p.clock.periods(),
        human_ms(p.hi_ms),
        p.below.0,
        p.below.1,
        human_ms(p.lo_ms)
    ))
    .fixes(fixes(kind))
    .targets(target_names(ds, p.bad.iter().copied()));
    if let Some(line) = clock::says(ds, p.clock, &p.bad_at, p.hi_ms) {
        f = f.evidence(line);
    }
    if let Some(line) = p.set_aside_line() {
        f = f.evidence(line);
    }
    if let Some(line) = success_after_failures(&p) {
        f = f.evidence(line);
    }
    // What `--aws-config` compares the configured timers with.
    f.measured.timer_ms = Some([p.lo_ms, p.hi_ms]);
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
    if let Some(line) = hop_evidence(kind, p.stall_ms.is_finite()) {
        f = f.evidence(line);
    }
    if p.inside.0 == 1 {
        f = f.evidence("one quiet period only: repeat the sweep (or its longest gap) to confirm");
    }
    if let Some(cw) = &input.aws.cloudwatch {
        let minutes = crate::diagnose::cloudwatch::minutes_of(ds, p.bad.iter().copied());
        f = with_cloudwatch(f, cw, &minutes);
    }
    Some(Detection::new(f, p.bad))
}

/// A step whose longest periods include a success after its failures: a
/// pool that closes idle connections on its own timer (nginx's upstream
/// `keepalive_timeout`, 60 s by default) opens a fresh connection for the
/// next request, which then succeeds. One such success does not end the
/// step (a window needs more, `gaps.rs`); the evidence says what it was.
fn success_after_failures(p: &GapPattern) -> Option<String> {
    let (first, rest) = p.good_after.split_first()?;
    let at: Vec<String> = std::iter::once(first).chain(rest).map(|&g| human_ms(g)).collect();
    let (what, end) = if rest.is_empty() {
        ("one success", "this does not end the step")
    } else {
        ("successes", "they do not end the step")
    };
    Some(format!(
        "{what} at {} after failures from {}: a pool that closes idle connections itself (nginx upstream `keepalive_timeout`, 60 s by default) opens a fresh one; {end}",
        at.join(", "),
        human_ms(p.hi_ms)
    ))
}

/// The targets of these probes, each once.
fn targets_of(ds: &crate::diagnose::Dataset, probes: &[usize]) -> BTreeSet<u16> {
    probes.iter().map(|&i| ds.samples[i].target).collect()
}

/// The NLB's reset counts in the minutes of this finding's own probes:
/// resets there name the NLB (or a target behind it) as the one that
/// forgot the flow; none, where CloudWatch has data for those minutes,
/// point at a timer elsewhere or at a silent drop. No data is no evidence.
fn with_cloudwatch(mut f: Finding, cw: &CloudWatchEvidence, minutes: &BTreeSet<i64>) -> Finding {
    let r = cw.resets(minutes);
    if r.minutes_with_resets > 0 {
        f.confidence = super::raise(f.confidence, 0.05);
        f.evidence.push(format!(
            "CloudWatch: the NLB counted resets in {} of the {} minute(s) of these probes ({}); {} in the run's other minutes",
            r.minutes_with_resets,
            r.minutes,
            r.describe(),
            r.elsewhere
        ));
    } else if r.minutes_with_data == r.minutes && r.minutes > 0 {
        f.evidence.push(
            "CloudWatch: the NLB counted no resets in the minutes of these probes: the timer that fired drops silently, or is not the NLB's (nginx keepalive_timeout, the target's conntrack, a NAT)"
                .to_string(),
        );
    } else if r.minutes > 0 && read_nlb(cw) {
        f.evidence.push(format!(
            "CloudWatch: no reset data yet for {} of the {} minute(s) of these probes (metrics take a minute or two to arrive; diagnose the records again later with --from)",
            r.minutes - r.minutes_with_data,
            r.minutes
        ));
    }
    f
}

/// Whether any NLB series was read: on an ALB-only run no reset data is
/// no news (there is no NLB to count resets), not data still to come.
fn read_nlb(cw: &CloudWatchEvidence) -> bool {
    cw.metrics
        .iter()
        .any(|m| m.namespace == crate::aws::cloudwatch::NLB_NAMESPACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(namespace: &str) -> crate::diagnose::cloudwatch::MetricSeries {
        crate::diagnose::cloudwatch::MetricSeries {
            namespace: namespace.into(),
            name: "RequestCount".into(),
            dimensions: Default::default(),
            stat: "Sum".into(),
            timestamps: vec![],
            values: vec![],
            minutes: vec![],
        }
    }

    #[test]
    fn no_reset_data_yet_is_said_only_when_nlb_series_were_read() {
        let minutes: BTreeSet<i64> = [1_700_000_040].into();
        let said = |ns: &str| {
            let cw = CloudWatchEvidence {
                metrics: vec![series(ns)],
                ..Default::default()
            };
            let f = with_cloudwatch(
                Finding::new(Cause::IdleTimeout, Severity::Warning, 0.5, "t"),
                &cw,
                &minutes,
            );
            f.evidence.iter().any(|e| e.contains("no reset data yet"))
        };
        assert!(!said(crate::aws::cloudwatch::ALB_NAMESPACE));
        assert!(said(crate::aws::cloudwatch::NLB_NAMESPACE));
    }

    fn all(kind: PathKind) -> String {
        fixes(kind).join("\n")
    }

    #[test]
    fn on_an_nlb_path_the_fix_is_the_nlbs_listener_timer() {
        let nlb = all(PathKind::Nlb);
        assert!(
            nlb.contains("NLB idle timeout") && nlb.contains("60 to 6000 s"),
            "{nlb}"
        );
        assert!(nlb.contains("TLS listeners stay at 350 s"), "{nlb}");
        assert!(!nlb.contains("ALB"), "{nlb}");
    }

    #[test]
    fn on_an_alb_path_the_alb_closes_and_the_silent_timers_are_named() {
        let alb = all(PathKind::Alb);
        assert!(
            alb.contains("with a FIN") && alb.contains("not the ALB's idle timer"),
            "{alb}"
        );
        assert!(
            alb.contains("NAT gateway") && alb.contains("conntrack") && alb.contains("target's host"),
            "{alb}"
        );
        assert!(
            alb.contains("`idle_timeout.timeout_seconds`") && alb.contains("`client_keep_alive.seconds`"),
            "{alb}"
        );
        assert!(!alb.contains("NLB") && !alb.contains("tcp.idle_timeout"), "{alb}");
        let said = hop_evidence(PathKind::Alb, true).unwrap();
        assert!(
            said.contains("ALB") && said.contains("not its idle timer"),
            "{said}"
        );
        assert_eq!(
            hop_evidence(PathKind::Alb, false),
            None,
            "a reset is no silent drop"
        );
        assert_eq!(hop_evidence(PathKind::Nlb, true), None);
    }

    #[test]
    fn with_the_kind_unknown_both_load_balancers_are_named() {
        let unknown = all(PathKind::Unknown);
        assert!(
            unknown.contains("NLB's (350 s, `tcp.idle_timeout.seconds`)"),
            "{unknown}"
        );
        assert!(
            unknown.contains("ALB's (60 s, `idle_timeout.timeout_seconds`)"),
            "{unknown}"
        );
        assert!(unknown.contains("`[aws] nlb` or `alb`"), "{unknown}");
    }

    #[test]
    fn a_cloud_map_path_names_no_load_balancer() {
        let cm = all(PathKind::CloudMap);
        assert!(
            cm.contains("no load balancer") && !cm.contains("NLB") && !cm.contains("ALB"),
            "{cm}"
        );
    }
}

//! CloudWatch's load-balancer metrics joined to the findings they confirm,
//! once every detector has run: an ALB's own 502s in the minutes of a
//! keep-alive race's failures, its own 504s for an integration timeout (the
//! ALB's timeout, not API Gateway's), its target health and target
//! connection errors for a bad path, its target response time against the
//! client's time to first byte for a slow backend, and an NLB's rejected
//! flows for a bad path or an idle timer (not lost SYNs: those are lost on
//! the client → gateway leg, which no NLB behind the gateway sees). Each says "CloudWatch:" and its
//! numbers; a confirmation raises the finding's confidence a little, once.
//! What a detector already joins itself (the NLB's resets for
//! `idle-timeout`, its zones for `bad-path`, API Gateway's latencies for
//! `slow-backend`) is left to it.

use std::collections::BTreeSet;

use super::words::TARGET_REFUSED_FIX;
use super::{raise, Detection};
use crate::aws::cloudwatch::{ALB_NAMESPACE, NLB_NAMESPACE};
use crate::diagnose::cloudwatch::{minutes_of, CloudWatchEvidence, Counted};
use crate::diagnose::dataset::Dataset;
use crate::diagnose::evidence::AwsEvidence;
use crate::diagnose::finding::{Cause, Finding};
use crate::diagnose::num::quantiles;
use crate::format::human_ms;
use crate::probe::Phase;

/// What one confirmation adds to a finding's confidence (at most once).
const RAISE: f64 = 0.05;

/// The target's own time is "the time" when it is at least this share of
/// the client's time to first byte.
const TARGET_SHARE: f64 = 0.7;

/// Join what CloudWatch read (`--cloudwatch`) to `found`.
pub(super) fn join(ds: &Dataset, aws: &AwsEvidence, found: &mut [Detection]) {
    let Some(cw) = &aws.cloudwatch else {
        return;
    };
    for d in found {
        let minutes = finding_minutes(ds, d);
        let confirmed = match d.finding.cause {
            Cause::KeepaliveRace => {
                let own = d.explains.iter().any(|&i| ds.samples[i].alb_answered);
                let f = &mut d.finding;
                let elb = elb_answers(f, cw, "HTTPCode_ELB_502_Count", &minutes, own);
                let refused = own && refusing_target(f, cw, &minutes);
                target_resets(f, cw, &minutes) | elb | refused
            }
            Cause::IntegrationTimeout => {
                let own = d.explains.iter().any(|&i| ds.samples[i].alb_answered);
                elb_answers(&mut d.finding, cw, "HTTPCode_ELB_504_Count", &minutes, own)
            }
            Cause::BadPath => {
                let f = &mut d.finding;
                alb_targets(f, cw, &minutes) | rejected_flows(f, cw, &minutes)
            }
            Cause::SlowBackend => target_time(ds, &mut d.finding, cw),
            // Not `syn-loss`: its SYNs are lost on the client → gateway
            // leg, which no NLB behind the gateway sees.
            Cause::IdleTimeout => rejected_flows(&mut d.finding, cw, &minutes),
            _ => false,
        };
        if confirmed {
            let f = &mut d.finding;
            f.confidence = raise(f.confidence, RAISE);
        }
    }
}

/// The minutes of the probes a finding accounts for; for one that names
/// only its targets (`slow-backend`), of those targets' slow or failed probes.
fn finding_minutes(ds: &Dataset, d: &Detection) -> BTreeSet<i64> {
    if !d.explains.is_empty() {
        return minutes_of(ds, d.explains.iter().copied());
    }
    let bad = ds
        .samples
        .iter()
        .enumerate()
        .filter(|(_, s)| d.finding.targets.iter().any(|t| t == ds.target_name(s.target)) && ds.is_bad(s))
        .map(|(i, _)| i);
    minutes_of(ds, bad)
}

/// An ALB count; a minute in which the ALB published (`RequestCount`) but
/// not this count counts as 0 (its counts are sent only while non-zero).
/// `None` when CloudWatch had nothing of either.
fn alb_count(cw: &CloudWatchEvidence, name: &str, minutes: &BTreeSet<i64>) -> Option<Counted> {
    let own = cw.counted(ALB_NAMESPACE, name, minutes);
    let seen = cw.counted(ALB_NAMESPACE, "RequestCount", minutes);
    if own.is_none() && seen.is_none() {
        return None;
    }
    let mut c = own.unwrap_or(Counted {
        minutes: minutes.len(),
        ..Counted::default()
    });
    if let Some(seen) = seen {
        c.minutes_with_data = c.minutes_with_data.max(seen.minutes_with_data);
        c.other_minutes_with_data = c.other_minutes_with_data.max(seen.other_minutes_with_data);
    }
    Some(c)
}

/// `4 in the 2 minute(s) of the failures, 0 in the run's other minutes`.
fn split(c: &Counted, whose: &str) -> String {
    format!(
        "{} in the {} minute(s) of {whose}, {} in the run's other minutes",
        c.in_minutes, c.minutes, c.elsewhere
    )
}

/// The ALB's own 502 or 504 pages in the minutes of the finding's failures.
/// `own`: some of the finding's failures were the ALB's own pages
/// (`server: awselb/…`); when none were, a zero count is what to expect.
fn elb_answers(
    f: &mut Finding,
    cw: &CloudWatchEvidence,
    metric: &str,
    minutes: &BTreeSet<i64>,
    own: bool,
) -> bool {
    let Some(c) = alb_count(cw, metric, minutes).filter(|c| c.minutes_with_data > 0) else {
        return false;
    };
    let code = if metric.contains("502") { "502" } else { "504" };
    let (confirms, meaning) = match (c.rose_with(), code) {
        (true, "502") => (
            true,
            "the ALB answered those 502s itself: a connection to the target closed or was refused under a request (a target keep-alive shorter than the ALB's idle timeout, or a target going away)",
        ),
        (false, "502") if !own => (
            false,
            "as expected when the failures are not the ALB's own 502s (no `server: awselb/…` page): the gateway answered them, on the gateway → ALB leg",
        ),
        (false, _) if !own => (
            false,
            "as expected when the failures are not the ALB's own 504s (no `server: awselb/…` page): API Gateway's integration timeout, or a hop before the ALB",
        ),
        (true, _) => (
            true,
            "the ALB answered those 504s itself: its idle timeout (idle_timeout.timeout_seconds) ran out before the target answered, not API Gateway's integration timeout",
        ),
        (false, _) => (
            false,
            "none counted although the failures were the ALB's own pages: the metrics may not have arrived yet (diagnose the records again later with --from), or they are another ALB's",
        ),
    };
    f.evidence.push(format!(
        "CloudWatch: {metric} {}: {meaning}",
        split(&c, "the failures")
    ));
    confirms
}

/// The ALB's `TargetConnectionErrorCount` rising with its own 502 pages:
/// a target refused (or failed) the ALB's connections, rather than closing
/// a kept-alive one; its fix goes first.
fn refusing_target(f: &mut Finding, cw: &CloudWatchEvidence, minutes: &BTreeSet<i64>) -> bool {
    let Some(c) = alb_count(cw, "TargetConnectionErrorCount", minutes).filter(|c| c.minutes_with_data > 0)
    else {
        return false;
    };
    if !c.rose_with() {
        return false;
    }
    f.evidence.push(format!(
        "CloudWatch: TargetConnectionErrorCount {}: the ALB could not connect to a target in those minutes: a target refusing connections (gone, restarting, failing TLS), not only a short keep-alive",
        split(&c, "the failures")
    ));
    let refused = TARGET_REFUSED_FIX.to_string();
    f.fix.retain(|x| *x != refused);
    f.fix.insert(0, refused);
    true
}

/// The NLB's `TCP_Target_Reset_Count` in the minutes of a keep-alive
/// race's failures: the target reset connections the gateway reused.
fn target_resets(f: &mut Finding, cw: &CloudWatchEvidence, minutes: &BTreeSet<i64>) -> bool {
    const METRIC: &str = "TCP_Target_Reset_Count";
    if f.evidence
        .iter()
        .any(|e| e.starts_with("CloudWatch:") && e.contains(METRIC))
    {
        return false;
    }
    let Some(c) = cw.counted(NLB_NAMESPACE, METRIC, minutes) else {
        return false;
    };
    if !c.rose_with() {
        return false;
    }
    f.evidence.push(format!(
        "CloudWatch: {METRIC} {}: the target reset connections in the minutes the gateway's reuse failed",
        split(&c, "the failures")
    ));
    true
}

/// The ALB's target health per zone, its unhealthy targets, and the
/// connections it could not open to a target in the slow minutes.
fn alb_targets(f: &mut Finding, cw: &CloudWatchEvidence, minutes: &BTreeSet<i64>) -> bool {
    let mut confirmed = false;
    let empty = cw.zones_without_healthy_host_in(ALB_NAMESPACE);
    if !empty.is_empty() {
        confirmed = true;
        f.evidence.push(format!(
            "CloudWatch: the ALB's HealthyHostCount fell to 0 in {} while other zones kept theirs: requests the ALB node of that zone keeps there (cross-zone load balancing off) have no healthy target",
            empty.join(", ")
        ));
    } else if let Some(n) = cw.max_unhealthy_hosts_in(ALB_NAMESPACE).filter(|n| *n > 0.0) {
        f.evidence.push(format!(
            "CloudWatch: up to {n} unhealthy target(s) in the ALB's target group(s) during the run (UnHealthyHostCount)"
        ));
    }
    if let Some(c) = alb_count(cw, "TargetConnectionErrorCount", minutes).filter(|c| c.minutes_with_data > 0)
    {
        if c.rose_with() {
            confirmed = true;
            f.evidence.push(format!(
                "CloudWatch: TargetConnectionErrorCount {}: the ALB could not connect to a target",
                split(&c, "the slow requests")
            ));
        }
    }
    confirmed
}

/// The ALB's `TargetResponseTime` (the target's own time) against the
/// client's time to first byte on the finding's targets.
fn target_time(ds: &Dataset, f: &mut Finding, cw: &CloudWatchEvidence) -> bool {
    let Some((target_ms, max_ms)) = cw.target_response_ms() else {
        return false;
    };
    let ttfb = ds
        .samples
        .iter()
        .filter(|s| s.responded() && f.targets.iter().any(|t| t == ds.target_name(s.target)))
        .filter_map(|s| s.phase(Phase::Ttfb));
    let p50 = quantiles(ttfb, &[0.5])[0];
    if p50.is_nan() || p50 <= 0.0 {
        return false;
    }
    let max = max_ms.map_or(String::new(), |m| format!(", at most {}", human_ms(m)));
    let in_target = target_ms >= TARGET_SHARE * p50;
    let meaning = if in_target {
        "the time is in the target itself"
    } else {
        "the target answers well within it: the rest is spent before the target (gateway, VPC link, ALB)"
    };
    f.evidence.push(format!(
        "CloudWatch: the ALB's TargetResponseTime averaged {}{max} against the client's time to first byte {} (p50): {meaning}",
        human_ms(target_ms),
        human_ms(p50)
    ));
    in_target
}

/// Flows the NLB rejected in the finding's minutes: SYNs turned away, or a
/// flow table kept full by a raised idle timeout. Read at each minute's
/// `Maximum` (the most one of its nodes reported), as AWS documents it.
fn rejected_flows(f: &mut Finding, cw: &CloudWatchEvidence, minutes: &BTreeSet<i64>) -> bool {
    let Some(c) = cw.counted_as(NLB_NAMESPACE, "RejectedFlowCount", "Maximum", minutes) else {
        return false;
    };
    if !c.rose_with() {
        return false;
    }
    let meaning = match f.cause {
        Cause::BadPath => "the NLB turned flows away in the minutes of the bad path",
        _ => "the NLB turned flows away; with a raised idle timeout (tcp.idle_timeout.seconds) idle flows stay in its table longer",
    };
    f.evidence.push(format!(
        "CloudWatch: RejectedFlowCount (each minute's Maximum) {}: {meaning}",
        split(&c, "the slow probes")
    ));
    true
}

#[cfg(test)]
mod tests;

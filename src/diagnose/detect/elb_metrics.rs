//! CloudWatch's load-balancer metrics joined to the findings they confirm,
//! once every detector has run: an ALB's own 502s in the minutes of a
//! keep-alive race's failures, its own 504s for an integration timeout (the
//! ALB's timeout, not API Gateway's), its target health and target
//! connection errors for a bad path, its target response time against the
//! client's time to first byte for a slow backend, and an NLB's rejected
//! flows for lost SYNs or an idle timer. Each says "CloudWatch:" and its
//! numbers; a confirmation raises the finding's confidence a little, once.
//! What a detector already joins itself (the NLB's resets for
//! `idle-timeout`, its zones for `bad-path`, API Gateway's latencies for
//! `slow-backend`) is left to it.

use std::collections::BTreeSet;

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
        let f = &mut d.finding;
        let confirmed = match f.cause {
            Cause::KeepaliveRace => {
                let elb = elb_answers(f, cw, "HTTPCode_ELB_502_Count", &minutes);
                target_resets(f, cw, &minutes) | elb
            }
            Cause::IntegrationTimeout => elb_answers(f, cw, "HTTPCode_ELB_504_Count", &minutes),
            Cause::BadPath => alb_targets(f, cw, &minutes),
            Cause::SlowBackend => target_time(ds, f, cw),
            Cause::SynLoss | Cause::IdleTimeout => rejected_flows(f, cw, &minutes),
            _ => false,
        };
        if confirmed {
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
fn elb_answers(f: &mut Finding, cw: &CloudWatchEvidence, metric: &str, minutes: &BTreeSet<i64>) -> bool {
    let Some(c) = alb_count(cw, metric, minutes).filter(|c| c.minutes_with_data > 0) else {
        return false;
    };
    let code = if metric.contains("502") { "502" } else { "504" };
    let (confirms, meaning) = match (c.rose_with(), code) {
        (true, "502") => (
            true,
            "the ALB answered those 502s itself: a connection to the target closed under a request (target keep-alive shorter than the ALB's idle timeout) or the ALB's own idle timeout raced the gateway's reuse",
        ),
        (true, _) => (
            true,
            "the ALB answered those 504s itself: its idle timeout (idle_timeout.timeout_seconds) ran out before the target answered, not API Gateway's integration timeout",
        ),
        (false, "502") => (
            false,
            "not the ALB's own 502s in those minutes: look at the target's answers or a hop before the ALB",
        ),
        (false, _) => (
            false,
            "not the ALB's own 504s in those minutes: API Gateway's integration timeout, or a hop before the ALB",
        ),
    };
    f.evidence.push(format!(
        "CloudWatch: {metric} {}: {meaning}",
        split(&c, "the failures")
    ));
    confirms
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
/// flow table kept full by a raised idle timeout.
fn rejected_flows(f: &mut Finding, cw: &CloudWatchEvidence, minutes: &BTreeSet<i64>) -> bool {
    let Some(c) = cw.counted(NLB_NAMESPACE, "RejectedFlowCount", minutes) else {
        return false;
    };
    if !c.rose_with() {
        return false;
    }
    let meaning = match f.cause {
        Cause::SynLoss => "the NLB turned new connections away, which the client sees as lost SYNs",
        _ => "the NLB turned flows away; with a raised idle timeout (tcp.idle_timeout.seconds) idle flows stay in its table longer",
    };
    f.evidence.push(format!(
        "CloudWatch: RejectedFlowCount {}: {meaning}",
        split(&c, "the slow probes")
    ));
    true
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::aws::cloudwatch::{MetricSpec, Metrics, Series};
    use crate::diagnose::dataset::{Builder, Observation};
    use crate::diagnose::finding::Severity;
    use crate::probe::record::Phases;

    const ALB: &str = "app/orders/1";
    const M0: i64 = 6_000;

    fn series(
        namespace: &str,
        name: &str,
        stat: &str,
        dims: &[(&str, &str)],
        points: &[(i64, f64)],
    ) -> Series {
        Series {
            spec: MetricSpec {
                namespace: namespace.into(),
                name: name.into(),
                stat: stat.into(),
                dimensions: dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            },
            minutes: points.iter().map(|p| p.0).collect(),
            values: points.iter().map(|p| p.1).collect(),
        }
    }

    fn alb(name: &str, stat: &str, points: &[(i64, f64)]) -> Series {
        series(ALB_NAMESPACE, name, stat, &[("LoadBalancer", ALB)], points)
    }

    fn nlb(name: &str, points: &[(i64, f64)]) -> Series {
        series(
            NLB_NAMESPACE,
            name,
            "Sum",
            &[("LoadBalancer", "net/orders/1")],
            points,
        )
    }

    fn aws(series: Vec<Series>) -> AwsEvidence {
        AwsEvidence {
            cloudwatch: Some(CloudWatchEvidence::new(
                Metrics {
                    series,
                    window: (M0, M0 + 180),
                    ..Metrics::default()
                },
                BTreeSet::new(),
            )),
            ..AwsEvidence::default()
        }
    }

    /// Probes of target "a", one every 10 s from `M0` for three minutes,
    /// with a 200 ms time to first byte; those in `failed` answered 502.
    fn dataset(failed: &[usize]) -> Dataset {
        let mut b = Builder::new();
        for i in 0..18 {
            b.add(&Observation {
                target: "a",
                url: "http://a/",
                at: Some(UNIX_EPOCH + Duration::from_secs(M0 as u64 + 10 * i as u64)),
                total_ms: 210.0,
                phases: Phases {
                    ttfb: Some(200.0),
                    ..Phases::default()
                },
                status: Some(if failed.contains(&i) { 502 } else { 200 }),
                ..Default::default()
            });
        }
        b.build(1.0, None)
    }

    /// `cause`'s finding (confidence 0.5) for probes `explains`, joined.
    fn joined(cause: Cause, explains: &[usize], ds: &Dataset, aws: &AwsEvidence) -> Finding {
        let f = Finding::new(cause, Severity::Warning, 0.5, "t").targets(["a".to_string()]);
        let mut found = [Detection::new(f, explains.to_vec())];
        join(ds, aws, &mut found);
        let [d] = found;
        d.finding
    }

    fn line<'a>(f: &'a Finding, metric: &str) -> Option<&'a str> {
        f.evidence
            .iter()
            .map(String::as_str)
            .find(|e| e.starts_with("CloudWatch:") && e.contains(metric))
    }

    #[test]
    fn the_albs_own_502s_in_the_minutes_of_the_failures_confirm_a_keepalive_race() {
        // Failures in the first minute only (probes 1 and 4).
        let ds = dataset(&[1, 4]);
        let cw = aws(vec![
            alb(
                "RequestCount",
                "Sum",
                &[(M0, 6.0), (M0 + 60, 6.0), (M0 + 120, 6.0)],
            ),
            alb("HTTPCode_ELB_502_Count", "Sum", &[(M0, 2.0)]),
        ]);
        let f = joined(Cause::KeepaliveRace, &[1, 4], &ds, &cw);
        let l = line(&f, "HTTPCode_ELB_502_Count").expect("a line");
        assert!(
            l.contains("2 in the 1 minute(s) of the failures, 0 in the run's other minutes"),
            "{l}"
        );
        assert!(l.contains("the ALB answered those 502s itself"), "{l}");
        assert_eq!(f.confidence, 0.55);
    }

    #[test]
    fn no_502s_from_an_alb_that_published_is_said_and_confirms_nothing() {
        let ds = dataset(&[1, 4]);
        // 502s only in a minute without failures; none in the failures'.
        let cw = aws(vec![
            alb("RequestCount", "Sum", &[(M0, 6.0), (M0 + 60, 6.0)]),
            alb("HTTPCode_ELB_502_Count", "Sum", &[(M0 + 60, 3.0)]),
        ]);
        let f = joined(Cause::KeepaliveRace, &[1, 4], &ds, &cw);
        let l = line(&f, "HTTPCode_ELB_502_Count").expect("a line");
        assert!(
            l.contains("0 in the 1 minute(s) of the failures, 3 in the run's other"),
            "{l}"
        );
        assert!(l.contains("not the ALB's own 502s"), "{l}");
        assert_eq!(f.confidence, 0.5);
        // No series of 502s at all, but the ALB published: zero, said.
        let quiet = aws(vec![alb("RequestCount", "Sum", &[(M0, 6.0)])]);
        let f = joined(Cause::KeepaliveRace, &[1, 4], &ds, &quiet);
        assert!(line(&f, "HTTPCode_ELB_502_Count")
            .unwrap()
            .starts_with("CloudWatch: HTTPCode_ELB_502_Count 0 in"));
        assert_eq!(f.confidence, 0.5);
        // Nothing of an ALB: nothing said.
        let f = joined(Cause::KeepaliveRace, &[1, 4], &ds, &aws(Vec::new()));
        assert!(f.evidence.is_empty(), "{:?}", f.evidence);
    }

    #[test]
    fn the_nlbs_target_resets_join_a_keepalive_race_once() {
        let ds = dataset(&[1]);
        let cw = aws(vec![nlb("TCP_Target_Reset_Count", &[(M0, 2.0), (M0 + 60, 0.0)])]);
        let f = joined(Cause::KeepaliveRace, &[1], &ds, &cw);
        assert!(line(&f, "TCP_Target_Reset_Count")
            .unwrap()
            .contains("2 in the 1 minute(s)"));
        assert_eq!(f.confidence, 0.55);
        // None in the failures' minute: nothing.
        let none = aws(vec![nlb("TCP_Target_Reset_Count", &[(M0, 0.0), (M0 + 60, 4.0)])]);
        let f = joined(Cause::KeepaliveRace, &[1], &ds, &none);
        assert!(f.evidence.is_empty(), "{:?}", f.evidence);
    }

    #[test]
    fn the_albs_own_504s_name_its_timeout_not_the_gateways() {
        let ds = dataset(&[7]);
        let cw = aws(vec![
            alb("RequestCount", "Sum", &[(M0, 6.0), (M0 + 60, 6.0)]),
            alb("HTTPCode_ELB_504_Count", "Sum", &[(M0 + 60, 1.0)]),
        ]);
        let f = joined(Cause::IntegrationTimeout, &[7], &ds, &cw);
        let l = line(&f, "HTTPCode_ELB_504_Count").unwrap();
        assert!(
            l.contains("idle_timeout.timeout_seconds") && l.contains("not API Gateway's"),
            "{l}"
        );
        assert_eq!(f.confidence, 0.55);
        let other = joined(Cause::IntegrationTimeout, &[1], &ds, &cw);
        assert!(line(&other, "HTTPCode_ELB_504_Count")
            .unwrap()
            .contains("API Gateway's integration timeout"));
        assert_eq!(other.confidence, 0.5);
    }

    #[test]
    fn the_albs_empty_zone_and_target_connection_errors_confirm_a_bad_path() {
        let ds = dataset(&[1, 8]);
        let zone = |az| {
            [
                ("AvailabilityZone", az),
                ("LoadBalancer", ALB),
                ("TargetGroup", "targetgroup/t/1"),
            ]
        };
        let cw = aws(vec![
            series(
                ALB_NAMESPACE,
                "HealthyHostCount",
                "Minimum",
                &zone("us-east-1a"),
                &[(M0, 1.0)],
            ),
            series(
                ALB_NAMESPACE,
                "HealthyHostCount",
                "Minimum",
                &zone("us-east-1b"),
                &[(M0, 0.0)],
            ),
            alb("TargetConnectionErrorCount", "Sum", &[(M0, 3.0)]),
        ]);
        let f = joined(Cause::BadPath, &[1, 8], &ds, &cw);
        assert!(line(&f, "HealthyHostCount")
            .unwrap()
            .contains("us-east-1b (targetgroup/t/1)"));
        assert!(line(&f, "TargetConnectionErrorCount")
            .unwrap()
            .contains("3 in the 2 minute(s)"));
        // Raised once, not once per line.
        assert_eq!(f.confidence, 0.55);
        // The same zones under the NLB are the detector's own to join.
        let nlb_zones = aws(vec![
            series(
                NLB_NAMESPACE,
                "HealthyHostCount",
                "Minimum",
                &zone("us-east-1a"),
                &[(M0, 1.0)],
            ),
            series(
                NLB_NAMESPACE,
                "HealthyHostCount",
                "Minimum",
                &zone("us-east-1b"),
                &[(M0, 0.0)],
            ),
            // Errors only outside the slow minutes: no confirmation.
            alb("TargetConnectionErrorCount", "Sum", &[(M0, 0.0), (M0 + 120, 5.0)]),
        ]);
        let f = joined(Cause::BadPath, &[1], &ds, &nlb_zones);
        assert!(f.evidence.is_empty(), "{:?}", f.evidence);
        assert_eq!(f.confidence, 0.5);
    }

    #[test]
    fn target_response_time_near_the_ttfb_puts_the_time_in_the_target() {
        let ds = dataset(&[]);
        // Seconds, as the ALB publishes: 0.19 s of the client's 200 ms.
        let cw = aws(vec![
            alb("RequestCount", "Sum", &[(M0, 6.0), (M0 + 60, 2.0)]),
            alb("TargetResponseTime", "Average", &[(M0, 0.2), (M0 + 60, 0.16)]),
            alb("TargetResponseTime", "Maximum", &[(M0, 0.3), (M0 + 60, 0.2)]),
        ]);
        let f = joined(Cause::SlowBackend, &[], &ds, &cw);
        let l = line(&f, "TargetResponseTime").unwrap();
        assert!(l.contains("averaged 190 ms, at most 300 ms"), "{l}");
        assert!(l.contains("in the target itself"), "{l}");
        assert_eq!(f.confidence, 0.55);
        let fast = aws(vec![alb("TargetResponseTime", "Average", &[(M0, 0.02)])]);
        let f = joined(Cause::SlowBackend, &[], &ds, &fast);
        assert!(line(&f, "TargetResponseTime")
            .unwrap()
            .contains("before the target"));
        assert_eq!(f.confidence, 0.5);
    }

    #[test]
    fn rejected_flows_in_the_slow_minutes_confirm_lost_syns() {
        let ds = dataset(&[2]);
        let cw = aws(vec![nlb("RejectedFlowCount", &[(M0, 4.0)])]);
        let f = joined(Cause::SynLoss, &[2], &ds, &cw);
        assert!(line(&f, "RejectedFlowCount")
            .unwrap()
            .contains("4 in the 1 minute(s) of the slow probes"));
        assert_eq!(f.confidence, 0.55);
        let f = joined(Cause::IdleTimeout, &[2], &ds, &cw);
        assert!(line(&f, "RejectedFlowCount")
            .unwrap()
            .contains("tcp.idle_timeout.seconds"));
        // None rejected: nothing said (an NLB always sends the series).
        let zero = aws(vec![nlb("RejectedFlowCount", &[(M0, 0.0)])]);
        assert!(joined(Cause::SynLoss, &[2], &ds, &zero).evidence.is_empty());
    }
}

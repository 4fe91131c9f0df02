use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::aws::cloudwatch::{MetricSpec, Metrics, Series};
use crate::diagnose::dataset::{Builder, Observation};
use crate::diagnose::finding::Severity;
use crate::probe::record::Phases;

const ALB: &str = "app/orders/1";
const M0: i64 = 6_000;

fn series(namespace: &str, name: &str, stat: &str, dims: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
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
    dataset_of(failed, false)
}

/// [`dataset`], the failures the ALB's own 502 pages when `pages`.
fn dataset_of(failed: &[usize], pages: bool) -> Dataset {
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
            alb_answered: pages && failed.contains(&i),
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
fn no_502s_counted_is_expected_unless_the_failures_were_the_albs_pages() {
    let cw = aws(vec![alb("RequestCount", "Sum", &[(M0, 6.0), (M0 + 60, 6.0)])]);
    let gateway = joined(Cause::KeepaliveRace, &[1, 4], &dataset(&[1, 4]), &cw);
    let l = line(&gateway, "HTTPCode_ELB_502_Count").unwrap();
    assert!(
        l.contains("as expected") && l.contains("the gateway answered them"),
        "{l}"
    );
    let pages = joined(Cause::KeepaliveRace, &[1, 4], &dataset_of(&[1, 4], true), &cw);
    let l = line(&pages, "HTTPCode_ELB_502_Count").unwrap();
    assert!(
        !l.contains("as expected") && l.contains("the ALB's own pages"),
        "{l}"
    );
    assert!(!l.contains("raced"), "{l}");
}

#[test]
fn target_connection_errors_with_the_albs_pages_put_the_refusing_target_first() {
    let ds = dataset_of(&[1, 4], true);
    let cw = aws(vec![
        alb("RequestCount", "Sum", &[(M0, 6.0), (M0 + 60, 6.0)]),
        alb("HTTPCode_ELB_502_Count", "Sum", &[(M0, 2.0)]),
        alb("TargetConnectionErrorCount", "Sum", &[(M0, 2.0)]),
    ]);
    let f = Finding::new(Cause::KeepaliveRace, Severity::Warning, 0.5, "t").fixes(&[
        "keep-alive first",
        crate::diagnose::detect::words::TARGET_REFUSED_FIX,
    ]);
    let mut found = [Detection::new(f, vec![1, 4])];
    join(&ds, &cw, &mut found);
    let f = &found[0].finding;
    assert!(line(f, "TargetConnectionErrorCount")
        .unwrap()
        .contains("refusing"));
    assert_eq!(f.fix[0], crate::diagnose::detect::words::TARGET_REFUSED_FIX);
    assert_eq!(f.fix.len(), 2);
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
fn rejected_flows_in_the_slow_minutes_join_a_bad_path_or_an_idle_timer_not_lost_syns() {
    let ds = dataset(&[2]);
    let rejected = |points: &[(i64, f64)]| {
        series(
            NLB_NAMESPACE,
            "RejectedFlowCount",
            "Maximum",
            &[("LoadBalancer", "net/orders/1")],
            points,
        )
    };
    // Read at its Maximum, as AWS documents it: a Sum series is not it.
    let summed = aws(vec![nlb("RejectedFlowCount", &[(M0, 4.0)])]);
    assert!(joined(Cause::BadPath, &[2], &ds, &summed).evidence.is_empty());
    let cw = aws(vec![rejected(&[(M0, 4.0)])]);
    let f = joined(Cause::BadPath, &[2], &ds, &cw);
    assert!(line(&f, "RejectedFlowCount")
        .unwrap()
        .contains("(each minute's Maximum) 4 in the 1 minute(s) of the slow probes"));
    assert_eq!(f.confidence, 0.55);
    // Lost SYNs are on the client → gateway leg: no NLB behind sees them.
    let f = joined(Cause::SynLoss, &[2], &ds, &cw);
    assert!(f.evidence.is_empty(), "{:?}", f.evidence);
    let f = joined(Cause::IdleTimeout, &[2], &ds, &cw);
    assert!(line(&f, "RejectedFlowCount")
        .unwrap()
        .contains("tcp.idle_timeout.seconds"));
    // None rejected: nothing said (an NLB always sends the series).
    let zero = aws(vec![rejected(&[(M0, 0.0)])]);
    assert!(joined(Cause::BadPath, &[2], &ds, &zero).evidence.is_empty());
}

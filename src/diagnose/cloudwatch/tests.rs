use super::*;
use crate::aws::cloudwatch::{MetricSpec, Series};

fn series(name: &str, dims: &[(&str, &str)], stat: &str, points: &[(i64, f64)]) -> Series {
    Series {
        spec: MetricSpec {
            namespace: "AWS/NetworkELB".into(),
            name: name.into(),
            stat: stat.into(),
            dimensions: dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        },
        minutes: points.iter().map(|p| p.0).collect(),
        values: points.iter().map(|p| p.1).collect(),
    }
}

fn evidence(series: Vec<Series>, slow: &[i64]) -> CloudWatchEvidence {
    CloudWatchEvidence::new(
        Metrics {
            series,
            window: (0, 600),
            ..Metrics::default()
        },
        slow.iter().copied().collect(),
    )
}

#[test]
fn resets_are_split_by_the_minutes_of_slow_probes() {
    let lb = [("LoadBalancer", "net/x/1")];
    let ev = evidence(
        vec![
            series(
                "TCP_ELB_Reset_Count",
                &lb,
                "Sum",
                &[(60, 0.0), (120, 3.0), (180, 1.0)],
            ),
            series("TCP_Target_Reset_Count", &lb, "Sum", &[(120, 1.0)]),
        ],
        &[120],
    );
    let r = ev.resets(&BTreeSet::from([120, 240]));
    assert_eq!((r.in_minutes, r.elsewhere, r.minutes), (4.0, 1.0, 2));
    assert_eq!((r.minutes_with_data, r.minutes_with_resets), (1, 1));
    assert_eq!(r.describe(), "TCP_ELB_Reset_Count 3, TCP_Target_Reset_Count 1");
    assert_eq!(ev.slow_minutes, ["1970-01-01T00:02:00.000000Z"]);
}

#[test]
fn a_zone_without_healthy_hosts_is_named_only_beside_a_healthy_one() {
    let z = |az| {
        [
            ("AvailabilityZone", az),
            ("LoadBalancer", "net/x/1"),
            ("TargetGroup", "targetgroup/t/1"),
        ]
    };
    let ev = evidence(
        vec![
            series("HealthyHostCount", &z("us-east-1a"), "Minimum", &[(60, 1.0)]),
            series("HealthyHostCount", &z("us-east-1b"), "Minimum", &[(60, 0.0)]),
        ],
        &[],
    );
    assert_eq!(ev.zones_without_healthy_host(), ["us-east-1b (targetgroup/t/1)"]);
    let all_down = evidence(
        vec![series(
            "HealthyHostCount",
            &z("us-east-1a"),
            "Minimum",
            &[(60, 0.0)],
        )],
        &[],
    );
    assert!(all_down.zones_without_healthy_host().is_empty());
    // One zone alone going from 1 to 0 had no healthy neighbour.
    let alone = evidence(
        vec![series(
            "HealthyHostCount",
            &z("us-east-1a"),
            "Minimum",
            &[(60, 1.0), (120, 0.0)],
        )],
        &[],
    );
    assert!(alone.zones_without_healthy_host().is_empty());
    // Zones of another target group are not neighbours.
    let mut other = z("us-east-1a");
    other[2].1 = "targetgroup/other/2";
    let apart = evidence(
        vec![
            series("HealthyHostCount", &other, "Minimum", &[(60, 1.0)]),
            series("HealthyHostCount", &z("us-east-1b"), "Minimum", &[(60, 0.0)]),
        ],
        &[],
    );
    assert!(apart.zones_without_healthy_host().is_empty());
}

/// Minutes are real time: at the lab's speed 10, a probe 300 scenario
/// seconds in ran 30 real seconds in; a probe that waited covers every
/// minute it waited through.
#[test]
fn minutes_are_read_in_real_time_from_start_to_end() {
    let mut b = crate::diagnose::dataset::Builder::new();
    let t0 = UNIX_EPOCH + Duration::from_secs(6_000);
    for (at_s, total_ms) in [(0.0, 10.0), (30.0, 10.0), (50.0, 25_000.0)] {
        b.add(&crate::diagnose::dataset::Observation {
            target: "a",
            url: "http://a/",
            at: Some(t0 + Duration::from_secs_f64(at_s)),
            total_ms,
            status: Some(200),
            ..Default::default()
        });
    }
    let ds = b.build(10.0, None);
    assert_eq!(minutes_of(&ds, [0]), BTreeSet::from([6_000]));
    assert_eq!(minutes_of(&ds, [1]), BTreeSet::from([6_000]));
    // 50 s in, 25 s long (in real time): into the next minute.
    assert_eq!(minutes_of(&ds, [2]), BTreeSet::from([6_000, 6_060]));
}

#[test]
fn no_data_points_is_said_plainly() {
    let ev = evidence(vec![series("NewFlowCount", &[], "Sum", &[])], &[]);
    assert!(ev.notes[0].contains("no data points"), "{:?}", ev.notes);
}

/// The ALB's series in the text: its health said to be the ALB's, its
/// target response time (seconds) in human units.
#[test]
fn the_albs_series_read_as_the_albs() {
    let alb = |name: &str, stat: &str, v: f64| {
        let mut s = series(name, &[("LoadBalancer", "app/x/1")], stat, &[(60, v)]);
        s.spec.namespace = ALB_NAMESPACE.into();
        s
    };
    let ev = evidence(
        vec![
            alb("TargetResponseTime", "Average", 0.25),
            alb("HealthyHostCount", "Minimum", 2.0),
            series(
                "HealthyHostCount",
                &[("LoadBalancer", "net/x/1")],
                "Minimum",
                &[(60, 1.0)],
            ),
        ],
        &[],
    );
    let lines = crate::diagnose::render::cloudwatch_lines(&ev);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ALB TargetResponseTime (average, per minute): 250 ms")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ALB HealthyHostCount (minimum")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("HealthyHostCount (minimum")),
        "{lines:?}"
    );
}

//! CloudWatch evidence for the report: the run's window in whole minutes,
//! the minutes its slow or failed probes fell in, and the series read; and
//! the questions the detectors ask of them (resets in the slow minutes, a
//! zone with no healthy host, the gateway's latency against the
//! integration's; an ALB's own 502s and 504s, its target connection
//! errors and target response time, an NLB's rejected flows). The lookup
//! itself is `aws::cloudwatch`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use crate::aws::cloudwatch::{Metrics, ALB_NAMESPACE, NLB_NAMESPACE, PERIOD_SECS, RESET_METRICS};
use crate::probe::clock::format_rfc3339;

/// One series in `aws.cloudwatch.metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    pub namespace: String,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
    pub stat: String,
    /// Start of each minute with data, RFC 3339.
    pub timestamps: Vec<String>,
    pub values: Vec<f64>,
    /// The same minutes as Unix seconds, for reading; not in the report.
    #[serde(skip)]
    pub minutes: Vec<i64>,
}

/// `aws.cloudwatch` in the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudWatchEvidence {
    /// The minutes read, RFC 3339: `[start, end)`.
    pub window: Option<[String; 2]>,
    /// Minutes in which a probe was slow or failed, RFC 3339.
    pub slow_minutes: Vec<String>,
    pub metrics: Vec<MetricSeries>,
    /// What was left out, and why.
    pub notes: Vec<String>,
    /// The call that failed, if one did.
    pub error: Option<String>,
}

/// The minutes (Unix seconds) in which a probe was slow or failed.
pub fn slow_minutes(ds: &Dataset) -> BTreeSet<i64> {
    let bad = ds.samples.iter().enumerate().filter(|(_, s)| ds.is_bad(s));
    minutes_of(ds, bad.map(|(i, _)| i))
}

/// Every minute (Unix seconds, real time) that the probes `idx` spanned,
/// from start to end: a long failed probe covers each minute it waited in.
pub fn minutes_of(ds: &Dataset, idx: impl IntoIterator<Item = usize>) -> BTreeSet<i64> {
    let Some(t0) = ds.t0 else {
        return BTreeSet::new();
    };
    let t0 = t0
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    let minute = |scenario_s: f64| {
        let at = (t0 + scenario_s / ds.scale).floor() as i64;
        at.div_euclid(PERIOD_SECS) * PERIOD_SECS
    };
    let mut out = BTreeSet::new();
    for i in idx {
        let s = &ds.samples[i];
        let (first, last) = (minute(s.start_s), minute(s.end_s.max(s.start_s)));
        out.extend((first..=last).step_by(PERIOD_SECS as usize));
    }
    out
}

fn rfc3339(secs: i64) -> String {
    format_rfc3339(UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
}

impl CloudWatchEvidence {
    /// Evidence from what the lookup read, for the slow minutes of `ds`.
    pub fn new(metrics: Metrics, slow: BTreeSet<i64>) -> CloudWatchEvidence {
        let mut notes = metrics.notes;
        if metrics.error.is_none() && metrics.series.iter().all(|s| s.values.is_empty()) {
            notes.push(
                "CloudWatch had no data points for these series in the run's window: check the names in [aws], the region, and that the metrics have arrived (they take a minute or two)"
                    .into(),
            );
        }
        CloudWatchEvidence {
            window: Some([rfc3339(metrics.window.0), rfc3339(metrics.window.1)]),
            slow_minutes: slow.iter().map(|m| rfc3339(*m)).collect(),
            metrics: metrics
                .series
                .into_iter()
                .map(|s| MetricSeries {
                    namespace: s.spec.namespace,
                    name: s.spec.name,
                    dimensions: s.spec.dimensions,
                    stat: s.spec.stat,
                    timestamps: s.minutes.iter().map(|m| rfc3339(*m)).collect(),
                    values: s.values,
                    minutes: s.minutes,
                })
                .collect(),
            notes,
            error: metrics.error,
        }
    }

    /// Only an error: the lookup could not start.
    pub fn failed(error: String) -> CloudWatchEvidence {
        CloudWatchEvidence {
            error: Some(error),
            ..CloudWatchEvidence::default()
        }
    }

    fn series<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a MetricSeries> + 'a {
        self.metrics.iter().filter(move |m| m.name == name)
    }

    /// Resets the NLB counted (client, target and its own) in `minutes`
    /// (a finding's own probes' minutes) and in the run's other minutes.
    pub fn resets(&self, minutes: &BTreeSet<i64>) -> Resets {
        let mut r = Resets::default();
        let mut with_resets = BTreeSet::new();
        let mut with_data = BTreeSet::new();
        for name in RESET_METRICS {
            for s in self
                .series(name)
                .filter(|s| !s.dimensions.contains_key("AvailabilityZone"))
            {
                for (m, v) in s.minutes.iter().zip(&s.values) {
                    if minutes.contains(m) {
                        with_data.insert(*m);
                        if *v > 0.0 {
                            with_resets.insert(*m);
                        }
                        r.in_minutes += v;
                        *r.by_metric.entry(name).or_default() += v;
                    } else {
                        r.elsewhere += v;
                    }
                }
            }
        }
        r.minutes = minutes.len();
        r.minutes_with_data = with_data.len();
        r.minutes_with_resets = with_resets.len();
        r
    }

    /// Zones (with their target group) whose `HealthyHostCount` was zero in
    /// a minute in which another zone of the same target group had a
    /// healthy host: the NLB's.
    pub fn zones_without_healthy_host(&self) -> Vec<String> {
        self.zones_without_healthy_host_in(NLB_NAMESPACE)
    }

    /// [`Self::zones_without_healthy_host`] of the load balancer that
    /// publishes under `namespace` (`AWS/NetworkELB`, `AWS/ApplicationELB`).
    pub fn zones_without_healthy_host_in(&self, namespace: &str) -> Vec<String> {
        // Target group → minute → [(zone, healthy hosts)].
        type Zones<'a> = Vec<(&'a str, f64)>;
        let mut by_group: BTreeMap<&str, BTreeMap<i64, Zones<'_>>> = BTreeMap::new();
        for s in self
            .series("HealthyHostCount")
            .filter(|s| s.namespace == namespace)
        {
            let (Some(zone), Some(tg)) = (
                s.dimensions.get("AvailabilityZone"),
                s.dimensions.get("TargetGroup"),
            ) else {
                continue;
            };
            for (m, v) in s.minutes.iter().zip(&s.values) {
                by_group
                    .entry(tg)
                    .or_default()
                    .entry(*m)
                    .or_default()
                    .push((zone, *v));
            }
        }
        let mut out = BTreeSet::new();
        for (tg, minutes) in by_group {
            for zones in minutes.values() {
                if zones.iter().any(|(_, v)| *v > 0.0) {
                    for (zone, _) in zones.iter().filter(|(_, v)| *v <= 0.0) {
                        out.insert(format!("{zone} ({tg})"));
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// The largest `UnHealthyHostCount` of any of the NLB's target groups
    /// in the run.
    pub fn max_unhealthy_hosts(&self) -> Option<f64> {
        self.max_unhealthy_hosts_in(NLB_NAMESPACE)
    }

    /// [`Self::max_unhealthy_hosts`] under `namespace`.
    pub fn max_unhealthy_hosts_in(&self, namespace: &str) -> Option<f64> {
        self.series("UnHealthyHostCount")
            .filter(|s| s.namespace == namespace && !s.dimensions.contains_key("AvailabilityZone"))
            .flat_map(|s| s.values.iter().copied())
            .reduce(f64::max)
    }

    /// A load balancer's count (`Sum`, dimension `LoadBalancer` alone)
    /// split by `minutes` (a finding's own probes' minutes) and the run's
    /// other minutes; `None` when CloudWatch had no data point of it at all
    /// (ELB counts are sent only while non-zero, so `None` is not "0").
    pub fn counted(&self, namespace: &str, name: &str, minutes: &BTreeSet<i64>) -> Option<Counted> {
        let mut c = Counted {
            minutes: minutes.len(),
            ..Counted::default()
        };
        let mut with_data = BTreeSet::new();
        let mut with_counts = BTreeSet::new();
        let mut others = BTreeSet::new();
        let mut any = false;
        for s in self.series(name).filter(|s| {
            s.namespace == namespace && s.stat == "Sum" && s.dimensions.keys().eq(["LoadBalancer"])
        }) {
            for (m, v) in s.minutes.iter().zip(&s.values) {
                any = true;
                if minutes.contains(m) {
                    with_data.insert(*m);
                    if *v > 0.0 {
                        with_counts.insert(*m);
                    }
                    c.in_minutes += v;
                } else {
                    others.insert(*m);
                    c.elsewhere += v;
                }
            }
        }
        c.other_minutes_with_data = others.len();
        c.minutes_with_data = with_data.len();
        c.minutes_with_counts = with_counts.len();
        any.then_some(c)
    }

    /// The ALB's `TargetResponseTime` over the run, in ms: its average
    /// (each minute weighted by `RequestCount`) and its worst minute's
    /// maximum. The target's own time, from the ALB sending the request to
    /// the first byte of the answer.
    pub fn target_response_ms(&self) -> Option<(f64, Option<f64>)> {
        let alb = |name: &'static str, stat: &'static str| {
            self.series(name)
                .filter(move |s| s.namespace == ALB_NAMESPACE && s.stat == stat)
                .filter(|s| s.dimensions.keys().eq(["LoadBalancer"]))
                .flat_map(|s| s.minutes.iter().copied().zip(s.values.iter().copied()))
        };
        let counts: BTreeMap<i64, f64> = alb("RequestCount", "Sum").collect();
        let (sum, weight) = alb("TargetResponseTime", "Average")
            .map(|(m, v)| (v, counts.get(&m).copied().unwrap_or(1.0)))
            .fold((0.0, 0.0), |(sum, w), (v, n)| (sum + v * n, w + n));
        let max = alb("TargetResponseTime", "Maximum")
            .map(|(_, v)| v)
            .reduce(f64::max);
        (weight > 0.0).then(|| (sum / weight * 1000.0, max.map(|m| m * 1000.0)))
    }

    /// The gateway's average `Latency` and `IntegrationLatency` over the
    /// run, in ms, each minute weighted by its request `Count`: close
    /// together put the time behind the gateway.
    pub fn api_latencies(&self) -> Option<(f64, f64)> {
        let counts: BTreeMap<i64, f64> = self
            .series("Count")
            .flat_map(|s| s.minutes.iter().copied().zip(s.values.iter().copied()))
            .collect();
        let mean = |name: &str| {
            let (sum, weight) = self
                .series(name)
                .filter(|s| s.stat == "Average")
                .flat_map(|s| s.minutes.iter().zip(&s.values))
                .map(|(m, v)| (v, counts.get(m).copied().unwrap_or(1.0)))
                .fold((0.0, 0.0), |(sum, w), (v, n)| (sum + v * n, w + n));
            (weight > 0.0).then(|| sum / weight)
        };
        Some((mean("Latency")?, mean("IntegrationLatency")?))
    }
}

/// A load balancer's count, split by the minutes it fell in.
#[derive(Debug, Default, PartialEq)]
pub struct Counted {
    /// The count in the minutes asked about, and in the run's others.
    pub in_minutes: f64,
    pub elsewhere: f64,
    /// The minutes asked about; those CloudWatch had a data point for;
    /// those with a count above zero.
    pub minutes: usize,
    pub minutes_with_data: usize,
    pub minutes_with_counts: usize,
    /// The run's other minutes CloudWatch had a data point for.
    pub other_minutes_with_data: usize,
}

impl Counted {
    /// More per minute in the minutes asked about than in the others (or
    /// none elsewhere): the count rose with them.
    pub fn rose_with(&self) -> bool {
        let per = |n: f64, m: usize| n / m.max(1) as f64;
        self.in_minutes > 0.0
            && per(self.in_minutes, self.minutes_with_data)
                >= per(self.elsewhere, self.other_minutes_with_data)
    }
}

/// The NLB's resets, split by the minutes they fell in.
#[derive(Debug, Default, PartialEq)]
pub struct Resets {
    /// Resets in the minutes asked about.
    pub in_minutes: f64,
    pub elsewhere: f64,
    /// The minutes asked about; those CloudWatch had reset data for (a
    /// minute just ended may have none yet); those with resets.
    pub minutes: usize,
    pub minutes_with_data: usize,
    pub minutes_with_resets: usize,
    pub by_metric: BTreeMap<&'static str, f64>,
}

impl Resets {
    /// `TCP_ELB_Reset_Count 4, TCP_Target_Reset_Count 1`.
    pub fn describe(&self) -> String {
        self.by_metric
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
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
}

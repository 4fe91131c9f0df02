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
        self.counted_as(namespace, name, "Sum", minutes)
    }

    /// [`Self::counted`] for the series read with statistic `stat`: each
    /// minute's value of it, added up over the minutes.
    pub fn counted_as(
        &self,
        namespace: &str,
        name: &str,
        stat: &str,
        minutes: &BTreeSet<i64>,
    ) -> Option<Counted> {
        let mut c = Counted {
            minutes: minutes.len(),
            ..Counted::default()
        };
        let mut with_data = BTreeSet::new();
        let mut with_counts = BTreeSet::new();
        let mut others = BTreeSet::new();
        let mut any = false;
        for s in self.series(name).filter(|s| {
            s.namespace == namespace && s.stat == stat && s.dimensions.keys().eq(["LoadBalancer"])
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
mod tests;

//! CloudWatch evidence for the report: the run's window in whole minutes,
//! the minutes its slow or failed probes fell in, and the series read; and
//! the questions the detectors ask of them (resets in the slow minutes, a
//! zone with no healthy host, the gateway's latency against the
//! integration's). The lookup itself is `aws::cloudwatch`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use crate::aws::cloudwatch::{Metrics, PERIOD_SECS, RESET_METRICS};
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
    #[serde(skip)]
    slow_minute_secs: BTreeSet<i64>,
}

/// The minutes (Unix seconds) in which a probe was slow or failed.
pub fn slow_minutes(ds: &Dataset) -> BTreeSet<i64> {
    let Some(t0) = ds.t0 else {
        return BTreeSet::new();
    };
    let t0 = t0
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    ds.samples
        .iter()
        .filter(|s| ds.is_bad(s))
        .map(|s| {
            let at = (t0 + s.start_s / ds.scale) as i64;
            at / PERIOD_SECS * PERIOD_SECS
        })
        .collect()
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
            slow_minute_secs: slow,
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

    /// Resets the NLB counted (client, target and its own), in the slow
    /// minutes and in the other minutes of the run.
    pub fn resets(&self) -> Resets {
        let mut r = Resets::default();
        for name in RESET_METRICS {
            for s in self
                .series(name)
                .filter(|s| !s.dimensions.contains_key("AvailabilityZone"))
            {
                for (m, v) in s.minutes.iter().zip(&s.values) {
                    if self.slow_minute_secs.contains(m) {
                        r.in_slow_minutes += v;
                        *r.by_metric.entry(name).or_default() += v;
                    } else {
                        r.elsewhere += v;
                    }
                }
            }
        }
        r.slow_minutes = self.slow_minute_secs.len();
        r
    }

    /// Zones (with their target group) whose `HealthyHostCount` fell to
    /// zero in the run, while another zone kept a healthy host.
    pub fn zones_without_healthy_host(&self) -> Vec<String> {
        let zonal: Vec<&MetricSeries> = self
            .series("HealthyHostCount")
            .filter(|s| s.dimensions.contains_key("AvailabilityZone"))
            .collect();
        let empty: Vec<String> = zonal
            .iter()
            .filter(|s| s.values.iter().any(|v| *v <= 0.0))
            .map(|s| {
                let zone = &s.dimensions["AvailabilityZone"];
                match s.dimensions.get("TargetGroup") {
                    Some(tg) => format!("{zone} ({tg})"),
                    None => zone.clone(),
                }
            })
            .collect();
        let some_healthy = zonal.iter().any(|s| s.values.iter().any(|v| *v > 0.0));
        if some_healthy {
            empty
        } else {
            Vec::new()
        }
    }

    /// The largest `UnHealthyHostCount` of any target group in the run.
    pub fn max_unhealthy_hosts(&self) -> Option<f64> {
        self.series("UnHealthyHostCount")
            .filter(|s| !s.dimensions.contains_key("AvailabilityZone"))
            .flat_map(|s| s.values.iter().copied())
            .reduce(f64::max)
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

/// The NLB's resets, split by the minutes they fell in.
#[derive(Debug, Default, PartialEq)]
pub struct Resets {
    pub in_slow_minutes: f64,
    pub elsewhere: f64,
    pub slow_minutes: usize,
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
        let r = ev.resets();
        assert_eq!((r.in_slow_minutes, r.elsewhere, r.slow_minutes), (4.0, 1.0, 1));
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
    }

    #[test]
    fn no_data_points_is_said_plainly() {
        let ev = evidence(vec![series("NewFlowCount", &[], "Sum", &[])], &[]);
        assert!(ev.notes[0].contains("no data points"), "{:?}", ev.notes);
    }
}

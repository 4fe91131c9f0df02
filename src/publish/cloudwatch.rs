//! An interval as `PutMetricData` calls: one datum per metric per series,
//! latencies as `Values`/`Counts` (never `StatisticValues` alone, so that
//! CloudWatch computes percentiles across every host that puts into the
//! series), in as few calls as the request limits allow.

use std::future::Future;
use std::time::SystemTime;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use super::aggregate::{Interval, SeriesKey};
use super::contract::{self, dimension_value};
use super::namespace::Namespace;

/// `PutMetricData` takes at most 150 distinct values a datum…
pub const VALUES_PER_DATUM: usize = 150;
/// …at most 1000 datums a call…
pub const DATUMS_PER_CALL: usize = 1000;
/// …and at most 1 MB a request. Batches are cut well below, by a generous
/// estimate of each datum's size in the most verbose of the service's
/// protocols (the query protocol's `MetricData.member.N.Values.member.M=`
/// keys), so that no protocol's encoding of a batch reaches the limit.
pub const BYTES_PER_CALL: usize = 800_000;

/// The datums of one interval, stamped `at` (the interval's start).
pub fn datums(interval: &Interval, at: SystemTime) -> Vec<MetricDatum> {
    let at = DateTime::from(at);
    let mut out = Vec::new();
    for (key, s) in &interval.series {
        for (phase, latencies) in &s.latencies {
            let Some(d) = latencies.distribution(VALUES_PER_DATUM) else {
                continue;
            };
            out.push(
                datum(
                    contract::LATENCY,
                    key,
                    Some((contract::PHASE, phase)),
                    at,
                    StandardUnit::Milliseconds,
                )
                .set_values(Some(d.values))
                .set_counts(Some(d.counts))
                .build(),
            );
        }
        // Success is put even when nothing succeeded: an alarm on it sees
        // a 0, not missing data.
        out.push(
            datum(contract::SUCCESS, key, None, at, StandardUnit::Count)
                .value(s.success as f64)
                .build(),
        );
        for (kind, n) in &s.failures {
            out.push(
                datum(
                    contract::FAILURE,
                    key,
                    Some((contract::KIND, kind.as_str())),
                    at,
                    StandardUnit::Count,
                )
                .value(*n as f64)
                .build(),
            );
        }
        if let Some(share) = s.warm_share() {
            out.push(
                datum(contract::WARM_SHARE, key, None, at, StandardUnit::Percent)
                    .value(share)
                    .build(),
            );
        }
    }
    out
}

fn datum(
    name: &str,
    key: &SeriesKey,
    extra: Option<(&str, &str)>,
    at: DateTime,
    unit: StandardUnit,
) -> aws_sdk_cloudwatch::types::builders::MetricDatumBuilder {
    let mut dims = vec![
        dimension(contract::TARGET, &key.target),
        dimension(contract::VANTAGE, &key.vantage),
    ];
    if let Some((name, value)) = extra {
        dims.push(dimension(name, value));
    }
    MetricDatum::builder()
        .metric_name(name)
        .set_dimensions(Some(dims))
        .timestamp(at)
        .unit(unit)
        .storage_resolution(60)
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder()
        .name(name)
        .value(dimension_value(value))
        .build()
}

/// A generous estimate of a datum's size on the wire, in bytes.
fn estimated_size(d: &MetricDatum) -> usize {
    let dims: usize = d
        .dimensions()
        .iter()
        .map(|x| 80 + x.name().map_or(0, str::len) + x.value().map_or(0, str::len) * 3)
        .sum();
    200 + dims + (d.values().len() + d.counts().len()) * 60
}

/// The datums in batches within the call limits, in order.
pub fn batches(data: Vec<MetricDatum>) -> Vec<Vec<MetricDatum>> {
    let mut out: Vec<Vec<MetricDatum>> = Vec::new();
    let mut size = 0;
    for d in data {
        let n = estimated_size(&d);
        match out.last_mut() {
            Some(batch) if batch.len() < DATUMS_PER_CALL && size + n <= BYTES_PER_CALL => {
                size += n;
                batch.push(d);
            }
            _ => {
                size = n;
                out.push(vec![d]);
            }
        }
    }
    out
}

/// Where batches go: CloudWatch, or a test's stand-in.
pub trait Sink: Send + Sync + 'static {
    /// One call; the error is one line, with no secret in it.
    fn put(
        &self,
        namespace: &Namespace,
        batch: Vec<MetricDatum>,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

impl Sink for aws_sdk_cloudwatch::Client {
    async fn put(&self, namespace: &Namespace, batch: Vec<MetricDatum>) -> Result<(), String> {
        self.put_metric_data()
            .namespace(namespace.as_str())
            .set_metric_data(Some(batch))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::aws::describe("cloudwatch:PutMetricData", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::aggregate::SeriesData;

    fn interval(targets: usize, distinct: usize) -> Interval {
        let mut interval = Interval::default();
        for t in 0..targets {
            let mut s = SeriesData::default();
            for phase in contract::phase_names() {
                let l = s.latencies.entry(phase).or_default();
                for i in 0..distinct {
                    l.record_ms(1.0 + i as f64 * 7.3);
                }
            }
            s.probes = distinct as u64;
            s.success = distinct as u64;
            interval.series.insert(
                SeriesKey {
                    target: format!("t{t}").into(),
                    vantage: "v".into(),
                },
                s,
            );
        }
        interval
    }

    #[test]
    fn every_datum_has_its_unit_dimensions_and_at_most_150_values() {
        let data = datums(&interval(1, 1000), SystemTime::UNIX_EPOCH);
        // 8 latencies, success, warm share.
        assert_eq!(data.len(), 10);
        for d in &data {
            assert!(d.values().len() <= VALUES_PER_DATUM);
            assert_eq!(d.values().len(), d.counts().len());
            assert!(d.statistic_values().is_none());
            assert!(d.unit().is_some());
            let names: Vec<_> = d.dimensions().iter().filter_map(|x| x.name()).collect();
            assert_eq!(&names[..2], ["Target", "Vantage"]);
        }
    }

    #[test]
    fn batches_stay_within_the_call_limits_and_keep_every_datum() {
        let data = datums(&interval(300, 1000), SystemTime::UNIX_EPOCH);
        let n = data.len();
        let b = batches(data);
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), n);
        for batch in &b {
            assert!(batch.len() <= DATUMS_PER_CALL);
            assert!(batch.iter().map(estimated_size).sum::<usize>() <= BYTES_PER_CALL);
        }
        // Full batches: no more calls than the size estimate needs.
        let total: usize = b.iter().flatten().map(estimated_size).sum();
        assert!(
            b.len() <= total / (BYTES_PER_CALL - 20_000) + 1,
            "{} calls",
            b.len()
        );
        // Small intervals: one call.
        assert_eq!(batches(datums(&interval(20, 3), SystemTime::UNIX_EPOCH)).len(), 1);
    }
}

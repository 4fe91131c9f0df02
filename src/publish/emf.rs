//! An interval as CloudWatch Embedded Metric Format lines, for hosts where
//! a CloudWatch agent or Lambda already ships the logs: the same metrics,
//! dimensions and units as `PutMetricData` (see `contract`), one JSON
//! object a line.
//!
//! The dimension values sit at the root of a line, so a line carries one
//! `Phase` or one `Kind`: per series and interval there is a line with
//! `ProbeSuccess` and `WarmShare` (dimensions Target, Vantage), a line per
//! phase with `ProbeLatency` (Target, Vantage, Phase) and a line per
//! failure kind with `ProbeFailure` (Target, Vantage, Kind). A latency is
//! `{"Values":[…],"Counts":[…],"Min","Max","Count","Sum"}` with at most
//! 100 values (the format's limit on a metric's values).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::aggregate::{Interval, SeriesKey};
use super::contract::{self, dimension_value};
use super::namespace::Namespace;

/// The format's limit on the values of one metric.
pub const VALUES_PER_METRIC: usize = 100;

/// The lines of one interval stamped `at`, without their newlines.
pub fn lines(namespace: &Namespace, interval: &Interval, at: SystemTime) -> Vec<String> {
    let ms = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mut out = Vec::new();
    for (key, s) in &interval.series {
        let mut metrics = vec![(contract::SUCCESS, contract::COUNT, json!(s.success))];
        if let Some(share) = s.warm_share() {
            metrics.push((contract::WARM_SHARE, contract::PERCENT, json!(share)));
        }
        out.push(line(namespace, ms, key, None, &metrics));
        for (phase, latencies) in &s.latencies {
            let Some(d) = latencies.distribution(VALUES_PER_METRIC) else {
                continue;
            };
            let value = json!({
                "Values": d.values,
                "Counts": d.counts,
                "Min": d.min,
                "Max": d.max,
                "Count": d.sample_count(),
                "Sum": d.sum(),
            });
            out.push(line(
                namespace,
                ms,
                key,
                Some((contract::PHASE, phase)),
                &[(contract::LATENCY, contract::MILLISECONDS, value)],
            ));
        }
        for (kind, n) in &s.failures {
            out.push(line(
                namespace,
                ms,
                key,
                Some((contract::KIND, kind.as_str())),
                &[(contract::FAILURE, contract::COUNT, json!(n))],
            ));
        }
    }
    out
}

fn line(
    namespace: &Namespace,
    ms: u64,
    key: &SeriesKey,
    extra: Option<(&str, &str)>,
    metrics: &[(&str, &str, Value)],
) -> String {
    let mut dims = vec![contract::TARGET, contract::VANTAGE];
    let mut root = Map::new();
    root.insert(contract::TARGET.into(), json!(dimension_value(&key.target)));
    root.insert(contract::VANTAGE.into(), json!(dimension_value(&key.vantage)));
    if let Some((name, value)) = extra {
        dims.push(name);
        root.insert(name.into(), json!(dimension_value(value)));
    }
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit, "StorageResolution": 60}))
        .collect();
    for (name, _, value) in metrics {
        root.insert((*name).into(), value.clone());
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace.as_str(),
                "Dimensions": [dims],
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(root).to_string()
}

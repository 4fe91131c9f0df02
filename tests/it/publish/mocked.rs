//! The request the publisher sends, read with aws-smithy-mocks: a wide
//! spread of latencies goes out as at most 150 `Values` with `Counts`
//! (never `StatisticValues`), and the percentiles CloudWatch would compute
//! from them match the exact ones within the error the distribution
//! states; a refused call is counted and retried.

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::operation::put_metric_data::{
    PutMetricDataError, PutMetricDataInput, PutMetricDataOutput,
};
use aws_sdk_cloudwatch::types::MetricDatum;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use coldlink::publish::distribution::Latencies;
use coldlink::publish::{Hooks, Namespace, Publisher, Stats, Timing};

use super::record;

/// The value at quantile `q` as CloudWatch reads a values/counts
/// distribution: the smallest value whose cumulative count reaches the rank.
fn percentile(values: &[f64], counts: &[f64], q: f64) -> f64 {
    let total: f64 = counts.iter().sum();
    let rank = (q * total).ceil().max(1.0);
    let mut seen = 0.0;
    for (v, c) in values.iter().zip(counts) {
        seen += c;
        if seen >= rank {
            return *v;
        }
    }
    *values.last().unwrap()
}

fn exact(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn capture() -> (aws_smithy_mocks::Rule, Arc<Mutex<Vec<PutMetricDataInput>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
        .match_requests({
            let seen = seen.clone();
            move |r| {
                seen.lock().unwrap().push(r.clone());
                true
            }
        })
        .then_output(|| PutMetricDataOutput::builder().build());
    (rule, seen)
}

#[tokio::test]
async fn the_request_carries_values_and_counts_whose_percentiles_match_within_the_stated_error() {
    let (rule, seen) = capture();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let p = Publisher::with(
        Namespace::parse("Coldlink/Test").unwrap(),
        Some(client),
        None,
        Timing::default(),
        Hooks::log_warnings(),
    );
    // 5000 probes from 3 ms to 9 s, a long tail: far more than 150 buckets.
    let mut totals: Vec<f64> = (0..5000)
        .map(|i| {
            let x = i as f64 / 5000.0;
            3.0 + 20.0 * x + if i % 10 == 0 { 9000.0 * x * x } else { 0.0 }
        })
        .collect();
    for t in &totals {
        p.tap().observe(&record("orders", "eu-west-1a", *t, None, true));
    }
    let stats = p.finish().await;
    assert_eq!(Stats::get(&stats.calls_ok), 1);
    let requests = seen.lock().unwrap();
    assert_eq!(requests.len(), 1, "one interval, one call");
    assert_eq!(requests[0].namespace(), Some("Coldlink/Test"));
    let data: &[MetricDatum] = requests[0].metric_data();
    let total = data
        .iter()
        .find(|d| {
            d.metric_name() == Some("ProbeLatency")
                && d.dimensions()
                    .iter()
                    .any(|x| x.name() == Some("Phase") && x.value() == Some("total"))
        })
        .expect("the total's distribution");
    assert!(total.statistic_values().is_none());
    assert!(total.value().is_none());
    let (values, counts) = (total.values(), total.counts());
    assert!(
        values.len() <= 150 && values.len() > 100,
        "{} values",
        values.len()
    );
    assert_eq!(counts.iter().sum::<f64>(), 5000.0);
    // The bound the distribution states for itself.
    let mut hdr = Latencies::default();
    totals.iter().for_each(|t| hdr.record_ms(*t));
    let bound = hdr.distribution(150).unwrap().error_bound();
    // 150 values over three and a half decades: about 5 % a value.
    assert!(bound < 0.06, "bound {bound}");
    totals.sort_by(f64::total_cmp);
    for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
        let (got, want) = (percentile(values, counts, q), exact(&totals, q));
        assert!(
            (got / want - 1.0).abs() <= bound,
            "p{}: {got} vs {want} (bound {bound})",
            q * 100.0
        );
        // And as HDR itself says, to its own precision.
        let hdr_q = hdr.quantile_ms(q);
        assert!(
            (got / hdr_q - 1.0).abs() <= bound + 0.01,
            "p{}: {got} vs HDR {hdr_q}",
            q * 100.0
        );
    }
    let unit = total.unit().map(|u| u.as_str());
    assert_eq!(unit, Some("Milliseconds"));
}

#[tokio::test]
async fn a_refused_call_is_counted_and_the_hook_hears_it() {
    let refused = mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_error(|| {
        PutMetricDataError::generic(
            aws_sdk_cloudwatch::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized to perform cloudwatch:PutMetricData")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&refused]);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sinks = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let hooks = Hooks {
        log: {
            let lines = lines.clone();
            Arc::new(move |l| lines.lock().unwrap().push(l.to_string()))
        },
        on_failure: {
            let sinks = sinks.clone();
            Arc::new(move |s| sinks.lock().unwrap().push(s))
        },
    };
    let p = Publisher::with(
        Namespace::parse("Coldlink/Test").unwrap(),
        Some(client),
        None,
        Timing::default(),
        hooks,
    );
    p.tap().observe(&record("orders", "v", 10.0, None, false));
    let stats = p.finish().await;
    assert_eq!(Stats::get(&stats.calls_failed), 1);
    assert_eq!(
        Stats::get(&stats.datums_dropped),
        8,
        "the interval, given up at stop"
    );
    assert_eq!(*sinks.lock().unwrap(), ["cloudwatch"]);
    let lines = lines.lock().unwrap();
    assert!(
        lines[0].contains("AccessDenied") && lines[0].contains("cloudwatch:PutMetricData"),
        "{lines:?}"
    );
}

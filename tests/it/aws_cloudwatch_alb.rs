//! An ALB's CloudWatch metrics (`AWS/ApplicationELB`) against LocalStack's
//! core runtime: what the lab's publisher sends for an ALB comes back
//! through the reads `diagnose --cloudwatch` makes, and metrics put the way
//! an ALB publishes them are joined to the findings they confirm when a
//! profile names `[aws] alb`. LocalStack computes no percentiles, so only
//! Sum, Average, Minimum and Maximum are read and asserted.

use crate::common::{aws_diagnose, localstack};

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_diagnose::{diagnose, evidence_line, report};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StatisticSet};
use coldlink::aws::cloudwatch::{fetch, health_series, specs, window, Resources, ALB_NAMESPACE};
use coldlink::lab::alb::AlbStats;
use coldlink::lab::cloudwatch::{publish, AwsNames, Sources};
use coldlink::lab::nlb::NlbStats;
use tokio_util::sync::CancellationToken;

fn secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The lab's publisher given an ALB's counters (incremented here, as the
/// lab's ALB would): its counts, target response time in scenario seconds
/// and health per zone come back as `diagnose --cloudwatch` reads them for
/// a profile naming only the ALB.
#[tokio::test(flavor = "multi_thread")]
async fn the_labs_alb_metrics_come_back_as_an_albs() {
    let ls = tokio::task::spawn_blocking(localstack::LocalStack::start)
        .await
        .unwrap();
    let cw = ls.cloudwatch();
    let names = AwsNames::new();
    let alb = Arc::new(AlbStats::default());
    let (_gateway_tx, gateway) = tokio::sync::mpsc::channel(1);
    let sources = Sources {
        nlb: Arc::new(NlbStats::default()),
        alb: Some(alb.clone()),
        // Target 1 (us-east-1b) fails its health check.
        healthy: vec![true, false, true],
        gateway,
        stage: "test".into(),
        names: names.clone(),
        speed: 10.0,
    };
    let cancel = CancellationToken::new();
    let start = SystemTime::now();
    // Published on flush only (the first tick aside): the counts below
    // reach CloudWatch when the flush returns.
    let (task, flush) = publish(cw.clone(), sources, Duration::from_secs(3600), cancel.clone());
    tokio::spawn(task);
    alb.requests.fetch_add(7, Ordering::Relaxed);
    alb.elb_502.fetch_add(2, Ordering::Relaxed);
    alb.target_connection_errors.fetch_add(1, Ordering::Relaxed);
    // Five answers of 40 ms real time each: 0.4 s at speed 10.
    alb.target_response_us.fetch_add(200_000, Ordering::Relaxed);
    alb.target_responses.fetch_add(5, Ordering::Relaxed);
    flush.flush().await;
    cancel.cancel();

    let resources = Resources {
        alb: Some(names.alb.clone()),
        ..Resources::default()
    };
    let mut all = specs(&resources);
    let zonal = health_series(&cw, &resources).await.expect("ListMetrics");
    let zones: Vec<&str> = zonal
        .iter()
        .filter(|s| s.name == "HealthyHostCount")
        .filter_map(|s| s.dimensions.get("AvailabilityZone").map(String::as_str))
        .collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    assert!(zonal.iter().all(|s| s.namespace == ALB_NAMESPACE
        && s.dimensions["LoadBalancer"] == names.alb
        && s.dimensions["TargetGroup"] == names.target_group));
    all.extend(zonal);
    let got = fetch(&cw, &all, window(start, SystemTime::now())).await;
    assert_eq!(got.error, None);
    let total = |name: &str, stat: &str| -> Vec<f64> {
        got.series
            .iter()
            .filter(|s| s.spec.name == name && s.spec.stat == stat)
            .filter(|s| !s.spec.dimensions.contains_key("TargetGroup"))
            .flat_map(|s| s.values.iter().copied())
            .collect()
    };
    assert_eq!(total("RequestCount", "Sum").iter().sum::<f64>(), 7.0);
    assert_eq!(total("HTTPCode_ELB_502_Count", "Sum").iter().sum::<f64>(), 2.0);
    assert_eq!(total("HTTPCode_ELB_504_Count", "Sum").iter().sum::<f64>(), 0.0);
    assert_eq!(
        total("TargetConnectionErrorCount", "Sum").iter().sum::<f64>(),
        1.0
    );
    let average = total("TargetResponseTime", "Average");
    assert_eq!(average.len(), 1, "one minute with answers: {average:?}");
    assert!((average[0] - 0.4).abs() < 1e-9, "{average:?}");
    let zone_b = got
        .series
        .iter()
        .find(|s| {
            s.spec.name == "HealthyHostCount"
                && s.spec.dimensions.get("AvailabilityZone").map(String::as_str) == Some("us-east-1b")
        })
        .expect("us-east-1b's health");
    assert!(zone_b.values.iter().all(|v| *v == 0.0) && !zone_b.values.is_empty());
    let ev = coldlink::diagnose::cloudwatch::CloudWatchEvidence::new(got, Default::default());
    assert_eq!(
        ev.zones_without_healthy_host_in(ALB_NAMESPACE),
        [format!("us-east-1b ({})", names.target_group)]
    );
    // The NLB's questions are not asked of the ALB's health.
    assert!(ev.zones_without_healthy_host().is_empty());
}

/// Probe records of lab `scenario` (speed `speed`, `n` probes per URL),
/// and the whole minutes (Unix seconds) the probing ran in.
fn records(dir: &std::path::Path, scenario: &str, speed: &str, n: &str) -> (std::path::PathBuf, Vec<i64>) {
    let path = dir.join(format!("{scenario}.ndjson"));
    let before = secs(SystemTime::now());
    let probe = std::process::Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args([
            "probe", "--lab", scenario, "--speed", speed, "-n", n, "-q", "--out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    // Exit code 1 when probes failed (the 504s asked for); 2 is bad input.
    assert!(
        matches!(probe.status.code(), Some(0 | 1)) && path.exists(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let after = secs(SystemTime::now());
    let minutes = (before / 60 * 60..=after / 60 * 60).step_by(60).collect();
    (path, minutes)
}

/// A profile whose `[aws]` names only the ALB `alb`.
fn profile(dir: &std::path::Path, alb: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{}.toml", alb.replace('/', "-")));
    std::fs::write(
        &path,
        format!("[[target]]\nname = \"a\"\nurl = \"https://example.com/\"\n\n[aws]\nregion = \"us-east-1\"\nalb = \"{alb}\"\n"),
    )
    .unwrap();
    path
}

fn lb(alb: &str) -> Vec<Dimension> {
    vec![Dimension::builder().name("LoadBalancer").value(alb).build()]
}

fn count(name: &str, alb: &str, minute: i64, value: f64) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(name)
        .set_dimensions(Some(lb(alb)))
        .timestamp(DateTime::from_secs(minute + 1))
        .value(value)
        .build()
}

/// `TargetResponseTime` of `n` answers averaging `mean_s` seconds.
fn target_time(alb: &str, minute: i64, mean_s: f64, n: f64) -> MetricDatum {
    MetricDatum::builder()
        .metric_name("TargetResponseTime")
        .set_dimensions(Some(lb(alb)))
        .timestamp(DateTime::from_secs(minute + 2))
        .statistic_values(
            StatisticSet::builder()
                .sample_count(n)
                .sum(mean_s * n)
                .minimum(mean_s)
                .maximum(mean_s)
                .build(),
        )
        .build()
}

fn put(ls: &localstack::LocalStack, data: Vec<MetricDatum>) {
    let cw = ls.cloudwatch();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(
            cw.put_metric_data()
                .namespace(ALB_NAMESPACE)
                .set_metric_data(Some(data))
                .send(),
        )
        .expect("PutMetricData (ALB)");
}

/// `diagnose --from RECORDS --cloudwatch` with the profile naming `alb`.
fn diagnose_alb(
    ls: &localstack::LocalStack,
    records: &std::path::Path,
    profile: &std::path::Path,
) -> std::process::Output {
    diagnose(&[
        "--from",
        records.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--cloudwatch",
        "--aws-endpoint",
        &ls.endpoint,
        "--format",
        "json",
    ])
}

/// The ALB's own 504s in the minutes of the 504s the client saw: the
/// integration-timeout finding names the ALB's timeout and is a little
/// more confident; an ALB that answered no 504 in those minutes is said
/// not to have, and confirms nothing. The report carries the ALB's series.
#[test]
fn diagnose_from_records_joins_the_albs_own_504s_to_the_integration_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let ls = localstack::LocalStack::start();
    let (records, minutes) = records(dir.path(), "integration-timeout", "50", "4");
    let id: u32 = rand::random();
    let [timed_out, quiet] = [format!("app/alb504-{id:08x}/1"), format!("app/quiet-{id:08x}/2")];
    let mut data = Vec::new();
    for &m in &minutes {
        data.push(count("RequestCount", &timed_out, m, 8.0));
        data.push(count("HTTPCode_ELB_504_Count", &timed_out, m, 8.0));
        data.push(count("RequestCount", &quiet, m, 8.0));
    }
    put(&ls, data);

    let without = diagnose(&["--from", records.to_str().unwrap(), "--format", "json"]);
    let base = report(&without)["findings"][0]["confidence"].as_f64().unwrap();

    let out = diagnose_alb(&ls, &records, &profile(dir.path(), &timed_out));
    let r = report(&out);
    let cw = &r["aws"]["cloudwatch"];
    assert_eq!(cw["error"], serde_json::Value::Null, "{cw}");
    let series: Vec<&serde_json::Value> = cw["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["namespace"] == ALB_NAMESPACE && m["dimensions"]["LoadBalancer"] == timed_out.as_str())
        .collect();
    let sum_of = |name: &str| -> f64 {
        series
            .iter()
            .filter(|m| m["name"] == name)
            .flat_map(|m| m["values"].as_array().unwrap().iter().filter_map(|v| v.as_f64()))
            .sum()
    };
    assert_eq!(
        sum_of("HTTPCode_ELB_504_Count"),
        8.0 * minutes.len() as f64,
        "{cw}"
    );
    assert_eq!(sum_of("RequestCount"), 8.0 * minutes.len() as f64, "{cw}");
    let line = evidence_line(
        &r,
        &out.stderr,
        "integration-timeout",
        "CloudWatch: HTTPCode_ELB_504_Count",
    );
    assert!(line.contains("the ALB answered those 504s itself"), "{line}");
    assert!(line.contains("idle_timeout.timeout_seconds"), "{line}");
    let finding = &r["findings"].as_array().unwrap()[0];
    assert_eq!(finding["cause"], "integration-timeout");
    let raised = finding["confidence"].as_f64().unwrap();
    assert!(raised > base || raised == 0.95, "{base} → {raised}");

    let out = diagnose_alb(&ls, &records, &profile(dir.path(), &quiet));
    let r = report(&out);
    let line = evidence_line(
        &r,
        &out.stderr,
        "integration-timeout",
        "CloudWatch: HTTPCode_ELB_504_Count 0 in",
    );
    assert!(line.contains("not the ALB's own 504s"), "{line}");
    assert_eq!(r["findings"][0]["confidence"].as_f64().unwrap(), base);
}

/// The ALB's `TargetResponseTime` (seconds) against the client's time to
/// first byte on a slow backend: close to it puts the time in the target;
/// far below it puts it before the target.
#[test]
fn diagnose_from_records_compares_target_response_time_with_the_ttfb() {
    let dir = tempfile::tempdir().unwrap();
    let ls = localstack::LocalStack::start();
    // The lab's app takes 800 ms (scenario time) to answer.
    let (records, minutes) = records(dir.path(), "slow-backend", "10", "6");
    let id: u32 = rand::random();
    let [in_target, elsewhere] = [format!("app/slow-{id:08x}/1"), format!("app/fast-{id:08x}/2")];
    let mut data = Vec::new();
    for &m in &minutes {
        data.push(count("RequestCount", &in_target, m, 6.0));
        data.push(target_time(&in_target, m, 0.8, 6.0));
        data.push(count("RequestCount", &elsewhere, m, 6.0));
        data.push(target_time(&elsewhere, m, 0.05, 6.0));
    }
    put(&ls, data);
    for (alb, meaning) in [
        (&in_target, "the time is in the target itself"),
        (&elsewhere, "the rest is spent before the target"),
    ] {
        let out = diagnose_alb(&ls, &records, &profile(dir.path(), alb));
        let r = report(&out);
        let line = evidence_line(
            &r,
            &out.stderr,
            "slow-backend",
            "CloudWatch: the ALB's TargetResponseTime averaged",
        );
        assert!(line.contains(meaning), "{alb}: {line}");
        let expected = if alb == &in_target { "800 ms" } else { "50 ms" };
        assert!(line.contains(&format!("averaged {expected}")), "{line}");
    }
}

/// LocalStack's own sum of the ALB `alb`'s `metric` since `from`, asked
/// with `GetMetricStatistics` (not through coldlink's reads).
fn stored_sum(ls: &localstack::LocalStack, alb: &str, metric: &str, from: SystemTime) -> f64 {
    let cw = ls.cloudwatch();
    let start = secs(from) / 60 * 60;
    let end = secs(SystemTime::now()) / 60 * 60 + 120;
    let out = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(
            cw.get_metric_statistics()
                .namespace(ALB_NAMESPACE)
                .metric_name(metric)
                .set_dimensions(Some(lb(alb)))
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .period(60)
                .statistics(aws_sdk_cloudwatch::types::Statistic::Sum)
                .send(),
        )
        .expect("GetMetricStatistics (ALB)");
    out.datapoints().iter().filter_map(|d| d.sum()).sum()
}

/// Issue 18, end to end: `diagnose --lab alb-keepalive-race --cloudwatch`
/// against LocalStack. The lab's ALB publishes its own 502 pages as
/// `AWS/ApplicationELB` counts under its `LoadBalancer` dimension, the
/// lookup reads them back, and the keep-alive race's finding carries them
/// as a confirming line. The scenario's race is wide (5 s after a 5 s
/// keep-alive) over four targets, with other clients' traffic at the rate
/// that makes the most of it: a run shows about ten of the ALB's pages
/// among the probes, where the detector needs two.
#[test]
fn diagnose_cloudwatch_on_the_lab_joins_the_albs_own_502s_to_the_keepalive_race() {
    let ls = localstack::LocalStack::start();
    let started = SystemTime::now();
    let out = diagnose(&[
        "--lab",
        "alb-keepalive-race",
        "--cloudwatch",
        "--aws-endpoint",
        &ls.endpoint,
        "--format",
        "json",
    ]);
    let r = report(&out);
    let cw = &r["aws"]["cloudwatch"];
    assert_eq!(cw["error"], serde_json::Value::Null, "{cw}");
    // One ALB published: the lab's, under the name its profile gives.
    let series: Vec<&serde_json::Value> = cw["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["namespace"] == ALB_NAMESPACE && m["dimensions"]["TargetGroup"].is_null())
        .collect();
    let albs: std::collections::BTreeSet<&str> = series
        .iter()
        .filter_map(|m| m["dimensions"]["LoadBalancer"].as_str())
        .collect();
    assert_eq!(albs.len(), 1, "{cw}");
    let alb = *albs.first().unwrap();
    assert!(alb.starts_with("app/coldlink-lab-"), "{alb}");
    let read = |name: &str| -> f64 {
        series
            .iter()
            .filter(|m| m["name"] == name)
            .flat_map(|m| m["values"].as_array().unwrap().iter().filter_map(|v| v.as_f64()))
            .sum()
    };
    let (pages, requests) = (read("HTTPCode_ELB_502_Count"), read("RequestCount"));
    assert!(
        pages >= 2.0 && pages <= requests,
        "{pages} 502s of {requests}: {cw}"
    );
    // What LocalStack holds for that dimension, asked directly: at least
    // what the lookup read (the lab's other traffic goes on publishing
    // until the command ends), and never more 502s than requests.
    let (stored_pages, stored_requests) = (
        stored_sum(&ls, alb, "HTTPCode_ELB_502_Count", started),
        stored_sum(&ls, alb, "RequestCount", started),
    );
    assert!(
        stored_pages >= pages && stored_requests >= requests && stored_pages <= stored_requests,
        "stored {stored_pages} of {stored_requests}, read {pages} of {requests}"
    );
    let line = evidence_line(
        &r,
        &out.stderr,
        "keepalive-race",
        "CloudWatch: HTTPCode_ELB_502_Count",
    );
    let in_failures: f64 = line["CloudWatch: HTTPCode_ELB_502_Count ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count: {line}"));
    assert!(in_failures >= 2.0 && in_failures <= pages, "{line}");
    assert!(line.contains("the ALB answered those 502s itself"), "{line}");
    let finding = &r["findings"][0];
    assert!(
        finding["evidence"][0]
            .as_str()
            .unwrap()
            .contains("were the ALB's own 502 page"),
        "{finding}"
    );
}

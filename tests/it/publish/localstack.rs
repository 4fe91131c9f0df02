//! Two vantage points publish into one namespace of LocalStack's core;
//! `GetMetricData` reads each vantage's numbers back apart: the samples
//! and sums of the latency distributions that were put (LocalStack
//! computes no percentiles), successes, failures by kind, warm share.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use coldlink::probe::ErrorKind;
use coldlink::publish::distribution::Latencies;
use coldlink::publish::{Hooks, Namespace, Publisher, Timing};

use super::record;
use crate::common::localstack;

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

/// One statistic of one series, summed over the minutes around now
/// (`None`: no datapoint). Also read by the fleet test (`fleet.rs`).
pub(crate) async fn read(
    cw: &aws_sdk_cloudwatch::Client,
    ns: &str,
    metric: &str,
    dims: &[(&str, &str)],
    stat: &str,
) -> Option<f64> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let start = UNIX_EPOCH + Duration::from_secs(now / 60 * 60 - 180);
    let end = UNIX_EPOCH + Duration::from_secs(now / 60 * 60 + 180);
    let q = MetricDataQuery::builder()
        .id("q")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(ns)
                        .metric_name(metric)
                        .set_dimensions(Some(dims.iter().map(|(n, v)| dim(n, v)).collect()))
                        .build(),
                )
                .period(60)
                .stat(stat)
                .build(),
        )
        .build();
    let out = cw
        .get_metric_data()
        .metric_data_queries(q)
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(end))
        .send()
        .await
        .unwrap();
    let values = out.metric_data_results()[0].values();
    if values.is_empty() {
        return None;
    }
    Some(match stat {
        "Minimum" => values.iter().copied().fold(f64::INFINITY, f64::min),
        "Maximum" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => values.iter().sum(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn two_vantages_publish_and_each_reads_back_what_it_put() {
    let ls = tokio::task::spawn_blocking(localstack::LocalStack::start)
        .await
        .unwrap();
    let ns = format!("ColdlinkTest/{:08x}", rand::random::<u32>());
    let namespace = Namespace::parse(&ns).unwrap();
    // (vantage, latencies of successes, failures, warm successes)
    let zones = [
        (
            "eu-west-1a",
            (0..40).map(|i| 12.0 + i as f64 * 0.75).collect::<Vec<_>>(),
            vec![ErrorKind::Timeout; 3],
            30,
        ),
        (
            "eu-west-1b",
            (0..25).map(|i| 80.0 + i as f64 * 4.0).collect::<Vec<_>>(),
            vec![ErrorKind::Reset],
            5,
        ),
    ];
    for (vantage, totals, failures, warm) in &zones {
        let p = Publisher::with(
            namespace.clone(),
            Some(ls.cloudwatch()),
            None,
            // LocalStack's first call builds its catalogue (seconds).
            Timing {
                stop_deadline: Duration::from_secs(60),
                ..Timing::default()
            },
            Hooks::log_warnings(),
        );
        for (i, t) in totals.iter().enumerate() {
            p.tap().observe(&record("orders", vantage, *t, None, i < *warm));
        }
        for kind in failures {
            p.tap()
                .observe(&record("orders", vantage, 5000.0, Some(*kind), false));
        }
        let stats = p.finish().await;
        assert_eq!(coldlink::publish::Stats::get(&stats.calls_failed), 0, "{stats:?}");
        assert_eq!(
            coldlink::publish::Stats::get(&stats.calls_ok),
            1,
            "one call: {stats:?}"
        );
    }
    let cw = ls.cloudwatch();
    for (vantage, totals, failures, warm) in &zones {
        let series = [("Target", "orders"), ("Vantage", *vantage)];
        let total = [series[0], series[1], ("Phase", "total")];
        let n = read(&cw, &ns, "ProbeLatency", &total, "SampleCount").await;
        assert_eq!(
            n,
            Some(totals.len() as f64),
            "{vantage}: every answered probe, once"
        );
        // What was put: HDR bucket middles, within 0.4 % of each latency.
        let mut hdr = Latencies::default();
        totals.iter().for_each(|t| hdr.record_ms(*t));
        let put = hdr.distribution(150).unwrap();
        let sum = read(&cw, &ns, "ProbeLatency", &total, "Sum").await.unwrap();
        assert!(
            (sum - put.sum()).abs() < 1e-6 * put.sum(),
            "{vantage}: {sum} vs {}",
            put.sum()
        );
        let exact: f64 = totals.iter().sum();
        assert!(
            (sum / exact - 1.0).abs() < 0.004,
            "{vantage}: {sum} vs exact {exact}"
        );
        let min = read(&cw, &ns, "ProbeLatency", &total, "Minimum").await.unwrap();
        let max = read(&cw, &ns, "ProbeLatency", &total, "Maximum").await.unwrap();
        assert!((min / totals[0] - 1.0).abs() < 0.004, "{vantage}: min {min}");
        assert!(
            (max / totals[totals.len() - 1] - 1.0).abs() < 0.004,
            "{vantage}: max {max}"
        );
        // The phases are there too: dns of every probe, failed ones included.
        let dns = [series[0], series[1], ("Phase", "dns")];
        let all = (totals.len() + failures.len()) as f64;
        assert_eq!(
            read(&cw, &ns, "ProbeLatency", &dns, "SampleCount").await,
            Some(all)
        );
        assert_eq!(
            read(&cw, &ns, "ProbeSuccess", &series, "Sum").await,
            Some(totals.len() as f64)
        );
        let kind = failures[0].as_str();
        let by_kind = [series[0], series[1], ("Kind", kind)];
        assert_eq!(
            read(&cw, &ns, "ProbeFailure", &by_kind, "Sum").await,
            Some(failures.len() as f64),
            "{vantage} {kind}"
        );
        let share = read(&cw, &ns, "WarmShare", &series, "Average").await.unwrap();
        assert!(
            (share - *warm as f64 * 100.0 / all).abs() < 1e-9,
            "{vantage}: {share}"
        );
    }
    // Nothing of one vantage under the other's name.
    let other = [("Target", "orders"), ("Vantage", "eu-west-1a"), ("Kind", "reset")];
    assert_eq!(read(&cw, &ns, "ProbeFailure", &other, "Sum").await, None);
}

/// A keep-warm daemon (the binary, as systemd runs it) publishing to
/// LocalStack until SIGTERM: the last interval goes out at the stop, and
/// what comes back is every ping of its records, under this host's name
/// as the vantage (records carry none until `--vantage`). `extra`: more
/// flags for the daemon.
async fn daemon_publishes_until_sigterm(ls: &localstack::LocalStack, ns: &str, extra: &[&str]) -> usize {
    use std::process::{Command, Stdio};
    let server = crate::common::start(crate::common::Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.ndjson");
    let child = Command::new(crate::common::bin())
        .args(["keepwarm", "--interval", "100ms", &server.url("/")])
        .args(["--cloudwatch-namespace", ns, "--aws-endpoint", &ls.endpoint])
        .args(extra)
        .arg("--lock")
        .arg(dir.path().join("l"))
        .arg("--out")
        .arg(&out)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let count = || std::fs::read_to_string(&out).unwrap_or_default().lines().count();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than 10 pings in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("PutMetricData"), "no publishing trouble: {err}");
    count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_stopped_by_sigterm_publishes_its_last_interval() {
    let ls = tokio::task::spawn_blocking(localstack::LocalStack::start)
        .await
        .unwrap();
    let ns = format!("ColdlinkTest/{:08x}", rand::random::<u32>());
    // Warm LocalStack's catalogue, so that the daemon's one call at stop
    // fits its 5 s deadline.
    let _ = read(&ls.cloudwatch(), &ns, "ProbeSuccess", &[], "Sum").await;
    let pings = daemon_publishes_until_sigterm(&ls, &ns, &[]).await;
    // Its records carry the default vantage (the host's name); on a host
    // without a usable name they carry none and the fallback is `unknown`.
    let host = coldlink::probe::vantage::or_host(None);
    let cw = ls.cloudwatch();
    let listed = cw
        .list_metrics()
        .namespace(&ns)
        .metric_name("ProbeSuccess")
        .send()
        .await
        .unwrap();
    let dims = listed.metrics()[0].dimensions();
    let target = dims
        .iter()
        .find(|d| d.name() == Some("Target"))
        .unwrap()
        .value()
        .unwrap()
        .to_string();
    let vantage = dims
        .iter()
        .find(|d| d.name() == Some("Vantage"))
        .unwrap()
        .value()
        .unwrap()
        .to_string();
    assert_eq!(vantage, host.as_ref());
    let series = [("Target", target.as_str()), ("Vantage", vantage.as_str())];
    assert_eq!(
        read(&cw, &ns, "ProbeSuccess", &series, "Sum").await,
        Some(pings as f64)
    );
    let total = [series[0], series[1], ("Phase", "total")];
    assert_eq!(
        read(&cw, &ns, "ProbeLatency", &total, "SampleCount").await,
        Some(pings as f64)
    );
}

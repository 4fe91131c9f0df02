//! CloudWatch reads against LocalStack's core runtime, which serves
//! CloudWatch in the Smithy RPC v2 CBOR protocol that aws-sdk-cloudwatch
//! speaks (moto answers every such call with a 404). Metrics put the way an
//! NLB and API Gateway publish them come back per minute; the lab publishes
//! its own, and `diagnose --cloudwatch` reads them as evidence.

use crate::common::{self, aws_diagnose, localstack};

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_diagnose::{diagnose, evidence_line, report};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use coldlink::aws::cloudwatch::{fetch, health_series, specs, window, Api, Resources};

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn datum(name: &str, dims: Vec<Dimension>, at: SystemTime, value: f64) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(name)
        .set_dimensions(Some(dims))
        .timestamp(DateTime::from(at))
        .value(value)
        .build()
}

/// What an NLB and a REST API publish, over two minutes, read back through
/// the same calls `diagnose --cloudwatch` makes: sums per minute, the
/// zones' health found by ListMetrics, REST names for the API.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_put_as_aws_publishes_them_come_back_per_minute() {
    let ls = tokio::task::spawn_blocking(localstack::LocalStack::start)
        .await
        .unwrap();
    let cw = ls.cloudwatch();
    let id: u32 = rand::random();
    let nlb = format!("net/test-{id:08x}/1");
    let tg = format!("targetgroup/test-{id:08x}/2");
    // Two whole minutes that have just ended.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let m0 = now / 60 * 60 - 120;
    let at = |s: i64| UNIX_EPOCH + Duration::from_secs(s as u64);
    let lb = || vec![dim("LoadBalancer", &nlb)];
    let zone = |z: &str| {
        vec![
            dim("AvailabilityZone", z),
            dim("LoadBalancer", &nlb),
            dim("TargetGroup", &tg),
        ]
    };
    let api = || vec![dim("ApiName", "orders"), dim("Stage", "test")];
    let nlb_data = vec![
        datum("TCP_ELB_Reset_Count", lb(), at(m0 + 5), 1.0),
        datum("TCP_ELB_Reset_Count", lb(), at(m0 + 40), 2.0),
        datum("TCP_ELB_Reset_Count", lb(), at(m0 + 65), 0.0),
        datum("NewFlowCount", lb(), at(m0 + 10), 7.0),
        datum("HealthyHostCount", zone("eu-west-1a"), at(m0 + 10), 2.0),
        datum("HealthyHostCount", zone("eu-west-1b"), at(m0 + 10), 0.0),
        datum("HealthyHostCount", zone("eu-west-1b"), at(m0 + 70), 1.0),
        datum(
            "HealthyHostCount",
            vec![dim("LoadBalancer", &nlb), dim("TargetGroup", &tg)],
            at(m0 + 10),
            2.0,
        ),
    ];
    cw.put_metric_data()
        .namespace("AWS/NetworkELB")
        .set_metric_data(Some(nlb_data))
        .send()
        .await
        .expect("PutMetricData (NLB)");
    cw.put_metric_data()
        .namespace("AWS/ApiGateway")
        .set_metric_data(Some(vec![
            datum("Count", api(), at(m0 + 1), 3.0),
            datum("IntegrationLatency", api(), at(m0 + 2), 120.0),
            datum("IntegrationLatency", api(), at(m0 + 3), 80.0),
        ]))
        .send()
        .await
        .expect("PutMetricData (API)");

    let resources = Resources {
        nlb: Some(nlb.clone()),
        alb: None,
        target_groups: vec![tg.clone()],
        api: Some(Api::Rest {
            name: "orders".into(),
            stage: "test".into(),
        }),
    };
    let zonal = health_series(&cw, &resources).await.expect("ListMetrics");
    let zones: Vec<&str> = zonal
        .iter()
        .filter(|s| s.name == "HealthyHostCount")
        .filter_map(|s| s.dimensions.get("AvailabilityZone").map(String::as_str))
        .collect();
    assert_eq!(zones, ["eu-west-1a", "eu-west-1b"]);
    // No target group named: the ones CloudWatch has are found and read.
    let unnamed = Resources {
        target_groups: Vec::new(),
        ..resources.clone()
    };
    assert!(specs(&unnamed)
        .iter()
        .all(|s| !s.dimensions.contains_key("TargetGroup")));
    let found = health_series(&cw, &unnamed).await.expect("ListMetrics");
    assert!(
        found.iter().any(|s| s.dimensions.get("TargetGroup") == Some(&tg)
            && !s.dimensions.contains_key("AvailabilityZone")),
        "{found:?}"
    );

    let mut all = specs(&resources);
    all.extend(zonal);
    let w = window(at(m0 + 1), at(m0 + 61));
    assert_eq!(w, (m0, m0 + 120));
    let got = fetch(&cw, &all, w).await;
    assert_eq!(got.error, None);
    let series = |name: &str, stat: &str, z: Option<&str>| -> BTreeMap<i64, f64> {
        let s = got
            .series
            .iter()
            .find(|s| {
                s.spec.name == name
                    && s.spec.stat == stat
                    && s.spec.dimensions.get("AvailabilityZone").map(String::as_str) == z
            })
            .unwrap_or_else(|| panic!("{name} {stat} {z:?} in {:?}", got.series));
        s.minutes.iter().copied().zip(s.values.iter().copied()).collect()
    };
    assert_eq!(
        series("TCP_ELB_Reset_Count", "Sum", None),
        BTreeMap::from([(m0, 3.0), (m0 + 60, 0.0)])
    );
    assert_eq!(series("NewFlowCount", "Sum", None), BTreeMap::from([(m0, 7.0)]));
    assert_eq!(
        series("HealthyHostCount", "Minimum", Some("eu-west-1b")),
        BTreeMap::from([(m0, 0.0), (m0 + 60, 1.0)])
    );
    assert_eq!(
        series("IntegrationLatency", "Average", None),
        BTreeMap::from([(m0, 100.0)])
    );
    assert_eq!(
        series("IntegrationLatency", "Maximum", None),
        BTreeMap::from([(m0, 120.0)])
    );
    assert_eq!(series("Count", "Sum", None), BTreeMap::from([(m0, 3.0)]));
    // HTTP API names were not asked for; nothing was read under them.
    assert!(got.series.iter().all(|s| s.spec.name != "5xx"));

    // The same names in another region have no data: not an error, but a
    // note that names the region among the things to check.
    let elsewhere = aws_sdk_cloudwatch::Client::from_conf(
        cw.config()
            .to_builder()
            .region(aws_sdk_cloudwatch::config::Region::new("eu-central-1"))
            .build(),
    );
    let empty = fetch(&elsewhere, &all, w).await;
    assert_eq!(empty.error, None);
    assert!(empty.series.iter().all(|s| s.values.is_empty()));
    let ev = coldlink::diagnose::cloudwatch::CloudWatchEvidence::new(empty, Default::default());
    assert!(
        ev.notes.iter().any(|n| n.contains("the region")),
        "{:?}",
        ev.notes
    );
}

/// The lab's `bad-path`: one of three targets fails its health check. Its
/// NLB publishes health per zone to LocalStack, and `diagnose --cloudwatch`
/// names the zone with no healthy host as the bad path's evidence.
#[test]
fn diagnose_cloudwatch_on_the_lab_names_the_zone_without_a_healthy_host() {
    let ls = localstack::LocalStack::start();
    let out = diagnose(&[
        "--lab",
        "bad-path",
        "--speed",
        "10",
        "--cloudwatch",
        "--aws-endpoint",
        &ls.endpoint,
        "--format",
        "json",
    ]);
    let r = report(&out);
    let cw = &r["aws"]["cloudwatch"];
    assert_eq!(cw["error"], serde_json::Value::Null, "{cw}");
    let line = evidence_line(
        &r,
        &out.stderr,
        "bad-path",
        "CloudWatch: HealthyHostCount fell to 0",
    );
    // The lab's dead target is its third: us-east-1c.
    assert!(line.contains("us-east-1c"), "{line}");
    let zones_down: Vec<&str> = cw["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"] == "HealthyHostCount" && m["dimensions"]["AvailabilityZone"].is_string())
        .filter(|m| {
            m["values"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v.as_f64() == Some(0.0))
        })
        .map(|m| m["dimensions"]["AvailabilityZone"].as_str().unwrap())
        .collect();
    assert_eq!(zones_down, ["us-east-1c"], "{cw}");
    // The gateway's own metrics came too, under the lab profile's REST API.
    let count: f64 = cw["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["namespace"] == "AWS/ApiGateway" && m["name"] == "Count")
        .flat_map(|m| m["values"].as_array().unwrap().iter().filter_map(|v| v.as_f64()))
        .sum();
    let probes = r["source"]["probes"].as_f64().unwrap();
    assert!(
        count >= probes,
        "the gateway counted {count} requests for {probes} probes"
    );
}

/// The lab's `idle-timeout`: the NLB resets flows idle past its timer. The
/// resets it publishes fall in the minutes of the slow probes, and the
/// idle-timeout finding says so. A cold flow is a failure (a 502), so
/// `--slow` is out of reach: at speed 40 a real millisecond of a loaded
/// machine reads as 40 ms, enough to call warm probes slow.
#[test]
fn diagnose_cloudwatch_on_the_lab_counts_the_resets_of_the_idle_timer() {
    let ls = localstack::LocalStack::start();
    let out = diagnose(&[
        "--lab",
        "idle-timeout",
        "--speed",
        "40",
        "--idle-sweep",
        "30s,360s,400s",
        "--slow",
        "10s",
        "--cloudwatch",
        "--aws-endpoint",
        &ls.endpoint,
        "--format",
        "json",
    ]);
    let r = report(&out);
    let line = evidence_line(
        &r,
        &out.stderr,
        "idle-timeout",
        "CloudWatch: the NLB counted resets",
    );
    assert!(line.contains("TCP_ELB_Reset_Count"), "{line}");
    assert!(!r["aws"]["cloudwatch"]["slow_minutes"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Nothing listening: one line in the report, and the diagnosis runs on.
#[test]
fn an_unreachable_cloudwatch_is_a_line_in_the_report_not_a_failure() {
    let closed = common::closed_port();
    let endpoint = format!("http://{}", closed.addr);
    let out = diagnose(&[
        "--lab",
        "healthy",
        "--speed",
        "10",
        "--probes",
        "4",
        "--cloudwatch",
        "--aws-endpoint",
        &endpoint,
        "--format",
        "json",
    ]);
    // The exit code is the diagnosis's own (1 only for a finding at warning
    // or above, which a healthy lab under a loaded machine may show), never
    // the failed lookup's.
    let r = report(&out);
    let warned = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["severity"] != "info");
    assert_eq!(
        out.status.code(),
        Some(i32::from(warned)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cw = &r["aws"]["cloudwatch"];
    let error = cw["error"]
        .as_str()
        .unwrap_or_else(|| panic!("an error line: {cw}"));
    assert!(
        error.starts_with("cloudwatch:GetMetricData: could not reach AWS"),
        "{error}"
    );
    assert!(!error.contains('\n'));
    let notes = cw["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("cloudwatch:ListMetrics: could not reach AWS")),
        "{cw}"
    );
    // A healthy lab, too briefly probed for its idle timers: inconclusive,
    // unless the loaded machine's own stalls made a finding (above).
    if !warned {
        assert_eq!(r["verdict"], "inconclusive");
    }
}

#[test]
fn cloudwatch_without_resources_to_read_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[[target]]\nname = \"a\"\nurl = \"https://example.com/\"\n",
    )
    .unwrap();
    for args in [
        vec!["https://example.com/", "--cloudwatch"],
        vec!["--profile", profile.to_str().unwrap(), "--cloudwatch"],
    ] {
        let out = diagnose(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("nlb = \"net/NAME/ID\""), "{args:?}: {err}");
    }
    let out = diagnose(&["--lab", "healthy", "--cloudwatch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cloudwatch with --lab needs --aws-endpoint"));
}

/// No credentials anywhere (no environment, no config files, IMDS off):
/// each lookup says so in one line, and stored records are still diagnosed.
#[test]
fn no_credentials_is_one_line_per_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.ndjson");
    let probe = std::process::Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(["probe", "--lab", "healthy", "-n", "3", "-q", "--out"])
        .arg(&records)
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[[target]]\nname = \"a\"\nurl = \"https://example.com/\"\n\n[aws]\nregion = \"eu-west-1\"\nnlb = \"net/orders/1\"\n",
    )
    .unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args([
            "diagnose",
            "--format",
            "json",
            "--xray",
            "--xray-wait",
            "1s",
            "--cloudwatch",
            "--from",
        ])
        .arg(&records)
        .arg("--profile")
        .arg(&profile)
        .env_clear()
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&out);
    for (lookup, action) in [
        ("xray", "xray:BatchGetTraces"),
        ("cloudwatch", "cloudwatch:GetMetricData"),
    ] {
        let error = r["aws"][lookup]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{lookup}: {}", r["aws"]));
        assert!(
            error.starts_with(&format!("{action}: no AWS credentials found")),
            "{error}"
        );
        assert!(!error.contains('\n'), "one line: {error}");
    }
    assert_eq!(r["source"]["probes"], 6);
}

/// An endpoint that takes connections and never answers: Ctrl-C or SIGTERM
/// during the lookup still gives the report, with the lookup's line saying
/// it was stopped (each call is also bounded by its own time limit).
#[test]
fn sigterm_during_a_silent_lookup_still_gives_the_report() {
    use std::io::BufReader;
    use std::process::Stdio;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().flatten() {
            held.push(conn); // read nothing, answer nothing
        }
    });
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(["diagnose", "--lab", "healthy", "--speed", "10", "--probes", "3"])
        .args(["--cloudwatch", "--aws-endpoint", &endpoint, "--format", "json"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let seen = common::read_until_line(&mut stderr, "CloudWatch: reading the metrics");
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "healthy: {seen}");
    let r = report(&out);
    let error = r["aws"]["cloudwatch"]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("stopped (Ctrl-C or SIGTERM)"), "{}", r["aws"]);
    // A healthy lab, too briefly probed for its idle timers.
    assert_eq!(r["verdict"], "inconclusive");
}

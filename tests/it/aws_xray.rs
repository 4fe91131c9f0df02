//! X-Ray lookups against moto's server: segments put the way API Gateway
//! and a traced app write them come back as the right breakdown, ids X-Ray
//! never saw are reported missing, and an unreachable endpoint is one clear
//! line, not a crash.

use crate::common::{self, aws_diagnose, moto};

use std::time::Duration;

use aws_diagnose::{diagnose, evidence_line, report};
use coldlink::aws::xray::{fetch, put_segments, Polling};
use tokio::time::Instant;

/// A trace id the way coldlink makes them: 1-<epoch hex>-<96 random bits>.
fn trace_id(n: u32) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("1-{now:08x}-{n:024x}")
}

/// The stage segment with its integration call, and the app's segment.
fn documents(trace: &str, start: f64, gateway: f64, integration: f64, app: Option<f64>) -> Vec<String> {
    let stage_id = format!("{:016x}", rand_id(trace, 1));
    let integ_id = format!("{:016x}", rand_id(trace, 2));
    let mut docs = vec![serde_json::json!({
        "id": stage_id, "name": "orders/test", "trace_id": trace,
        "start_time": start, "end_time": start + gateway / 1000.0,
        "origin": "AWS::ApiGateway::Stage",
        "http": {"request": {"url": "https://abc123.execute-api.us-east-1.amazonaws.com/test/header", "method": "GET"},
                 "response": {"status": 200}},
        "subsegments": [{
            "id": integ_id, "name": "nlb.internal", "namespace": "remote",
            "start_time": start + 0.005, "end_time": start + 0.005 + integration / 1000.0,
            "http": {"request": {"url": "http://nlb.internal/header", "method": "GET"}, "response": {"status": 200}}
        }]
    })
    .to_string()];
    if let Some(app) = app {
        docs.push(
            serde_json::json!({
                "id": format!("{:016x}", rand_id(trace, 3)), "name": "orders-app", "trace_id": trace,
                "parent_id": integ_id,
                "start_time": start + 0.010, "end_time": start + 0.010 + app / 1000.0
            })
            .to_string(),
        );
    }
    docs
}

fn rand_id(trace: &str, k: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (trace, k).hash(&mut h);
    h.finish() | 1 << 60
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_put_as_api_gateway_writes_them_come_back_split() {
    let moto = tokio::task::spawn_blocking(moto::Moto::start).await.unwrap();
    let client = moto.xray();
    // Seven traces: more than one BatchGetTraces call holds.
    let ids: Vec<String> = (1..=7).map(trace_id).collect();
    let start = now_s() - 5.0;
    let mut docs = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let app = (k % 2 == 0).then_some(300.0);
        docs.extend(documents(id, start + k as f64, 900.0, 800.0 + k as f64, app));
    }
    assert_eq!(
        put_segments(&client, docs).await,
        Ok(0),
        "moto took every document"
    );

    let never = trace_id(99);
    let mut asked = ids.clone();
    asked.push(never.clone());
    let mut rounds = 0;
    let got = fetch(
        &client,
        &asked,
        Polling {
            deadline: Instant::now() + Duration::from_millis(600),
            every: Duration::from_millis(200),
        },
        |_, _| rounds += 1,
    )
    .await;
    assert_eq!(got.error, None);
    assert_eq!(
        got.missing,
        vec![never],
        "an id X-Ray never saw is missing, not an error"
    );
    assert!(
        rounds >= 2,
        "the missing id was asked for again until the deadline"
    );
    for (k, id) in ids.iter().enumerate() {
        let b = got.found[id].as_ref().expect("a breakdown");
        assert!((b.gateway_ms - 900.0).abs() < 1.0, "{id}: {b:?}");
        assert!(
            (b.integration_ms.unwrap() - (800.0 + k as f64)).abs() < 1.0,
            "{id}: {b:?}"
        );
        assert_eq!(b.app_ms.is_some(), k % 2 == 0, "{id}: {b:?}");
        if let Some(app) = b.app_ms {
            assert!((app - 300.0).abs() < 1.0, "{b:?}");
        }
        assert_eq!(b.integration_url.as_deref(), Some("http://nlb.internal/header"));
    }
}

/// One lookup against an endpoint that answers with an error: no waiting
/// for late traces, since none will come.
async fn fetch_failing(client: &aws_sdk_xray::Client, ids: &[String]) -> coldlink::aws::xray::Traces {
    let polling = Polling {
        deadline: Instant::now() + Duration::from_secs(5),
        every: Duration::from_millis(100),
    };
    fetch(client, ids, polling, |_, _| {}).await
}

/// Credentials the service does not know: one line that says so, even
/// when the answer is not in X-Ray's own protocol (moto answers in XML).
#[tokio::test(flavor = "multi_thread")]
async fn refused_credentials_are_named() {
    let moto = tokio::task::spawn_blocking(moto::Moto::start_with_auth)
        .await
        .unwrap();
    let got = fetch_failing(&moto.xray(), &[trace_id(1)]).await;
    let error = got.error.expect("an error line");
    assert!(error.starts_with("xray:BatchGetTraces: HTTP 403"), "{error}");
    assert!(error.contains("InvalidClientTokenId"), "{error}");
    assert!(error.contains("credentials are not valid"), "{error}");
    assert_eq!(got.missing.len(), 1);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_one_line_and_nothing_found() {
    let closed = common::closed_port();
    let client = moto::xray_client(&format!("http://{}", closed.addr));
    let ids = vec![trace_id(1), trace_id(2)];
    let got = fetch_failing(&client, &ids).await;
    let error = got.error.expect("an error line");
    assert!(
        error.starts_with("xray:BatchGetTraces: could not reach AWS"),
        "{error}"
    );
    assert!(!error.contains('\n'), "one line: {error}");
    assert!(got.found.is_empty());
    let mut missing = got.missing.clone();
    missing.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(missing, want);
}

/// The lab's gateway and app write their segments to moto; `diagnose
/// --xray` finds the probes' own traces there and puts the time in the app,
/// in scenario time: an 800 ms app at speed 10 is 800 ms in the report.
#[test]
fn diagnose_xray_on_the_lab_finds_the_time_in_the_app() {
    let moto = moto::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.ndjson");
    let args = [
        "--lab",
        "slow-backend",
        "--speed",
        "10",
        "--probes",
        "6",
        "--xray",
        "--xray-wait",
        "5s",
        "--aws-endpoint",
        &moto.endpoint,
        "--format",
        "json",
        "--records",
        records.to_str().unwrap(),
    ];
    let out = diagnose(&args);
    let r = report(&out);
    let x = &r["aws"]["xray"];
    let looked = x["probes_looked_up"].as_u64().unwrap();
    assert!(looked >= 10, "{x}");
    assert_eq!(
        x["traces_found"].as_u64(),
        Some(looked),
        "every probe's trace came back: {x}"
    );
    assert_eq!(x["missing"].as_u64(), Some(0), "{x}");
    // moto has no GetTraceSegmentDestination: a note, and BatchGetTraces
    // as before Transaction Search.
    assert!(x["destination"].is_null(), "{x}");
    let note = x["notes"][0].as_str().unwrap_or_default();
    assert!(
        note.starts_with("xray:GetTraceSegmentDestination: HTTP 404")
            && note.contains("read with BatchGetTraces"),
        "{x}"
    );
    let part = |k: &str| x["breakdown_ms"][k]["p50"].as_f64();
    let (integration, gateway, before) = (
        part("integration").unwrap(),
        part("gateway").unwrap(),
        part("before_gateway").unwrap(),
    );
    assert!(
        (700.0..1500.0).contains(&integration),
        "the app's 800 ms, in scenario time: {x}"
    );
    assert!(gateway >= integration, "{x}");
    assert!(
        before < 0.5 * integration,
        "little happens before the gateway: {x}"
    );
    let app = part("app").expect("the lab's app is traced");
    assert!(
        app >= 0.7 * integration && app <= integration,
        "the app's own segment holds the integration's time: {x}"
    );
    assert_eq!(r["verdict"], "slow-backend");
    let evidence = r["findings"][0]["evidence"].to_string();
    assert!(
        evidence.contains("X-Ray: the app's own segment takes")
            && evidence.contains("the time is in the app"),
        "the finding cites X-Ray: {evidence}"
    );

    // The stored records carry the trace ids: --from looks them up too.
    let from = diagnose(&[
        "--from",
        records.to_str().unwrap(),
        "--xray",
        "--xray-wait",
        "2s",
        "--aws-endpoint",
        &moto.endpoint,
        "--format",
        "json",
    ]);
    let x = &report(&from)["aws"]["xray"];
    assert!(x["traces_found"].as_u64().unwrap() >= 10, "{x}");
    assert!(x["error"].is_null(), "{x}");
}

/// An unreachable X-Ray is one line in the report; the diagnosis still runs
/// and exits as it would without AWS.
/// The lab's `bad-path`: one target's connections hang before they fail
/// over. X-Ray shows the slow requests' integration long and their app
/// segment short: the time is on the path to the app, and the finding says so.
#[test]
fn diagnose_xray_on_the_lab_puts_a_bad_path_between_the_gateway_and_the_app() {
    let moto = moto::Moto::start();
    let out = diagnose(&[
        "--lab",
        "bad-path",
        "--speed",
        "10",
        "--xray",
        "--xray-wait",
        "5s",
        "--aws-endpoint",
        &moto.endpoint,
        "--format",
        "json",
    ]);
    let r = report(&out);
    let line = evidence_line(
        &r,
        &out.stderr,
        "bad-path",
        "X-Ray: on the slow requests the integration takes",
    );
    assert!(line.contains("the time is lost on the way to the app"), "{line}");
    let slow = &r["aws"]["xray"]["slow_breakdown_ms"];
    let (integration, app) = (
        slow["integration"]["p50"].as_f64().unwrap(),
        slow["app"]["p50"].as_f64().unwrap(),
    );
    assert!(
        app < 0.5 * integration,
        "the app is fast on the slow requests: {slow}"
    );
}

#[test]
fn an_unreachable_xray_is_a_line_in_the_report_not_a_failure() {
    let closed = common::closed_port();
    let endpoint = format!("http://{}", closed.addr);
    let out = diagnose(&[
        "--lab",
        "slow-backend",
        "--speed",
        "10",
        "--probes",
        "4",
        "--xray",
        "--xray-wait",
        "1s",
        "--aws-endpoint",
        &endpoint,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "a finding, as without --xray");
    let r = report(&out);
    let error = r["aws"]["xray"]["error"].as_str().expect("an error line");
    assert!(error.contains("could not reach AWS"), "{error}");
    assert_eq!(r["aws"]["xray"]["traces_found"], 0);
    assert_eq!(r["verdict"], "slow-backend");
}

#[test]
fn aws_flags_without_xray_and_xray_on_the_lab_without_an_endpoint_exit_2() {
    for (args, needle) in [
        (vec!["--lab", "healthy", "--xray"], "--aws-endpoint"),
        (
            vec!["https://example.com/", "--region", "eu-west-1"],
            "add --xray, --cloudwatch or --aws-config",
        ),
        (
            vec!["https://example.com/", "--xray", "--aws-endpoint", "not a url"],
            "--aws-endpoint",
        ),
    ] {
        let out = diagnose(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

//! Issue 21, `--xray-segments`: each probe's own client segment goes to
//! X-Ray (moto's server) under the trace id it set, with a subsegment per
//! phase that happened, and the lab's gateway segment hangs under it (the
//! probe's trace header named it as `Parent=`). An X-Ray endpoint that
//! refuses or never answers costs the probes nothing: segments are dropped
//! and counted, and the end of the run waits a few seconds at most.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use coldlink::probe::{ProbeRecord, Target};
use coldlink::publish::xray_segments::{Publisher, XraySegments, SEGMENT_NAME};
use serde_json::Value;

use crate::common::{moto, text};

/// `coldlink ARGS` with X-Ray at `endpoint` (as a user sets it: the SDK's
/// own variable) and the emulators' static credentials.
fn coldlink_to(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

fn records(path: &Path) -> Vec<ProbeRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every segment document moto holds for `ids`, by trace id.
async fn traces(client: &aws_sdk_xray::Client, ids: &[String]) -> BTreeMap<String, Vec<Value>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(5) {
        let answer = client
            .batch_get_traces()
            .set_trace_ids(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        for t in answer.traces() {
            let docs = t
                .segments()
                .iter()
                .filter_map(|s| s.document())
                .map(|d| serde_json::from_str(d).unwrap())
                .collect();
            out.insert(t.id().unwrap().to_string(), docs);
        }
    }
    out
}

fn seconds(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn epoch_s(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runs_client_segments_round_trip_through_moto_under_the_gateways() {
    let moto = tokio::task::spawn_blocking(moto::Moto::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("records.ndjson");
    let out = tokio::task::spawn_blocking({
        let (endpoint, out_file) = (moto.endpoint.clone(), out_file.clone());
        move || {
            coldlink_to(
                &endpoint,
                &[
                    "run",
                    "--lab",
                    "healthy",
                    "--duration",
                    "3s",
                    "-q",
                    "--xray-segments",
                    "--out",
                    out_file.to_str().unwrap(),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("xray-segments"),
        "nothing lost: {}",
        text(&out.stderr)
    );
    let records = records(&out_file);
    assert!(records.len() >= 3, "{records:?}");
    let ids: Vec<String> = records.iter().map(|r| r.trace_id.clone().unwrap()).collect();
    let client = moto.xray();
    // The client segments are flushed before the run ends; the lab's
    // gateway sends its own as it goes, so give the last ones a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let found = traces(&client, &ids).await;
        let joined = found.values().filter(|docs| docs.len() >= 2).count();
        if joined == ids.len() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut joined = 0;
    for r in &records {
        let id = r.trace_id.as_deref().unwrap();
        let docs = found.get(id).unwrap_or_else(|| panic!("no trace {id} in moto"));
        let client_seg = docs
            .iter()
            .find(|d| d["name"] == SEGMENT_NAME)
            .unwrap_or_else(|| panic!("no client segment in {docs:?}"));
        let seg_id = client_seg["id"].as_str().unwrap();
        assert_eq!(client_seg["trace_id"], id);
        assert_eq!(client_seg["http"]["request"]["url"], &*r.url);
        assert_eq!(client_seg["http"]["response"]["status"], r.status.unwrap());
        assert_eq!(client_seg["annotations"]["target"], &*r.target);
        // Times: the segment is the record's total from its scheduled time.
        let (start, end) = (seconds(client_seg, "start_time"), seconds(client_seg, "end_time"));
        assert!((start - epoch_s(r.scheduled_at.0)).abs() < 2e-6, "{client_seg}");
        assert!(
            ((end - start) * 1000.0 - r.total_ms).abs() < 0.002,
            "{client_seg} vs {}",
            r.total_ms
        );
        // One subsegment per phase that happened, each its duration.
        let subs = client_seg["subsegments"].as_array().unwrap();
        let happened: Vec<(&str, f64)> = r
            .phases_ms
            .iter()
            .filter(|(p, _)| p.as_str() != "queue")
            .filter_map(|(p, ms)| ms.map(|ms| (p.as_str(), ms)))
            .collect();
        let names: Vec<&str> = subs.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            happened.iter().map(|h| h.0).collect::<Vec<_>>(),
            "{client_seg}"
        );
        for (sub, (phase, ms)) in subs.iter().zip(&happened) {
            let took = (seconds(sub, "end_time") - seconds(sub, "start_time")) * 1000.0;
            assert!((took - ms).abs() < 0.002, "{phase}: {took} vs {ms}");
        }
        // The gateway's stage segment, under the client's.
        if let Some(stage) = docs.iter().find(|d| d["origin"] == "AWS::ApiGateway::Stage") {
            assert_eq!(stage["parent_id"], seg_id, "{stage}");
            joined += 1;
        }
    }
    println!(
        "{joined} of {} probes' traces joined with the gateway's",
        records.len()
    );
    assert!(
        joined * 2 >= records.len(),
        "{joined} of {} joined",
        records.len()
    );
}

/// A port nothing listens on: connections to it are refused.
fn refusing_endpoint() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// `keepwarm --once` against the lab, its segments to a refusing X-Ray:
/// the pings and the exit code are what they would be, stderr says what
/// was lost, and the run ends within the flush deadline.
#[test]
fn a_refusing_endpoint_leaves_the_pings_and_the_exit_alone() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("lock");
    let started = Instant::now();
    let out = coldlink_to(
        &refusing_endpoint(),
        &[
            "keepwarm",
            "--once",
            "--lab",
            "healthy",
            "--xray-segments",
            "--lock",
            lock.to_str().unwrap(),
        ],
    );
    let took = started.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.lines().count() >= 1 && stdout.lines().all(|l| l.ends_with(" ok")),
        "{stdout}"
    );
    assert!(
        stderr.contains("--xray-segments: 0 client segments sent to X-Ray;"),
        "{stderr}"
    );
    // The lab's start, one round, and at most the flush deadline.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// An endpoint that accepts and never answers: offering never waits, a
/// full queue drops and counts, and the end gives up at its deadline.
#[test]
fn a_silent_endpoint_fills_the_queue_and_drops_without_waiting() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let cfg = XraySegments {
        aws: coldlink::aws::AwsOptions {
            endpoint: Some(format!("http://{}", silent.local_addr().unwrap())),
            profile: None,
            region: Some("us-east-1".into()),
        },
        lab: true,
    };
    let url = url::Url::parse("http://api.test/").unwrap();
    let target = Target::new("api", url, None, Default::default());
    let publisher = Publisher::start(&cfg, &[target]).unwrap();
    let sink = publisher.sink();
    let mut r = crate::common::record::probe_record();
    r.target = "api".into();
    r.url = "http://api.test/".into();
    r.trace_id = Some("1-6553f100-0123456789abcdef01234567".into());
    r.phases_ms.ttfb = Some(1.0);
    r.total_ms = 1.0;
    let offered = 20_000;
    for _ in 0..offered {
        sink.offer(&r);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let totals = runtime.block_on(publisher.finish(Duration::from_millis(300)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(totals.sent, 0);
    // The queue holds 8192; at most a batch is in flight; the rest dropped.
    assert!(totals.dropped >= offered - 8192 - 50, "{totals:?}");
    assert_eq!(
        totals.dropped + totals.failed,
        offered,
        "every segment counted: {totals:?}"
    );
    assert!(totals.lost_line().is_some());
}

/// Without the trace header there is no parent to name; a lab's segments
/// need an emulator to go to. Both refused, exit 2, before any probe.
#[test]
fn what_cannot_work_is_refused_before_a_probe() {
    let out = crate::common::coldlink(&[
        "keepwarm",
        "--once",
        "--no-trace-header",
        "--xray-segments",
        "http://127.0.0.1:9/",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--xray-segments needs the trace header"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let mut lab = Command::new(env!("CARGO_BIN_EXE_coldlink"));
    lab.args(["run", "--lab", "healthy", "--xray-segments", "--duration", "1s"])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_XRAY");
    let out = lab.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--xray-segments with --lab needs an X-Ray endpoint"),
        "{}",
        text(&out.stderr)
    );
}

/// The daemon: every ping's client segment reaches X-Ray, the last ones
/// flushed on SIGTERM.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemons_pings_are_in_xray_after_sigterm() {
    let moto = tokio::task::spawn_blocking(moto::Moto::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("records.ndjson");
    let mut child = Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args([
            "keepwarm",
            "--lab",
            "healthy",
            "--interval",
            "1s",
            "--xray-segments",
        ])
        .arg("--lock")
        .arg(dir.path().join("lock"))
        .arg("--out")
        .arg(&out_file)
        .env_remove("RUST_LOG")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default().lines().count();
    let deadline = Instant::now() + Duration::from_secs(30);
    while read(&out_file) < 4 {
        assert!(Instant::now() < deadline, "fewer than 4 records after 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = tokio::task::spawn_blocking(move || {
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        (child.wait().unwrap().code(), err)
    })
    .await
    .unwrap();
    assert_eq!(out.0, Some(0), "{}", out.1);
    assert!(!out.1.contains("--xray-segments"), "nothing lost: {}", out.1);
    let records = records(&out_file);
    let ids: Vec<String> = records.iter().map(|r| r.trace_id.clone().unwrap()).collect();
    let found = traces(&moto.xray(), &ids).await;
    for r in &records {
        let docs = &found[r.trace_id.as_deref().unwrap()];
        let seg = docs
            .iter()
            .find(|d| d["name"] == SEGMENT_NAME)
            .expect("the client segment");
        assert_eq!(seg["annotations"]["target"], &*r.target);
        assert_eq!(
            seg["annotations"]["reused_connection"],
            r.conn.as_ref().unwrap().reused,
            "{seg}"
        );
    }
}

/// The daemon against a refusing X-Ray: the batches it gives up on (after
/// three attempts, about 4 s for the first) show in its own metrics as
/// `coldlink_publish_failures_total{sink="xray"}`, which starts at 0.
#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_counts_the_xray_batches_it_gives_up_on() {
    use std::io::{Read, Write};
    let server = crate::common::start(crate::common::Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(["keepwarm", "--interval", "200ms", "--xray-segments"])
        .args(["--metrics-listen", "127.0.0.1:0", &server.url("/")])
        .arg("--lock")
        .arg(dir.path().join("lock"))
        .env_remove("RUST_LOG")
        .env("AWS_ENDPOINT_URL", refusing_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut daemon = KillOnDrop(child);
    let (said, mut stderr) = tokio::task::spawn_blocking(move || {
        let said = crate::common::read_until_line(&mut stderr, "/metrics");
        (said, stderr)
    })
    .await
    .unwrap();
    let addr = said
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_string();
    let failures = move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        let value = body
            .lines()
            .find(|l| l.starts_with("coldlink_publish_failures_total{") && l.contains("sink=\"xray\""))
            .and_then(|l| l.rsplit_once(' '))
            .map(|(_, v)| v.parse::<f64>().unwrap());
        (value, body)
    };
    let (first, body) = failures();
    assert_eq!(first, Some(0.0), "the series is there from the start: {body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (value, body) = failures();
        if value > Some(0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no xray failure counted in 30 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let term = Command::new("kill")
        .args(["-TERM", &daemon.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // Its stderr ends when it exits (after the 5 s flush deadline).
    let rest = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        rest
    })
    .await
    .unwrap();
    let code = daemon.0.wait().unwrap().code();
    assert_eq!(code, Some(0), "{rest}");
    assert!(rest.contains("--xray-segments:"), "the loss is said: {rest}");
}

/// The daemon, killed if the test fails before it is stopped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

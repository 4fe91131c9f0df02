//! The flags refused before anything starts (exit 2, naming the flag, the
//! value and what is valid), and a CloudWatch that refuses or never
//! answers: the probes keep their schedule, the failure is logged once
//! and the run still ends within the stop deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use coldlink::probe::ProbeRecord;

use crate::common::{bin, closed_port, start, text, Behavior};

fn profile(dir: &Path, url: &str, interval: &str) -> PathBuf {
    let path = dir.join("p.toml");
    std::fs::write(
        &path,
        format!("[[target]]\nname = \"api\"\nurl = \"{url}\"\n[schedule]\ninterval = \"{interval}\"\n"),
    )
    .unwrap();
    path
}

fn coldlink(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-never-shown")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn bad_publishing_flags_exit_2_naming_the_flag_the_value_and_what_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), "http://127.0.0.1:9/", "1s");
    let p = p.to_str().unwrap();
    for (args, says) in [
        (
            vec!["run", "--profile", p, "--cloudwatch-namespace", "AWS/ApiGateway"],
            vec![
                "--cloudwatch-namespace \"AWS/ApiGateway\"",
                "reserved",
                "1 to 255",
            ],
        ),
        (
            vec![
                "keepwarm",
                "--once",
                "http://127.0.0.1:9/",
                "--cloudwatch-namespace",
                "a*b",
            ],
            vec!["--cloudwatch-namespace \"a*b\"", "'*'", "0-9 A-Z a-z"],
        ),
        (
            vec!["run", "--profile", p, "--format", "ndjson", "--emf"],
            vec!["--emf", "stdout", "probe records", "--emf=FILE"],
        ),
        (
            vec!["run", "--profile", p, "--aws-endpoint", "http://127.0.0.1:9"],
            vec!["--aws-endpoint", "--cloudwatch-namespace"],
        ),
    ] {
        let out = coldlink(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?}: {s:?} not in {err}");
        }
    }
}

fn records(path: &Path) -> Vec<ProbeRecord> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `run` for 3 s, a probe every 100 ms, publishing to `endpoint`.
async fn run_publishing_to(endpoint: String) -> (Output, Vec<ProbeRecord>, Duration) {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &server.url("/"), "100ms");
    let out_file = dir.path().join("r.ndjson");
    let (p2, o2) = (p.clone(), out_file.clone());
    let began = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        coldlink(&[
            "run",
            "--profile",
            p2.to_str().unwrap(),
            "--duration",
            "3s",
            "-q",
            "--out",
            o2.to_str().unwrap(),
            "--cloudwatch-namespace",
            "Coldlink/Test",
            "--aws-endpoint",
            &endpoint,
        ])
    })
    .await
    .unwrap();
    (out, records(&out_file), began.elapsed())
}

/// Every probe went out near its time: none held up behind CloudWatch.
fn kept_schedule(records: &[ProbeRecord]) {
    assert!(records.len() >= 25, "{} probes in 3 s at 100 ms", records.len());
    for r in records {
        let late = r.at.0.duration_since(r.scheduled_at.0).unwrap_or_default();
        assert!(
            late < Duration::from_millis(250),
            "probe {} late by {late:?}",
            r.seq
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusing_endpoint_leaves_the_probes_alone_and_is_said_without_secrets() {
    let closed = closed_port();
    let (out, records, took) = run_publishing_to(format!("http://{}", closed.addr)).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    kept_schedule(&records);
    assert!(took < Duration::from_secs(3 + 5 + 5), "took {took:?}");
    // A warning, logged as coldlink logs (`tracing`), as X-Ray's are.
    assert!(
        err.lines()
            .any(|l| l.contains(" WARN ") && l.contains("cloudwatch:PutMetricData: could not reach AWS")),
        "{err}"
    );
    assert!(!err.contains("test-secret-never-shown"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_endpoint_holds_the_end_only_until_the_stop_deadline() {
    // Accepts, reads, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let (out, records, took) = run_publishing_to(format!("http://{addr}")).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    kept_schedule(&records);
    assert!(took < Duration::from_secs(3 + 5 + 5), "took {took:?}");
    assert!(err.contains("did not take the last metrics within 5s"), "{err}");
}

/// The daemon's Prometheus metrics carry the publisher's given-up count,
/// at 0 from the start, under its sink.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_exports_its_publish_failures_from_zero() {
    use std::io::{BufRead, Read, Write};
    let server = start(Behavior::Ok).await;
    let closed = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["keepwarm", "--interval", "200ms", &server.url("/")])
        .args([
            "--metrics-listen",
            "127.0.0.1:0",
            "--cloudwatch-namespace",
            "Coldlink/Test",
        ])
        .args(["--aws-endpoint", &format!("http://{}", closed.addr)])
        .arg("--lock")
        .arg(dir.path().join("l"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no metrics address: {first}"))
        .to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let line = body
        .lines()
        .find(|l| l.starts_with("coldlink_publish_failures_total{"))
        .unwrap_or_else(|| panic!("no publish failures series: {body}"));
    assert!(
        line.contains("sink=\"cloudwatch\"") && line.ends_with(" 0"),
        "{line}"
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let code = tokio::task::spawn_blocking(move || child.wait().unwrap().code())
        .await
        .unwrap();
    assert_eq!(code, Some(0));
}

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
    assert!(
        err.contains("cloudwatch:PutMetricData: could not reach AWS"),
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

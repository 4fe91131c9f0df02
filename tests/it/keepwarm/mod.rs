//! `coldlink keepwarm` end to end (issues #8 and #14): `--once` as cron
//! meets it, the daemon, heartbeats, warmness and the keep-warm claim on the
//! lab, and the shipped alert rules and Grafana dashboard. The helpers
//! they share are here; each area is a module of its own.

mod daemon;
mod dashboard;
mod heartbeat;
mod once;
mod rules;
mod warmness;

use crate::common;
use crate::common::text;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{bin, closed_port, start, Behavior};

fn keepwarm(args: &[&str], lock: &std::path::Path) -> Output {
    Command::new(bin())
        .arg("keepwarm")
        .args(args)
        .arg("--lock")
        .arg(lock)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// The daemon on `url`, its stderr read line by line.
fn daemon(
    args: &[&str],
    dir: &std::path::Path,
) -> (std::process::Child, std::io::BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(bin())
        .arg("keepwarm")
        .args(args)
        .arg("--lock")
        .arg(dir.join("l"))
        .arg("--out")
        .arg(dir.join("records.ndjson"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    (child, stderr)
}

fn records(dir: &std::path::Path) -> Vec<coldlink::probe::ProbeRecord> {
    std::fs::read_to_string(dir.join("records.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line a whole record"))
        .collect()
}

async fn wait_for_records(dir: &std::path::Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while records(dir).len() < n {
        assert!(Instant::now() < deadline, "fewer than {n} records after 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGTERM the daemon and wait for it: the rest of its stderr, and its
/// exit code.
async fn stop(
    mut child: std::process::Child,
    mut stderr: std::io::BufReader<std::process::ChildStderr>,
) -> (String, Option<i32>) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        (rest, child.wait().unwrap().code())
    })
    .await
    .unwrap()
}

/// Wait until `server` has answered `n` requests (a daemon's pings or
/// heartbeats), failing after `limit`.
async fn wait_for_requests(server: &common::Server, n: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    // The count only: cloning what a soak's server saw would cost more
    // than the daemon's pings.
    while server.state.requests.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "fewer than {n} requests in {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// GET `path` from `addr`: (status line, body).
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// The text exposition as `series → value` (comments left out); panics on
/// a line that is not `name{labels} value`.
fn parse_exposition(text: &str) -> std::collections::HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l}"));
            (
                series.to_string(),
                value.parse().unwrap_or_else(|_| panic!("not a value: {l}")),
            )
        })
        .collect()
}

/// The metrics address the daemon's first line names.
fn metrics_address(said: &str) -> String {
    said.split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("the metrics address: {said}"))
        .to_string()
}

/// GET /metrics from `addr`: the body, a whole exposition, and its samples.
async fn scrape(addr: &str) -> (String, std::collections::HashMap<String, f64>) {
    let a = addr.to_string();
    let (status, body) = tokio::task::spawn_blocking(move || http_get(&a, "/metrics"))
        .await
        .unwrap();
    assert!(status.contains("200"), "{status}");
    assert!(body.ends_with("# EOF\n"), "a whole exposition: {body}");
    let samples = parse_exposition(&body);
    (body, samples)
}

/// The daemon's whole log, from start to SIGTERM after its first record.
async fn daemon_log(args: &[&str], dir: &std::path::Path) -> String {
    let (child, stderr) = daemon(args, dir);
    wait_for_records(dir, 1).await;
    let (log, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{log}");
    log
}

/// `diagnose` of an idle sweep on the lab whose NLB forgets flows idle for
/// 100 s (2 s at the lab's speed 50): quiet gaps of 30 s and 65 s stay
/// warm, 120 s and 200 s go cold. `extra` says where the evidence goes.
///
/// A cold flow here is a failure (the reset becomes a 502), so `--slow`
/// is set out of reach: at speed 50 every real millisecond the machine
/// keeps the client waiting reads as 50 ms of scenario time, and on a
/// loaded machine the data-driven threshold (a few hundred scenario ms)
/// would call warm probes slow and break the step the timer is read from.
async fn diagnose_idle_sweep(extra: &[&str]) -> Output {
    let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args([
                "diagnose",
                "--lab",
                "idle-timeout",
                "--set",
                "nlb.idle_timeout=100s",
            ])
            .args(["--idle-sweep", "30s,65s,120s,200s", "--slow", "10s", "-q"])
            .args(&extra)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// A lab (its own process) that the daemon and a second client share.
struct LabProcess {
    child: std::process::Child,
    profile: String,
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lab(scenario: &str, args: &[&str]) -> LabProcess {
    let mut child = Command::new(bin())
        .arg("lab")
        .arg(scenario)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let said = common::read_until_line(&mut out, "  profile ");
    let profile = said
        .lines()
        .find_map(|l| l.trim().strip_prefix("profile"))
        .unwrap()
        .trim()
        .to_string();
    // Keep reading its output so that it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    LabProcess { child, profile }
}

/// Keep-warm from the daemon; then, after a quiet period longer than the
/// NLB's idle timer (as seen by a second client), that client's probes.
async fn second_client_after_quiet(lab: &LabProcess, interval: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (child, stderr) = daemon(&["--profile", &lab.profile, "--interval", interval], dir.path());
    wait_for_records(dir.path(), 1).await;
    // The experiment's quiet period, not a synchronisation: the lab's
    // timer is 3.5 s (350 s at speed 100); this client stays away 5 s.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (profile, lock) = (lab.profile.clone(), dir.path().join("second.lock"));
    let second = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args([
                "keepwarm",
                "--once",
                "--profile",
                &profile,
                "--slow",
                "2s",
                "--lock",
            ])
            .arg(&lock)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
    second
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

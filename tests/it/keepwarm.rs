//! `coldlink keepwarm --once` as cron meets it (issue #8): exit codes
//! against a healthy lab, a failing target and a slow one, the lock that
//! stops runs piling up, and the records kept.

use crate::common;

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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_healthy_lab_exits_0_with_a_line_per_target() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("records.ndjson");
    let out = keepwarm(
        &["--once", "--lab", "healthy", "--out", out_file.to_str().unwrap()],
        &dir.path().join("l"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("execute-api ") && lines[1].starts_with("custom-domain "),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" 200 ") && l.ends_with("ok") && l.contains("ttfb")),
        "{stdout}"
    );
    let records: Vec<coldlink::probe::ProbeRecord> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "--out keeps every probe");
}

#[tokio::test]
async fn a_failing_target_exits_1_and_says_how_it_failed() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port();
    let ok = start(Behavior::Ok).await;
    let (url_ok, url_closed) = (ok.url("/"), format!("http://{}/", closed.addr));
    let lock = dir.path().join("l");
    let out = tokio::task::spawn_blocking(move || keepwarm(&["--once", &url_ok, &url_closed], &lock))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.lines().next().unwrap().ends_with(" ok"),
        "the healthy one is ok: {stdout}"
    );
    assert!(stdout.contains("FAILED refused in connect"), "{stdout}");
}

#[tokio::test]
async fn a_slow_target_exits_1_and_under_slow_it_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let slow = start(Behavior::DelayHeaders(Duration::from_millis(300))).await;
    let url = slow.url("/");
    let lock = dir.path().join("l");
    let (u, l) = (url.clone(), lock.clone());
    let out = tokio::task::spawn_blocking(move || keepwarm(&["--once", &u, "--slow", "100ms"], &l))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("SLOW (over 100 ms)"),
        "{}",
        text(&out.stdout)
    );
    let out = tokio::task::spawn_blocking(move || keepwarm(&["--once", &url, "--slow", "2s"], &lock))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// A run still waiting on a target holds the lock; the next one exits at
/// once saying who holds it, instead of piling up. It checked nothing, so
/// it raises no alarm (exit 0): the run that holds the lock reports.
#[tokio::test]
async fn an_overlapping_run_exits_at_once_with_the_lock_message() {
    let dir = tempfile::tempdir().unwrap();
    let silent = start(Behavior::NeverAnswer).await;
    let url = silent.url("/");
    let lock = dir.path().join("keepwarm.lock");
    let first = Command::new(bin())
        .args(["keepwarm", "--once", &url, "--timeout", "3s", "--lock"])
        .arg(&lock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = first.id().to_string();
    // The first run writes its pid into the lock once it holds it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != pid {
        assert!(Instant::now() < deadline, "the first run never took the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (u, l) = (url.clone(), lock.clone());
    let started = Instant::now();
    let second = tokio::task::spawn_blocking(move || keepwarm(&["--once", &u], &l))
        .await
        .unwrap();
    assert_eq!(second.status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "at once, not after the first"
    );
    let stderr = text(&second.stderr);
    assert!(
        stderr.contains(&format!("another run (pid {pid}) still holds {}", lock.display())),
        "{stderr}"
    );
    assert!(text(&second.stdout).is_empty(), "no probe sent");
    let first = tokio::task::spawn_blocking(move || first.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status.code(), Some(1), "the first run's probe timed out");
    // Free again once the first run ended.
    let out = tokio::task::spawn_blocking(move || keepwarm(&["--once", &url, "--timeout", "200ms"], &lock))
        .await
        .unwrap();
    assert!(
        !text(&out.stderr).contains("still holds"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("l");
    for (args, says) in [
        (
            vec!["--once"],
            "keepwarm needs URLs, --profile FILE or --lab SCENARIO",
        ),
        (vec!["--once", "http://127.0.0.1:9/", "--slow", "0s"], "--slow"),
        (vec!["http://127.0.0.1:9/"], "--once"),
    ] {
        let out = keepwarm(&args, &lock);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = keepwarm(
        &["--once", "http://127.0.0.1:9/"],
        std::path::Path::new("/nonexistent/dir/l"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--lock /nonexistent/dir/l: cannot open it"),
        "{}",
        text(&out.stderr)
    );
}

// ---- the daemon (--interval) ----

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

#[tokio::test]
async fn the_daemon_serves_metrics_that_match_its_probes_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let (child, mut stderr) = daemon(
        &[&url, "--interval", "1h", "--metrics-listen", "127.0.0.1:0"],
        dir.path(),
    );
    let said = tokio::task::spawn_blocking(move || {
        let said = common::read_until_line(&mut stderr, "/metrics");
        (said, stderr)
    });
    let (said, stderr) = said.await.unwrap();
    let addr = metrics_address(&said);
    // One target, every hour: the first probe only.
    wait_for_records(dir.path(), 1).await;
    let r = records(dir.path()).remove(0);
    let (body, m) = scrape(&addr).await;
    let target = &r.target;
    assert_eq!(
        m[&format!("coldlink_probes_total{{target=\"{target}\",outcome=\"ok\"}}")],
        1.0,
        "{body}"
    );
    let total = format!("{{target=\"{target}\",phase=\"total\"}}");
    assert_eq!(m[&format!("coldlink_probe_phase_seconds_count{total}")], 1.0);
    let sum = m[&format!("coldlink_probe_phase_seconds_sum{total}")];
    assert!(
        (sum - r.total_ms / 1000.0).abs() < 1e-6,
        "{sum} against {} ms",
        r.total_ms
    );
    let ttfb = format!("coldlink_probe_phase_seconds_count{{target=\"{target}\",phase=\"ttfb\"}}");
    assert_eq!(m[&ttfb], 1.0);
    let at =
        r.at.0
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
    let last = m[&format!("coldlink_last_success_timestamp_seconds{{target=\"{target}\"}}")];
    assert!(last >= at && last - at < 1.0, "{last} against the probe at {at}");
    assert_eq!(
        m[&format!("coldlink_connection_reused_total{{target=\"{target}\"}}")],
        0.0,
        "the first probe's connection is new: {body}"
    );
    assert_eq!(
        m[&format!("coldlink_probe_success{{target=\"{target}\"}}")],
        1.0,
        "{body}"
    );
    assert_eq!(
        m[&format!("coldlink_probes_total{{target=\"{target}\",outcome=\"timeout\"}}")],
        0.0,
        "every outcome starts at zero, so increase() sees the first timeout"
    );
    let a = addr.clone();
    let (status, body) = tokio::task::spawn_blocking(move || http_get(&a, "/healthz"))
        .await
        .unwrap();
    assert!(status.contains("200") && body == "ok\n", "{status} {body}");

    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
    assert!(rest.contains("stopped after 1 probes"), "{rest}");
}

/// SIGTERM while pings are in flight: they finish and are written, so the
/// records file holds every request the server saw.
#[tokio::test]
async fn sigterm_mid_run_exits_0_with_every_record_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(Behavior::DelayHeaders(Duration::from_millis(300))).await;
    let (child, stderr) = daemon(&[&server.url("/"), "--interval", "50ms"], dir.path());
    wait_for_records(dir.path(), 5).await;
    // Some answers are still on their way now.
    while server.requests().len() <= records(dir.path()).len() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
    let all = records(dir.path());
    assert!(all.len() >= 5);
    assert_eq!(
        all.len(),
        server.requests().len(),
        "every ping in flight was written"
    );
    let mut seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "no probe lost at the stop"
    );
    assert!(
        all.iter().any(|r| r.conn.as_ref().is_some_and(|c| c.reused)),
        "the daemon keeps its connections alive"
    );
}

/// Issue #14: a daemon that starts into an outage. Its target never
/// succeeds, so it has no last success to go stale; `coldlink_probe_success`
/// says 0 from the first ping, and the build info and start time are there
/// for "no success since the start" (deploy/prometheus/coldlink-rules.yml).
/// /healthz is the daemon's liveness, not the target's: still 200.
#[tokio::test]
async fn issue_14_a_daemon_started_into_an_outage_says_probe_success_0() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port();
    let url = format!("http://{}/", closed.addr);
    let before = std::time::SystemTime::now();
    let (child, mut stderr) = daemon(
        &[&url, "--interval", "1h", "--metrics-listen", "127.0.0.1:0"],
        dir.path(),
    );
    let (said, stderr) = tokio::task::spawn_blocking(move || {
        let said = common::read_until_line(&mut stderr, "/metrics");
        (said, stderr)
    })
    .await
    .unwrap();
    let after = std::time::SystemTime::now();
    let addr = metrics_address(&said);
    wait_for_records(dir.path(), 1).await;
    let r = records(dir.path()).remove(0);
    assert!(r.error.is_some(), "the closed port refuses: {r:?}");
    let (body, m) = scrape(&addr).await;
    let target = &r.target;
    assert_eq!(
        m.get(&format!("coldlink_probe_success{{target=\"{target}\"}}")),
        Some(&0.0),
        "{body}"
    );
    assert!(
        !body.contains("coldlink_last_success_timestamp_seconds{"),
        "never a success, so none to show: {body}"
    );
    assert_eq!(
        m.get(&format!(
            "coldlink_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        Some(&1.0),
        "{body}"
    );
    let unix = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let started = m["coldlink_start_time_seconds"];
    assert!(
        unix(before) <= started && started <= unix(after),
        "{started} not between the spawn ({}) and the daemon's first line ({})",
        unix(before),
        unix(after)
    );
    let (status, health) = tokio::task::spawn_blocking(move || http_get(&addr, "/healthz"))
        .await
        .unwrap();
    assert!(status.contains("200") && health == "ok\n", "{status} {health}");
    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
}

#[tokio::test]
async fn an_outage_is_logged_with_backoff_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port();
    let url = format!("http://{}/", closed.addr);
    let (child, stderr) = daemon(&[&url, "--interval", "10ms"], dir.path());
    wait_for_records(dir.path(), 9).await;
    let (log, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{log}");
    for n in [1, 2, 4, 8] {
        assert!(
            log.contains(&format!("failing ({n} in a row): refused in connect")),
            "{n}: {log}"
        );
    }
    for n in [3, 5, 6, 7, 9] {
        assert!(!log.contains(&format!("failing ({n} in a row)")), "{n}: {log}");
    }
}

#[tokio::test]
async fn a_metrics_address_in_use_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let lock = dir.path().join("l");
    let out = tokio::task::spawn_blocking(move || {
        keepwarm(
            &[
                "http://127.0.0.1:9/",
                "--interval",
                "1s",
                "--metrics-listen",
                &addr,
            ],
            &lock,
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--metrics-listen"),
        "{}",
        text(&out.stderr)
    );
    drop(taken);
}

// ---- heartbeats ----

/// `--once`: GET the URL after a healthy round, URL/fail after a failed one.
#[tokio::test]
async fn once_sends_its_heartbeat_to_url_or_url_fail() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = start(Behavior::Ok).await;
    let target = start(Behavior::Ok).await;
    let closed = closed_port();
    let (hb, ok_url, bad_url) = (
        monitor.url("/ping/abc"),
        target.url("/"),
        format!("http://{}/", closed.addr),
    );
    let lock = dir.path().join("l");
    let (h, u, l) = (hb.clone(), ok_url.clone(), lock.clone());
    let out = tokio::task::spawn_blocking(move || keepwarm(&["--once", &u, "--heartbeat-url", &h], &l))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = tokio::task::spawn_blocking(move || {
        keepwarm(&["--once", &ok_url, &bad_url, "--heartbeat-url", &hb], &lock)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = monitor
        .requests()
        .iter()
        .map(|r| r.request_line.clone())
        .collect();
    assert_eq!(lines, ["GET /ping/abc HTTP/1.1", "GET /ping/abc/fail HTTP/1.1"]);
}

/// A monitoring service that is down is a line in the log, not a failure;
/// the line does not show the ping URL's path (it is a credential).
#[tokio::test]
async fn a_failing_heartbeat_is_logged_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let target = start(Behavior::Ok).await;
    let closed = closed_port();
    let hb = format!("http://{}/secret-token", closed.addr);
    let (u, l) = (target.url("/"), dir.path().join("l"));
    let out = tokio::task::spawn_blocking(move || keepwarm(&["--once", &u, "--heartbeat-url", &hb], &l))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "the round was healthy");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("heartbeat to http://127.0.0.1/… failed: could not connect"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-token"), "{stderr}");
}

/// A monitor behind basic authentication: user:password@ in the heartbeat
/// URL is sent as an authorization header (not refused, as in a probe's
/// URL, which records would show), and shown nowhere, success or failure.
#[tokio::test]
async fn a_heartbeat_url_with_credentials_is_sent_as_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = start(Behavior::Status(503)).await;
    let target = start(Behavior::Ok).await;
    let hb = monitor.url("/ping").replace("http://", "http://cron:pa55word@");
    let (u, l) = (target.url("/"), dir.path().join("l"));
    let out = tokio::task::spawn_blocking(move || keepwarm(&["--once", &u, "--heartbeat-url", &hb], &l))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("heartbeat to http://127.0.0.1/…: HTTP 503"),
        "{stderr}"
    );
    for shown in [&stderr, &text(&out.stdout)] {
        assert!(!shown.contains("pa55word") && !shown.contains("cron:"), "{shown}");
    }
    let got = &monitor.requests()[0];
    assert_eq!(got.request_line, "GET /ping HTTP/1.1");
    // base64("cron:pa55word")
    assert_eq!(got.header("authorization"), Some("Basic Y3JvbjpwYTU1d29yZA=="));
}

/// The daemon sends one heartbeat per round.
#[tokio::test]
async fn the_daemon_sends_a_heartbeat_each_round() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = start(Behavior::Ok).await;
    let target = start(Behavior::Ok).await;
    let (child, stderr) = daemon(
        &[
            &target.url("/"),
            "--interval",
            "30ms",
            "--heartbeat-url",
            &monitor.url("/hb"),
        ],
        dir.path(),
    );
    wait_for_requests(&monitor, 3, Duration::from_secs(30)).await;
    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
    let beats = monitor.requests().len();
    let rounds = records(dir.path()).len();
    assert!(
        beats <= rounds && beats + 2 >= rounds,
        "{beats} heartbeats for {rounds} rounds of one target"
    );
    assert!(
        monitor
            .requests()
            .iter()
            .all(|r| r.request_line == "GET /hb HTTP/1.1"),
        "every round was ok"
    );
}

// ---- warmness ----

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
            .args(["--idle-sweep", "30s,65s,120s,200s", "-q"])
            .args(&extra)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Checked, not assumed: an interval above the idle timer that a
/// diagnose sweep's records show draws a warning that explains why; one
/// under it does not; with no records, above 60 s does.
#[tokio::test]
async fn the_interval_is_checked_against_the_idle_timer_diagnose_found() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep.ndjson");
    let diagnosed = diagnose_idle_sweep(&["--records", sweep.to_str().unwrap()]).await;
    assert!(
        text(&diagnosed.stdout).contains("idle-timeout"),
        "{}",
        text(&diagnosed.stdout)
    );
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let from = sweep.to_str().unwrap();

    let above = tempfile::tempdir().unwrap();
    let log = daemon_log(&[&url, "--interval", "2500ms", "--from", from], above.path()).await;
    assert!(
        log.contains(
            "warning: pings up to 2s 500ms apart (interval and jitter) are not under the idle timer"
        ),
        "{log}"
    );
    assert!(log.contains("only the connections it uses"), "{log}");

    let under = tempfile::tempdir().unwrap();
    let log = daemon_log(&[&url, "--interval", "500ms", "--from", from], under.path()).await;
    assert!(!log.contains("warning"), "{log}");

    // The jitter counts: pings 55 s + 10 s apart pass 60 s.
    let unknown = tempfile::tempdir().unwrap();
    let log = daemon_log(&[&url, "--interval", "55s", "--jitter", "10s"], unknown.path()).await;
    assert!(
        log.contains("pings up to 1m 5s apart, longer than 60 s, with no idle timer known"),
        "{log}"
    );

    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "not records\n").unwrap();
    let l = dir.path().join("junk.lock");
    let out = keepwarm(&[&url, "--interval", "1s", "--from", junk.to_str().unwrap()], &l);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--from") && stderr.contains("no probe records in it"),
        "{stderr}"
    );
}

// ---- the keep-warm claim ----

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

/// The keep-warm claim, tested: on the lab's idle-timeout path (the NLB
/// forgets flows idle for 350 s; the gateway's pooled connection then meets
/// a reset and answers 502), pings under the timer keep a second client's
/// requests fast; pings over it do not.
#[tokio::test]
async fn pings_under_the_idle_timer_keep_a_second_clients_requests_fast() {
    let warm_lab = lab("idle-timeout", &["--speed", "100"]);
    let kept = second_client_after_quiet(&warm_lab, "1s").await;
    assert_eq!(kept.status.code(), Some(0), "kept warm:\n{}", text(&kept.stdout));
    assert!(
        text(&kept.stdout).lines().all(|l| l.ends_with(" ok")),
        "{}",
        text(&kept.stdout)
    );

    let cold_lab = lab("idle-timeout", &["--speed", "100"]);
    let cold = second_client_after_quiet(&cold_lab, "60s").await;
    assert_eq!(
        cold.status.code(),
        Some(1),
        "not kept warm:\n{}",
        text(&cold.stdout)
    );
    assert!(text(&cold.stdout).contains("FAILED"), "{}", text(&cold.stdout));
}

// ---- soak ----

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Hours of schedule, compressed: a ping every 2 ms is 18 000 pings in
/// about 40 s, the count of two targets pinged every 10 s for 25 hours.
/// Memory stays flat: after a warm-up, RSS grows by less than 4 MB while
/// the number of pings quadruples.
#[tokio::test]
async fn a_compressed_soak_keeps_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(Behavior::Ok).await;
    let (a, b) = (server.url("/a"), server.url("/b"));
    let mut child = Command::new(bin())
        .args([
            "keepwarm",
            &a,
            &b,
            "--interval",
            "2ms",
            "--metrics-listen",
            "127.0.0.1:0",
            "--lock",
        ])
        .arg(dir.path().join("l"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for_requests(&server, 4_500, Duration::from_secs(120)).await;
    let early = rss_kb(pid);
    wait_for_requests(&server, 18_000, Duration::from_secs(120)).await;
    let late = rss_kb(pid);
    eprintln!("RSS {early} kB at 4 500 pings, {late} kB at 18 000");
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let done = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(done.code(), Some(0));
    assert!(
        late < early + 4 * 1024,
        "RSS grew from {early} kB at 4 500 pings to {late} kB at 18 000"
    );
}

/// A previous report works as well as records: `diagnose --format json`
/// of an idle sweep (a lab's, whose scenario time is turned back into real
/// time), and the interval is checked against the timer its sweep shows.
#[tokio::test]
async fn a_previous_diagnose_report_gives_the_idle_timer_too() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let diagnosed = diagnose_idle_sweep(&["--format", "json", "--out", report.to_str().unwrap()]).await;
    assert_eq!(diagnosed.status.code(), Some(1), "{}", text(&diagnosed.stderr));
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let from = report.to_str().unwrap();
    // 65 s and 120 s of scenario time at speed 50: 1.3 s and 2.4 s.
    let above = tempfile::tempdir().unwrap();
    let log = daemon_log(&[&url, "--interval", "1500ms", "--from", from], above.path()).await;
    assert!(
        log.contains("connections went cold after quiet gaps of 2.4 s, stayed warm after 1.3 s"),
        "{log}"
    );
    let under = tempfile::tempdir().unwrap();
    let log = daemon_log(&[&url, "--interval", "1s", "--from", from], under.path()).await;
    assert!(!log.contains("warning"), "{log}");
}

/// Two targets, one that never answers: no round is all ok, so no success
/// heartbeat ever goes out, whatever order the pings finish in.
#[tokio::test]
async fn a_hanging_target_never_gets_a_success_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = start(Behavior::Ok).await;
    let ok = start(Behavior::Ok).await;
    let silent = start(Behavior::NeverAnswer).await;
    let (child, stderr) = daemon(
        &[
            &ok.url("/"),
            &silent.url("/"),
            "--interval",
            "100ms",
            "--timeout",
            "500ms",
            // Warm needs an answer under --slow: far off, so that a slow
            // moment of a loaded machine does not change the count below.
            "--slow",
            "60s",
            "--heartbeat-url",
            &monitor.url("/hb"),
        ],
        dir.path(),
    );
    wait_for_requests(&monitor, 3, Duration::from_secs(30)).await;
    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
    let lines: Vec<String> = monitor
        .requests()
        .iter()
        .map(|r| r.request_line.clone())
        .collect();
    assert!(lines.iter().all(|l| l == "GET /hb/fail HTTP/1.1"), "{lines:?}");

    // The stop says how warm each target's path was: the answering one's
    // pings found their kept-alive connection (all but the first), the
    // silent one's never did.
    let all = records(dir.path());
    let pings_of = |url: &str| {
        let of: Vec<_> = all.iter().filter(|r| r.url == url).collect();
        (of[0].target.clone(), of.len())
    };
    let ((ok_name, ok_pings), (silent_name, silent_pings)) =
        (pings_of(&ok.url("/")), pings_of(&silent.url("/")));
    let warm_ok = all
        .iter()
        .filter(|r| r.target == ok_name && r.conn.as_ref().is_some_and(|c| c.reused))
        .count();
    assert_eq!(warm_ok, ok_pings - 1, "one new connection, then kept alive");
    let expected = format!(
        "warm by target: {ok_name} {warm_ok}/{ok_pings} ({:.0} %), {silent_name} 0/{silent_pings} (0 %)",
        warm_ok as f64 / ok_pings as f64 * 100.0
    );
    assert!(rest.contains(&expected), "{expected}\n{rest}");
}

/// A full disk loses records, not the daemon: said at once, counted at the
/// stop, exit 0 (systemd would otherwise call a clean stop a failure).
#[tokio::test]
async fn a_failing_out_file_is_logged_and_counted_never_fatal() {
    if !std::path::Path::new("/dev/full").exists() {
        panic!("this test needs /dev/full (Linux)");
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(Behavior::Ok).await;
    let mut child = Command::new(bin())
        .args([
            "keepwarm",
            &server.url("/"),
            "--interval",
            "20ms",
            "--out",
            "/dev/full",
            "--lock",
        ])
        .arg(dir.path().join("l"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let seen = tokio::task::spawn_blocking(move || {
        let seen = common::read_until_line(&mut stderr, "writing a record failed (2 lost so far)");
        (seen, stderr)
    });
    let (seen, stderr) = seen.await.unwrap();
    assert!(seen.contains("No space left on device"), "{seen}");
    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
    assert!(rest.contains("records could not be written to --out"), "{rest}");
}

// ---- the shipped alert rules ----

/// The alerts of deploy/prometheus/coldlink-rules.yml as docs/keepwarm.md
/// tables them: name, expression (on one line), `for` (`—` when none),
/// severity.
/// Reads the file's own layout (`- alert:`, `expr:` on one line or as a
/// `|` block); promtool checks that it is valid.
fn shipped_alerts() -> Vec<[String; 4]> {
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/coldlink-rules.yml"
    ))
    .unwrap();
    let mut alerts: Vec<[String; 4]> = Vec::new();
    let mut lines = rules.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let field = |key: &str| trimmed.strip_prefix(key).map(|v| v.trim().to_string());
        if let Some(name) = field("- alert:") {
            alerts.push([name, String::new(), "—".to_string(), String::new()]);
        } else if let Some(expr) = field("expr:") {
            let mut expr = expr;
            if expr == "|" {
                let mut block = Vec::new();
                while let Some(next) = lines.next_if(|l| l.len() - l.trim_start().len() > indent) {
                    block.push(next.trim());
                }
                expr = block.join(" ");
            }
            let expr = expr.split_whitespace().collect::<Vec<_>>().join(" ");
            alerts.last_mut().unwrap()[1] = expr.replace("( ", "(").replace(" )", ")");
        } else if let Some(f) = field("for:") {
            alerts.last_mut().unwrap()[2] = f;
        } else if let Some(s) = field("severity:") {
            alerts.last_mut().unwrap()[3] = s;
        }
    }
    alerts
}

/// Issue #14: the PromQL docs/keepwarm.md shows is the PromQL shipped.
#[test]
fn the_documented_alert_rules_are_the_shipped_ones() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keepwarm.md")).unwrap();
    let alerts = shipped_alerts();
    assert_eq!(alerts.len(), 5, "{alerts:?}");
    for [name, expr, r#for, severity] in &alerts {
        assert!(
            !expr.is_empty() && !severity.is_empty(),
            "{name}: {expr} {severity}"
        );
        let row = format!("| `{name}` | `{expr}` | {for} | {severity} |", for = r#for);
        assert!(docs.contains(&row), "docs/keepwarm.md lacks the row\n{row}");
    }
    let documented = docs.lines().filter(|l| l.starts_with("| `Coldlink")).count();
    assert_eq!(documented, alerts.len(), "an alert documented but not shipped");
}

//! `keepwarm --interval`: metrics, SIGTERM, outages, a full disk, memory
//! over hours of compressed schedule.

use super::*;
use coldlink::keepwarm::metrics::vantage_label;

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
    // Issue #21: every series says where the daemon probes from; the
    // record's vantage, else the host's name.
    let v = vantage_label(r.vantage.as_deref());
    assert_eq!(
        m[&format!("coldlink_probes_total{{target=\"{target}\",vantage=\"{v}\",outcome=\"ok\"}}")],
        1.0,
        "{body}"
    );
    let total = format!("{{target=\"{target}\",vantage=\"{v}\",phase=\"total\"}}");
    assert_eq!(m[&format!("coldlink_probe_phase_seconds_count{total}")], 1.0);
    let sum = m[&format!("coldlink_probe_phase_seconds_sum{total}")];
    assert!(
        (sum - r.total_ms / 1000.0).abs() < 1e-6,
        "{sum} against {} ms",
        r.total_ms
    );
    let ttfb =
        format!("coldlink_probe_phase_seconds_count{{target=\"{target}\",vantage=\"{v}\",phase=\"ttfb\"}}");
    assert_eq!(m[&ttfb], 1.0);
    let at =
        r.at.0
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
    let last = m[&format!("coldlink_last_success_timestamp_seconds{{target=\"{target}\",vantage=\"{v}\"}}")];
    assert!(last >= at && last - at < 1.0, "{last} against the probe at {at}");
    assert_eq!(
        m[&format!("coldlink_connection_reused_total{{target=\"{target}\",vantage=\"{v}\"}}")],
        0.0,
        "the first probe's connection is new: {body}"
    );
    assert_eq!(
        m[&format!("coldlink_connection_new_total{{target=\"{target}\",vantage=\"{v}\"}}")],
        1.0,
        "{body}"
    );
    assert_eq!(
        m[&format!("coldlink_warm_probes_total{{target=\"{target}\",vantage=\"{v}\"}}")],
        0.0,
        "a new connection is not a warm path: {body}"
    );
    assert_eq!(
        m[&format!("coldlink_probe_success{{target=\"{target}\",vantage=\"{v}\"}}")],
        1.0,
        "{body}"
    );
    assert_eq!(
        m[&format!("coldlink_probes_total{{target=\"{target}\",vantage=\"{v}\",outcome=\"timeout\"}}")],
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
    let v = vantage_label(r.vantage.as_deref());
    assert_eq!(
        m.get(&format!(
            "coldlink_probe_success{{target=\"{target}\",vantage=\"{v}\"}}"
        )),
        Some(&0.0),
        "{body}"
    );
    assert!(
        !body.contains("coldlink_last_success_timestamp_seconds{"),
        "never a success, so none to show: {body}"
    );
    assert_eq!(
        m.get(&format!(
            "coldlink_build_info{{version=\"{}\",vantage=\"{v}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        Some(&1.0),
        "{body}"
    );
    let unix = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let started = m[&format!("coldlink_start_time_seconds{{vantage=\"{v}\"}}")];
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

/// Hours of schedule, compressed: a ping every 2 ms is 18 000 pings in
/// about 40 s, the count of two targets pinged every 10 s for 25 hours.
/// Memory stays flat: after a warm-up, RSS grows by less than 4 MB while
/// the number of pings quadruples.
///
/// The schedule keeps its times, so a daemon kept off the CPU (a loaded
/// machine) sends the pings it owes at once, each on a connection of its
/// own, up to its in-flight limit; the allocator keeps that burst's
/// high-water mark. With the default `--timeout` that limit is 4 096 pings
/// at this interval, and a late burst grew RSS by 30 MB; `--timeout 100ms`
/// makes it 102 (two targets × (100 ms / 2 ms + 1)), whose burst is worth
/// well under 1 MB, so what the bound measures is growth with the pings.
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
            "--timeout",
            "100ms",
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
    let peak = server.state.max_open.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("RSS {early} kB at 4 500 pings, {late} kB at 18 000; at most {peak} connections open at once");
    // The RSS bound below holds only while a late burst stays this small.
    assert!(
        peak <= 102,
        "{peak} connections open at once; `--timeout 100ms` at a 2 ms interval \
         bounds the pings in flight to 102 (two targets × (100 ms / 2 ms + 1)), \
         and a larger burst makes the RSS bound measure the burst, not growth"
    );
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

/// A closed stderr (the reader of `2>&1 | head -1` gone) ends no daemon:
/// its start line and outage lines fail to be written, the pings go on
/// (the records grow), and SIGTERM still ends it with 0 (the stop's
/// summary, too, has only the closed pipe to go to). What the lines said
/// cannot be seen here, with no reader: only that failing to say them
/// ends nothing. The
/// daemon's own writer returned the broken pipe, and the daemon stopped at
/// its first line.
#[tokio::test]
async fn a_closed_stderr_ends_no_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port();
    let url = format!("http://{}/", closed.addr);
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let child = Command::new(bin())
        .args(["keepwarm", &url, "--interval", "10ms", "--lock"])
        .arg(dir.path().join("l"))
        .arg("--out")
        .arg(dir.path().join("records.ndjson"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer))
        .spawn()
        .unwrap();
    let pid = child.id();
    let running = std::sync::Arc::new(std::sync::Mutex::new(child));
    let waited = running.clone();
    let exited = move || waited.lock().unwrap().try_wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while records(dir.path()).len() < 9 {
        assert_eq!(
            exited(),
            None,
            "the daemon ended with {} records",
            records(dir.path()).len()
        );
        assert!(Instant::now() < deadline, "fewer than 9 records after 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a child's pid is positive");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let code = tokio::task::spawn_blocking(move || running.lock().unwrap().wait().unwrap().code())
        .await
        .unwrap();
    assert_eq!(code, Some(0));
}

//! `keepwarm --once`: exit codes against a healthy lab, a failing target
//! and a slow one, the lock that stops runs piling up, bad input.

use super::*;

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

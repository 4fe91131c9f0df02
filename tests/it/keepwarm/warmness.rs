//! Warmness, checked: the interval against the idle timer `--from` shows,
//! and the keep-warm claim itself on the lab's idle-timeout path.

use super::*;

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
            "warning: pings up to 2s 500ms apart (interval and jitter) are not shown to be under the idle timer"
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

//! `--heartbeat-url`: after a round, and never a success while a target
//! fails; a monitor that is down is a log line.

use super::*;

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
    let shown = format!("heartbeat to http://{}/… failed: could not connect", closed.addr);
    assert!(stderr.contains(&shown), "names host and port: {stderr}");
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
    let shown = format!(
        "heartbeat to http://127.0.0.1:{}/…: HTTP 503",
        monitor.addr.port()
    );
    assert!(stderr.contains(&shown), "{stderr}");
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
        let of: Vec<_> = all.iter().filter(|r| &*r.url == url).collect();
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

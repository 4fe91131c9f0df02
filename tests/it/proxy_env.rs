//! Issue #16 §5: probes never go through a proxy. With every proxy
//! variable pointing at a loopback "proxy" that counts the connections it
//! is offered, probes still reach their servers directly, the proxy sees
//! none of them, and the probing commands say once on stderr that the
//! variable is not used. What does use it (docs/private-apis.md#proxies):
//! the AWS SDK's calls and keepwarm's heartbeat, checked here too.

use crate::common::text;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::common::{self, bin, start, start_tls, Behavior};

const NOTE: &str = "probes connect directly (a proxy would time itself, not the path)";

/// A listener that counts the connections it accepts and closes them.
async fn start_counting_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (url, count)
}

/// Run coldlink with every proxy variable set to `proxy`.
async fn coldlink(args: &[&str], proxy: &str) -> Output {
    coldlink_bypassing(args, proxy, None).await
}

/// The same, with `NO_PROXY` set to `no_proxy` when given.
async fn coldlink_bypassing(args: &[&str], proxy: &str, no_proxy: Option<&str>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let proxy = proxy.to_string();
    let no_proxy = no_proxy.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(bin());
        cmd.args(&args)
            .env_remove("RUST_LOG")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env("NO_COLOR", "1")
            // The SDK wants credentials and a region; none are real.
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "eu-west-1")
            .env_remove("AWS_PROFILE");
        for var in coldlink::commands::notes::PROXY_VARS {
            cmd.env(var, &proxy);
        }
        if let Some(no_proxy) = no_proxy {
            cmd.env("NO_PROXY", no_proxy);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn probes_ignore_the_proxy_variables_and_say_so_once() {
    let (proxy, offered) = start_counting_proxy().await;
    let plain = start(Behavior::Ok).await;
    let tls = start_tls(Behavior::Ok, &["localhost"]).await;
    let ca = tls.ca_file.as_ref().unwrap().to_str().unwrap().to_string();
    let https = tls.url_localhost("/");
    let http = plain.url("/");
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("keepwarm.lock");
    let lock = lock.to_str().unwrap();

    // (command, prints the note)
    let runs: [(Vec<&str>, bool); 4] = [
        (vec!["probe", &http, "-n", "2"], true),
        (vec!["probe", &https, "--cacert", &ca], true),
        (vec!["probe", &http, "-q"], false),
        // cron: no terminal, no note (keepwarm --once has no -q)
        (vec!["keepwarm", "--once", &http, "--lock", lock], false),
    ];
    for (command, noted) in runs {
        let out = coldlink(&command, &proxy).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{command:?}: {err}");
        if noted {
            let line = format!("coldlink: HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy, ALL_PROXY and all_proxy are set; {NOTE}");
            assert_eq!(err.matches(&line).count(), 1, "{command:?} says it once: {err}");
        } else {
            assert!(!err.contains(NOTE), "{command:?}: {err}");
        }
    }
    assert_eq!(
        plain.requests().len(),
        4,
        "the probes reached the server directly"
    );
    assert_eq!(tls.requests().len(), 1);
    assert_eq!(offered.load(Ordering::SeqCst), 0, "the proxy saw a connection");
}

/// The AWS SDK's client (X-Ray here) and keepwarm's heartbeat do take the
/// proxy from the environment: an endpoint they would reach directly is
/// reached through the proxy instead.
#[tokio::test]
async fn aws_calls_and_the_heartbeat_go_through_the_proxy() {
    let (proxy, offered) = start_counting_proxy().await;
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.ndjson");
    let out = coldlink(&["probe", &url, "--out", records.to_str().unwrap(), "-q"], &proxy).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(offered.load(Ordering::SeqCst), 0);

    // Nothing listens on the endpoint: a direct call would be refused there,
    // unseen by the proxy.
    let closed = common::closed_port();
    let endpoint = format!("http://{}", closed.addr);
    let xray = [
        "diagnose",
        "--from",
        records.to_str().unwrap(),
        "--xray",
        "--xray-wait",
        "1s",
        "--aws-endpoint",
        &endpoint,
        "--format",
        "json",
    ];
    let out = coldlink(&xray, &proxy).await;
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    assert!(report["aws"]["xray"]["error"].is_string(), "{}", report["aws"]);
    let after_xray = offered.load(Ordering::SeqCst);
    assert!(after_xray > 0, "the X-Ray calls did not go through the proxy");
    // NO_PROXY=127.0.0.1 sends them past it (what the doc advises for a
    // loopback emulator, the lab's included).
    let out = coldlink_bypassing(&xray, &proxy, Some("127.0.0.1")).await;
    assert!(out.status.code().is_some(), "{}", text(&out.stderr));
    assert_eq!(
        offered.load(Ordering::SeqCst),
        after_xray,
        "NO_PROXY was not honoured"
    );

    let lock = dir.path().join("keepwarm.lock");
    let out = coldlink(
        &[
            "keepwarm",
            "--once",
            &url,
            "--lock",
            lock.to_str().unwrap(),
            "--heartbeat-url",
            &format!("http://{}/ping", closed.addr),
        ],
        &proxy,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        offered.load(Ordering::SeqCst) > after_xray,
        "the heartbeat did not go through the proxy"
    );
}

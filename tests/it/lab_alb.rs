//! The lab's ALB path, streamed responses and draining targets, probed: the
//! signatures in the raw records (issue #18), through the real lab.

use std::time::{Duration, SystemTime};

use coldlink::probe::{ConnectionPolicy, Pacing, ProbeRecord};

use super::lab::{failed_with, lab, probe, EXEC};

/// The ALB's own 502 page, as API Gateway passes it on.
const PAGE_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

fn remapped_server(r: &ProbeRecord) -> Option<&str> {
    r.headers.get("x-amzn-remapped-server").map(String::as_str)
}

#[tokio::test]
async fn the_albs_502_page_comes_through_with_the_remapped_server() {
    // One target, keep-alive 5 s / 10 = 500 ms and a 500 ms race: a request
    // every 600 ms finds the ALB's target connection closing (100 ms of
    // slack before, 400 ms after, for a loaded machine).
    let (lab, p) = lab(
        "alb-keepalive-race",
        &["targets=1", "alb.other_traffic=0", "speed=10"],
    )
    .await;
    // Its profile names the ALB, not an NLB, for --cloudwatch / --aws-config.
    let profile = lab.profile_toml();
    assert!(profile.contains("\nalb = \"app/coldlink-lab-"), "{profile}");
    assert!(!profile.contains("\nnlb = "), "{profile}");
    let records = probe(
        &p,
        EXEC,
        8,
        Pacing::Interval(Duration::from_millis(600)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    let pages: Vec<&ProbeRecord> = records.iter().filter(|r| failed_with(r, 502)).collect();
    assert!(!pages.is_empty(), "{records:?}");
    for r in &pages {
        assert_eq!(remapped_server(r), Some("awselb/2.0"), "{r:?}");
        assert_eq!(r.body_bytes, Some(PAGE_502.len() as u64), "the ALB's HTML: {r:?}");
    }
    // The backend's own answers come through with its server remapped.
    let ok = records.iter().find(|r| r.error.is_none()).expect("some answered");
    assert_eq!(remapped_server(ok), Some("coldlink-lab-backend"));
    let stats = lab.alb_stats.as_ref().expect("an ALB path has ALB stats");
    assert_eq!(
        stats.elb_502.load(std::sync::atomic::Ordering::Relaxed),
        pages.len() as u64
    );
    assert!(stats.requests.load(std::sync::atomic::Ordering::Relaxed) >= 8);
}

#[tokio::test]
async fn the_alb_answers_504_when_a_target_is_silent_past_its_idle_timeout() {
    // ALB idle 60 s / 60 = 1 s; the app needs 1.5 s; the gateway would wait 2 s.
    let (lab, p) = lab(
        "healthy",
        &[
            "path=alb",
            "speed=60",
            "backend.delay=90s",
            "gateway.integration_timeout=120s",
        ],
    )
    .await;
    let records = probe(&p, EXEC, 2, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    for r in &records {
        assert!(failed_with(r, 504), "{r:?}");
        assert_eq!(remapped_server(r), Some("awselb/2.0"), "the ALB's 504: {r:?}");
        assert!(
            (900.0..1_450.0).contains(&r.total_ms),
            "about 1 s: {}",
            r.total_ms
        );
    }
    let stats = lab.alb_stats.as_ref().unwrap();
    assert!(stats.elb_504.load(std::sync::atomic::Ordering::Relaxed) >= 2);
    assert_eq!(stats.elb_502.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test]
async fn the_alb_closes_idle_gateway_connections_and_a_request_in_the_race_fails() {
    // ALB idle 60 s / 60 = 1 s, race 30 s / 60 = 500 ms: gaps of 1.25 s
    // fall in the race with 250 ms of slack each side.
    let (_lab, p) = lab("alb-idle-timeout", &["speed=60", "alb.close_race=30s"]).await;
    let short = probe(
        &p,
        EXEC,
        4,
        Pacing::Interval(Duration::from_millis(300)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    assert!(short.iter().all(|r| r.error.is_none()), "{short:?}");
    let racing = probe(
        &p,
        EXEC,
        3,
        Pacing::Interval(Duration::from_millis(1250)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    let failed: Vec<&ProbeRecord> = racing.iter().skip(1).filter(|r| failed_with(r, 502)).collect();
    assert!(!failed.is_empty(), "{racing:?}");
    // The gateway's own 502 (the ALB never answered): no ALB header.
    assert!(failed.iter().all(|r| remapped_server(r).is_none()), "{failed:?}");
    // Past the race the ALB has closed with a FIN: the gateway reconnects.
    let after = probe(
        &p,
        EXEC,
        3,
        Pacing::Interval(Duration::from_millis(2000)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    assert!(after.iter().all(|r| r.error.is_none()), "{after:?}");
}

#[tokio::test]
async fn the_client_keep_alive_reconnect_is_graceful() {
    // A gateway connection older than 60 s / 60 = 1 s (AWS's minimum) is
    // closed after its next answer.
    let (lab, p) = lab("healthy", &["path=alb", "speed=60", "alb.client_keep_alive=60s"]).await;
    let records = probe(
        &p,
        EXEC,
        30,
        Pacing::Interval(Duration::from_millis(60)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    assert!(records.iter().all(|r| r.error.is_none()), "{records:?}");
    let stats = lab.alb_stats.as_ref().unwrap();
    assert_eq!(stats.elb_502.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert!(stats.requests.load(std::sync::atomic::Ordering::Relaxed) >= 30);
    // 30 requests over ~1.8 s on one reused connection: the ALB closed it
    // at least once after 1 s, and the gateway opened a new one.
    let opened = stats.new_connections.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        opened >= 2,
        "the gateway -> ALB connection never changed: {opened}"
    );
}

#[tokio::test]
async fn a_streamed_response_streams_through_the_alb() {
    // The same stream on the ALB path: its first byte comes long before
    // its end (the ALB passes the body on as it arrives, it does not
    // collect it), and the ALB's TargetResponseTime ends at the headers.
    let (lab, p) = lab("streaming", &["path=alb", "speed=20"]).await;
    let records = probe(&p, EXEC, 1, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    let r = &records[0];
    assert!(r.error.is_none(), "{r:?}");
    assert!(r.phases_ms.ttfb.unwrap_or(f64::MAX) < 500.0, "{r:?}");
    assert!(r.phases_ms.body.unwrap_or(0.0) > 1_000.0, "{r:?}");
    let stats = lab.alb_stats.as_ref().unwrap();
    let us = stats
        .target_response_us
        .load(std::sync::atomic::Ordering::Relaxed);
    let n = stats.target_responses.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(n, 1);
    assert!(us < 500_000, "TargetResponseTime {us} µs includes the body");
}

#[tokio::test]
async fn a_streamed_response_has_its_time_in_the_body_and_outlasts_the_integration_timeout() {
    // 35 s of chunks / 20 = 1.75 s; the integration timeout 29 s / 20 = 1.45 s.
    let (_lab, p) = lab("streaming", &["speed=20"]).await;
    let records = probe(&p, EXEC, 2, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    for r in &records {
        assert!(r.error.is_none(), "{r:?}");
        assert!(r.phases_ms.ttfb.unwrap_or(f64::MAX) < 500.0, "{r:?}");
        assert!(r.phases_ms.body.unwrap_or(0.0) > 1_500.0, "{r:?}");
        assert!(r.total_ms > 1_450.0, "{r:?}");
    }
    // Buffered, the same answer is cut at the integration timeout.
    let (_lab, p) = lab(
        "streaming",
        &["speed=20", "gateway.response_transfer_mode=buffered"],
    )
    .await;
    let records = probe(&p, EXEC, 1, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    assert!(failed_with(&records[0], 504), "{:?}", records[0]);
}

#[tokio::test]
async fn drainings_failures_come_after_the_death_and_on_reused_connections() {
    // The target in use is deregistered 12 s / 10 = 1.2 s in, answers
    // 500 ms / 10 = 50 ms late until it dies 16 s / 10 = 1.6 s later; the
    // gateway gives up on a silent pooled connection after 600 ms.
    let started = SystemTime::now();
    let deregistered = started + Duration::from_millis(1_200);
    let death = started + Duration::from_millis(2_800);
    let (lab, p) = lab("draining", &[]).await;
    // Three concurrent requests: a pooled gateway connection to each target.
    let mut records = probe(&p, EXEC, 9, Pacing::None, ConnectionPolicy::Reuse, 3).await;
    records.extend(
        probe(
            &p,
            EXEC,
            10,
            Pacing::Interval(Duration::from_millis(450)),
            ConnectionPolicy::Reuse,
            1,
        )
        .await,
    );
    // After the death, three at once again: one takes the dead target's.
    records.extend(probe(&p, EXEC, 9, Pacing::None, ConnectionPolicy::Reuse, 3).await);
    assert!(records.iter().all(|r| r.error.is_none()), "retried: {records:?}");
    let slow: Vec<&ProbeRecord> = records.iter().filter(|r| r.total_ms > 400.0).collect();
    assert!(!slow.is_empty(), "{records:?}");
    for r in &slow {
        assert!(
            r.at.0 >= death - Duration::from_millis(50),
            "before the death: {r:?}"
        );
        let trace = r.trace_id.as_deref().expect("the gateway's trace id");
        let seen = lab.gateway_log.find(trace).expect("the gateway saw it");
        assert!(seen.upstream_reused, "a pooled connection: {seen:?}");
        assert_eq!(seen.attempts, 2, "{seen:?}");
    }
    // While it drains, it serves the gateway's pooled connection, late.
    let draining: Vec<&ProbeRecord> = records
        .iter()
        .filter(|r| {
            r.at.0 >= deregistered + Duration::from_millis(50) && r.at.0 + Duration::from_millis(50) < death
        })
        .collect();
    let late: Vec<&&ProbeRecord> = draining
        .iter()
        .filter(|r| (50.0..400.0).contains(&r.total_ms))
        .collect();
    assert!(!late.is_empty(), "{draining:?}");
    for r in late {
        let seen = lab.gateway_log.find(r.trace_id.as_deref().unwrap()).unwrap();
        assert!(seen.upstream_reused, "a pooled connection: {seen:?}");
        assert_eq!(seen.attempts, 1, "served, not retried: {seen:?}");
    }
}

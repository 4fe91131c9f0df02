//! Every lab scenario, probed, shows its signature in the raw records — not
//! a diagnosis, the shape of the data a diagnosis will read (issue #4).
//! Loopback only, every port 0; long timers compressed with the speed.

use std::time::Duration;

use coldlink::cli::ConnectionArgs;
use coldlink::config::Profile;
use coldlink::lab::{Lab, Scenario};
use coldlink::probe::{engine, ConnectionPolicy, CountPlan, ErrorKind, Pacing, ProbeRecord};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) async fn lab(name: &str, overrides: &[&str]) -> (Lab, Profile) {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let lab = Lab::start_isolated(Scenario::load(name, &overrides).unwrap())
        .await
        .unwrap();
    let profile = Profile::load(&lab.write_profile().unwrap()).unwrap();
    (lab, profile)
}

/// `n` probes per named target through the lab's own profile.
pub(crate) async fn probe(
    profile: &Profile,
    targets: &[&str],
    n: u64,
    pacing: Pacing,
    policy: ConnectionPolicy,
    concurrency: usize,
) -> Vec<ProbeRecord> {
    let all = profile.targets_with(&ConnectionArgs::default()).unwrap();
    let chosen: Vec<_> = all.into_iter().filter(|t| targets.contains(&&*t.name)).collect();
    assert_eq!(chosen.len(), targets.len());
    let settings = profile.connection.settings(policy, concurrency).unwrap();
    let plan = CountPlan::new(chosen.len(), n, pacing, tokio::time::Instant::now());
    let (tx, mut rx) = mpsc::channel(64);
    let run = engine::run(
        settings,
        chosen,
        Box::new(plan),
        concurrency,
        tx,
        CancellationToken::new(),
    );
    let collect = async {
        let mut out = Vec::new();
        while let Some(batch) = rx.recv().await {
            out.extend(batch);
        }
        out
    };
    let (run, mut records) = tokio::join!(run, collect);
    run.unwrap();
    records.sort_by_key(|r| r.seq);
    records
}

fn ms(v: Option<f64>) -> f64 {
    v.unwrap_or(0.0)
}

pub(crate) fn failed_with(r: &ProbeRecord, status: u16) -> bool {
    r.status == Some(status) && r.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Status)
}

pub(crate) const EXEC: &[&str] = &["execute-api"];
const BOTH: &[&str] = &["execute-api", "custom-domain"];

#[tokio::test]
async fn healthy_shows_no_signature() {
    let (_lab, p) = lab("healthy", &[]).await;
    let mut records = probe(&p, BOTH, 8, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    records.extend(probe(&p, BOTH, 8, Pacing::None, ConnectionPolicy::Reuse, 1).await);
    assert_eq!(records.len(), 32);
    for r in &records {
        assert!(r.error.is_none(), "{r:?}");
        assert!(ms(r.phases_ms.dns) < 300.0, "dns {r:?}");
        assert!(ms(r.phases_ms.connect) < 300.0, "connect {r:?}");
        assert!(ms(r.phases_ms.tls) < 300.0, "tls {r:?}");
        assert!(ms(r.phases_ms.ttfb) < 300.0, "ttfb {r:?}");
    }
}

#[tokio::test]
async fn idle_timeout_fails_only_after_gaps_longer_than_the_timer() {
    // 350 s at speed 500: the NLB forgets a flow idle for 0.7 s.
    let (_lab, p) = lab("idle-timeout", &["speed=500"]).await;
    let short = probe(
        &p,
        EXEC,
        6,
        Pacing::Interval(Duration::from_millis(200)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    assert!(
        short.iter().all(|r| r.error.is_none()),
        "gaps of 0.2 s stay fast: {short:?}"
    );
    let long = probe(
        &p,
        EXEC,
        4,
        Pacing::Interval(Duration::from_millis(1200)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    let after_gap: Vec<&ProbeRecord> = long.iter().skip(1).collect();
    assert!(
        after_gap.iter().any(|r| failed_with(r, 502)),
        "after a 1.2 s gap the pooled integration connection meets the reset: {long:?}"
    );
    assert!(
        after_gap.iter().all(|r| ms(r.phases_ms.ttfb) < 500.0),
        "a reset is quick, not a stall"
    );
}

#[tokio::test]
async fn idle_timeout_blackhole_stalls_after_long_gaps() {
    // Flows forgotten after 0.7 s; a silent pooled connection is given up
    // after 100 s / 500 = 200 ms and the request retried.
    let (_lab, p) = lab(
        "idle-timeout-blackhole",
        &[
            "speed=500",
            "gateway.stall_retry=100s",
            "gateway.integration_timeout=1000s",
        ],
    )
    .await;
    let short = probe(
        &p,
        EXEC,
        5,
        Pacing::Interval(Duration::from_millis(200)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    assert!(
        short
            .iter()
            .all(|r| r.error.is_none() && ms(r.phases_ms.ttfb) < 150.0),
        "{short:?}"
    );
    let long = probe(
        &p,
        EXEC,
        3,
        Pacing::Interval(Duration::from_millis(1200)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    for r in long.iter().skip(1) {
        assert!(r.error.is_none(), "a stall, not an error: {r:?}");
        assert!(ms(r.phases_ms.ttfb) >= 200.0, "stalled after the gap: {r:?}");
    }
}

#[tokio::test]
async fn bad_path_slows_about_a_third_whatever_the_gap() {
    // One target of three takes 5 s / 20 = 250 ms; a new flow per request.
    let (_lab, p) = lab("bad-path", &["speed=20"]).await;
    let records = probe(&p, EXEC, 30, Pacing::None, ConnectionPolicy::Reuse, 1).await;
    let slow = records.iter().filter(|r| ms(r.phases_ms.ttfb) >= 240.0).count();
    assert!(
        (7..=13).contains(&slow),
        "{slow} of 30 slow; expected about a third"
    );
    let paced = probe(
        &p,
        EXEC,
        9,
        Pacing::Interval(Duration::from_millis(300)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    let slow = paced.iter().filter(|r| ms(r.phases_ms.ttfb) >= 240.0).count();
    assert!(
        (2..=4).contains(&slow),
        "{slow} of 9 slow with gaps: the fraction does not depend on them"
    );
    assert!(records.iter().chain(&paced).all(|r| r.error.is_none()));
}

#[tokio::test]
async fn syn_loss_puts_about_one_second_into_connect() {
    // SYNs are dropped 30 % of the time, in windows of 0.75 s every 2.5 s;
    // probes every 0.5 s over 4 s must meet at least one window.
    let (_lab, p) = lab("syn-loss", &["gateway.syn_loss=0.3"]).await;
    let records = probe(
        &p,
        EXEC,
        9,
        Pacing::Interval(Duration::from_millis(500)),
        ConnectionPolicy::Fresh,
        4,
    )
    .await;
    let connects: Vec<f64> = records.iter().map(|r| ms(r.phases_ms.connect)).collect();
    let slow = connects.iter().filter(|c| **c >= 900.0).count();
    assert!(slow >= 1, "no connect near 1 s: {connects:?}");
    for c in &connects {
        assert!(
            *c < 100.0 || (900.0..1600.0).contains(c),
            "connect {c} ms is neither fast nor a 1 s retransmit"
        );
    }
    assert!(records.iter().all(|r| r.error.is_none()));
}

#[tokio::test]
async fn dns_timeout_puts_the_resolver_delay_into_dns() {
    let (_lab, p) = lab("dns-timeout", &["speed=10"]).await;
    let records = probe(&p, EXEC, 3, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    for r in &records {
        assert!(r.error.is_none(), "{r:?}");
        assert!(ms(r.phases_ms.dns) >= 480.0, "dns ≈ 5 s / 10: {r:?}");
        assert!(
            ms(r.phases_ms.connect) + ms(r.phases_ms.tls) + ms(r.phases_ms.ttfb) < 200.0,
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn slow_tls_is_in_the_handshake_of_new_connections_only() {
    let (_lab, p) = lab("slow-tls", &[]).await;
    let fresh = probe(&p, EXEC, 2, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    for r in &fresh {
        assert!(ms(r.phases_ms.tls) >= 400.0, "{r:?}");
        assert!(!r.tls.as_ref().unwrap().resumed, "no resumption");
        assert!(ms(r.phases_ms.ttfb) < 200.0);
    }
    let reused = probe(&p, EXEC, 3, Pacing::None, ConnectionPolicy::Reuse, 1).await;
    for r in reused.iter().skip(1) {
        assert_eq!(r.phases_ms.tls, None);
        assert!(r.total_ms < 200.0, "reused connections are fast: {r:?}");
    }
}

#[tokio::test]
async fn slow_backend_is_a_constant_ttfb() {
    let (_lab, p) = lab("slow-backend", &[]).await;
    let records = probe(&p, EXEC, 4, Pacing::None, ConnectionPolicy::Reuse, 1).await;
    let ttfb: Vec<f64> = records.iter().map(|r| ms(r.phases_ms.ttfb)).collect();
    assert!(ttfb.iter().all(|t| *t >= 800.0), "{ttfb:?}");
    let spread = ttfb.iter().cloned().fold(0.0, f64::max) - ttfb.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 250.0, "roughly constant: {ttfb:?}");
}

#[tokio::test]
async fn edge_makes_the_custom_domain_slower_with_cloudfront_headers() {
    let (_lab, p) = lab("edge", &[]).await;
    let records = probe(&p, BOTH, 8, Pacing::None, ConnectionPolicy::Reuse, 1).await;
    let median = |name: &str| {
        let mut v: Vec<f64> = records
            .iter()
            .filter(|r| &*r.target == name)
            .map(|r| r.total_ms)
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (exec, custom) = (median("execute-api"), median("custom-domain"));
    assert!(
        custom > exec + 50.0,
        "custom domain {custom} ms vs execute-api {exec} ms"
    );
    for r in &records {
        let cf = r.headers.contains_key("via") && r.headers.contains_key("x-amz-cf-pop");
        assert_eq!(cf, &*r.target == "custom-domain", "{r:?}");
        if &*r.target == "custom-domain" {
            assert_eq!(r.headers["x-cache"], "Miss from cloudfront");
        }
        assert!(
            r.headers.contains_key("x-amzn-requestid"),
            "the gateway's id comes through"
        );
    }
}

#[tokio::test]
async fn integration_timeout_answers_504_at_the_scaled_29_seconds() {
    let (_lab, p) = lab("integration-timeout", &["speed=20"]).await;
    let records = probe(&p, EXEC, 1, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    let r = &records[0];
    assert!(failed_with(r, 504), "{r:?}");
    assert!(
        (1400.0..2200.0).contains(&r.total_ms),
        "29 s / 20 ≈ 1.45 s: {}",
        r.total_ms
    );
}

#[tokio::test]
async fn keepalive_race_fails_just_after_the_backend_keepalive() {
    // Backend keep-alive 60 s / 60 = 1 s; requests within 15 s / 60 = 0.25 s
    // after that meet the closing connection.
    let (_lab, p) = lab("keepalive-race", &["speed=60", "backend.close_race=15s"]).await;
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
        Pacing::Interval(Duration::from_millis(1120)),
        ConnectionPolicy::Reuse,
        1,
    )
    .await;
    assert!(racing.iter().skip(1).any(|r| failed_with(r, 502)), "{racing:?}");
    assert!(
        racing.iter().all(|r| r.total_ms < 500.0),
        "errors, not seconds-scale stalls"
    );
}

#[tokio::test]
async fn errors_fail_a_share_of_probes_with_a_status() {
    let (_lab, p) = lab("errors", &[]).await;
    let records = probe(&p, EXEC, 40, Pacing::None, ConnectionPolicy::Reuse, 1).await;
    let failed = records.iter().filter(|r| failed_with(r, 500)).count();
    assert!(
        (1..=20).contains(&failed),
        "{failed} of 40 answered 500 (one in five expected)"
    );
    assert!(records.iter().all(|r| r.error.is_none() || failed_with(r, 500)));
}

#[tokio::test]
async fn the_lab_serves_the_example_api() {
    let (lab, p) = lab("healthy", &[]).await;
    let all = p.targets_with(&ConnectionArgs::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert!(lab.execute_api.as_str().contains("/test/header"));
    let records = probe(&p, BOTH, 1, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    assert!(records.iter().all(|r| r.status == Some(200)), "{records:?}");
    // Gateway records carry the probes' own trace ids.
    for r in &records {
        let g = lab
            .gateway_log
            .find(r.trace_id.as_deref().unwrap())
            .expect("the gateway saw the probe's trace id");
        assert_eq!(g.status, 200);
    }
}

#[tokio::test]
async fn target_faults_refuse_and_slow_answer_hit_their_share_of_flows() {
    // A new flow per request over three targets: target 0 refuses (the
    // gateway answers 502), target 1 answers 300 ms late, target 2 is fine.
    let (_lab, p) = lab(
        "healthy",
        &[
            "gateway.upstream=\"fresh\"",
            "gateway.retry_on_reset=false",
            r#"nlb.faults=[{ target = 0, kind = "refuse" }, { target = 1, kind = "slow-answer", delay = "300ms" }]"#,
        ],
    )
    .await;
    let records = probe(&p, EXEC, 12, Pacing::None, ConnectionPolicy::Reuse, 1).await;
    let refused = records.iter().filter(|r| failed_with(r, 502)).count();
    let slow = records
        .iter()
        .filter(|r| r.error.is_none() && ms(r.phases_ms.ttfb) >= 300.0)
        .count();
    let fine = records
        .iter()
        .filter(|r| r.error.is_none() && ms(r.phases_ms.ttfb) < 100.0)
        .count();
    assert_eq!(
        (refused, slow, fine),
        (4, 4, 4),
        "each of the three targets once per three flows"
    );
}

#[tokio::test]
async fn a_dropped_dns_query_times_out_in_the_dns_phase() {
    let (_lab, p) = lab("healthy", &["dns.drop=1.0"]).await;
    let mut conn = p.connection.clone();
    conn.dns_timeout = Some(Duration::from_millis(300));
    let mut with_limit = p.clone();
    with_limit.connection = conn;
    let records = probe(&with_limit, EXEC, 1, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    let e = records[0].error.as_ref().expect("no answer");
    assert_eq!(
        (e.kind, e.phase),
        (ErrorKind::Timeout, coldlink::probe::Phase::Dns),
        "{e:?}"
    );
    assert!((300.0..1000.0).contains(&ms(records[0].phases_ms.dns)));
}

#[tokio::test]
async fn the_gateway_serves_the_stage_root_with_a_query() {
    let (lab, p) = lab("healthy", &[]).await;
    let mut url = lab.execute_api.clone();
    url.set_path("/test");
    url.set_query(Some("x=1"));
    let mut settings = p.connection.settings(ConnectionPolicy::Fresh, 1).unwrap();
    settings.timeouts.total = Duration::from_secs(5);
    let spec = std::sync::Arc::new(coldlink::probe::RequestSpec::default());
    let target = coldlink::probe::Target::new("root", url, None, spec);
    let prober = coldlink::probe::Prober::new(settings).unwrap();
    let r = prober.probe(&target, 1, std::time::Instant::now()).await;
    assert_eq!(r.status, Some(200), "{r:?}");
}

#[tokio::test]
async fn outside_its_windows_the_syn_gate_drops_nothing_even_in_a_burst() {
    // A closed window of about 10 ms a second: thirty connections at once
    // must not be dropped for lack of queue room, and none twice.
    let (_lab, p) = lab("syn-loss", &["gateway.syn_loss=0.01"]).await;
    let records = probe(&p, EXEC, 30, Pacing::None, ConnectionPolicy::Fresh, 30).await;
    let connects: Vec<f64> = records.iter().map(|r| ms(r.phases_ms.connect)).collect();
    let slow = connects.iter().filter(|c| **c >= 900.0).count();
    assert!(slow <= 3, "{slow} of 30 connects lost a SYN: {connects:?}");
    assert!(
        connects.iter().all(|c| *c < 1900.0),
        "a SYN dropped twice: {connects:?}"
    );
}

/// A lost query costs what it costs a glibc client: the resolver's 5 s
/// timeout, then the retransmission is answered (hickory alone would resend
/// after a fraction of a second and hide the stall users see).
#[tokio::test]
async fn a_lost_dns_query_costs_the_resolver_timeout_as_for_glibc() {
    let (_lab, p) = lab("healthy", &["dns.drop_first=true"]).await;
    let records = probe(&p, EXEC, 1, Pacing::None, ConnectionPolicy::Fresh, 1).await;
    let r = &records[0];
    assert!(r.error.is_none(), "answered on the retransmission: {r:?}");
    let dns = ms(r.phases_ms.dns);
    assert!(
        (4_900.0..6_000.0).contains(&dns),
        "dns {dns} ms ≈ the 5 s resolver timeout"
    );
}

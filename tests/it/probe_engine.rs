//! The probe engine against loopback servers: phases, reuse, trace ids and
//! the classification of every kind of failure (issue #2).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use coldlink::config::targets_from;
use coldlink::probe::{
    ConnectionPolicy, CountPlan, ErrorKind, Pacing, Phase, ProbeRecord, ProbeSettings, Prober, RequestSpec,
    TlsOptions,
};
use common::{start, start_tls, Behavior};

fn settings(policy: ConnectionPolicy) -> ProbeSettings {
    ProbeSettings {
        connections: policy,
        ..ProbeSettings::default()
    }
}

/// Run `n` probes per URL with the given pacing and collect the records.
async fn probes(
    settings: ProbeSettings,
    urls: &[String],
    n: u64,
    interval: Option<Duration>,
) -> Vec<ProbeRecord> {
    let urls: Vec<url::Url> = urls.iter().map(|u| u.parse().unwrap()).collect();
    let pacing = interval.map_or(Pacing::None, Pacing::Interval);
    let plan = CountPlan::new(urls.len(), n, pacing, tokio::time::Instant::now());
    common::runner::collect(settings, &urls, plan, 1, 64).await
}

fn assert_sums_to_total(r: &ProbeRecord) {
    let sum = r.phases_ms.sum();
    assert!(
        (sum - r.total_ms).abs() < 0.01,
        "phases sum to {sum} but total is {}: {r:?}",
        r.total_ms
    );
}

#[tokio::test]
async fn fresh_connections_time_dns_connect_and_tls_on_every_probe() {
    let server = start_tls(Behavior::Ok, &["localhost"]).await;
    let mut s = settings(ConnectionPolicy::Fresh);
    s.tls = TlsOptions {
        ca_files: vec![server.ca_file.clone().unwrap()],
        ..TlsOptions::default()
    };
    let records = probes(s, &[server.url_localhost("/header")], 3, None).await;
    assert_eq!(records.len(), 3);
    for r in &records {
        assert!(r.error.is_none(), "{r:?}");
        assert_eq!(r.status, Some(200));
        assert!(r.phases_ms.dns.is_some(), "a name was resolved: {r:?}");
        assert!(r.phases_ms.connect.is_some());
        assert!(r.phases_ms.tls.is_some());
        let conn = r.conn.as_ref().unwrap();
        assert!(!conn.reused);
        assert_eq!(conn.idle_ms, None);
        assert_eq!(conn.requests, 1);
        let tls = r.tls.as_ref().unwrap();
        assert_eq!(tls.version, "TLSv1.3");
        assert_eq!(tls.alpn.as_deref(), Some("http/1.1"));
        assert_sums_to_total(r);
    }
    assert!(
        !records[0].tls.as_ref().unwrap().resumed,
        "the first handshake is a full one"
    );
    let ids: std::collections::HashSet<u64> = records.iter().map(|r| r.conn.as_ref().unwrap().id).collect();
    assert_eq!(ids.len(), 3, "one connection per probe");
    assert_eq!(server.state.accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn reused_connections_skip_setup_and_know_their_idle_time() {
    let server = start(Behavior::Ok).await;
    let gap = Duration::from_millis(300);
    let records = probes(
        settings(ConnectionPolicy::Reuse),
        &[server.url_localhost("/")],
        3,
        Some(gap),
    )
    .await;
    assert_eq!(records.len(), 3);
    let first = &records[0];
    assert!(first.phases_ms.dns.is_some() && first.phases_ms.connect.is_some());
    assert!(!first.conn.as_ref().unwrap().reused);
    for (prev, r) in records.iter().zip(records.iter().skip(1)) {
        assert!(r.error.is_none(), "{r:?}");
        assert_eq!(r.phases_ms.dns, None, "no DNS on a reused connection");
        assert_eq!(r.phases_ms.connect, None);
        assert_eq!(r.phases_ms.tls, None);
        let conn = r.conn.as_ref().unwrap();
        assert!(conn.reused);
        assert_eq!(conn.id, first.conn.as_ref().unwrap().id);
        // Idle = the gap between probe starts minus the previous probe's duration.
        let idle = conn.idle_ms.unwrap();
        let expected = gap.as_secs_f64() * 1000.0 - prev.total_ms;
        assert!(
            (idle - expected).abs() < 50.0,
            "idle {idle} ms, expected about {expected} ms"
        );
        assert_sums_to_total(r);
    }
    assert_eq!(records[2].conn.as_ref().unwrap().requests, 3);
    assert_eq!(server.state.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn delayed_headers_land_in_ttfb_and_nowhere_else() {
    let delay = Duration::from_millis(250);
    let server = start(Behavior::DelayHeaders(delay)).await;
    let records = probes(settings(ConnectionPolicy::Fresh), &[server.url("/slow")], 1, None).await;
    let r = &records[0];
    assert!(r.error.is_none(), "{r:?}");
    let ttfb = r.phases_ms.ttfb.unwrap();
    assert!(ttfb >= 250.0, "ttfb {ttfb} must include the server's delay");
    assert!(ttfb < 400.0, "ttfb {ttfb} far above the delay");
    assert_eq!(r.phases_ms.dns, None, "an IP literal needs no DNS");
    for phase in [Phase::Queue, Phase::Connect, Phase::Send, Phase::Body] {
        let v = r.phases_ms.get(phase).unwrap();
        assert!(v < 50.0, "{phase} took {v} ms; the delay belongs to ttfb only");
    }
    assert_sums_to_total(r);
}

#[tokio::test]
async fn the_trace_header_arrives_as_documented_and_matches_the_record() {
    let server = start(Behavior::Ok).await;
    let records = probes(settings(ConnectionPolicy::Fresh), &[server.url("/")], 2, None).await;
    let received = server.requests();
    assert_eq!(received.len(), 2);
    let re = regex::Regex::new(r"^Root=(1-[0-9a-f]{8}-[0-9a-f]{24});Sampled=1$").unwrap();
    for (r, got) in records.iter().zip(&received) {
        let header = got.header("x-amzn-trace-id").expect("trace header sent");
        let caps = re
            .captures(header)
            .unwrap_or_else(|| panic!("bad trace header {header}"));
        assert_eq!(Some(&caps[1]), r.trace_id.as_deref());
    }
    assert_ne!(records[0].trace_id, records[1].trace_id);

    let mut s = settings(ConnectionPolicy::Fresh);
    s.trace_header = false;
    let records = probes(s, &[server.url("/")], 1, None).await;
    assert_eq!(records[0].trace_id, None);
    assert!(server.requests()[2].header("x-amzn-trace-id").is_none());
}

#[tokio::test]
async fn refused_is_a_connect_failure() {
    let closed = common::closed_port();
    let addr = closed.addr;
    let records = probes(
        settings(ConnectionPolicy::Fresh),
        &[format!("http://{addr}/")],
        1,
        None,
    )
    .await;
    let e = records[0].error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Refused, Phase::Connect), "{e:?}");
    assert!(
        records[0].phases_ms.connect.is_some(),
        "time until the refusal is kept"
    );
    assert_eq!(records[0].phases_ms.ttfb, None);
    assert_eq!(records[0].status, None);
}

#[tokio::test]
async fn a_reset_mid_response_is_a_reset_in_the_body() {
    let server = start(Behavior::ResetMidResponse).await;
    let records = probes(settings(ConnectionPolicy::Fresh), &[server.url("/")], 1, None).await;
    let r = &records[0];
    let e = r.error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Reset, Phase::Body), "{e:?}");
    assert_eq!(r.status, Some(200), "the headers had arrived");
    assert!(r.phases_ms.ttfb.is_some(), "completed phases are kept");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_in_ttfb() {
    let server = start(Behavior::NeverAnswer).await;
    let mut s = settings(ConnectionPolicy::Fresh);
    s.timeouts.total = Duration::from_millis(300);
    let records = probes(s, &[server.url("/")], 1, None).await;
    let r = &records[0];
    let e = r.error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Timeout, Phase::Ttfb), "{e:?}");
    assert!(r.total_ms >= 300.0 && r.total_ms < 1000.0, "{}", r.total_ms);
    assert!(r.phases_ms.send.is_some());
    assert_eq!(server.requests().len(), 1, "the request itself was delivered");
}

#[tokio::test]
async fn a_pooled_connection_closed_by_the_server_is_dropped_and_noted() {
    let server = start(Behavior::CloseIdleAfter(Duration::from_millis(100))).await;
    let records = probes(
        settings(ConnectionPolicy::Reuse),
        &[server.url("/")],
        2,
        Some(Duration::from_millis(400)),
    )
    .await;
    let second = &records[1];
    assert!(
        second.error.is_none(),
        "the probe reconnected instead of failing: {second:?}"
    );
    let conn = second.conn.as_ref().unwrap();
    assert!(!conn.reused);
    assert!(conn.reconnected, "{conn:?}");
    let stale = conn.stale_idle_ms.unwrap();
    assert!(stale > 100.0, "the closed connection had been idle {stale} ms");
    assert!(second.phases_ms.connect.is_some(), "a new connection was opened");
    assert_ne!(conn.id, records[0].conn.as_ref().unwrap().id);
    assert_eq!(server.state.accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_tls_error_unless_insecure() {
    // The certificate names localhost only; the probe connects to 127.0.0.1.
    let server = start_tls(Behavior::Ok, &["localhost"]).await;
    let mut s = settings(ConnectionPolicy::Fresh);
    s.tls.ca_files = vec![server.ca_file.clone().unwrap()];
    let records = probes(s.clone(), &[server.url("/")], 1, None).await;
    let e = records[0].error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Tls, Phase::Tls), "{e:?}");
    assert!(e.message.to_lowercase().contains("certificate"), "{}", e.message);

    s.tls.insecure = true;
    let records = probes(s, &[server.url("/")], 1, None).await;
    assert!(records[0].error.is_none(), "{:?}", records[0]);
}

#[tokio::test]
async fn garbage_from_the_server_is_a_protocol_error() {
    let server = start(Behavior::Garbage).await;
    let records = probes(settings(ConnectionPolicy::Fresh), &[server.url("/")], 1, None).await;
    let e = records[0].error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Protocol, Phase::Ttfb), "{e:?}");
}

#[tokio::test]
async fn an_error_status_is_a_status_failure_with_all_phases() {
    let server = start(Behavior::Status(504)).await;
    let records = probes(settings(ConnectionPolicy::Fresh), &[server.url("/")], 1, None).await;
    let r = &records[0];
    let e = r.error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Status, Phase::Ttfb), "{e:?}");
    assert_eq!(r.status, Some(504));
    assert!(r.phases_ms.body.is_some());
    assert_eq!(
        r.headers.get("x-amzn-requestid").map(String::as_str),
        Some("req-504")
    );
    assert!(
        !r.headers.contains_key("set-cookie"),
        "only the documented headers are kept"
    );
    assert_sums_to_total(r);
}

#[tokio::test]
async fn an_unknown_name_is_a_dns_failure() {
    let (dns, queries) = common::start_dns(common::Dns::NxDomain).await;
    let mut s = settings(ConnectionPolicy::Fresh);
    s.dns_server = Some(dns);
    let records = probes(s, &["http://does-not-exist.test/".to_string()], 1, None).await;
    let e = records[0].error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Dns, Phase::Dns), "{e:?}");
    assert!(records[0].phases_ms.dns.is_some());
    assert_eq!(records[0].phases_ms.connect, None);
    assert!(
        queries.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the given server was asked"
    );
}

#[tokio::test]
async fn a_slow_resolver_shows_in_the_dns_phase_on_every_new_connection() {
    let server = start(Behavior::Ok).await;
    let delay = Duration::from_millis(150);
    let (dns, queries) = common::start_dns(common::Dns::Loopback { delay }).await;
    let mut s = settings(ConnectionPolicy::Fresh);
    s.dns_server = Some(dns);
    let url = format!("http://api.example.test:{}/", server.addr.port());
    let records = probes(s, &[url], 2, None).await;
    for r in &records {
        assert!(r.error.is_none(), "{r:?}");
        let dns_ms = r.phases_ms.dns.unwrap();
        assert!(
            dns_ms >= 150.0,
            "dns {dns_ms} ms must include the resolver's delay"
        );
        assert!(r.phases_ms.ttfb.unwrap() < 100.0, "the delay is not in ttfb");
        assert_sums_to_total(r);
    }
    // No cache: the second probe asked the server again.
    assert!(queries.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn resolve_pins_skip_dns() {
    let server = start(Behavior::Ok).await;
    let mut s = settings(ConnectionPolicy::Fresh);
    s.resolve =
        vec![
            coldlink::cli::parse::resolve(&format!("api.example.test:{}:127.0.0.1", server.addr.port()))
                .unwrap(),
        ];
    let url = format!("http://api.example.test:{}/header", server.addr.port());
    let records = probes(s, &[url], 1, None).await;
    let r = &records[0];
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.phases_ms.dns, None, "a pinned name is not resolved");
    let host = server.requests()[0].header("host").unwrap().to_string();
    assert_eq!(host, format!("api.example.test:{}", server.addr.port()));
}

#[tokio::test]
async fn http2_is_used_when_alpn_picks_it_and_its_connections_are_reused() {
    let server = common::start_h2(&["localhost"]).await;
    let mut s = settings(ConnectionPolicy::Reuse);
    s.tls.ca_files = vec![server.ca_file.clone().unwrap()];
    let records = probes(s.clone(), &[server.url_localhost("/h2")], 2, None).await;
    for r in &records {
        assert!(r.error.is_none(), "{r:?}");
        assert_eq!(r.http.as_deref(), Some("2"));
        assert_eq!(r.tls.as_ref().unwrap().alpn.as_deref(), Some("h2"));
        assert_eq!(r.body_bytes, Some(8), "body 'HTTP/2.0'");
        assert_sums_to_total(r);
    }
    assert!(records[1].conn.as_ref().unwrap().reused);
    assert_eq!(records[1].phases_ms.tls, None);
    let got = server.requests();
    assert!(
        got[0].request_line.ends_with("HTTP/2.0"),
        "{}",
        got[0].request_line
    );
    assert!(got[0].header("x-amzn-trace-id").is_some());

    // --http1.1 offers only http/1.1, which this server refuses to speak.
    s.tls.http1_only = true;
    let records = probes(s, &[server.url_localhost("/h2")], 1, None).await;
    let e = records[0].error.as_ref().expect("no common protocol");
    assert_eq!(e.phase, Phase::Tls, "{e:?}");
}

/// Probe `url` once with the settings, through nothing but the given path.
async fn one(settings: ProbeSettings, url: String) -> ProbeRecord {
    probes(settings, &[url], 1, None).await.remove(0)
}

#[tokio::test]
async fn a_round_trip_lands_in_ttfb_not_send_over_http1_and_http2() {
    let one_way = Duration::from_millis(40);
    // HTTP/1.1 over plain TCP.
    let h1 = start(Behavior::Ok).await;
    let proxy = common::start_delay_proxy(h1.addr, one_way).await;
    let r = one(settings(ConnectionPolicy::Fresh), format!("http://{proxy}/")).await;
    assert!(r.error.is_none(), "{r:?}");
    let (send, ttfb, connect) = (
        r.phases_ms.send.unwrap(),
        r.phases_ms.ttfb.unwrap(),
        r.phases_ms.connect.unwrap(),
    );
    assert!(send < 20.0, "h1 send {send} ms: the request leaves at once");
    assert!(ttfb >= 80.0, "h1 ttfb {ttfb} ms holds the 80 ms round trip");
    assert!(connect < 20.0, "the proxy accepts locally: {connect}");

    // HTTP/2 over TLS: the client's SETTINGS ACK, written when the server's
    // SETTINGS arrive a round trip later, is not the end of the request.
    let h2 = common::start_h2(&["localhost"]).await;
    let proxy = common::start_delay_proxy(h2.addr, one_way).await;
    let mut s = settings(ConnectionPolicy::Fresh);
    s.tls.ca_files = vec![h2.ca_file.clone().unwrap()];
    let r = one(s, format!("https://localhost:{}/", proxy.port())).await;
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.http.as_deref(), Some("2"));
    let (send, ttfb, tls) = (
        r.phases_ms.send.unwrap(),
        r.phases_ms.ttfb.unwrap(),
        r.phases_ms.tls.unwrap(),
    );
    assert!(send < 20.0, "h2 send {send} ms must not hold a round trip");
    assert!(ttfb >= 80.0, "h2 ttfb {ttfb} ms holds the round trip");
    assert!(tls >= 80.0, "the TLS handshake needs a round trip too: {tls}");
    assert_sums_to_total(&r);
}

#[tokio::test]
async fn a_late_body_lands_in_body_not_ttfb() {
    let server = start(Behavior::SlowBody(Duration::from_millis(150))).await;
    let r = one(settings(ConnectionPolicy::Fresh), server.url("/")).await;
    assert!(r.error.is_none(), "{r:?}");
    let (ttfb, body) = (r.phases_ms.ttfb.unwrap(), r.phases_ms.body.unwrap());
    assert!(ttfb < 50.0, "headers came at once: ttfb {ttfb}");
    assert!(body >= 150.0, "body {body} ms holds the server's pause");
    assert_eq!(r.body_bytes, Some(11));
    assert_sums_to_total(&r);
}

#[tokio::test]
async fn a_connect_that_gets_no_answer_times_out_in_connect() {
    let (addr, fillers, _listener) = common::start_full_backlog().await;
    assert!(!fillers.is_empty(), "the accept queue was filled");
    let mut s = settings(ConnectionPolicy::Fresh);
    s.timeouts.connect = Duration::from_millis(300);
    let r = one(s, format!("http://{addr}/")).await;
    let e = r.error.as_ref().expect("failed");
    assert_eq!((e.kind, e.phase), (ErrorKind::Timeout, Phase::Connect), "{e:?}");
    let connect = r.phases_ms.connect.unwrap();
    assert!(
        (300.0..1000.0).contains(&connect),
        "the connect limit holds: {connect}"
    );
}

#[tokio::test]
async fn repeated_headers_are_all_sent_and_a_users_trace_header_is_kept() {
    let server = start(Behavior::Ok).await;
    let urls: Vec<url::Url> = vec![server.url("/").parse().unwrap()];
    let mut headers = http::HeaderMap::new();
    headers.append("x-multi", "one".parse().unwrap());
    headers.append("x-multi", "two".parse().unwrap());
    headers.append(
        "x-amzn-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
            .parse()
            .unwrap(),
    );
    headers.append("user-agent", "mine/1.0".parse().unwrap());
    let spec = Arc::new(RequestSpec {
        headers,
        ..RequestSpec::default()
    });
    let targets = Arc::new(targets_from(&urls, &spec));
    let prober = Prober::new(settings(ConnectionPolicy::Fresh)).unwrap();
    let r = prober.probe(&targets[0], 1, std::time::Instant::now()).await;
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.trace_id.as_deref(), Some("1-5759e988-bd862e3fe1be46a994272793"));
    let got = &server.requests()[0];
    let multi: Vec<&str> = got
        .headers
        .iter()
        .filter(|(n, _)| n == "x-multi")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(multi, vec!["one", "two"]);
    let traces = got.headers.iter().filter(|(n, _)| n == "x-amzn-trace-id").count();
    assert_eq!(traces, 1, "the user's trace header replaces ours");
    assert_eq!(got.header("user-agent"), Some("mine/1.0"));
}

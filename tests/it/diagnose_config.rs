//! Issue 17 §2: the report joins the path's configuration (`--aws-config`)
//! and the probes' evidence. Synthetic records of one target (`api`) show an
//! idle timer between 300 s and 400 s and a cluster of 504s at 12 s; the
//! configuration read (`common::path_config`) has an NLB TCP listener at its
//! default 350 s and the route's `timeoutInMillis` at 12000. The report,
//! built through the public API, must cite both values and the commands
//! that change them, in every format.

use std::time::{Duration, SystemTime};

use crate::common::path_config::{self, LISTENER_ARN};
use crate::common::record::probe_record;
use coldlink::diagnose::finding::FindingSource;
use coldlink::diagnose::render::{self, DiagnoseFormat};
use coldlink::diagnose::report::{diagnose, Context, Plots, Report};
use coldlink::diagnose::{Cause, Dataset};
use coldlink::probe::{ConnInfo, ErrorKind, Phase, Phases, ProbeError, ProbeRecord, TargetKind, Timestamp};

/// Probes of `api` on one pooled connection: after each quiet gap a burst
/// of six, one a second. The first after a gap of 400 s or more stalls 3 s
/// (an idle timer near 350 s dropped the connection); every twelfth probe
/// in a burst is a 504 after 12 s (the route's integration timeout).
fn records() -> Vec<ProbeRecord> {
    let gaps = [
        5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 300.0, 300.0, 400.0, 420.0, 450.0,
        500.0,
    ];
    let mut out = Vec::new();
    let mut seq = 0u64;
    let mut last_end = 0.0f64;
    for (k, gap) in gaps.iter().enumerate() {
        let mut now = last_end + gap;
        for pos in 0..6 {
            let idle = if pos == 0 { gap * 1000.0 } else { 1000.0 };
            let stalled = pos == 0 && *gap >= 400.0;
            let gave_up = pos == 3 && k % 2 == 0;
            let ttfb = if gave_up {
                12_000.0 + (k as f64) * 3.0
            } else if stalled {
                3_040.0
            } else {
                40.0 + (seq % 5) as f64
            };
            let at =
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000) + Duration::from_secs_f64(now);
            seq += 1;
            out.push(ProbeRecord {
                run: Some("config".into()),
                target: "api".into(),
                url: "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/orders".into(),
                seq,
                at: Timestamp(at),
                scheduled_at: Timestamp(at),
                remote: Some("203.0.113.5:443".parse().unwrap()),
                conn: Some(ConnInfo {
                    id: 1,
                    reused: seq > 1,
                    idle_ms: (seq > 1).then_some(idle),
                    age_ms: 1.0,
                    requests: seq,
                    reconnected: false,
                    stale_idle_ms: None,
                }),
                phases_ms: Phases {
                    send: Some(0.1),
                    ttfb: Some(ttfb),
                    body: Some(0.2),
                    ..Phases::default()
                },
                total_ms: ttfb + 0.3,
                status: Some(if gave_up { 504 } else { 200 }),
                http: Some("1.1".into()),
                body_bytes: Some(2),
                error: gave_up.then(|| ProbeError {
                    kind: ErrorKind::Status,
                    phase: Phase::Ttfb,
                    message: "status 504".into(),
                }),
                ..probe_record()
            });
            now += (ttfb + 0.3) / 1000.0;
            last_end = now;
            now += 1.0;
        }
    }
    out
}

fn report(config: Option<coldlink::aws::path::PathConfig>) -> (Report, Plots) {
    let kinds = [("api".to_string(), TargetKind::ExecuteApi)];
    let mut ds = Dataset::from_records(&records(), &kinds, 1.0);
    // As the command does: the path kind from what was read.
    ds.paths = coldlink::diagnose::paths::resolve(&ds, &Default::default(), config.as_ref()).paths;
    let ctx = Context {
        mode: "records".into(),
        config,
        ..Context::default()
    };
    diagnose(&ds, &ctx)
}

fn finding(r: &Report, cause: Cause) -> &coldlink::diagnose::Finding {
    r.findings
        .iter()
        .find(|f| f.cause == cause)
        .unwrap_or_else(|| panic!("no {cause} finding: {:#?}", r.findings))
}

#[test]
fn the_records_alone_show_both_causes_without_configured_values() {
    let (r, _) = report(None);
    assert_eq!(r.verdict, Cause::IdleTimeout, "{}", r.summary);
    for cause in [Cause::IdleTimeout, Cause::IntegrationTimeout] {
        let f = finding(&r, cause);
        assert!(f.configured.is_empty() && f.from.is_none());
    }
    let json = serde_json::to_value(&r).unwrap();
    assert!(
        json["findings"][0].get("configured").is_none(),
        "nothing new without --aws-config"
    );
    assert!(json["aws"]["config"].is_null());
}

#[test]
fn idle_timeout_cites_the_nlb_listener_and_the_command() {
    let (r, _) = report(Some(path_config::path()));
    assert_eq!(r.verdict, Cause::IdleTimeout, "{}", r.summary);
    let f = finding(&r, Cause::IdleTimeout);
    assert_eq!(
        f.evidence[0],
        "timer between 300 s and 400 s — your NLB edge-nlb, listener TCP:443: 350 s (default); nginx behind it: unknown (never read)"
    );
    assert!(
        f.title
            .ends_with("; configured on the path: NLB edge-nlb, listener TCP:443, 350 s (default)"),
        "{}",
        f.title
    );
    assert!(
        r.summary.contains("350 s (default)"),
        "the verdict cites it: {}",
        r.summary
    );
    assert!(
        f.fix[0].contains(&format!(
            "aws elbv2 modify-listener-attributes --listener-arn {LISTENER_ARN} --attributes Key=tcp.idle_timeout.seconds,Value=N"
        )),
        "{}",
        f.fix[0]
    );
    let listener = f
        .configured
        .iter()
        .find(|v| v.setting == "tcp.idle_timeout.seconds")
        .unwrap();
    assert_eq!(listener.value, "350");
    assert_eq!(listener.arn.as_deref(), Some(LISTENER_ARN));
    assert!(listener.default && listener.explains);
    assert!(f
        .configured
        .iter()
        .any(|v| v.setting == "keepalive_timeout" && v.value == "unknown"));
}

#[test]
fn integration_timeout_cites_the_route_s_timeout_and_the_command() {
    let (r, _) = report(Some(path_config::path()));
    let f = finding(&r, Cause::IntegrationTimeout);
    assert_eq!(
        f.evidence[0],
        "504 at 12.0 s = route `GET /orders`'s `timeoutInMillis` 12000 (target api)"
    );
    assert!(f.title.contains("`timeoutInMillis` 12000"), "{}", f.title);
    assert!(
        f.fix[0].contains("aws apigateway update-integration --rest-api-id a1b2c3d4e5 --resource-id res42 --http-method GET --patch-operations op=replace,path=/timeoutInMillis,value=29000"),
        "{}",
        f.fix[0]
    );
    assert!(f.fix[0].contains("aws apigateway create-deployment --rest-api-id a1b2c3d4e5 --stage-name prod"));
    let v = &f.configured[0];
    assert_eq!(
        (v.setting.as_str(), v.value.as_str(), v.explains),
        ("timeoutInMillis", "12000", true)
    );
}

#[test]
fn a_raised_listener_timeout_names_the_other_candidates() {
    let mut c = path_config::path();
    c.load_balancers[0].listeners[0].attributes = path_config::attrs(&[("tcp.idle_timeout.seconds", "1200")]);
    let (r, _) = report(Some(c));
    let f = finding(&r, Cause::IdleTimeout);
    assert!(
        f.evidence[0].contains("listener TCP:443: 1200 s;"),
        "{}",
        f.evidence[0]
    );
    assert!(
        f.evidence[1].contains("a NAT gateway on the client's side (350 s, fixed)"),
        "{}",
        f.evidence[1]
    );
    assert!(f.evidence[1].contains("connection tracking"), "{}", f.evidence[1]);
}

#[test]
fn a_failed_vpc_link_is_a_finding_from_the_configuration_after_the_probes() {
    let mut c = path_config::path();
    c.vpc_links[0].status = Some("FAILED".into());
    let (r, _) = report(Some(c.clone()));
    // What was measured stays the verdict.
    assert_eq!(r.verdict, Cause::IdleTimeout);
    let f = finding(&r, Cause::Errors);
    assert_eq!(f.from, Some(FindingSource::Configuration));
    assert!(f.title.contains("VPC link vl1234 is FAILED"), "{}", f.title);
    // With no probe showing anything, the configuration's finding is the verdict.
    let kinds = [("api".to_string(), TargetKind::ExecuteApi)];
    let ds = Dataset::from_records(&[], &kinds, 1.0);
    let (alone, _) = diagnose(
        &ds,
        &Context {
            config: Some(c),
            ..Context::default()
        },
    );
    assert_eq!(alone.verdict, Cause::Errors, "{}", alone.summary);
    assert!(
        alone
            .summary
            .contains("From the configuration: VPC link vl1234 is FAILED"),
        "{}",
        alone.summary
    );
}

fn rendered(r: &Report, plots: &Plots, format: DiagnoseFormat) -> String {
    let mut out = Vec::new();
    render::write(r, plots, format, false, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_format_shows_the_configuration_table() {
    let (r, plots) = report(Some(path_config::full()));
    let text = rendered(&r, &plots, DiagnoseFormat::Text);
    for want in [
        "AWS configuration",
        "REST API orders (a1b2c3d4e5) — REGIONAL; stage prod, tracing on, variables vpcLinkId=vl1234",
        "timeout 12000 ms; BUFFERED",
        "  route GET /orders (api) — HTTP_PROXY; VPC_LINK vl1234; to net/edge-nlb; timeout 12000 ms",
        "route GET /orders (http) — HTTP_PROXY; VPC_LINK vl1234; timeout (default 30000); BUFFERED",
        "VPC link v2link — V2 INACTIVE (VPC link is inactive); subnets subnet-1 subnet-2; security groups sg-1",
        "domain api.example.com — EDGE; routing API_MAPPING_ONLY; policy TLS_1_2",
        "NLB edge-nlb — internal; ipv4; zones eu-west-1a eu-west-1b; cross-zone false",
        "  listener TCP:443 — idle timeout 350 s (default); → api-tg",
        "  listener TLS:8443 — idle timeout 350 s (fixed); → api-tg weight 80, canary-tg weight 20",
        "target group api-tg — TCP:8080 ip; drain 300 s; close on drain false; close when unhealthy false; unhealthy draining 0 s; targets eu-west-1a: healthy 1, unhealthy.draining 1 · eu-west-1b: draining 1, healthy 1",
        "ALB web — internal; dualstack; zones eu-west-1a; cross-zone true (default); idle timeout 120 s; client keep-alive 3600 s (default); zonal shift true",
        "· elasticloadbalancing:DescribeTargetHealth on canary-tg: AccessDenied",
        "from the configuration",
    ] {
        assert!(text.contains(want), "text lacks {want:?}:\n{text}");
    }
    let md = rendered(&r, &plots, DiagnoseFormat::Md);
    assert!(md.contains("## AWS configuration"), "{md}");
    assert!(md.contains("| resource | name | settings |"), "{md}");
    assert!(
        md.contains("| ↳ listener | TCP:443 | idle timeout 350 s (default); → api-tg |"),
        "{md}"
    );
    let html = rendered(&r, &plots, DiagnoseFormat::Html);
    assert!(html.contains("<h2>AWS configuration</h2>"), "{html}");
    assert!(
        html.contains("<tr><td>↳ listener</td><td><code>TLS:8443</code></td><td>idle timeout 350 s (fixed); → api-tg weight 80, canary-tg weight 20</td></tr>"),
        "{html}"
    );
    assert!(
        html.contains("· from the configuration"),
        "the configuration's own findings say so"
    );
}

#[test]
fn the_joined_report_matches_the_schema() {
    let v = crate::report_schema::validator();
    let (r, _) = report(Some(path_config::full()));
    let json = serde_json::to_value(&r).unwrap();
    crate::report_schema::assert_valid(&v, "records joined with a full aws.config", &json);
    assert_eq!(
        json["findings"][0]["configured"][0]["setting"],
        "tcp.idle_timeout.seconds"
    );
}

/// The text report as a user reads it: the findings citing the listener
/// and the route, their commands first, and the configuration table.
#[test]
fn text_report_snapshot() {
    let (r, plots) = report(Some(path_config::path()));
    insta::assert_snapshot!("joined_text", rendered(&r, &plots, DiagnoseFormat::Text));
}

/// Probes of `api` whose time to first byte is a steady 800 ms, on one
/// kept-alive connection, one a second: the app is slow on every request.
fn slow_records() -> Vec<ProbeRecord> {
    (0..30u64)
        .map(|seq| {
            let ttfb = 800.0 + (seq % 7) as f64 * 5.0;
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000 + seq * 2);
            ProbeRecord {
                run: Some("config".into()),
                target: "api".into(),
                url: "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/orders".into(),
                seq: seq + 1,
                at: Timestamp(at),
                scheduled_at: Timestamp(at),
                remote: Some("203.0.113.5:443".parse().unwrap()),
                conn: Some(ConnInfo {
                    id: 1,
                    reused: seq > 0,
                    idle_ms: (seq > 0).then_some(1_200.0),
                    age_ms: 1.0,
                    requests: seq + 1,
                    reconnected: false,
                    stale_idle_ms: None,
                }),
                phases_ms: Phases {
                    send: Some(0.1),
                    ttfb: Some(ttfb),
                    body: Some(0.2),
                    ..Phases::default()
                },
                total_ms: ttfb + 0.3,
                status: Some(200),
                http: Some("1.1".into()),
                body_bytes: Some(2),
                ..probe_record()
            }
        })
        .collect()
}

/// A slow backend whose route streams its response: the finding says the
/// time to first byte is not the app's whole answer, cites the route's
/// transfer mode and timeout, and, since neither explains the slowness,
/// ends with the line every unexplained finding ends with.
#[test]
fn a_streamed_route_qualifies_a_slow_backend() {
    let mut c = path_config::path();
    c.rest_api.as_mut().unwrap().routes[0].response_transfer_mode = Some("STREAM".into());
    let kinds = [("api".to_string(), TargetKind::ExecuteApi)];
    let ds = Dataset::from_records(&slow_records(), &kinds, 1.0);
    let (r, _) = diagnose(
        &ds,
        &Context {
            mode: "records".into(),
            config: Some(c),
            ..Context::default()
        },
    );
    assert_eq!(r.verdict, Cause::SlowBackend, "{}", r.summary);
    let f = finding(&r, Cause::SlowBackend);
    assert!(
        f.evidence.iter().any(|e| e.starts_with(
            "route `GET /orders` streams its response (`responseTransferMode` STREAM): time moves from the first byte into the body"
        ) && e.contains("`timeoutInMillis` 12000")),
        "{:#?}",
        f.evidence
    );
    assert_eq!(
        f.evidence.last().map(String::as_str),
        Some("configuration: nothing read explains this")
    );
    let settings: Vec<(&str, &str, bool)> = f
        .configured
        .iter()
        .map(|v| (v.setting.as_str(), v.value.as_str(), v.explains))
        .collect();
    assert_eq!(
        settings,
        [
            ("timeoutInMillis", "12000", false),
            ("responseTransferMode", "STREAM", false)
        ]
    );
    let v = crate::report_schema::validator();
    crate::report_schema::assert_valid(&v, "a streamed route", &serde_json::to_value(&r).unwrap());
}

/// A run stopped before its first probe tested nothing: inconclusive,
/// never healthy.
#[test]
fn no_probe_at_all_is_inconclusive_not_healthy() {
    let ds = coldlink::diagnose::Dataset::from_records(&[], &[], 1.0);
    let (report, _) =
        coldlink::diagnose::report::diagnose(&ds, &coldlink::diagnose::report::Context::default());
    assert_eq!(report.verdict, coldlink::diagnose::Cause::Inconclusive);
    assert!(
        report.summary.contains("no probe to judge by"),
        "{}",
        report.summary
    );
}

//! Issue #18 §1: the path behind the gateway, through the real binary.
//! `diagnose --from` on records written here: the profile's `[aws] alb`
//! puts every target on an ALB path, and the idle-timeout finding speaks of
//! the ALB; an ALB's own 502 pages do the same without a profile; and
//! without either, the report carries no path (as before).

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use crate::common::record::probe_record;
use crate::common::{coldlink, text};
use coldlink::probe::{ConnInfo, ErrorKind, Phase, Phases, ProbeError, ProbeRecord, Timestamp};

const URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders";

/// Probes of `api` in the shape of the diagnose plan: bursts on new and
/// reused connections, then quiet gaps (seconds); the first probe after a
/// gap over 350 s stalls 3 s. `alb_page`: every 7th probe is an ALB's own
/// fast 502 instead.
fn records(alb_page: bool) -> Vec<ProbeRecord> {
    let mut out = Vec::new();
    let mut now = 1_790_000_000.0_f64;
    let mut conn = 0u64;
    let mut push = |now: &mut f64, fresh: bool, idle: Option<f64>, stall: f64| {
        let k = out.len();
        // A little spread, as a network has, without randomness.
        let wobble = 1.0 + 0.05 * ((k as f64) * 1.7).sin();
        if fresh {
            conn += 1;
        }
        let mut phases = Phases {
            queue: Some(0.01),
            send: Some(0.05),
            ttfb: Some(20.0 * wobble + stall),
            body: Some(0.2),
            ..Phases::default()
        };
        if fresh {
            phases.dns = Some(2.0 * wobble);
            phases.connect = Some(5.0 * wobble);
            phases.tls = Some(6.0 * wobble);
        }
        let mut r = ProbeRecord {
            run: Some("t".into()),
            target: "api".into(),
            url: URL.into(),
            seq: k as u64 + 1,
            remote: Some("203.0.113.5:443".parse().unwrap()),
            conn: Some(ConnInfo {
                id: conn,
                reused: !fresh,
                idle_ms: idle,
                age_ms: 1.0,
                requests: 1,
                reconnected: false,
                stale_idle_ms: None,
            }),
            status: Some(200),
            http: Some("1.1".into()),
            body_bytes: Some(2),
            ..probe_record()
        };
        if alb_page && k % 7 == 3 {
            r.status = Some(502);
            r.headers.insert("server".into(), "awselb/2.0".into());
            r.error = Some(ProbeError {
                kind: ErrorKind::Status,
                phase: Phase::Ttfb,
                message: "status 502".into(),
            });
        }
        r.total_ms = phases.iter().filter_map(|(_, v)| v).sum();
        r.phases_ms = phases;
        let at = UNIX_EPOCH + Duration::from_secs_f64(*now);
        r.at = Timestamp(at);
        r.scheduled_at = Timestamp(at);
        *now += r.total_ms / 1000.0 + 0.001;
        out.push(r);
    };
    for _ in 0..20 {
        push(&mut now, true, None, 0.0);
    }
    for _ in 0..20 {
        push(&mut now, false, Some(1.0), 0.0);
    }
    for gap in [
        1.0, 3.0, 8.0, 30.0, 65.0, 80.0, 120.0, 200.0, 400.0, 400.0, 400.0, 400.0,
    ] {
        now += gap;
        push(
            &mut now,
            false,
            Some(gap * 1000.0),
            if gap > 350.0 { 3000.0 } else { 0.0 },
        );
        push(&mut now, false, Some(0.5), 0.0);
    }
    out
}

fn write(dir: &std::path::Path, name: &str, records: &[ProbeRecord]) -> String {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for r in records {
        writeln!(f, "{}", serde_json::to_string(r).unwrap()).unwrap();
    }
    path.to_str().unwrap().to_string()
}

fn profile(dir: &std::path::Path, aws: &str) -> String {
    let path = dir.join("p.toml");
    std::fs::write(
        &path,
        format!("[[target]]\nname = \"api\"\nurl = \"{URL}\"\n\n[aws]\n{aws}\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn json_report(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); exit {:?}, stderr: {}",
            out.status.code(),
            text(&out.stderr)
        )
    })
}

fn finding<'a>(r: &'a Value, cause: &str) -> &'a Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == cause)
        .unwrap_or_else(|| panic!("no {cause} finding: {:#}", r["findings"]))
}

#[test]
fn the_profiles_alb_puts_the_target_on_an_alb_path_and_the_finding_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let from = write(dir.path(), "r.ndjson", &records(false));
    let p = profile(dir.path(), "alb = \"app/a/1\"");
    let out = coldlink(&["diagnose", "--from", &from, "--profile", &p, "--format", "json"]);
    let r = json_report(&out);
    assert_eq!(
        r["targets"][0]["path"],
        serde_json::json!({"kind": "alb", "from": "profile", "load_balancer": "app/a/1"}),
        "{:#}",
        r["targets"]
    );
    let idle = finding(&r, "idle-timeout");
    assert_eq!(idle["targets"][0], "api");
    let fixes = idle["fix"].to_string();
    assert!(
        fixes.contains("not the ALB's idle timer") && fixes.contains("NAT gateway"),
        "{fixes}"
    );
    assert!(
        !fixes.contains("tcp.idle_timeout") && !fixes.contains("NLB"),
        "{fixes}"
    );
    let evidence = idle["evidence"].to_string();
    assert!(evidence.contains("the path is an ALB"), "{evidence}");
    crate::report_schema::assert_valid(&crate::report_schema::validator(), "a target on an ALB path", &r);

    // The field reads back as it was written.
    let back: coldlink::diagnose::Report = serde_json::from_value(r.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back.targets).unwrap(), r["targets"]);

    let out = coldlink(&["diagnose", "--from", &from, "--profile", &p]);
    let shown = text(&out.stdout);
    assert!(shown.contains("path: ALB app/a/1 (profile)"), "{shown}");
    let out = coldlink(&["diagnose", "--from", &from, "--profile", &p, "--format", "md"]);
    let md = text(&out.stdout);
    assert!(
        md.contains("| api | execute-api, path: ALB app/a/1 (profile) |"),
        "{md}"
    );
    let out = coldlink(&["diagnose", "--from", &from, "--profile", &p, "--format", "html"]);
    let html = text(&out.stdout);
    assert!(html.contains("<br>path: ALB app/a/1 (profile)</td>"), "{html}");
}

#[test]
fn the_profiles_nlb_keeps_the_nlb_wording() {
    let dir = tempfile::tempdir().unwrap();
    let from = write(dir.path(), "r.ndjson", &records(false));
    let p = profile(dir.path(), "nlb = \"net/n/2\"");
    let r = json_report(&coldlink(&[
        "diagnose",
        "--from",
        &from,
        "--profile",
        &p,
        "--format",
        "json",
    ]));
    assert_eq!(r["targets"][0]["path"]["kind"], "nlb");
    let fixes = finding(&r, "idle-timeout")["fix"].to_string();
    assert!(
        fixes.contains("NLB TCP listener's idle timeout") && !fixes.contains("ALB"),
        "{fixes}"
    );
}

#[test]
fn an_albs_own_pages_say_alb_without_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let from = write(dir.path(), "r.ndjson", &records(true));
    let r = json_report(&coldlink(&["diagnose", "--from", &from, "--format", "json"]));
    assert_eq!(
        r["targets"][0]["path"],
        serde_json::json!({"kind": "alb", "from": "responses"}),
        "{:#}",
        r["targets"]
    );
    crate::report_schema::assert_valid(&crate::report_schema::validator(), "ALB from responses", &r);
}

#[test]
fn an_nlb_profile_against_alb_pages_keeps_the_nlb_and_notes_it() {
    let dir = tempfile::tempdir().unwrap();
    let from = write(dir.path(), "r.ndjson", &records(true));
    let p = profile(dir.path(), "nlb = \"net/n/2\"");
    let r = json_report(&coldlink(&[
        "diagnose",
        "--from",
        &from,
        "--profile",
        &p,
        "--format",
        "json",
    ]));
    assert_eq!(r["targets"][0]["path"]["kind"], "nlb");
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("the responses disagree") && notes.contains("awselb"),
        "{notes}"
    );
}

#[test]
fn without_a_profile_or_alb_pages_the_report_has_no_path() {
    let dir = tempfile::tempdir().unwrap();
    let from = write(dir.path(), "r.ndjson", &records(false));
    let out = coldlink(&["diagnose", "--from", &from, "--format", "json"]);
    let r = json_report(&out);
    assert!(r["targets"][0].get("path").is_none(), "{:#}", r["targets"][0]);
    assert!(!text(&out.stdout).contains("\"path\""));
    // Unknown: the fix names both load balancers.
    let fixes = finding(&r, "idle-timeout")["fix"].to_string();
    assert!(
        fixes.contains("NLB's (350 s") && fixes.contains("ALB's (60 s"),
        "{fixes}"
    );
}

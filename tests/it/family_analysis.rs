//! IPv4 and IPv6 apart (issue #16, section 4): `report` and `diagnose`
//! split by family when the records hold both, a finding only one family
//! shows says so, and records of one family read exactly as before.
//!
//! Synthetic records of one target probed over 127.0.0.1 and ::1 in turn:
//! new connections (DNS, connect, TLS), then reused ones; lost SYNs add
//! 1 s or 3 s to the connect of the probes a test picks.

use crate::common::coldlink;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime};

use coldlink::diagnose::report::{diagnose, Context};
use coldlink::diagnose::{render, Cause, Dataset, Finding, Report};
use coldlink::probe::{ConnInfo, ErrorKind, IpFamily, Phase, Phases, ProbeError, ProbeRecord, Timestamp};
use serde_json::Value;

use crate::common::record::probe_record;

const URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/ping";

/// What one family's probes go through.
#[derive(Default, Clone)]
struct Fault {
    /// New connections (by number) whose SYN is lost once (1 s) or, every
    /// other one, twice (3 s).
    stalled: BTreeSet<usize>,
    /// New connections (by number) whose connect times out altogether.
    timed_out: BTreeSet<usize>,
}

impl Fault {
    fn stalls(picks: impl IntoIterator<Item = usize>) -> Fault {
        Fault {
            stalled: picks.into_iter().collect(),
            ..Fault::default()
        }
    }
}

/// `fresh` new connections then `reused` requests on them, per family,
/// the families taking turns (IPv4 first), back to back.
fn records(fresh: usize, reused: usize, v4: &Fault, v6: &Fault) -> Vec<ProbeRecord> {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let mut now_ms = 0.0;
    let mut out = Vec::new();
    for k in 0..fresh + reused {
        for (family, fault) in [(IpFamily::Ipv4, v4), (IpFamily::Ipv6, v6)] {
            let is_fresh = k < fresh;
            let jitter = (k % 5) as f64 * 0.1;
            let mut phases = Phases {
                queue: Some(0.01),
                send: Some(0.05),
                ttfb: Some(20.0 + jitter * 10.0),
                body: Some(0.2),
                ..Phases::default()
            };
            let mut error = None;
            let mut status = Some(200);
            let timed_out = is_fresh && fault.timed_out.contains(&k);
            if is_fresh {
                phases.dns = Some(1.0 + jitter);
                let lost = if fault.stalled.contains(&k) {
                    if k % 2 == 0 {
                        1_000.0
                    } else {
                        3_000.0
                    }
                } else {
                    0.0
                };
                if timed_out {
                    phases.connect = None;
                    phases.ttfb = None;
                    phases.send = None;
                    phases.body = None;
                    status = None;
                    error = Some(ProbeError {
                        kind: ErrorKind::Timeout,
                        phase: Phase::Connect,
                        message: "connect timed out".into(),
                    });
                } else {
                    phases.connect = Some(1.0 + jitter + lost);
                    phases.tls = Some(3.0 + jitter);
                }
            }
            let total = if timed_out {
                10_000.0
            } else {
                phases.iter().filter_map(|(_, v)| v).sum::<f64>()
            };
            let at = Timestamp(t0 + Duration::from_secs_f64(now_ms / 1000.0));
            let conn_id = (k % fresh) as u64 * 2 + u64::from(family == IpFamily::Ipv6);
            out.push(ProbeRecord {
                run: Some("r".into()),
                target: "api".into(),
                url: URL.into(),
                seq: out.len() as u64 + 1,
                at,
                scheduled_at: at,
                remote: (!timed_out).then(|| match family {
                    IpFamily::Ipv4 => "127.0.0.1:443".parse().unwrap(),
                    IpFamily::Ipv6 => "[::1]:443".parse().unwrap(),
                }),
                conn: (!timed_out).then_some(ConnInfo {
                    id: conn_id,
                    reused: !is_fresh,
                    idle_ms: (!is_fresh).then_some(5.0),
                    age_ms: 1.0,
                    requests: 1,
                    reconnected: false,
                    stale_idle_ms: None,
                }),
                phases_ms: phases,
                total_ms: total,
                status,
                http: (!timed_out).then(|| "HTTP/1.1".into()),
                body_bytes: (!timed_out).then_some(2),
                error,
                ..probe_record()
            });
            now_ms += total + 1.0;
        }
    }
    out
}

fn report_of(records: &[ProbeRecord]) -> Report {
    let ds = Dataset::from_records(records, &[], 1.0);
    diagnose(&ds, &Context::default()).0
}

fn finding(r: &Report, cause: Cause) -> &Finding {
    r.findings
        .iter()
        .find(|f| f.cause == cause)
        .unwrap_or_else(|| panic!("no {cause} finding: {:#?}", r.findings))
}

/// Every third new connection on ::1 loses its SYN, 127.0.0.1 none.
fn ipv6_syn_loss() -> Vec<ProbeRecord> {
    records(30, 20, &Fault::default(), &Fault::stalls((0..30).step_by(3)))
}

#[test]
fn syn_loss_on_ipv6_only_is_named_ipv6s() {
    let r = report_of(&ipv6_syn_loss());
    assert_eq!(r.verdict, Cause::SynLoss, "{}", r.summary);
    let f = finding(&r, Cause::SynLoss);
    assert_eq!(f.family, Some(IpFamily::Ipv6));
    assert!(
        f.title.starts_with(
            "The IPv6 path loses SYNs; IPv4 is clean. On IPv6, 10/30 (33 %) new connections waited"
        ),
        "{}",
        f.title
    );
    assert!(
        f.evidence[0].starts_with(
            "only IPv6 shows it: 10/30 (33 %) of IPv6's new connections, while 0/30 (0 %) of IPv4's were slow or failed at all; beyond chance (one-sided Fisher's exact test p = 0.0004)"
        ),
        "{}",
        f.evidence[0]
    );
    assert!(r.summary.contains("The IPv6 path loses SYNs; IPv4 is clean."));
    // The targets table splits too.
    let t = &r.targets[0];
    assert_eq!(t.probes, 100);
    let fams: Vec<(IpFamily, usize)> = t.families.iter().map(|f| (f.family, f.probes)).collect();
    assert_eq!(fams, vec![(IpFamily::Ipv4, 50), (IpFamily::Ipv6, 50)]);
    assert!(t.families[1].phases_ms[&Phase::Connect].max > 2_900.0);
    assert!(t.families[0].phases_ms[&Phase::Connect].max < 10.0);
}

/// What the text, Markdown and JSON reports say of it, as a user reads it.
#[test]
fn syn_loss_on_ipv6_only_in_every_format() {
    let ds = Dataset::from_records(&ipv6_syn_loss(), &[], 1.0);
    let ctx = Context {
        mode: "records".into(),
        ..Context::default()
    };
    let (report, plots) = diagnose(&ds, &ctx);
    let write = |format| {
        let mut out = Vec::new();
        render::write(&report, &plots, format, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let text = write(render::DiagnoseFormat::Text);
    insta::assert_snapshot!("ipv6_syn_loss_text", text);
    let md = write(render::DiagnoseFormat::Md);
    assert!(md.contains("\nFamily: IPv6 only\n"), "{md}");
    assert!(md.contains("| api over IPv6 | execute-api | 50 | 0 |"), "{md}");
    let html = write(render::DiagnoseFormat::Html);
    assert!(html.contains("<p class=\"muted\">Family: IPv6 only</p>"));
    assert!(html.contains("<td>api over IPv6</td>"));
    let json: Value = serde_json::from_str(&write(render::DiagnoseFormat::Json)).unwrap();
    let f = &json["findings"][0];
    assert_eq!(f["cause"], "syn-loss");
    assert_eq!(f["family"], "ipv6");
    assert_eq!(json["targets"][0]["families"][1]["family"], "ipv6");
    assert_valid(&json);
}

#[test]
fn syn_loss_on_both_families_is_not_called_one_familys() {
    let both = Fault::stalls((0..30).step_by(3));
    let r = report_of(&records(30, 20, &both, &both));
    assert_eq!(r.verdict, Cause::SynLoss);
    let f = finding(&r, Cause::SynLoss);
    assert_eq!(f.family, None);
    assert!(!f.title.contains("IPv"), "{}", f.title);
    assert!(
        f.evidence.iter().any(|e| e
            == "IPv4 and IPv6 each show it on their own: 10/30 (33 %) of IPv4's new connections, 10/30 (33 %) of IPv6's"),
        "{:#?}",
        f.evidence
    );
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["findings"][0].get("family").is_none());
}

/// 4 stalled connects of 20 against 0 of 20 happens by chance about one
/// run in twenty: seen, said, not called IPv6's alone.
#[test]
fn four_of_twenty_against_none_is_within_chance() {
    let r = report_of(&records(
        20,
        10,
        &Fault::default(),
        &Fault::stalls([0, 5, 10, 15]),
    ));
    let f = finding(&r, Cause::SynLoss);
    assert_eq!(f.family, None, "{}", f.title);
    assert!(!f.title.starts_with("The IPv6 path"), "{}", f.title);
    assert!(
        f.evidence.iter().any(|e| e.starts_with(
            "on its own only IPv6 shows it: 4/20 (20 %) of IPv6's new connections, while 0/20 (0 %) of IPv4's were slow or failed at all; a difference chance alone gives (one-sided Fisher's exact test p = 0.05"
        ) && e.ends_with("so it is not called IPv6's alone")),
        "{:#?}",
        f.evidence
    );
}

/// One family, as every record before `--ip-family`: nothing splits.
#[test]
fn one_family_reads_as_before() {
    let v4_only: Vec<ProbeRecord> = ipv6_syn_loss()
        .into_iter()
        .filter(|r| r.remote.is_none_or(|a| a.is_ipv4()))
        .collect();
    let r = report_of(&v4_only);
    assert!(r.targets[0].families.is_empty());
    assert!(r.findings.iter().all(|f| f.family.is_none()));
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("famil"), "{json}");
}

// --- stored records, through the binary ---------------------------------

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Write records as NDJSON; with `family_field`, each line also carries
/// `"family"` (as records of `--ip-family` do), and `drop_remote` blanks
/// the address, leaving the field the only way to tell.
fn write(dir: &Path, name: &str, records: &[ProbeRecord], family_field: bool, drop_remote: bool) -> String {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for r in records {
        let mut v = serde_json::to_value(r).unwrap();
        if family_field {
            let family = match &r.remote {
                Some(a) if a.is_ipv4() => "ipv4",
                Some(_) => "ipv6",
                // The test's connect timeouts are all on IPv6.
                None => "ipv6",
            };
            v["family"] = family.into();
        }
        if drop_remote {
            v["remote"] = Value::Null;
        }
        writeln!(f, "{v}").unwrap();
    }
    path.to_str().unwrap().to_string()
}

#[test]
fn the_family_field_and_the_remote_address_tell_alike() {
    let dir = tempfile::tempdir().unwrap();
    let records = ipv6_syn_loss();
    let by_remote = write(dir.path(), "remote.ndjson", &records, false, false);
    let by_field = write(dir.path(), "field.ndjson", &records, true, false);
    let by_field_only = write(dir.path(), "field-only.ndjson", &records, true, true);
    let json = |path: &str| {
        let out = coldlink(&["diagnose", "--from", path, "--format", "json"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        v["source"]["files"] = Value::Null;
        v
    };
    let a = json(&by_remote);
    assert_eq!(a["findings"][0]["family"], "ipv6");
    assert_eq!(a, json(&by_field));
    // No address at all: the field alone splits the families.
    let c = json(&by_field_only);
    assert_eq!(c["findings"][0]["family"], "ipv6");
    assert_eq!(c["findings"][0]["title"], a["findings"][0]["title"]);
}

/// Connects that time out on IPv6 have no address to show their family:
/// records with the `family` field still name it.
#[test]
fn connect_timeouts_on_ipv6_only_are_named_by_the_family_field() {
    let dir = tempfile::tempdir().unwrap();
    let v6 = Fault {
        timed_out: (0..30).step_by(3).collect(),
        ..Fault::default()
    };
    let path = write(
        dir.path(),
        "t.ndjson",
        &records(30, 20, &Fault::default(), &v6),
        true,
        false,
    );
    let out = coldlink(&["diagnose", "--from", &path, "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let syn = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "syn-loss")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(syn["family"], "ipv6", "{syn:#}");
}

#[test]
fn report_splits_a_dual_stack_target_by_family_and_by_family_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.ndjson", &ipv6_syn_loss(), false, false);
    let out = coldlink(&["report", &path]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let blocks: Vec<&str> = text.lines().filter(|l| l.starts_with("api")).collect();
    assert_eq!(
        blocks,
        vec![
            format!("api  {URL}"),
            format!("api over IPv4  {URL}"),
            format!("api over IPv6  {URL}"),
        ],
        "{text}"
    );
    assert!(text.contains("  probes 50  ok 50  failed 0"), "{text}");

    let out = coldlink(&["report", &path, "--by", "family"]);
    let text = stdout(&out);
    assert!(text.contains("api by family\n"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  ipv4 ") || l.starts_with("  ipv6 "))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");

    let out = coldlink(&["report", &path, "--by", "family", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let fams: Vec<(&str, u64)> = v["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["family"].as_str().unwrap(), f["probes"].as_u64().unwrap()))
        .collect();
    assert_eq!(fams, vec![("ipv4", 50), ("ipv6", 50)]);
    assert_eq!(v["families"][1]["name"], "api");
    assert!(v["families"][1]["phases_ms"]["connect"]["max"].as_f64().unwrap() > 2_900.0);
    assert_eq!(v["breakdown"]["by"], "family");
    let keys: Vec<&str> = v["breakdown"]["targets"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["ipv4", "ipv6"]);
}

#[test]
fn report_of_one_family_has_no_family_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let v4_only: Vec<ProbeRecord> = ipv6_syn_loss()
        .into_iter()
        .filter(|r| r.remote.is_some_and(|a| a.is_ipv4()))
        .collect();
    let path = write(dir.path(), "r.ndjson", &v4_only, false, false);
    let text = stdout(&coldlink(&["report", &path]));
    assert!(!text.contains("over IPv"), "{text}");
    let json = stdout(&coldlink(&["report", &path, "--format", "json"]));
    assert!(!json.contains("\"families\""), "{json}");
    // Asked for, the breakdown has its one row.
    let text = stdout(&coldlink(&["report", &path, "--by", "family"]));
    assert!(text.contains("\n  ipv4 "), "{text}");
}

fn assert_valid(report: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// Connect timeouts have no address: without a `family` field they are in
/// the target's block and in neither family's, and a line says so; with
/// the field they are IPv6's.
#[test]
fn report_counts_probes_of_no_known_family_apart() {
    let dir = tempfile::tempdir().unwrap();
    let v6 = Fault {
        timed_out: (0..30).step_by(3).collect(),
        ..Fault::default()
    };
    let records = records(30, 20, &Fault::default(), &v6);
    let old = write(dir.path(), "old.ndjson", &records, false, false);
    let text = stdout(&coldlink(&["report", &old]));
    assert!(
        text.contains(
            "  (10 more probe(s) of api name no family: they failed before a connection was made)\n"
        ),
        "{text}"
    );
    assert!(text.contains("  probes 40  ok 40  failed 0\n"), "{text}");
    let text = stdout(&coldlink(&["report", &old, "--by", "family"]));
    assert!(text.contains("\n  (unknown) "), "{text}");
    let new = write(dir.path(), "new.ndjson", &records, true, false);
    let json: Value =
        serde_json::from_str(&stdout(&coldlink(&["report", &new, "--format", "json"]))).unwrap();
    // The record's own `family` field counts the probes that failed
    // before they had an address too.
    assert_eq!(json["families"][1]["probes"], 50, "{json:#}");
}

/// A second target probed over IPv4 alone loses SYNs too: "IPv4 is clean"
/// would be false, so the finding stays the whole run's, with a line for
/// the dual-stack target.
#[test]
fn a_fault_also_on_a_one_family_target_is_not_called_one_familys() {
    let mut all = ipv6_syn_loss();
    let stalls = Fault::stalls((0..30).step_by(3));
    for mut r in records(30, 20, &stalls, &stalls) {
        if r.remote.is_some_and(|a| a.is_ipv4()) {
            r.target = "v4-only".into();
            r.url = "https://v4.example.com/ping".into();
            r.run = Some("r2".into());
            all.push(r);
        }
    }
    let r = report_of(&all);
    let f = finding(&r, Cause::SynLoss);
    assert_eq!(f.family, None, "{}", f.title);
    assert_eq!(f.targets, vec!["api".to_string(), "v4-only".to_string()]);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.starts_with("on api, probed over both families, only IPv6 shows it: ")),
        "{:#?}",
        f.evidence
    );
}

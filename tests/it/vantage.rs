//! Many vantage points (issue #21, section 1): `--vantage NAME` (else a
//! profile's `connection.vantage`, else the host's name) in every record,
//! refused with exit 2 when it is no name; `report --by vantage`; and
//! `diagnose --from` over files from several machines says when a fault is
//! seen from one of them only, and says nothing new when none or one is.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime};

use coldlink::probe::{ConnInfo, ErrorKind, Phase, Phases, ProbeError, ProbeRecord, Timestamp};
use serde_json::Value;

use crate::common::record::probe_record;
use crate::common::{coldlink, start, text, Behavior};

/// The vantage of every record in an NDJSON text (`None` for a record
/// without one).
fn vantages(ndjson: &str) -> Vec<Option<String>> {
    ndjson
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v.get("vantage").and_then(Value::as_str).map(str::to_string)
        })
        .collect()
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

async fn blocking(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        coldlink(&args)
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn host_vantage() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// The flag, else the profile's, else the host's name, in every record:
/// of `probe`, of `run` with a profile, of `keepwarm --once`.
#[tokio::test]
async fn every_record_carries_the_flags_the_profiles_or_the_hosts_vantage() {
    let server = start(Behavior::Ok).await;
    let url = server.url("/v");
    let named = ok(&blocking(strings(&[
        "probe",
        &url,
        "-n",
        "3",
        "--format",
        "ndjson",
        "--vantage",
        "eu-west-1b",
    ]))
    .await);
    assert_eq!(vantages(&named), vec![Some("eu-west-1b".to_string()); 3]);

    let default = ok(&blocking(strings(&["probe", &url, "-n", "2", "--format", "ndjson"])).await);
    assert_eq!(vantages(&default), vec![Some(host_vantage()); 2]);

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        format!(
            "[[target]]\nname = \"api\"\nurl = \"{url}\"\n[burst]\nrequests = 4\nconcurrency = 2\n\
             [connection]\nvantage = \"us-east-1a@vpc\"\n"
        ),
    )
    .unwrap();
    let p = profile.to_str().unwrap();
    for (extra, want) in [(None, "us-east-1a@vpc"), (Some("cli-wins"), "cli-wins")] {
        let out = dir.path().join(format!("{want}.ndjson"));
        let mut args = strings(&[
            "run",
            "--profile",
            p,
            "--burst",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        if let Some(v) = extra {
            args.extend(strings(&["--vantage", v]));
        }
        ok(&blocking(args).await);
        let written = std::fs::read_to_string(&out).unwrap();
        assert_eq!(vantages(&written), vec![Some(want.to_string()); 4], "{extra:?}");
    }

    let out = dir.path().join("kw.ndjson");
    let lock = dir.path().join("kw.lock");
    ok(&blocking(strings(&[
        "keepwarm",
        "--once",
        &url,
        "--vantage",
        "cron-host",
        "--out",
        out.to_str().unwrap(),
        "--lock",
        lock.to_str().unwrap(),
    ]))
    .await);
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(!written.is_empty());
    assert!(
        vantages(&written)
            .iter()
            .all(|v| v.as_deref() == Some("cron-host")),
        "{written}"
    );
}

/// A lab's records carry the vantage too.
#[test]
fn lab_records_carry_the_vantage() {
    let out = coldlink(&[
        "probe",
        "--lab",
        "healthy",
        "-n",
        "2",
        "--format",
        "ndjson",
        "--vantage",
        "lab-box",
    ]);
    let records = ok(&out);
    let v = vantages(&records);
    assert!(!v.is_empty());
    assert!(v.iter().all(|v| v.as_deref() == Some("lab-box")), "{records}");
}

/// A value that is not a vantage name: exit 2 before anything runs,
/// naming the flag (or the profile's file, line and key), the value and
/// what is valid; on every command that probes.
#[test]
fn a_bad_vantage_is_refused_with_exit_2() {
    const VALID: &str = "1 to 64 letters, digits and . _ : @ / -";
    let long = "a".repeat(65);
    for args in [
        vec!["probe", "http://127.0.0.1:9/", "--vantage", "eu west"],
        vec!["run", "--profile", "nope.toml", "--vantage", "eu west"],
        vec!["watch", "http://127.0.0.1:9/", "--vantage", "eu west"],
        vec!["diagnose", "http://127.0.0.1:9/", "--vantage", "eu west"],
        vec![
            "keepwarm",
            "--once",
            "http://127.0.0.1:9/",
            "--vantage",
            "eu west",
        ],
        vec!["probe", "http://127.0.0.1:9/", "--vantage", &long],
        vec!["probe", "http://127.0.0.1:9/", "--vantage", "zone=1"],
    ] {
        let out = coldlink(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let value = args.last().unwrap();
        assert!(
            err.contains("--vantage") && err.contains(&format!("'{value}'")) && err.contains(VALID),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.toml");
    std::fs::write(
        &profile,
        "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\n[connection]\nvantage = \"eu west\"\n",
    )
    .unwrap();
    let out = coldlink(&["run", "--profile", profile.to_str().unwrap(), "--burst"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.toml:5")
            && err.contains("connection.vantage")
            && err.contains("'eu west'")
            && err.contains(VALID),
        "{err}"
    );
}

const URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/ping";

/// One machine's records of one target: `fresh` new connections then
/// `reused` requests on them, every 2 s from `offset_ms`; the new
/// connections picked in `lost` lose a SYN (1 s or 3 s more to connect).
fn machine(
    vantage: Option<&str>,
    fresh: usize,
    reused: usize,
    lost: &BTreeSet<usize>,
    offset_ms: u64,
) -> Vec<ProbeRecord> {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000) + Duration::from_millis(offset_ms);
    let run = format!("run-{}", vantage.unwrap_or("none"));
    (0..fresh + reused)
        .map(|k| {
            let is_fresh = k < fresh;
            let jitter = (k % 5) as f64 * 0.1;
            let mut phases = Phases {
                queue: Some(0.01),
                send: Some(0.05),
                ttfb: Some(20.0 + jitter * 10.0),
                body: Some(0.2),
                ..Phases::default()
            };
            if is_fresh {
                let syn = match (lost.contains(&k), k % 2) {
                    (false, _) => 0.0,
                    (true, 0) => 1_000.0,
                    (true, _) => 3_000.0,
                };
                phases.dns = Some(1.0 + jitter);
                phases.connect = Some(1.0 + jitter + syn);
                phases.tls = Some(3.0 + jitter);
            }
            let at = Timestamp(t0 + Duration::from_millis(2_000 * k as u64));
            ProbeRecord {
                run: Some(run.as_str().into()),
                target: "api".into(),
                url: URL.into(),
                seq: k as u64 + 1,
                at,
                scheduled_at: at,
                remote: Some("127.0.0.1:443".parse().unwrap()),
                conn: Some(ConnInfo {
                    id: (k % fresh) as u64,
                    reused: !is_fresh,
                    idle_ms: (!is_fresh).then_some(5.0),
                    age_ms: 1.0,
                    requests: 1,
                    reconnected: false,
                    stale_idle_ms: None,
                }),
                total_ms: phases.iter().filter_map(|(_, v)| v).sum(),
                phases_ms: phases,
                status: Some(200),
                http: Some("HTTP/1.1".into()),
                body_bytes: Some(2),
                vantage: vantage.map(Into::into),
                ..probe_record()
            }
        })
        .collect()
}

fn write(dir: &Path, name: &str, records: &[ProbeRecord]) -> String {
    let path = dir.join(name);
    let mut s = String::new();
    for r in records {
        s.push_str(&serde_json::to_string(r).unwrap());
        s.push('\n');
    }
    std::fs::write(&path, s).unwrap();
    path.to_str().unwrap().to_string()
}

fn lost(n: usize) -> BTreeSet<usize> {
    (0..n).map(|i| i * 2).collect()
}

/// `report --by vantage`: one row per vantage point under each target,
/// records without one as `(unknown)`.
#[test]
fn report_breaks_targets_down_by_vantage() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.ndjson",
        &machine(Some("eu-west-1a"), 10, 10, &BTreeSet::new(), 0),
    );
    let b = write(
        dir.path(),
        "b.ndjson",
        &machine(Some("eu-west-1b"), 10, 5, &BTreeSet::new(), 500),
    );
    let old = write(
        dir.path(),
        "old.ndjson",
        &machine(None, 5, 0, &BTreeSet::new(), 900),
    );
    let out = ok(&coldlink(&["report", &a, &b, &old, "--by", "vantage"]));
    for row in ["eu-west-1a", "eu-west-1b", "(unknown)"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(row)),
            "{row}: {out}"
        );
    }
    let json: Value = serde_json::from_str(&ok(&coldlink(&[
        "report", &a, &b, &old, "--by", "vantage", "--format", "json",
    ])))
    .unwrap();
    assert_eq!(json["breakdown"]["by"], "vantage");
    let groups = &json["breakdown"]["targets"][0]["groups"];
    let probes = |key: &str| {
        groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .unwrap_or_else(|| panic!("{key}: {groups}"))["probes"]
            .as_u64()
    };
    assert_eq!(
        (probes("eu-west-1a"), probes("eu-west-1b"), probes("(unknown)")),
        (Some(20), Some(15), Some(5))
    );
}

fn diagnose_json(files: &[&str]) -> Value {
    let mut args = vec!["diagnose", "--format", "json", "--from"];
    args.extend_from_slice(files);
    let out = coldlink(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    serde_json::from_str(&text(&out.stdout)).unwrap()
}

/// Lost SYNs on 12 of eu-west-1b's 30 new connections, none of
/// eu-west-1a's: the finding is eu-west-1b's, in every format.
#[test]
fn a_fault_seen_from_one_vantage_only_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.ndjson",
        &machine(Some("eu-west-1a"), 30, 20, &BTreeSet::new(), 0),
    );
    let b = write(
        dir.path(),
        "b.ndjson",
        &machine(Some("eu-west-1b"), 30, 20, &lost(12), 1_000),
    );
    let r = diagnose_json(&[&a, &b]);
    crate::report_schema::assert_valid(&crate::report_schema::validator(), "one vantage's fault", &r);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "syn-loss")
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(f["vantage"], "eu-west-1b", "{f:#}");
    assert!(
        f["title"].as_str().unwrap().starts_with("Only from eu-west-1b: "),
        "{f:#}"
    );
    let first = f["evidence"][0].as_str().unwrap();
    assert!(
        first.starts_with("seen only from eu-west-1b: 12/30 (40 %) of its new connections")
            && first.contains("eu-west-1a 0/30")
            && first.contains("Fisher"),
        "{first}"
    );
    assert!(
        f["fix"][0]
            .as_str()
            .unwrap()
            .starts_with("Only `eu-west-1b` sees it"),
        "{f:#}"
    );
    for (format, line) in [
        ("text", "vantage: only from eu-west-1b"),
        ("md", "Vantage: only from eu-west-1b"),
        ("html", "Vantage: only from eu-west-1b"),
    ] {
        let out = coldlink(&["diagnose", "--format", format, "--from", &a, &b]);
        assert!(
            text(&out.stdout).contains(line),
            "{format}: {}",
            text(&out.stdout)
        );
    }
}

/// The same fault from both vantage points is nobody's alone; two clean
/// ones give a clean report with no vantage anywhere; a fault on a
/// vantage with too few probes to compare is not pinned on it.
#[test]
fn a_fault_from_every_vantage_or_none_names_none() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.ndjson",
        &machine(Some("eu-west-1a"), 30, 20, &lost(12), 0),
    );
    let b = write(
        dir.path(),
        "b.ndjson",
        &machine(Some("eu-west-1b"), 30, 20, &lost(12), 1_000),
    );
    let r = diagnose_json(&[&a, &b]);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "syn-loss")
        .unwrap();
    assert!(f.get("vantage").is_none(), "{f:#}");
    assert!(!f["title"].as_str().unwrap().contains("Only from"), "{f:#}");

    let a = write(
        dir.path(),
        "ca.ndjson",
        &machine(Some("eu-west-1a"), 30, 20, &BTreeSet::new(), 0),
    );
    let b = write(
        dir.path(),
        "cb.ndjson",
        &machine(Some("eu-west-1b"), 30, 20, &BTreeSet::new(), 1_000),
    );
    let r = diagnose_json(&[&a, &b]);
    assert!(!r.to_string().contains("vantage"), "{r:#}");
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "info"),
        "{r:#}"
    );

    // Four lost SYNs in five new connections against thirty clean: too few to say.
    let a = write(
        dir.path(),
        "sa.ndjson",
        &machine(Some("eu-west-1a"), 30, 20, &BTreeSet::new(), 0),
    );
    let b = write(
        dir.path(),
        "sb.ndjson",
        &machine(Some("eu-west-1b"), 5, 0, &lost(2), 1_000),
    );
    let r = diagnose_json(&[&a, &b]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("vantage").is_none()),
        "{r:#}"
    );
}

/// Records of one vantage point read exactly as records of none: the
/// comparison adds nothing when there is nothing to compare.
#[test]
fn one_vantage_reads_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut with = machine(Some("eu-west-1b"), 30, 20, &lost(12), 0);
    with.extend(machine(Some("eu-west-1b"), 30, 20, &BTreeSet::new(), 1_000));
    let without: Vec<ProbeRecord> = with
        .iter()
        .cloned()
        .map(|r| ProbeRecord { vantage: None, ..r })
        .collect();
    let w = write(dir.path(), "with.ndjson", &with);
    let wo = write(dir.path(), "without.ndjson", &without);
    for format in ["text", "json", "md"] {
        let one = text(&coldlink(&["diagnose", "--format", format, "--from", &w]).stdout);
        let none = text(&coldlink(&["diagnose", "--format", format, "--from", &wo]).stdout);
        assert_eq!(
            one.replace("with.ndjson", "F"),
            none.replace("without.ndjson", "F"),
            "{format}"
        );
        assert!(
            !one.contains("vantage") && !one.contains("Vantage"),
            "{format}: {one}"
        );
    }
}

/// What the comparison is held to: a failing probe counts against a
/// vantage point as a slow one does (kept apart from the fixtures above).
#[test]
fn failures_from_the_clean_vantage_stop_the_claim() {
    let dir = tempfile::tempdir().unwrap();
    let mut clean = machine(Some("eu-west-1a"), 30, 20, &BTreeSet::new(), 0);
    // Half of eu-west-1a's new connections time out: it is no clean
    // vantage point to hold eu-west-1b's lost SYNs against.
    for r in clean.iter_mut().take(30).step_by(2) {
        r.error = Some(ProbeError {
            kind: ErrorKind::Timeout,
            phase: Phase::Connect,
            message: "connect timed out".into(),
        });
        r.status = None;
    }
    let a = write(dir.path(), "a.ndjson", &clean);
    let b = write(
        dir.path(),
        "b.ndjson",
        &machine(Some("eu-west-1b"), 30, 20, &lost(12), 1_000),
    );
    let r = diagnose_json(&[&a, &b]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("vantage").is_none()),
        "{r:#}"
    );
}

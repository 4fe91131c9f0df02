//! `coldlink diagnose` as a user meets it: bad input exits 2 before any
//! probe, stored records with bad lines still give a report, a target that
//! refuses is data (a verdict), and every format writes something readable.

use crate::common::text;
use crate::common::{self, record::probe_record};

use std::io::Write;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use coldlink::diagnose::{Cause, Report};
use coldlink::probe::{ConnInfo, Phases, ProbeRecord, Timestamp};

fn coldlink(args: &[&str]) -> Output {
    Command::new(common::bin())
        .arg("diagnose")
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Records of a healthy target: bursts and a few quiet gaps.
fn records(n: u64) -> Vec<ProbeRecord> {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    (0..n)
        .map(|k| {
            let at = Timestamp(t0 + Duration::from_millis(k * 40 + (k / 10) * 5_000));
            ProbeRecord {
                run: Some("r".into()),
                target: "api".into(),
                url: "https://api.example.com/".into(),
                seq: k + 1,
                at,
                scheduled_at: at,
                remote: Some("203.0.113.5:443".parse().unwrap()),
                conn: Some(ConnInfo {
                    id: 1,
                    reused: k > 0,
                    idle_ms: (k > 0).then_some(10.0),
                    age_ms: 1.0,
                    requests: k + 1,
                    reconnected: false,
                    stale_idle_ms: None,
                }),
                phases_ms: Phases {
                    queue: Some(0.01),
                    send: Some(0.05),
                    ttfb: Some(20.0 + (k % 7) as f64),
                    body: Some(0.2),
                    ..Phases::default()
                },
                total_ms: 20.26 + (k % 7) as f64,
                status: Some(200),
                http: Some("1.1".into()),
                body_bytes: Some(2),
                ..probe_record()
            }
        })
        .collect()
}

/// `coldlink diagnose ARGS`, sent SIGTERM once its stderr has shown a
/// line containing `line`: the child (its stdout still to read), the
/// stderr seen until then, and the rest of its stderr, open (closed, the
/// report's last lines on stderr would meet a broken pipe).
fn stopped_at(
    args: &[&str],
    line: &str,
) -> (
    std::process::Child,
    String,
    std::io::BufReader<std::process::ChildStderr>,
) {
    use std::io::BufReader;
    use std::process::Stdio;
    let mut child = Command::new(common::bin())
        .arg("diagnose")
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let seen = common::read_until_line(&mut stderr, line);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    (child, seen, stderr)
}

fn write_records(dir: &tempfile::TempDir, name: &str, records: &[ProbeRecord], junk: &[&str]) -> String {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for (k, r) in records.iter().enumerate() {
        if let Some(line) = junk.get(k) {
            writeln!(f, "{line}").unwrap();
        }
        writeln!(f, "{}", serde_json::to_string(r).unwrap()).unwrap();
    }
    path.to_str().unwrap().to_string()
}

#[test]
fn without_a_source_it_says_what_would_do_and_exits_2() {
    let out = coldlink(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--profile") && err.contains("--from") && err.contains("--lab"),
        "{err}"
    );
}

#[test]
fn an_unwritable_out_fails_before_any_probe() {
    let started = std::time::Instant::now();
    // A closed port would take the quick plan's 12 s of gaps if probed.
    let out = coldlink(&["http://127.0.0.1:9/", "--out", "/nonexistent-dir/report.html"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--out /nonexistent-dir/report.html"),
        "{}",
        text(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(5), "no probe was sent");
}

#[test]
fn a_missing_record_file_is_named_and_exits_2() {
    let out = coldlink(&["--from", "/nonexistent/records.ndjson"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--from /nonexistent/records.ndjson"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_file_without_records_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(&dir, "empty.ndjson", &[], &[]);
    let out = coldlink(&["--from", &path]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no probe records"),
        "{}",
        text(&out.stderr)
    );
}

/// Records of lab runs at two speeds, or of a lab run and real probes,
/// cannot be read on one time scale (each run's speed is its scale), and
/// two scenarios' targets, named alike, would merge: a clear refusal
/// naming the runs and their files, not a report scaled by the first
/// run's speed or labelled with its scenario. The same scenario at the
/// same speed in two files (two runs of it) is read as one.
#[test]
fn records_of_runs_on_different_time_scales_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lab = |scenario: &str, speed: f64| -> Vec<ProbeRecord> {
        records(30)
            .into_iter()
            .map(|r| ProbeRecord {
                lab: Some(std::sync::Arc::new(coldlink::probe::LabRun {
                    scenario: scenario.into(),
                    speed,
                })),
                ..r
            })
            .collect()
    };
    let slow = write_records(&dir, "bad-path.ndjson", &lab("bad-path", 10.0), &[]);
    let fast = write_records(&dir, "race.ndjson", &lab("keepalive-race", 20.0), &[]);
    let other = write_records(&dir, "race-10.ndjson", &lab("keepalive-race", 10.0), &[]);
    let again = write_records(&dir, "bad-path-2.ndjson", &lab("bad-path", 10.0), &[]);
    let real = write_records(&dir, "real.ndjson", &records(30), &[]);
    for (files, said) in [
        (
            [&slow, &fast],
            format!("the records mix lab runs at different speeds (bad-path at 10 in {slow}, keepalive-race at 20 in {fast})"),
        ),
        (
            [&slow, &other],
            format!("the records mix lab runs of different scenarios (bad-path at 10 in {slow}, keepalive-race at 10 in {other}): their targets, named alike, would merge"),
        ),
        (
            [&slow, &real],
            format!("the records mix a lab run (bad-path at speed 10 in {slow}) and real probes (records without `lab`, in {real})"),
        ),
    ] {
        let out = coldlink(&["--from", files[0], files[1]]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&said), "{err}");
        assert!(err.contains(files[0]) && err.contains(files[1]), "{err}");
        assert!(out.stdout.is_empty(), "no report");
    }
    let out = coldlink(&["--from", &slow, &again]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
}

/// A closed stderr (the reader of `2>&1 | head` gone) loses the lines
/// for it, not the report: `eprintln!` panicked on the broken pipe
/// (exit 101) at the first unreadable line it named.
#[test]
fn a_closed_stderr_loses_its_lines_not_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(&dir, "some-bad.ndjson", &records(30), &["not json", "{\"v\":1}"]);
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let out = Command::new(common::bin())
        .args(["diagnose", "--from", &path, "--format", "json", "-q"])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::from(writer))
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{:?}", out.status);
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.source.unreadable_lines, 2);
}

/// `--help` names the default sweep the plan runs, 0 s round included.
#[test]
fn the_help_names_the_default_sweep() {
    let list: Vec<String> = coldlink::diagnose::coverage::DEFAULT_SWEEP
        .iter()
        .map(|g| format!("{}s", g.as_secs()))
        .collect();
    let help = text(&coldlink(&["--help"]).stdout).replace("\n", " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains(&format!("else {}", list.join(","))), "{help}");
}

#[test]
fn bad_durations_and_conflicting_plans_are_refused() {
    let out = coldlink(&["--lab", "healthy", "--idle-sweep", "30s,soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--idle-sweep"),
        "{}",
        text(&out.stderr)
    );
    let out = coldlink(&["--lab", "healthy", "--quick", "--idle-sweep", "30s"]);
    assert_eq!(out.status.code(), Some(2));
    let out = coldlink(&["--lab", "healthy", "--profile", "profiles/example-vpclink.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--profile and --lab"),
        "{}",
        text(&out.stderr)
    );
    // The lab's own flags say nothing about stored records: refused, not
    // ignored (records carry their own speed).
    for lab_flag in [["--speed", "5"], ["--set", "edge.delay=1s"]] {
        let out = coldlink(&["--from", "records.ndjson", lab_flag[0], lab_flag[1]]);
        assert_eq!(out.status.code(), Some(2), "{lab_flag:?}");
        let err = text(&out.stderr);
        assert!(err.contains("--from") && err.contains(lab_flag[0]), "{err}");
    }
}

#[test]
fn stored_records_with_bad_lines_still_give_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_records(&dir, "a.ndjson", &records(60), &["", "not json", "", "{\"v\":1}"]);
    let b = write_records(&dir, "b.ndjson", &records(30), &[]);
    let out = coldlink(&["--from", &a, &b, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    // Quiet periods of 5 s: the idle timers were never reached.
    assert_eq!(report.verdict, Cause::Inconclusive);
    assert_eq!(report.source.probes, 90);
    assert_eq!(report.source.unreadable_lines, 2);
    let err = text(&out.stderr);
    // Line 3 ("not json" after a record and an empty line) and line 7.
    assert!(
        err.contains("a.ndjson:3: skipped") && err.contains("a.ndjson:7: skipped"),
        "{err}"
    );
}

#[test]
fn every_format_writes_a_report_with_the_verdict_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(&dir, "r.ndjson", &records(40), &[]);
    let out = coldlink(&["--from", &path]);
    let t = text(&out.stdout);
    assert!(t.starts_with("Verdict: inconclusive\n"), "{t}");
    assert!(!t.contains('\x1b'), "no colour when not a terminal");
    let out = coldlink(&["--from", &path, "--format", "md"]);
    assert!(text(&out.stdout).starts_with("# coldlink diagnosis: `inconclusive`"));
    let html = dir.path().join("report.html");
    let out = coldlink(&[
        "--from",
        &path,
        "--format",
        "html",
        "--out",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "the report went to --out");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!doctype html>") && page.contains("<svg"),
        "{}",
        &page[..200.min(page.len())]
    );
}

/// Issue 14: records that never sat quiet long enough for an idle timer,
/// from one entry point, are not "healthy"; every format says what was not
/// tested, and how to test it, in its first lines.
#[test]
fn untested_causes_make_the_verdict_inconclusive_and_are_said_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(&dir, "r.ndjson", &records(40), &[]);
    let out = coldlink(&["--from", &path, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "inconclusive is not a finding");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "inconclusive");
    let untested = report["untested"].as_array().unwrap();
    let causes: Vec<&str> = untested.iter().map(|u| u["cause"].as_str().unwrap()).collect();
    // The records hold no new connection (no connect phase) either.
    assert_eq!(
        causes,
        [
            "dns-timeout",
            "syn-loss",
            "slow-tls",
            "idle-timeout",
            "keepalive-race",
            "edge"
        ],
        "{untested:?}"
    );
    let idle = &untested[3];
    assert!(
        idle["why"]
            .as_str()
            .unwrap()
            .contains("longest quiet period was 5.0 s"),
        "{idle}"
    );
    assert_eq!(
        idle["run"],
        "coldlink diagnose https://api.example.com/ --idle-sweep"
    );
    // The quick plan (about 17 s) and 655 s of quiet.
    assert!(
        (660.0..700.0).contains(&idle["takes_s"].as_f64().unwrap()),
        "{idle}"
    );
    assert_eq!(
        untested[4]["run"],
        "coldlink diagnose https://api.example.com/ --idle-sweep 65s,80s"
    );

    let out = coldlink(&["--from", &path]);
    let t = text(&out.stdout);
    let head: Vec<&str> = t.lines().take(12).collect();
    assert_eq!(head[0], "Verdict: inconclusive");
    assert!(head[2].starts_with("Tested: 40 probes to 1 target(s)"), "{t}");
    assert_eq!(head[3], "Not tested:");
    assert!(
        head[10].starts_with("  · idle-timeout: the longest quiet period was 5.0 s"),
        "{t}"
    );
    assert!(
        head[11].contains("run `coldlink diagnose https://api.example.com/ --idle-sweep` (about 11 min)"),
        "{t}"
    );

    let out = coldlink(&["--from", &path, "--format", "md"]);
    let md = text(&out.stdout);
    let not_tested = md.find("Not tested:").expect("md says what was not tested");
    assert!(not_tested < md.find("## Targets").unwrap(), "{md}");
    assert!(
        md.contains("Run `coldlink diagnose https://api.example.com/ --idle-sweep 65s,80s` (about 3 min)"),
        "{md}"
    );

    let html = dir.path().join("r.html");
    let out = coldlink(&[
        "--from",
        &path,
        "--format",
        "html",
        "--out",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let page = std::fs::read_to_string(&html).unwrap();
    let header = &page[page.find("<header").unwrap()..page.find("</header>").unwrap()];
    assert!(
        header.contains("Verdict: inconclusive") && header.contains("Not tested:"),
        "{header}"
    );
    assert!(header.contains("<code>idle-timeout</code>"), "{header}");
}

/// A quiet period of 80 s reached nginx's timers (60 s, 75 s): only the
/// 350 s timers (an NLB's, a NAT gateway's: no profile says which path)
/// are left untested, and the report says just that.
#[test]
fn a_quiet_period_past_nginx_leaves_only_the_nlbs_timer_untested() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = records(40);
    let pause = Duration::from_secs(80);
    for r in recs.iter_mut().skip(39) {
        r.at = Timestamp(r.at.0 + pause);
        r.scheduled_at = Timestamp(r.scheduled_at.0 + pause);
    }
    let path = write_records(&dir, "r.ndjson", &recs, &[]);
    let out = coldlink(&["--from", &path, "--format", "json"]);
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    let idle = report
        .untested
        .iter()
        .find(|u| u.cause == Cause::IdleTimeout)
        .expect("the NLB's timer is untested");
    assert!(idle.why.contains("350 s idle timers (an NLB's"), "{}", idle.why);
    assert!(!idle.why.contains("nginx"), "{}", idle.why);
}

/// Issue 14: 1 ms answers with one in six at 45 ms (Nagle meeting a
/// delayed ACK) is below every detector's floor, but not passed over in
/// silence: the report says so, with the share and both modes.
#[test]
fn a_second_mode_40_ms_up_is_remarked_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = records(60);
    for (k, r) in recs.iter_mut().enumerate() {
        let ms = if k % 6 == 5 {
            45.0
        } else {
            1.0 + (k % 3) as f64 * 0.1
        };
        r.phases_ms.ttfb = Some(ms);
        r.total_ms = ms + 0.26;
    }
    let path = write_records(&dir, "r.ndjson", &recs, &[]);
    let out = coldlink(&["--from", &path, "--format", "json"]);
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report
        .findings
        .iter()
        .all(|f| f.severity == coldlink::diagnose::Severity::Info));
    let remark = report
        .notes
        .iter()
        .find(|n| n.contains("Nagle"))
        .unwrap_or_else(|| panic!("{:?}", report.notes));
    assert!(
        remark.starts_with("api: 10 of 60 answers took about 45 ms and the rest about 1.4 ms"),
        "{remark}"
    );
    // One mode only: nothing to say.
    let flat: Vec<ProbeRecord> = records(60);
    let path = write_records(&dir, "flat.ndjson", &flat, &[]);
    let out = coldlink(&["--from", &path, "--format", "json"]);
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !report.notes.iter().any(|n| n.contains("Nagle")),
        "{:?}",
        report.notes
    );
}

/// Issue 14: a target that refuses every connection is said to be
/// unreachable at once, without sitting through the quiet gaps, and gets no
/// advice about gateways and idle timers.
#[test]
fn an_unreachable_target_stops_the_plan_early() {
    let closed = common::closed_port();
    let url = format!("http://{}/", closed.addr);
    let started = std::time::Instant::now();
    let out = coldlink(&[&url, "--format", "json"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.verdict, Cause::Errors);
    let f = &report.findings[0];
    assert!(f.title.contains("unreachable"), "{}", f.title);
    assert!(
        !f.fix
            .iter()
            .any(|l| l.contains("idle-sweep") || l.contains("x-amzn-errortype")),
        "{:?}",
        f.fix
    );
    // The quick plan's quiet gaps alone take 12 s; the fresh burst's spread 4 s.
    assert!(took < std::time::Duration::from_secs(8), "took {took:?}");
    assert!(report.source.probes < 40, "{} probes", report.source.probes);
    assert!(
        report.notes.iter().any(|n| n.contains("no connection was made")),
        "{:?}",
        report.notes
    );
    assert!(report.untested.is_empty(), "{:?}", report.untested);
    drop(closed);
}

/// An unreachable target does not settle the plan for one that answers:
/// its refusals are left out of the early check, so the answering target
/// gets the burst on reused connections and the quiet gaps after it (the
/// test stops the run, with SIGTERM, once the gaps have begun).
#[tokio::test]
async fn an_unreachable_target_does_not_stop_the_plan_for_the_others() {
    let server = common::start(common::Behavior::Ok).await;
    let closed = common::closed_port();
    let dead = format!("http://{}/x", closed.addr);
    let live = server.url("/header");
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.ndjson");
    let records_arg = records.to_str().unwrap().to_string();
    let (seen, out) = tokio::task::spawn_blocking(move || {
        let args = [dead.as_str(), &live, "--probes", "6", "--records", &records_arg];
        let (child, seen, _stderr) =
            stopped_at(&[&args[..], &["--format", "json"]].concat(), "short quiet gaps");
        (seen, child.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    assert!(
        seen.contains("no connection was made; the plan goes on without it"),
        "{seen}"
    );
    assert!(!seen.contains("stopped early"), "{seen}");
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !report.notes.iter().any(|n| n.contains("stopped early")),
        "{:?}",
        report.notes
    );
    let port = format!(":{}/header", server.addr.port());
    let live_probes = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .filter(|l| l.contains(&port))
        .count();
    assert!(
        live_probes >= 12,
        "both bursts of 6 reach the live target: {live_probes}"
    );
    drop(closed);
}

/// The sweep's 0 s round says what it is, not "quiet for 0.00 ms".
#[tokio::test]
async fn the_sweeps_zero_gap_is_a_round_back_to_back() {
    let server = common::start(common::Behavior::Ok).await;
    let url = server.url("/");
    let seen = tokio::task::spawn_blocking(move || {
        let args = ["--probes", "3", "--idle-sweep", "0s,10m", "--format", "json"];
        let (child, seen, _stderr) = stopped_at(&[&[url.as_str()], &args[..]].concat(), "idle sweep 2/2");
        child.wait_with_output().unwrap();
        seen
    })
    .await
    .unwrap();
    let first = seen.lines().find(|l| l.contains("idle sweep 1/2")).unwrap();
    assert!(
        first.contains("no quiet period, one round back to back"),
        "{first}"
    );
    assert!(!seen.contains("0.00 ms"), "{seen}");
}

#[test]
fn a_target_that_refuses_is_a_verdict_not_a_crash() {
    let out = coldlink(&["http://127.0.0.1:9/", "--probes", "3", "--format", "json", "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.verdict, Cause::Errors, "{:?}", report.findings);
    assert!(
        report.findings[0].title.contains("refused"),
        "{}",
        report.findings[0].title
    );
}

#[test]
fn sigterm_during_the_sweep_still_gives_a_report_of_what_was_measured() {
    // Stopped once the sweep has started its 10-minute quiet gap.
    let (child, seen, _stderr) = stopped_at(
        &[
            "--lab",
            "healthy",
            "--probes",
            "3",
            "--idle-sweep",
            "10m",
            "--format",
            "json",
        ],
        "idle sweep 1/1",
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "healthy so far: {seen}");
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.source.mode, "idle-sweep");
    assert!(report.notes[0].contains("interrupted"), "{:?}", report.notes);
    // Both bursts and the three short gaps, one probe per target each.
    assert_eq!(report.source.probes, 2 * 3 * 2 + 3 * 2);
}

/// The report of `--from path` in `format` (html through `--out`).
fn report_as(dir: &tempfile::TempDir, path: &str, format: &str) -> String {
    let file = dir.path().join(format!("report.{format}"));
    let out = coldlink(&[
        "--from",
        path,
        "--format",
        format,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", text(&out.stderr));
    std::fs::read_to_string(file).unwrap()
}

/// Where each of `names` first occurs in `s`, in that order.
fn positions(s: &str, names: &[String]) -> Vec<usize> {
    names
        .iter()
        .map(|n| {
            s.find(n.as_str())
                .unwrap_or_else(|| panic!("{n} missing from:\n{s}"))
        })
        .collect()
}

/// Issue #14: phases were listed alphabetically (body, connect, dns, …).
#[test]
fn phases_are_listed_in_the_order_they_happen() {
    let mut recs = records(20);
    let first = &mut recs[0].phases_ms;
    (first.dns, first.connect, first.tls) = (Some(1.0), Some(2.0), Some(3.0));
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(&dir, "r.ndjson", &recs, &[]);
    let order = ["dns", "connect", "tls", "send", "ttfb", "body"];
    let within = |s: &str, from: &str, to: &str| {
        let start = s
            .find(from)
            .unwrap_or_else(|| panic!("{from} missing from:\n{s}"));
        let end = start + s[start..].find(to).unwrap_or(s.len() - start);
        s[start..end].to_string()
    };
    for (format, section, end, key) in [
        ("text", "phase p50:", "\n", "{} "),
        ("md", "| target | phase |", "\n\n", "| api | {} |"),
        ("json", "\"phases_ms\":", "\"idle_sweep\"", "\"{}\":"),
        ("html", "<h3>Phase medians", "</tr>", ">{}</th>"),
    ] {
        let report = report_as(&dir, &path, format);
        let part = within(&report, section, end);
        let names: Vec<String> = order.iter().map(|p| key.replace("{}", p)).collect();
        let at = positions(&part, &names);
        assert!(at.is_sorted(), "{format}: {order:?} at {at:?} in:\n{part}");
    }
}

/// Issue #14: a gap row's "p50 2.5 s" over one fast and one 5 s probe was
/// a time no request took. Below three probes the rows show each latency.
/// A gap row (and a target) of one probe says "1 probe", not "1 probes".
#[test]
fn one_probe_is_counted_in_the_singular() {
    let mut recs = records(2);
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    for (k, r) in recs.iter_mut().enumerate() {
        r.at = Timestamp(t0 + Duration::from_secs(360 * k as u64));
        r.scheduled_at = r.at;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(&dir, "r.ndjson", &recs, &[]);
    let page = report_as(&dir, &path, "text");
    assert!(page.contains("  1 probe, "), "{page}");
    assert!(!page.contains(" 1 probes"), "{page}");
}

#[test]
fn a_gap_row_of_two_probes_shows_both_latencies_not_a_median() {
    let mut recs = records(3);
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    // Two quiet gaps of six minutes; the second ends in a 5 s stall.
    for (k, r) in recs.iter_mut().enumerate() {
        r.at = Timestamp(t0 + Duration::from_secs(360 * k as u64));
        r.scheduled_at = r.at;
    }
    (recs[1].total_ms, recs[1].phases_ms.ttfb) = (12.01, Some(11.75));
    (recs[2].total_ms, recs[2].phases_ms.ttfb) = (5003.11, Some(5002.85));
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(&dir, "r.ndjson", &recs, &[]);

    let report: Report = serde_json::from_str(&report_as(&dir, &path, "json")).unwrap();
    let [row] = report.idle_sweep.as_slice() else {
        panic!("one gap row: {:?}", report.idle_sweep);
    };
    assert_eq!(row.probes, 2);
    // Network time: the records' totals less their 0.01 ms of queue.
    assert_eq!(row.values_ms, Some(vec![12.0, 5003.1]));
    for format in ["text", "md", "html"] {
        let page = report_as(&dir, &path, format);
        assert!(page.contains("took 12 ms, 5.0 s"), "{format}:\n{page}");
        assert!(!page.contains("2.5 s"), "{format} shows the median:\n{page}");
    }
}

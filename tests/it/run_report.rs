//! `coldlink run` and `coldlink report` end to end (issue #3).

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use coldlink::commands::report;
use coldlink::probe::ProbeRecord;
use common::{bin, start, Behavior};

fn write_profile(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("profile.toml");
    std::fs::write(&path, body).unwrap();
    path
}

fn parse_all(path: &Path) -> Vec<ProbeRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line does not parse ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn a_burst_sends_exactly_n_per_target_with_at_most_c_connections() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        &format!(
            "[[target]]\nname = \"a\"\nurl = \"{}\"\n[[target]]\nname = \"b\"\nurl = \"{}\"\n\
             [burst]\nrequests = 40\nconcurrency = 4\n",
            server.url("/a"),
            server.url("/b")
        ),
    );
    let out = dir.path().join("burst.ndjson");
    let (profile_s, out_s) = (
        profile.to_str().unwrap().to_string(),
        out.to_str().unwrap().to_string(),
    );
    let status = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["run", "--profile", &profile_s, "--burst", "--out", &out_s, "-q"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let records = parse_all(&out);
    assert_eq!(records.iter().filter(|r| &*r.target == "a").count(), 40);
    assert_eq!(records.iter().filter(|r| &*r.target == "b").count(), 40);
    assert_eq!(server.requests().len(), 80);
    let max_open = server.state.max_open.load(Ordering::SeqCst);
    let accepted = server.state.accepted.load(Ordering::SeqCst);
    assert!(
        max_open <= 4,
        "{max_open} connections open at once, concurrency is 4"
    );
    assert!(
        accepted <= 4,
        "keep-alive: at most 4 connections ever ({accepted})"
    );
    let mut seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=80).collect::<Vec<_>>(), "every probe once");
}

#[tokio::test]
async fn run_stopped_by_sigterm_leaves_a_complete_ndjson_file_and_a_summary() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        &format!(
            "name = \"sigterm\"\n[[target]]\nname = \"api\"\nurl = \"{}\"\n[schedule]\ninterval = \"40ms\"\n",
            server.url("/")
        ),
    );
    let out = dir.path().join("run.ndjson");
    let (profile_s, out_s, out_c) = (
        profile.to_str().unwrap().to_string(),
        out.to_str().unwrap().to_string(),
        out.clone(),
    );
    let output = tokio::task::spawn_blocking(move || {
        let child = Command::new(bin())
            .args(["run", "--profile", &profile_s, "--out", &out_s])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait (bounded) until some records have been written, then stop it.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::read_to_string(&out_c)
            .map(|s| s.lines().count())
            .unwrap_or(0)
            < 5
        {
            assert!(Instant::now() < deadline, "no records written");
            std::thread::sleep(Duration::from_millis(20));
        }
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = parse_all(&out);
    assert!(records.len() >= 5);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("probes {}", records.len())),
        "the summary counts every record written:\n{stdout}"
    );
}

async fn probe_to_file(url: &str, n: &str, path: &Path) {
    let (url, n, path) = (url.to_string(), n.to_string(), path.to_str().unwrap().to_string());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["probe", &url, "-n", &n, "--out", &path, "-q"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test]
async fn report_over_two_files_equals_the_merge_of_their_summaries() {
    let fast = start(Behavior::Ok).await;
    let slow = start(Behavior::DelayHeaders(Duration::from_millis(30))).await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.ndjson"), dir.path().join("b.ndjson"));
    probe_to_file(&fast.url("/x"), "7", &a).await;
    probe_to_file(&slow.url("/x"), "5", &b).await;
    // The same target name in both files, so the merge has something to merge.
    let b_text = std::fs::read_to_string(&b).unwrap();
    let a_name = parse_all(&a)[0].target.to_string();
    let b_name = parse_all(&b)[0].target.to_string();
    std::fs::write(&b, b_text.replace(&b_name, &a_name)).unwrap();

    let both = report::load(&[a.clone(), b.clone()], None).unwrap();
    let mut merged = report::load(std::slice::from_ref(&a), None).unwrap().stats;
    merged += &report::load(std::slice::from_ref(&b), None).unwrap().stats;
    assert_eq!(both.stats.summaries(), merged.summaries());
    let s = &both.stats.summaries()[0];
    assert_eq!(s.probes, 12);
    assert!(s.total_ms.unwrap().max >= 30.0, "the slow file's probes are in");
}

#[tokio::test]
async fn report_reads_gzip_counts_bad_lines_and_breaks_down() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("r.ndjson");
    probe_to_file(&server.url("/"), "4", &plain).await;
    let mut text = std::fs::read_to_string(&plain).unwrap();
    text.insert_str(0, "not json\n");
    text.push_str("{\"v\":1,\"truncated\n");
    let gz = dir.path().join("r.ndjson.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();

    let gz_s = gz.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["report", &gz_s, "--by", "conn", "--format", "json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "bad lines are never fatal");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped 2 unreadable line(s)"), "{stderr}");
    assert!(
        stderr.contains("r.ndjson.gz:1:") && stderr.contains("r.ndjson.gz:6:"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["records"], 4);
    assert_eq!(doc["unreadable_lines"], 2);
    assert_eq!(doc["breakdown"]["by"], "conn");
    let groups = doc["breakdown"]["targets"][0]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "-n reuses one connection: {groups:?}");
    assert_eq!(groups[0]["probes"], 4);
    assert_eq!(groups[0]["reused"], 3);

    let out = Command::new(bin())
        .args(["report", "/nonexistent/records.ndjson"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/records.ndjson"));
}

#[tokio::test]
async fn a_stalled_stdout_never_shows_up_as_network_time() {
    // Nobody reads stdout for a while: the pipe fills and the output blocks.
    // Probes must not record that wait in a network phase.
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(bin())
            .args(["probe", &url, "-n", "1500", "-c", "8", "--format", "ndjson"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A reader that stalls: this wait is the condition under test.
        std::thread::sleep(Duration::from_millis(1500));
        let mut text = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut text).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(0));
        text
    })
    .await
    .unwrap();
    let records: Vec<ProbeRecord> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 1500);
    let worst = records
        .iter()
        .filter_map(|r| r.phases_ms.ttfb)
        .fold(0.0, f64::max);
    assert!(worst < 500.0, "a blocked stdout leaked into ttfb: {worst} ms");
}

#[tokio::test]
async fn report_json_into_a_closed_pipe_exits_0_and_conn_groups_by_run() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two-runs.ndjson");
    // Two runs appended to one file: connection #1 of each is its own group.
    probe_to_file(&server.url("/"), "3", &file).await;
    probe_to_file(&server.url("/"), "3", &file).await;
    let path = file.to_str().unwrap().to_string();
    let p = path.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["report", &p, "--by", "conn", "--format", "json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = doc["breakdown"]["targets"][0]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "one connection per run: {groups:?}");
    assert!(groups.iter().all(|g| g["probes"] == 3));

    let code = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(bin())
            .args(["report", &path, "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        child.wait().unwrap().code()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "a closed stdout is not an error");
}

#[tokio::test]
async fn a_fresh_connection_burst_over_several_shards_sends_each_probe_once() {
    // Closed-loop bursts on new connections run one shard per core: every
    // probe must still be sent exactly once, each on its own connection.
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args([
                "probe",
                &url,
                "-n",
                "400",
                "-c",
                "16",
                "--connections",
                "fresh",
                "--format",
                "ndjson",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let records: Vec<ProbeRecord> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
    let mut conns: Vec<u64> = records.iter().map(|r| r.conn.as_ref().unwrap().id).collect();
    conns.sort();
    conns.dedup();
    assert_eq!(
        conns.len(),
        400,
        "a new connection per probe, ids unique across shards"
    );
    assert_eq!(server.requests().len(), 400);
}

/// A file that yields no record — empty, garbage, a broken gzip stream —
/// is refused (exit 2) by report and diagnose --from alike, and named,
/// also beside a good file.
#[test]
fn a_file_with_no_record_is_named_and_exits_2() {
    const RECORD: &str = r#"{"v":1,"target":"t","url":"http://127.0.0.1:9/","seq":1,"at":"2026-11-21T10:00:00.000001Z","scheduled_at":"2026-11-21T10:00:00Z","remote":null,"conn":null,"phases_ms":{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null},"total_ms":0.1,"status":null,"http":null,"tls":null,"trace_id":null,"error":null}"#;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };
    let good = file("good.ndjson", format!("{RECORD}\n").as_bytes());
    let empty = file("empty.ndjson", b"");
    let garbage = file("garbage.ndjson", b"not a record\n");
    let gzip = file("broken.ndjson.gz", &[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]);
    let coldlink = |args: &[&str]| Command::new(bin()).args(args).output().unwrap();

    let out = coldlink(&["report", &good]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for bad in [&empty, &garbage, &gzip] {
        for args in [
            vec!["report", bad],
            vec!["report", &good, bad],
            vec!["diagnose", "--from", &good, bad],
        ] {
            let out = coldlink(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(&format!("{bad}: no probe records in it")),
                "{args:?}: {err}"
            );
            assert!(
                !err.contains(&format!("{good}:")),
                "{args:?}: only the bad file is named: {err}"
            );
            assert!(out.stdout.is_empty(), "{args:?}: no report");
        }
    }
}

/// Records of lab runs at two speeds, or of a lab run beside real probes,
/// share no time scale, and lab runs of two scenarios at one speed share
/// their targets' names: report refuses them as diagnose --from does (exit
/// 2, the runs, speeds and files named), where it labelled every target
/// with the first run's speed and scenario and merged the runs' targets.
/// The same scenario at the same speed in two files is one report.
#[test]
fn report_refuses_records_on_different_time_scales() {
    let record = |lab: &str| {
        format!(
            r#"{{"v":1,"target":"gateway","url":"http://127.0.0.1:9/","seq":1,"at":"2026-11-21T10:00:00.000001Z","scheduled_at":"2026-11-21T10:00:00Z","remote":null,"conn":null,"phases_ms":{{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null}},"total_ms":0.1,"status":null,"http":null,"tls":null,"trace_id":null,"error":null{lab}}}"#
        ) + "\n"
    };
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, lab: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, record(lab)).unwrap();
        path.to_str().unwrap().to_string()
    };
    let slow = file("slow.ndjson", r#","lab":{"scenario":"bad-path","speed":10.0}"#);
    let fast = file("fast.ndjson", r#","lab":{"scenario":"bad-path","speed":20.0}"#);
    let again = file("again.ndjson", r#","lab":{"scenario":"bad-path","speed":10.0}"#);
    let other = file(
        "other.ndjson",
        r#","lab":{"scenario":"keepalive-race","speed":10.0}"#,
    );
    let real = file("real.ndjson", "");
    let report = |files: &[&str]| Command::new(bin()).arg("report").args(files).output().unwrap();
    for (files, said) in [
        (
            [&slow, &fast],
            format!("the records mix lab runs at different speeds (bad-path at 10 in {slow}, bad-path at 20 in {fast})"),
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
        let out = report(&[files[0], files[1]]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&said), "{err}");
        assert!(out.stdout.is_empty(), "no report: {}", String::from_utf8_lossy(&out.stdout));
    }
    let out = report(&[&slow, &again]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("2 record(s) from 2 file(s)"), "{text}");
    assert!(text.contains("lab run: scenario bad-path at speed 10;"), "{text}");
}

/// A closed stderr loses report's list of unreadable lines, not the
/// report: the broken pipe ended it before its summary.
#[test]
fn report_on_a_closed_stderr_still_reports() {
    const RECORD: &str = r#"{"v":1,"target":"t","url":"http://127.0.0.1:9/","seq":1,"at":"2026-11-21T10:00:00.000001Z","scheduled_at":"2026-11-21T10:00:00Z","remote":null,"conn":null,"phases_ms":{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null},"total_ms":0.1,"status":null,"http":null,"tls":null,"trace_id":null,"error":null}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("some-bad.ndjson");
    std::fs::write(&path, format!("{RECORD}\nnot json\n")).unwrap();
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let out = Command::new(bin())
        .arg("report")
        .arg(&path)
        .stderr(Stdio::from(writer))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 record(s) from 1 file(s)"), "{text}");
}

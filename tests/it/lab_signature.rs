//! `scripts/lab-signature.py`, the signature of a run's records that
//! docs/lab.md compares between the in-process and the kernel lab: two
//! files side by side (one gzip-compressed), where failures begin when an
//! early failure overlaps the clean gaps, and bad input (a missing file, an
//! empty one, a line that is not a record) exiting 2 with FILE or FILE:LINE.
//! Needs python3; without it prints one line saying it skipped.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

use coldlink::probe::{ConnInfo, Phases, ProbeRecord, Timestamp};

use crate::common::record::probe_record;
use crate::common::text;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lab-signature.py");

fn signature(files: &[&Path]) -> Option<Output> {
    match Command::new("python3").arg(SCRIPT).args(files).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("lab signature: skipped: python3 is not installed");
            None
        }
        Err(e) => panic!("python3: {e}"),
    }
}

/// One target, sequential probes of 10 ms; each after the quiet gap given
/// (s), with the status given, on one kept-alive connection.
fn records(steps: &[(f64, u16)]) -> String {
    let mut t = 0.0;
    let mut out = String::new();
    for (i, &(gap, status)) in steps.iter().enumerate() {
        t += gap;
        let r = ProbeRecord {
            target: "api".into(),
            url: "http://api.test/".into(),
            seq: i as u64,
            at: Timestamp(UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_secs_f64(t)),
            conn: Some(ConnInfo {
                id: 1,
                reused: i > 0,
                idle_ms: (i > 0).then_some(gap * 1000.0),
                age_ms: t * 1000.0,
                requests: i as u64 + 1,
                reconnected: false,
                stale_idle_ms: None,
            }),
            phases_ms: Phases {
                send: Some(0.1),
                ttfb: Some(9.8),
                body: Some(0.1),
                ..Phases::default()
            },
            total_ms: 10.0,
            status: Some(status),
            ..probe_record()
        };
        out += &serde_json::to_string(&r).unwrap();
        out.push('\n');
        t += 0.010;
    }
    out
}

fn value_of<'a>(stdout: &'a str, key: &str) -> Vec<&'a str> {
    let mut lines = stdout.lines();
    let mut vals = Vec::new();
    while let Some(l) = lines.next() {
        if let Some(rest) = l.strip_prefix(key) {
            vals.push(rest.trim());
            if let Some(b) = lines.next() {
                vals.push(b.trim());
            }
        }
    }
    vals
}

#[test]
fn two_files_side_by_side_one_gzip_compressed() {
    let dir = tempfile::tempdir().unwrap();
    // A: clean after 1 s and 3 s, 502 after 5 s and 7 s.
    let a = dir.path().join("kernel.ndjson");
    std::fs::write(
        &a,
        records(&[
            (0.0, 200),
            (1.0, 200),
            (3.0, 200),
            (5.0, 502),
            (1.0, 200),
            (7.0, 502),
        ]),
    )
    .unwrap();
    // B, gzip-compressed: the same, but one early failure after 1.2 s.
    let b = dir.path().join("in-process.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        records(&[
            (0.0, 200),
            (1.2, 502),
            (3.0, 200),
            (5.0, 502),
            (1.0, 200),
            (7.0, 502),
        ])
        .as_bytes(),
    )
    .unwrap();
    std::fs::write(&b, gz.finish().unwrap()).unwrap();

    let Some(out) = signature(&[&a, &b]) else { return };
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("A = {}", a.display())), "{stdout}");
    assert!(stdout.contains(&format!("B = {}", b.display())), "{stdout}");
    assert_eq!(
        value_of(&stdout, "probes"),
        ["A: 6 to 1 target(s), 2 bad", "B: 6 to 1 target(s), 3 bad"],
        "{stdout}"
    );
    assert_eq!(
        value_of(&stdout, "failures begin"),
        [
            "A: first bad head after a 5.00 s gap; clean heads up to 3.00 s",
            "B: first bad head after a 1.20 s gap; clean heads up to 3.00 s; between them 1 bad and 1 clean head(s)",
        ],
        "{stdout}"
    );
    assert_eq!(
        value_of(&stdout, "bad heads by quiet gap"),
        ["A: 1s:0/2 3s:0/1 5s:1/1 7s:1/1", "B: 1s:1/2 3s:0/1 5s:1/1 7s:1/1"],
        "{stdout}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ndjson");
    std::fs::write(&good, records(&[(0.0, 200), (1.0, 200)])).unwrap();
    let missing = dir.path().join("missing.ndjson");
    let empty = dir.path().join("empty.ndjson");
    std::fs::write(&empty, "\n").unwrap();
    let not_json = dir.path().join("not-json.ndjson");
    std::fs::write(&not_json, records(&[(0.0, 200)]) + "\nnot a record\n").unwrap();
    let not_record = dir.path().join("not-record.ndjson");
    std::fs::write(&not_record, records(&[(0.0, 200)]) + "{\"hello\": 1}\n").unwrap();

    let cases = [
        (
            &missing,
            format!("{}: No such file or directory", missing.display()),
        ),
        (&empty, format!("{}: no probe records in it", empty.display())),
        (&not_json, format!("{}:3: not JSON", not_json.display())),
        (
            &not_record,
            format!(
                "{}:2: not a coldlink probe record (no `at`)",
                not_record.display()
            ),
        ),
    ];
    for (bad, expected) in cases {
        // The bad file second, beside a good one: the message names it alone.
        let Some(out) = signature(&[&good, bad]) else {
            return;
        };
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", bad.display());
        assert!(
            stderr.starts_with(&format!("lab-signature.py: {expected}")),
            "expected {expected:?}, got {stderr:?}"
        );
        assert!(!stderr.contains("good.ndjson"), "{stderr}");
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    }
}

//! `coldlink lab` and `--lab` as a user meets them (issue #4).

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::bin;

#[test]
fn lab_list_describes_every_scenario() {
    let out = Command::new(bin()).args(["lab", "--list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, _) in coldlink::lab::scenario::SCENARIOS {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

#[test]
fn lab_prints_urls_ca_and_a_profile_then_runs_until_sigterm() {
    let mut child = Command::new(bin())
        .args(["lab", "healthy"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "lab exited early:\n{text}");
        text.push_str(&line);
        if line.starts_with("Running until Ctrl-C") {
            break;
        }
    }
    for expected in [
        "execute-api URL    https://abc123.execute-api.lab.test:",
        "custom-domain URL  https://api.lab.test:",
        "CA file",
        "[[target]]",
        "dns_server =",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    // The printed profile is usable while the lab runs.
    let profile_path = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("profile"))
        .map(|p| p.trim().to_string())
        .unwrap();
    let probe = Command::new(bin())
        .args(["run", "--profile", &profile_path, "--burst", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        probe.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let summary = String::from_utf8_lossy(&probe.stdout);
    assert!(summary.contains("probes 30  ok 30"), "{summary}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn probe_lab_probes_both_entry_points() {
    let out = Command::new(bin())
        .args([
            "probe", "--lab", "bad-path", "--speed", "50", "-n", "6", "--format", "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["execute-api", "custom-domain"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("coldlink lab bad-path"));

    let out = Command::new(bin())
        .args(["probe", "--lab", "no-such-scenario"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown lab scenario 'no-such-scenario'"));
    let out = Command::new(bin())
        .args(["probe", "--lab", "healthy", "--set", "nlb.nope=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
    // The ALB's settings: AWS's ranges, only on an ALB path, and an ALB
    // scenario is not re-run as an NLB one; all before anything starts.
    for (set, says) in [
        (
            &["path=alb", "alb.idle_timeout=5000s"][..],
            "outside AWS's range (1–4000 s",
        ),
        (
            &["path=alb", "alb.client_keep_alive=10s"][..],
            "outside AWS's range (60–604800 s",
        ),
        (&["alb.idle_timeout=30s"][..], "applies only with path = \"alb\""),
    ] {
        let mut args = vec!["probe", "--lab", "healthy"];
        for s in set {
            args.extend(["--set", s]);
        }
        let out = Command::new(bin()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{set:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{set:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new(bin())
        .args(["probe", "--lab", "alb-idle-timeout", "--set", "path=nlb"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("written for the ALB path"));
}

/// `coldlink run ARGS -q`, which must exit 0: its summary.
fn run_quietly(args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("run")
        .args(args)
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // -q: no progress on stderr, the lab's banner included.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("coldlink lab "), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn run_lab_runs_the_labs_schedule_for_a_duration() {
    let text = run_quietly(&["--lab", "edge", "--speed", "30", "--duration", "2s"]);
    // Every 30 s / 30 = 1 s for 2 s: a probe or two per target.
    assert!(
        text.contains("execute-api") && text.contains("custom-domain"),
        "{text}"
    );
    assert!(!text.contains("probes 0"), "{text}");
}

/// Issue #14: at the edge lab's speed 1 the schedule's 30 s meant one probe
/// per target in the documented `run --lab edge --duration 30s`. The lab
/// now probes at least once a real second.
#[test]
fn run_lab_at_speed_1_sends_several_probes_per_target() {
    let text = run_quietly(&["--lab", "edge", "--duration", "3s"]);
    // `  probes N  ok N  failed …`, once per target.
    let probes: Vec<u64> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("probes "))
        .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(probes.len(), 2, "two targets:\n{text}");
    assert!(probes.iter().all(|&n| n >= 3), "{probes:?} in 3 s:\n{text}");
}

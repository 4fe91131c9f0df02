//! The script's own lifecycle, apart from the harness: a step that fails
//! stops `up` and says which, leaving nothing; a lab started by hand (no
//! `--owner`) outlives whatever ran `up` until `down`, which removes its
//! keeper and folder; `down` of a lab that is not there says which are;
//! `run` killed with SIGTERM tears down at once; `reap` after a killed
//! `run` removes its folder too.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::harness::{alive, cannot_run, namespaces, namespaces_of, script, within, Down};
use crate::common::{bin, text};

/// `scripts/kernel-lab.sh ARGS…` with TMPDIR (where default lab folders go)
/// set to `tmp`.
fn lab_script(args: &[&str], tmp: &Path) -> Output {
    Command::new("bash")
        .arg(script())
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn kill(signal: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}

/// The processes in namespace NS.
fn netns_pids(ns: &str) -> Vec<u32> {
    let out = Command::new("ip").args(["netns", "pids", ns]).output().unwrap();
    text(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn pid_in(file: PathBuf) -> u32 {
    let s = std::fs::read_to_string(&file).unwrap_or_default();
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}: no pid in {s:?}", file.display()))
}

/// Each knob breaks a different step: an nft rule, a conntrack sysctl, the
/// gateway's nginx (after the backends' has started, which must be stopped
/// again: with `--dir`, whose folder stays, its pid file says which).
#[test]
fn a_step_that_fails_stops_up_naming_the_step_and_leaves_nothing() {
    if cannot_run().is_some() {
        return;
    }
    let owner = std::process::id().to_string();
    let cases = [
        (
            "failing-nft",
            "NLB_FORWARD_RULES=    not a rule",
            "nft rules in clk-{lab}-nlb (forward chain)",
        ),
        (
            "failing-sysctl",
            "NLB_ESTABLISHED_TIMEOUT=soon",
            "conntrack sysctls in clk-{lab}-nlb (established timeout soon)",
        ),
        (
            "failing-nginx",
            "GW_CONNECT_TIMEOUT=soon",
            "nginx (gw) in clk-{lab}-gw",
        ),
    ];
    for (tag, knob, step) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let lab = format!("{owner}-{tag}");
        let _down = Down(lab.clone());
        let given = tmp.path().join("given");
        let mut args = vec!["up", "healthy", "--owner", &owner, "--tag", tag, "--set", knob];
        let keep = tag == "failing-nginx";
        let given_str = given.to_str().unwrap();
        if keep {
            args.extend(["--dir", given_str]);
        }
        let out = lab_script(&args, tmp.path());
        assert_eq!(out.status.code(), Some(1), "{tag}: {}", said(&out));
        let err = text(&out.stderr);
        let line = format!(
            "kernel lab: healthy did not come up: {} failed",
            step.replace("{lab}", &lab)
        );
        assert!(err.contains(&line), "{tag}: no {line:?} in {err}");
        assert_eq!(namespaces_of(&lab), Vec::<String>::new(), "{tag}: left behind");
        assert!(!Path::new(&format!("/run/kernel-lab/{lab}.env")).exists());
        if keep {
            // The backends' nginx had started: stopped with the lab.
            let be = pid_in(given.join("be.pid"));
            assert!(
                within(2.0, || !alive(be)),
                "{tag}: the backends' nginx {be} still runs"
            );
            assert!(err.contains("its files stay in"), "{tag}: {err}");
        } else {
            // The default folder ($TMPDIR/kernel-lab.LAB) went with the lab.
            let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
            assert!(left.is_empty(), "{tag}: {left:?}");
        }
    }
}

/// As `sudo`, `sh -c`, make or a CI step run it: the wrapper exits as soon
/// as `up` returns. The lab belongs to a keeper process `up` started, so
/// `reap` leaves it alone; `down` removes it, its keeper and its folder.
/// The printed command names the binary it would use.
#[test]
fn a_lab_started_by_hand_lives_until_down_which_removes_its_keeper_and_folder() {
    if cannot_run().is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("bash '{}' up healthy --tag by-hand", script()))
        .env("TMPDIR", tmp.path())
        .env("COLDLINK", bin())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    // "kernel lab PID-by-hand: healthy — …"
    let lab = stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("kernel lab "))
        .and_then(|l| l.split_once(':'))
        .map(|(lab, _)| lab.to_string())
        .unwrap_or_else(|| panic!("no lab named: {}", said(&out)));
    let _down = Down(lab.clone());
    assert!(out.status.success(), "{}", said(&out));
    let keeper: u32 = lab.split('-').next().unwrap().parse().unwrap();
    assert!(
        stdout.contains(&format!("owner:      pid {keeper}, a keeper process")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "run:        ip netns exec clk-{lab}-client {} diagnose",
            bin()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("down:       {} down {lab}", script())),
        "{stdout}"
    );
    // The wrapper is gone; the keeper is not, so the lab is not stale.
    assert!(alive(keeper), "keeper {keeper}");
    let out = lab_script(&["reap"], tmp.path());
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(namespaces_of(&lab).len(), 5, "{:?}", namespaces());
    let dir = tmp.path().join(format!("kernel-lab.{lab}"));
    assert!(dir.join("lab.env").exists(), "{}", dir.display());

    let out = lab_script(&["down", &lab], tmp.path());
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(namespaces_of(&lab), Vec::<String>::new(), "left behind");
    assert!(within(2.0, || !alive(keeper)), "keeper {keeper} still runs");
    assert!(!dir.exists(), "{} left behind", dir.display());
    // A second `down`: nothing there any more.
    let out = lab_script(&["down", &lab], tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
}

#[test]
fn down_of_a_lab_that_is_not_there_exits_2_saying_which_labs_are() {
    if cannot_run().is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // pid 1 runs, and owns no lab.
    for (arg, says) in [
        (
            "1-nothing",
            "kernel lab: down: no lab 1-nothing here; labs here: ",
        ),
        ("1", "kernel lab: down: no lab 1 here; labs here: "),
        ("nothing", "kernel lab: down: `nothing` is not a lab (PID-TAG"),
    ] {
        let out = lab_script(&["down", arg], tmp.path());
        assert_eq!(out.status.code(), Some(2), "{arg}: {}", said(&out));
        assert!(text(&out.stderr).contains(says), "{arg}: {}", said(&out));
    }
}

/// `run healthy --tag TAG -- sleep 30` with TMPDIR at `tmp`, once CMD runs:
/// the child, its lab (PID-TAG), its folder and the pids of what runs in
/// the lab (the sleep, nginx's two masters, dnsmasq).
fn run_sleeping(tag: &str, tmp: &Path) -> (Child, String, PathBuf, Vec<u32>) {
    let run = Command::new("bash")
        .arg(script())
        .args(["run", "healthy", "--tag", tag, "--", "sleep", "30"])
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lab = format!("{}-{tag}", run.id());
    let client = format!("clk-{lab}-client");
    // CMD runs once the client namespace holds a `sleep` (the build's `ip
    // -n` commands pass through it too, for a moment).
    let sleeping = || {
        netns_pids(&client)
            .into_iter()
            .find(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "sleep"))
    };
    assert!(
        within(60.0, || sleeping().is_some()),
        "CMD never ran in {client}: {:?}",
        namespaces()
    );
    let dir = tmp.join(format!("kernel-lab.{lab}"));
    let mut pids: Vec<u32> = sleeping().into_iter().collect();
    for f in ["gw.pid", "be.pid", "dnsmasq.pid"] {
        pids.push(pid_in(dir.join(f)));
    }
    (run, lab, dir, pids)
}

/// SIGTERM to the script's pid alone (not its group): handled at once, not
/// when CMD ends; CMD gets it too, the lab is torn down, the exit is 143.
#[test]
fn a_run_sent_sigterm_tears_down_at_once_and_exits_143() {
    if cannot_run().is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (run, lab, dir, pids) = run_sleeping("sigterm", tmp.path());
    let _down = Down(lab.clone());
    let sent = Instant::now();
    kill("TERM", run.id());
    assert!(
        within(5.0, || namespaces_of(&lab).is_empty()),
        "still there 5 s after SIGTERM: {:?}",
        namespaces_of(&lab)
    );
    let out = run.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(5), "{:?}", sent.elapsed());
    assert_eq!(out.status.code(), Some(143), "{}", said(&out));
    assert!(
        text(&out.stderr).contains("kernel lab: interrupted (SIGTERM)"),
        "{}",
        said(&out)
    );
    for pid in pids {
        assert!(within(2.0, || !alive(pid)), "{pid} still runs");
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// SIGKILL leaves everything (nothing can run on the way out); the lab is
/// stale (its owner, the run, is gone) and `reap` removes it: namespaces,
/// what ran in them, and its folder.
#[test]
fn reap_after_a_killed_run_removes_its_namespaces_processes_and_folder() {
    if cannot_run().is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (mut run, lab, dir, pids) = run_sleeping("killed", tmp.path());
    let _down = Down(lab.clone());
    kill("KILL", run.id());
    run.wait().unwrap();
    // (Another test's `up` may reap it first: the same code, so this holds.)
    let out = lab_script(&["reap"], tmp.path());
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(namespaces_of(&lab), Vec::<String>::new(), "left behind");
    for pid in pids {
        assert!(within(2.0, || !alive(pid)), "{pid} still runs");
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!Path::new(&format!("/run/kernel-lab/{lab}.env")).exists());
}

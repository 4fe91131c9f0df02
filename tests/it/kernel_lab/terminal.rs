//! The kernel lab as a person runs it: in a real terminal (tmux) with
//! Ctrl-C, through Debian's sudo (which runs the script in a pseudo-terminal
//! of its own, `Defaults use_pty`, and closes it when the script returns),
//! and as an ordinary user, where every kernel-lab test says it skipped.

use std::process::Command;
use std::time::Duration;

use super::harness::{alive, cannot_run, namespaces, namespaces_of, script, within, Down};
use crate::common::text;
use crate::common::tmux::{and_save_status, Tmux};

/// The lab whose client namespace ends in `-TAG-client`, once one does,
/// leaving out the namespaces in `before` (a stale lab of a crashed run).
fn lab_tagged(tag: &str, before: &[String]) -> Option<String> {
    let suffix = format!("-{tag}-client");
    namespaces()
        .into_iter()
        .filter(|n| !before.contains(n))
        .find_map(|n| {
            n.strip_prefix("clk-")?
                .strip_suffix(&suffix)
                .map(|pid| format!("{pid}-{tag}"))
        })
}

/// Whether a `sleep` runs in LAB's client namespace (CMD has started).
fn sleeping_in(lab: &str) -> bool {
    let out = Command::new("ip")
        .args(["netns", "pids", &format!("clk-{lab}-client")])
        .output()
        .unwrap();
    text(&out.stdout)
        .split_whitespace()
        .any(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "sleep"))
}

/// `[sudo] scripts/kernel-lab.sh run healthy --tag TAG -- sleep 600` in a
/// terminal, Ctrl-C typed once the sleep runs: the lab is gone within 5 s,
/// the exit is 130 and the terminal says why.
fn ctrl_c_tears_down(sudo: &str, tag: &str) {
    let before = namespaces();
    let t = Tmux::start(|dir| {
        and_save_status(
            &format!(
                "TMPDIR='{d}' {sudo} bash '{s}' run healthy --tag {tag} -- sleep 600",
                d = dir.display(),
                s = script()
            ),
            dir,
        )
    });
    assert!(
        within(60.0, || lab_tagged(tag, &before).is_some_and(|l| sleeping_in(&l))),
        "CMD never ran in a lab tagged {tag}: {:?}\n{}",
        namespaces(),
        t.screen()
    );
    let lab = lab_tagged(tag, &before).unwrap();
    let _down = Down(lab.clone());
    t.keys(&["C-c"]);
    assert!(
        within(5.0, || namespaces_of(&lab).is_empty()),
        "still there 5 s after Ctrl-C: {:?}\n{}",
        namespaces_of(&lab),
        t.screen()
    );
    assert_eq!(t.exit_status(Duration::from_secs(10)), 130, "{}", t.screen());
    let screen = t.wait_for("the interruption said", Duration::from_secs(5), |s| {
        s.contains("kernel lab: interrupted (SIGINT)")
    });
    assert!(screen.contains(&lab), "{screen}");
}

#[test]
fn ctrl_c_in_a_terminal_tears_the_lab_down_and_exits_130() {
    if cannot_run().is_some() {
        return;
    }
    ctrl_c_tears_down("", "ctrl-c");
}

/// Through sudo, as docs/lab.md shows it: a lab `up` started lives on after
/// sudo has closed its pseudo-terminal (the keeper is in a session of its
/// own), `down` through sudo removes it and its keeper; and Ctrl-C on a
/// `run` reaches the script through sudo.
#[test]
fn through_sudo_a_lab_outlives_sudos_terminal_until_down_and_ctrl_c_still_tears_down() {
    if cannot_run().is_some() {
        return;
    }
    if Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("kernel lab: skipped: `sudo -n` cannot run here (apt-get install sudo)");
        return;
    }
    let before = namespaces();
    let t = Tmux::start(|dir| {
        and_save_status(
            &format!(
                "TMPDIR='{d}' sudo bash '{s}' up healthy --tag sudo",
                d = dir.display(),
                s = script()
            ),
            dir,
        )
    });
    assert_eq!(t.exit_status(Duration::from_secs(90)), 0, "{}", t.screen());
    let lab =
        lab_tagged("sudo", &before).unwrap_or_else(|| panic!("no lab: {:?}\n{}", namespaces(), t.screen()));
    let _down = Down(lab.clone());
    let keeper: u32 = lab.split('-').next().unwrap().parse().unwrap();
    // sudo and its terminal are gone; the lab and its keeper are not.
    assert!(alive(keeper), "keeper {keeper} died with sudo's terminal");
    assert_eq!(namespaces_of(&lab).len(), 5, "{:?}", namespaces());

    let out = Command::new("sudo")
        .args(["-n", "bash", script(), "down", &lab])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(namespaces_of(&lab), Vec::<String>::new(), "left behind");
    assert!(within(2.0, || !alive(keeper)), "keeper {keeper} still runs");

    ctrl_c_tears_down("sudo", "sudo-ctrl-c");
}

/// As an ordinary user (uid 65534 through setpriv), this test binary's
/// kernel-lab tests pass by skipping, each saying why, and build nothing.
#[test]
fn as_an_ordinary_user_each_kernel_lab_test_says_it_skipped() {
    if cannot_run().is_some() {
        return;
    }
    let child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "kernel_lab::scenarios::healthy",
            "kernel_lab::lifecycle::down_of",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HOME", "/tmp")
        .env("TMPDIR", "/tmp")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux)");
    // setpriv execs the test binary: its labs would be named after this pid.
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("test result: ok. 2 passed"), "{said}");
    assert_eq!(
        said.matches("kernel lab: skipped: needs root").count(),
        2,
        "{said}"
    );
    let built: Vec<String> = namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&format!("clk-{pid}-")))
        .collect();
    assert!(built.is_empty(), "{built:?}\n{said}");
}

//! The lab's lifecycle: a bad scenario is refused with the valid ones, a
//! stale lab (its owner gone) is reaped by the next `up`, and dropping the
//! guard leaves none of the lab's namespaces behind.

use std::process::Command;

use super::harness::{script, KernelLab};

fn namespaces() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_unknown_scenario_is_refused_with_exit_2_naming_the_valid_ones() {
    let out = Command::new("bash")
        .arg(script())
        .args(["up", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown scenario `nope`"), "{err}");
    for s in [
        "healthy",
        "idle-timeout-reset",
        "idle-timeout-drop",
        "syn-loss",
        "bad-path",
        "keepalive-race",
        "dns-timeout",
    ] {
        assert!(err.contains(s), "{s} missing: {err}");
    }
}

#[test]
fn a_stale_lab_is_reaped_and_a_dropped_guard_leaves_nothing() {
    // A pid that is surely gone: a child that has exited and been waited on.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = format!("clk-{dead}-reap-client");
    let made = Command::new("ip").args(["netns", "add", &stale]).output();
    if !made.map(|o| o.status.success()).unwrap_or(false) {
        // Not root: `up` says why and the test returns.
        assert!(
            KernelLab::up_tagged("healthy", "reaper").is_none(),
            "ip netns add failed but up ran"
        );
        return;
    }
    let lab = KernelLab::up_tagged("healthy", "reaper");
    let ns = namespaces();
    assert!(!ns.contains(&stale), "{stale} not reaped: {ns}");
    let Some(lab) = lab else { return };
    let mine = format!("clk-{}-reaper-", std::process::id());
    drop(lab);
    let ns = namespaces();
    assert!(!ns.contains(&mine), "left behind: {ns}");
}

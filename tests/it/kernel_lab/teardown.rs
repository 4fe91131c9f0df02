//! The lab's lifecycle: a bad scenario is refused with the valid ones, a
//! stale lab (its owner gone) is reaped by the next `up`, and dropping the
//! guard leaves none of the lab's namespaces or processes behind.

use std::process::Command;

use super::harness::{alive, namespaces, namespaces_of, script, within, KernelLab};

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
    let Some(lab) = KernelLab::up_tagged("healthy", "reaper") else {
        // Root, but no nginx or dnsmasq: `up` said why (exit 77) before
        // reaping anything, so the stale namespace is still ours to remove.
        let _ = Command::new("ip").args(["netns", "del", &stale]).output();
        return;
    };
    let ns = namespaces();
    assert!(!ns.contains(&stale), "{stale} not reaped: {ns:?}");
    // What runs in the lab: nginx's two masters and dnsmasq.
    let pids: Vec<(&str, u32)> = ["gw.pid", "be.pid", "dnsmasq.pid"]
        .into_iter()
        .map(|f| (f, lab.pid(f)))
        .collect();
    for (file, pid) in &pids {
        assert!(alive(*pid), "{file}: {pid} is not running before the drop");
    }
    let name = lab.name().to_string();
    assert_eq!(namespaces_of(&name).len(), 5, "{:?}", namespaces());
    drop(lab);
    assert_eq!(namespaces_of(&name), Vec::<String>::new(), "left behind");
    // Killed (SIGKILL) by the teardown; gone once the kernel has delivered it.
    for (file, pid) in &pids {
        assert!(within(2.0, || !alive(*pid)), "{file}: {pid} still runs");
    }
}

//! Issue 19 §5: coldlink's phases against an independent clock, the packets'
//! own timestamps. A reduced run of `scripts/phase-fidelity.sh` (throw-away
//! namespaces, a backend that waits 50 ms, tcpdump in the client's
//! namespace, one SYN dropped by nftables): 20 probes on new connections,
//! 21 on one kept-alive connection, one with its first SYN dropped. Needs
//! root, nft, tcpdump and python3; without them it prints one line saying
//! why and returns. The numbers of a full run are in docs/performance.md.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{bin, text};

/// The backend's wait before it answers (the script's DELAY_MS).
const DELAY_MS: f64 = 50.0;
/// Linux's first SYN retransmission (TCP_TIMEOUT_INIT).
const RTO_MS: f64 = 1000.0;
/// Bounds on coldlink − packets at the median, µs: the target,
/// 0.1 ms either way, for `connect` and `ttfb` alike. coldlink takes the
/// SYN-ACK from the kernel's RTT sample, a response's arrival from its
/// receive timestamp and a request's departure from the start of the
/// write that sent it, so the wake-up after a network event (≈ 0.1 ms on
/// this VM, more under load) is no longer in these phases; the debug build
/// the tests run on a loaded machine meets it too (2026-12-07, while a
/// release build ran: connect +6 µs, ttfb +25 µs reused and +80 µs new).
/// The code before that read connect +273 to +594 µs and ttfb +157 to
/// +237 µs here, and fails. (The median `ttfb` is over new and reused
/// probes together, so it sits near the reused ones'.) Below: with the
/// kernel's times a phase that reads shorter than the wire is a bug, not
/// jitter, so the lower bound is tighter (half the target).
const MAX_DIFF_US: f64 = 100.0;
const MIN_DIFF_US: f64 = -50.0;

fn median(mut xs: Vec<f64>) -> f64 {
    assert!(!xs.is_empty(), "no values");
    xs.sort_by(f64::total_cmp);
    xs[(xs.len() - 1) / 2]
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[test]
fn phases_agree_with_packet_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("fidelity.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/phase-fidelity.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("PROBES", "20")
        .env("SYN_DROPS", "1")
        .env("CURL", "0")
        .env("DELAY_MS", DELAY_MS.to_string())
        .env("COLDLINK", bin())
        .env("JSON", &json)
        .env_remove("KEEP")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if out.status.code() == Some(77) {
        let why = stderr
            .lines()
            .find_map(|l| l.strip_prefix("phase fidelity: skipped: "))
            .unwrap_or("the script exited 77");
        println!("phase fidelity: skipped: {why}");
        return;
    }
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    println!("{stdout}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        v["unpaired"],
        serde_json::json!({}),
        "every probe has its packets\n{stderr}"
    );
    let probes = v["probes"].as_array().unwrap();

    // One dropped SYN: the packets show it sent twice, and connect spans
    // the kernel's retransmission delay plus the round trip. The retransmit
    // timer sits in the kernel's timer wheel (32 ms steps at HZ=250), hence
    // the slack above the RTO.
    let dropped: Vec<&Value> = probes.iter().filter(|p| p["kind"] == "syndrop").collect();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let p = dropped[0];
    assert_eq!(
        p["syns"], 2,
        "the first SYN dropped, its retransmission passed: {p}"
    );
    let connect_ms = num(p, "tool_connect_us") / 1000.0;
    assert!(
        (RTO_MS..RTO_MS + 100.0).contains(&connect_ms),
        "connect after one dropped SYN: {connect_ms} ms, expected [1000, 1100) ms: {p}"
    );
    let over_packets_ms = connect_ms - num(p, "pkt_connect_us") / 1000.0;
    assert!(
        (-0.05..50.0).contains(&over_packets_ms),
        "connect {connect_ms} ms against the packets' first SYN → SYN-ACK: {over_packets_ms:+} ms: {p}"
    );

    // TTFB against a 50 ms backend: at the median between the wait and the
    // wait plus a little (the backend is Python on a shared machine), and
    // close to the packets' request → response (below). Medians, because a
    // probe whose thread is preempted between its clock reading and the
    // write can start its `ttfb` early.
    let answered: Vec<&Value> = probes
        .iter()
        .filter(|p| p["kind"] != "syndrop" && p.get("tool_ttfb_us").is_some())
        .collect();
    assert_eq!(answered.len(), 41, "20 new and 21 on one connection");
    let ttfb = median(answered.iter().map(|p| num(p, "tool_ttfb_us") / 1000.0).collect());
    assert!(
        (DELAY_MS..DELAY_MS + 10.0).contains(&ttfb),
        "median ttfb {ttfb} ms against a {DELAY_MS} ms backend"
    );
    let ttfb_diff_us = median(
        answered
            .iter()
            .map(|p| num(p, "tool_ttfb_us") - num(p, "pkt_ttfb_us"))
            .collect(),
    );

    // Connect of the 20 new connections against the packets' first SYN →
    // SYN-ACK (≈ 25 µs on the veth).
    let opened: Vec<&Value> = probes
        .iter()
        .filter(|p| p["kind"] == "new" && p.get("tool_connect_us").is_some())
        .collect();
    assert_eq!(opened.len(), 20, "20 new connections");
    let connect_diff_us = median(
        opened
            .iter()
            .map(|p| num(p, "tool_connect_us") - num(p, "pkt_connect_us"))
            .collect(),
    );
    println!("median tool − packets: connect {connect_diff_us:+.1} µs, ttfb {ttfb_diff_us:+.1} µs");

    // The target, 0.1 ms at the median (full runs of the release
    // build in docs/performance.md).
    assert!(
        (MIN_DIFF_US..MAX_DIFF_US).contains(&ttfb_diff_us),
        "coldlink's ttfb − the packets' at the median: {ttfb_diff_us:+} µs, expected in [{MIN_DIFF_US}, {MAX_DIFF_US}) µs"
    );
    assert!(
        (MIN_DIFF_US..MAX_DIFF_US).contains(&connect_diff_us),
        "coldlink's connect − the packets' on new connections at the median: {connect_diff_us:+} µs, expected in [{MIN_DIFF_US}, {MAX_DIFF_US}) µs"
    );
}

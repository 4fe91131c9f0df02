//! Each scenario of `scripts/kernel-lab/scenarios/`, diagnosed by coldlink
//! in the lab's client namespace. The knobs and the plan are the
//! scenario file's; what must come out is here.

use super::harness::KernelLab;

/// Nothing broken: no finding at warning or above. Two entry points make
/// `edge` tested; the idle timers (a 350 s quiet period, 60–90 s ones)
/// cannot be in a minute, so the honest verdict is `inconclusive` with
/// exactly those two untested.
#[test]
fn healthy_has_no_finding_and_leaves_only_the_long_idle_timers_untested() {
    let Some(lab) = KernelLab::up("healthy") else {
        return;
    };
    let d = lab.diagnose();
    assert_eq!(d.verdict(), "inconclusive", "{}", d.said());
    assert_eq!(d.code, Some(0), "{}{}", d.said(), d.stderr);
    let findings = d.report["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["severity"] == "info"), "{}", d.said());
    let untested: Vec<&str> = d.report["untested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["cause"].as_str().unwrap())
        .collect();
    assert_eq!(untested, ["idle-timeout", "keepalive-race"], "{}", d.said());
    assert!(d.records.len() >= 40, "{}", d.records.len());
    assert!(d.records.iter().all(|r| r["status"] == 200), "{}", d.said());
    // Every new connection asked the lab's dnsmasq.
    assert!(lab.file("dnsmasq.log").contains("api.klab.test"));
}

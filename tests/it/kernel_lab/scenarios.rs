//! Each scenario of `scripts/kernel-lab/scenarios/`, diagnosed by coldlink
//! in the lab's client namespace. The knobs and the plan are the scenario
//! file's; what must come out is here: the verdict's cause id, and one
//! thing in the records or the lab's own logs that only the mechanism
//! explains.

use serde_json::Value;

use super::harness::{Diagnosis, KernelLab};

fn phase(r: &Value, name: &str) -> f64 {
    r["phases_ms"][name].as_f64().unwrap_or(0.0)
}

fn with_status(d: &Diagnosis, status: u64) -> Vec<&Value> {
    d.records.iter().filter(|r| r["status"] == status).collect()
}

/// The verdict is CAUSE, and its finding is the verdict's (severity at
/// warning or above).
fn assert_verdict(d: &Diagnosis, cause: &str) -> Value {
    assert_eq!(d.verdict(), cause, "{}{}", d.said(), d.stderr);
    let f = d
        .finding(cause)
        .unwrap_or_else(|| panic!("no {cause} finding: {}", d.said()));
    assert_ne!(f["severity"], "info", "{}", d.said());
    f.clone()
}

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
    // Every new connection asked the lab's dnsmasq; every backend answered.
    let log = lab.file("dnsmasq.log");
    assert!(log.contains("query[A] api.klab.test"), "{log}");
    // AAAA: an empty answer, not REFUSED (which costs the resolver a retry).
    assert!(!log.contains("REFUSED"), "{log}");
    let gw = lab.file("gw-access.log");
    for backend in ["10.77.3.2:80", "10.77.3.3:80", "10.77.3.4:80"] {
        assert!(
            gw.contains(&format!("upstream={backend}")),
            "{backend} unused:\n{gw}"
        );
    }
}

/// conntrack forgets flows idle 4 s and resets them: the gateway's pooled
/// connections meet the reset after long quiet periods and it answers 502.
#[test]
fn idle_timeout_with_reset_is_named_with_502s_after_long_gaps() {
    let Some(lab) = KernelLab::up("idle-timeout-reset") else {
        return;
    };
    let d = lab.diagnose();
    let f = assert_verdict(&d, "idle-timeout");
    assert!(f["evidence"].to_string().contains("reset"), "{f}");
    let failed = with_status(&d, 502);
    assert!(failed.len() >= 6, "{}", d.said());
    // Each 502 was the gateway's: nginx logged a reset by the NLB.
    assert!(
        lab.file("gw-error.log").contains("Connection reset by peer"),
        "{}",
        lab.file("gw-error.log")
    );
}

/// The same timer with a silent drop: nginx waits its 2 s read timeout on
/// the forgotten flow and answers 504.
#[test]
fn idle_timeout_with_silent_drop_is_named_with_2s_504s_after_long_gaps() {
    let Some(lab) = KernelLab::up("idle-timeout-drop") else {
        return;
    };
    let d = lab.diagnose();
    let f = assert_verdict(&d, "idle-timeout");
    assert!(f["evidence"].to_string().contains("504"), "{f}");
    let timed_out = with_status(&d, 504);
    assert!(timed_out.len() >= 6, "{}", d.said());
    for r in timed_out {
        let ttfb = phase(r, "ttfb");
        assert!(
            (1900.0..3000.0).contains(&ttfb),
            "a 504 after {ttfb} ms, not nginx's 2 s: {r}"
        );
    }
}

/// The gateway drops 3 of every 10 SYNs (a counter: the 1st, 5th and 6th):
/// the kernel resends them, and the stalled connects sit on its schedule
/// (1 s, then 2 s …), which the records carry (`syn_sysctls`, read in the
/// client namespace) and the evidence names.
#[test]
fn syn_loss_is_named_with_connects_stalled_by_the_kernels_retransmission() {
    let Some(lab) = KernelLab::up("syn-loss") else {
        return;
    };
    let d = lab.diagnose();
    let f = assert_verdict(&d, "syn-loss");
    let stalled: Vec<f64> = d
        .records
        .iter()
        .map(|r| phase(r, "connect"))
        .filter(|c| *c > 700.0)
        .collect();
    assert!(stalled.len() >= 2, "{stalled:?}");
    // This kernel's schedule: whole seconds after the first SYN.
    for c in &stalled {
        let off = (c / 1000.0 - (c / 1000.0).round()).abs();
        assert!(off < 0.1, "a connect of {c} ms is not on a retransmission mark");
    }
    // Every record of a new connection says the namespace's SYN settings,
    // and the finding held the stalls against the schedule they give.
    let fresh: Vec<&Value> = d
        .records
        .iter()
        .filter(|r| r["conn"]["reused"] == false)
        .collect();
    assert!(!fresh.is_empty(), "{}", d.said());
    let sysctls = &fresh[0]["syn_sysctls"];
    assert!(
        sysctls["tcp_syn_retries"].is_u64(),
        "no syn_sysctls: {}",
        fresh[0]
    );
    for r in &fresh {
        assert_eq!(&r["syn_sysctls"], sysctls, "{r}");
    }
    let evidence = f["evidence"][0].as_str().unwrap_or("");
    assert!(
        evidence.contains("sit near the SYN retransmission marks of the kernel the probes ran on"),
        "{}",
        d.said()
    );
    assert!(
        evidence.contains(&format!("tcp_syn_retries {}", sysctls["tcp_syn_retries"])),
        "{}",
        d.said()
    );
}

/// One backend of three black-holes SYNs: every third request waits nginx's
/// 2 s connect timeout and is retried on the next backend.
#[test]
fn bad_path_is_named_with_a_third_of_requests_2s_late_in_ttfb() {
    let Some(lab) = KernelLab::up("bad-path") else {
        return;
    };
    let d = lab.diagnose();
    assert_verdict(&d, "bad-path");
    let slow: Vec<&Value> = d.records.iter().filter(|r| phase(r, "ttfb") > 1900.0).collect();
    assert!(slow.len() >= 4, "{}", d.said());
    for r in &slow {
        assert_eq!(r["status"], 200, "retried, so answered: {r}");
        assert!(phase(r, "ttfb") < 3000.0, "{r}");
    }
    // nginx's own account: the dead backend first, then another.
    let gw = lab.file("gw-access.log");
    assert!(gw.contains("upstream=10.77.3.4:80, 10.77.3."), "{gw}");
}

/// dnsmasq's namespace drops every fifth query (a counter, not chance):
/// lookups stall by the resolver's 5 s timer. dnsmasq answers AAAA with no
/// data (not REFUSED), so no lookup asks twice for want of an answer.
#[test]
fn dns_timeout_is_named_with_lookups_stalled_by_the_resolver_timer() {
    let Some(lab) = KernelLab::up("dns-timeout") else {
        return;
    };
    let d = lab.diagnose();
    assert_verdict(&d, "dns-timeout");
    let stalled: Vec<f64> = d
        .records
        .iter()
        .map(|r| phase(r, "dns"))
        .filter(|ms| *ms > 1000.0)
        .collect();
    assert!(stalled.len() >= 2, "{}", d.said());
    assert!(
        stalled.iter().any(|ms| (4500.0..5600.0).contains(ms)),
        "no lookup at the 5 s timer: {stalled:?}"
    );
    let log = lab.file("dnsmasq.log");
    assert!(!log.contains("REFUSED"), "{log}");
}

/// Backends close idle connections at 2 s; their FIN reaches the gateway
/// about 3.4 s later (the NLB drops the first five): requests after gaps
/// in between meet a closed connection (502), shorter and longer gaps are
/// fine.
#[test]
fn keepalive_race_is_named_with_502s_only_inside_the_window() {
    let Some(lab) = KernelLab::up("keepalive-race") else {
        return;
    };
    let d = lab.diagnose();
    assert_verdict(&d, "keepalive-race");
    assert!(with_status(&d, 502).len() >= 6, "{}", d.said());
    let rows = d.report["idle_sweep"].as_array().unwrap();
    let row = |gap: f64| {
        rows.iter()
            .find(|r| r["gap_ms"].as_f64() == Some(gap))
            .unwrap_or_else(|| panic!("no {gap} ms row: {rows:?}"))
    };
    for gap in [2500.0, 3500.0, 4500.0] {
        assert_eq!(
            row(gap)["slow"],
            row(gap)["probes"],
            "inside the window: {:?}",
            row(gap)
        );
    }
    for gap in [1000.0, 7000.0, 10000.0] {
        assert_eq!(row(gap)["slow"], 0, "outside the window: {:?}", row(gap));
    }
    // The backend's reset, as nginx logged it.
    assert!(
        lab.file("gw-error.log").contains("Connection reset by peer"),
        "{}",
        lab.file("gw-error.log")
    );
}

/// The statuses of the sweep's probes (the last `n` records: one target,
/// one probe per gap), in order.
fn sweep_statuses(d: &Diagnosis, n: usize) -> Vec<u64> {
    let rs = &d.records[d.records.len().saturating_sub(n)..];
    rs.iter().map(|r| r["status"].as_u64().unwrap_or(0)).collect()
}

/// Every failure is the idle timer's: no other finding at warning or above.
fn assert_only(d: &Diagnosis, cause: &str) {
    for f in d.report["findings"].as_array().unwrap() {
        assert!(
            f["cause"] == cause || f["severity"] == "info",
            "a second finding: {}",
            d.said()
        );
    }
}

/// One target, one backend: conntrack forgets flows idle 4 s, and the
/// gateway's pool closes its idle connections itself at 10 s. Requests
/// after 5, 7 and 8 s meet a forgotten flow (502); after 13 s nginx has
/// already closed the stale connection and opens a fresh one, which
/// succeeds. One success after failures does not end the step: coldlink
/// says `idle-timeout` (not `keepalive-race`, a window) and why the long
/// gap succeeded.
#[test]
fn idle_timeout_cut_short_by_the_pools_own_timer_is_still_idle_timeout() {
    let Some(lab) = KernelLab::up("idle-timeout-pool-timer") else {
        return;
    };
    let d = lab.diagnose();
    let f = assert_verdict(&d, "idle-timeout");
    assert_only(&d, "idle-timeout");
    // The sweep 1s,5s,1s,7s,1s,13s: each 1 s gap on a fresh upstream
    // connection (the failed one was closed), the 13 s one too (the pool
    // closed the stale one at 10 s).
    assert_eq!(
        sweep_statuses(&d, 6),
        [200, 502, 200, 502, 200, 200],
        "{}",
        d.said()
    );
    // conntrack's 4 s, between the longest clean gap (the plan's 3 s) and
    // the first failing one.
    let title = f["title"].as_str().unwrap();
    assert!(title.contains("between 3.0 s and 5.0 s"), "{title}");
    assert!(
        f["evidence"].to_string().contains(
            "one success at 13 s after failures from 5.0 s: a pool that closes idle connections itself"
        ),
        "{}",
        d.said()
    );
    // nginx met a reset on each stale connection it sent a request on (the
    // plan's 8 s gap and the sweep's 5 s and 7 s), not on the 13 s one.
    let resets = lab
        .file("gw-error.log")
        .matches("Connection reset by peer")
        .count();
    assert_eq!(resets, 3, "{}", lab.file("gw-error.log"));
}

/// One target through nginx's round robin over three backends, as a user
/// probes one URL: each request meets its backend's pooled connection,
/// idle since that backend's last turn (three requests back), and one
/// whose last request failed gets a fresh connection. So a 1 s gap right
/// after a failing 8 s one fails too (its connection is 12 s idle), and
/// the three requests after the failures succeed whatever their gaps.
/// coldlink must still say `idle-timeout`, with every 502 in it (not a
/// separate window or `errors`), and a timer range that holds conntrack's
/// 5 s.
#[test]
fn idle_timeout_on_one_path_through_round_robin_is_one_step() {
    let Some(lab) = KernelLab::up("idle-timeout-one-path") else {
        return;
    };
    let d = lab.diagnose();
    let f = assert_verdict(&d, "idle-timeout");
    assert_only(&d, "idle-timeout");
    // The sweep 1s,5s,1s,7s,1s,9s after the plan's failing 8 s gap.
    assert_eq!(
        sweep_statuses(&d, 6),
        [502, 502, 200, 200, 200, 502],
        "{}",
        d.said()
    );
    let failed = with_status(&d, 502);
    assert_eq!(failed.len(), 4, "{}", d.said());
    // A 502 after a 1 s gap: on the client's own connection, idle 1 s.
    assert!(
        failed
            .iter()
            .any(|r| r["conn"]["idle_ms"].as_f64().unwrap_or(0.0) < 1500.0),
        "{}",
        d.said()
    );
    // All four are the finding's, on the clock that explains them.
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("after 4/4 periods since the API last answered"),
        "{}",
        d.said()
    );
    assert!(
        evidence.contains("1.0 s after the API's previous request"),
        "{}",
        d.said()
    );
    // The timer range holds conntrack's 5 s: from the plan's clean 3 s gap
    // to no more than 9 s (the longest gap).
    let title = f["title"].as_str().unwrap();
    let upper: f64 = title
        .split_once("between 3.0 s and ")
        .and_then(|(_, rest)| rest.split_once(" s"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no \"between 3.0 s and N s\": {title}"));
    assert!((5.0..=9.0).contains(&upper), "{title}");
    assert_eq!(
        lab.file("gw-error.log")
            .matches("Connection reset by peer")
            .count(),
        4,
        "{}",
        lab.file("gw-error.log")
    );
}

//! `coldlink diagnose --lab`: every scenario named right end to end (real
//! sockets, real TLS, the real binary), and scenarios with parameters drawn
//! from seeded random ranges, far from the lab's defaults.
//!
//! A failing draw prints its seed; `COLDLINK_SEED=N` replays it. The
//! accuracy script runs many draws (`cargo test --test it
//! diagnose_lab::accuracy_table -- --ignored --nocapture`).

use std::process::Command;

use coldlink::diagnose::coverage::DEFAULT_PROBES;
use coldlink::diagnose::{Cause, Report};
use coldlink::lab::Scenario;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Run `coldlink diagnose ARGS --format json -q`: exit code and report.
fn diagnose(args: &[String]) -> (i32, Report) {
    let out = Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .arg("diagnose")
        .args(args)
        .args(["--format", "json", "-q"])
        .output()
        .expect("coldlink runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not a report ({e}); exit {:?}\nstdout: {stdout}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn explain(r: &Report) -> String {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {:.2}: {}\n    {}",
                f.cause,
                f.severity,
                f.confidence,
                f.title,
                f.evidence.join("\n    ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

fn expect(cause: Cause, args: Vec<String>) {
    let (code, report) = diagnose(&args);
    assert_eq!(report.verdict, cause, "{args:?}\n  {}", explain(&report));
    assert_eq!(
        code,
        if matches!(cause, Cause::Healthy | Cause::Inconclusive) {
            0
        } else {
            1
        },
        "exit code, {args:?}"
    );
}

/// Issue 14: the quick start's command, with no flags, finds the headline
/// cause: the lab's default plan runs a short idle sweep in scenario time.
#[test]
fn idle_timeout_with_no_flags() {
    let started = std::time::Instant::now();
    let (code, report) = diagnose(&args(&["--lab", "idle-timeout"]));
    assert_eq!(report.verdict, Cause::IdleTimeout, "{}", explain(&report));
    assert_eq!(code, 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        report.untested.iter().all(|u| u.cause != Cause::IdleTimeout),
        "{:?}",
        report.untested
    );
}

/// Issue 14: one rule for lab time. The records say what was measured and
/// that it was a lab run; a live report and `--from` on its records give
/// the same scenario times (they said 5.0 s and 501 ms).
#[test]
fn lab_records_read_back_in_scenario_time() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("r.ndjson");
    let records = records.to_str().unwrap();
    let (_, live) = diagnose(&args(&["--lab", "bad-path", "--records", records]));
    let (_, stored) = diagnose(&args(&["--from", records]));
    assert_eq!(stored.source.time_scale, 10.0);
    assert_eq!(stored.source.lab.as_deref(), Some("bad-path"));
    assert_eq!(stored.verdict, live.verdict, "{}", explain(&stored));
    let totals = |r: &Report| r.targets.iter().map(|t| t.total_ms).collect::<Vec<_>>();
    assert_eq!(totals(&stored), totals(&live));
    let first = std::fs::read_to_string(records).unwrap();
    let first: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["lab"],
        serde_json::json!({"scenario": "bad-path", "speed": 10.0})
    );
    // Measured: a 5 s dead path at speed 10 answers in about half a second.
    assert!(first["total_ms"].as_f64().unwrap() < 2_000.0, "{first}");
    assert!(stored
        .untested
        .iter()
        .all(|u| u.run.starts_with("coldlink diagnose --lab bad-path")));
    // `report` keeps measured times, and says how to read them.
    let out = Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(["report", records])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("lab run: scenario bad-path at speed 10; the times below are measured"),
        "{text}"
    );
}

/// Issue 14: the quick plan's promise, under 30 s, holds for the lab's
/// slowest scenarios (72 s, 50 s and 41 s before): a plan stops once its
/// evidence is conclusive, and says so.
#[test]
fn slow_scenarios_stop_once_the_evidence_is_conclusive() {
    for (scenario, cause) in [
        ("dns-timeout", Cause::DnsTimeout),
        ("integration-timeout", Cause::IntegrationTimeout),
        ("slow-backend", Cause::SlowBackend),
    ] {
        let started = std::time::Instant::now();
        let (_, report) = diagnose(&args(&["--lab", scenario]));
        let took = started.elapsed();
        assert_eq!(report.verdict, cause, "{scenario}: {}", explain(&report));
        assert!(
            took < std::time::Duration::from_secs(30),
            "{scenario} took {took:?}"
        );
        assert!(
            report.notes.iter().any(|n| n.contains("stopped early")),
            "{scenario}: {:?}",
            report.notes
        );
        // What the stop skipped, only the whole plan tests: the same
        // command again would stop at the same place.
        assert!(!report.untested.is_empty(), "{scenario}");
        assert!(
            report.untested.iter().all(|u| u.run.contains(" --full")),
            "{scenario}: {:?}",
            report.untested
        );
        assert_eq!(report.source.mode, "quick", "{scenario}: no sweep ran");
    }
}

/// `--full` runs every stage even once the evidence is conclusive.
#[test]
fn full_runs_the_whole_plan() {
    let (_, report) = diagnose(&args(&["--lab", "slow-backend", "--probes", "4", "--full"]));
    assert_eq!(report.verdict, Cause::SlowBackend, "{}", explain(&report));
    assert!(
        !report.notes.iter().any(|n| n.contains("stopped early")),
        "{:?}",
        report.notes
    );
    // Both bursts (4 per target each) and the three short gaps (one each).
    assert_eq!(report.source.probes, 2 * 4 * 2 + 3 * 2);
}

/// A sweep asked for with `--idle-sweep` runs even once the burst on new
/// connections settles a cause: `edge` explains no idle timer, and the
/// user came for those. The burst on reused connections (the sweep's
/// connections and baseline) and the short gaps run whole too. `--lab`
/// alone only implies a sweep: there the early stop still skips it.
#[test]
fn an_idle_sweep_asked_for_runs_after_an_early_stop() {
    // 1 s of edge delay stays far above loopback noise at speed 20.
    let lab = ["--lab", "edge", "--speed", "20", "--set", "edge.delay=1s"];
    let (_, report) = diagnose(&args(&[&lab[..], &["--idle-sweep", "20s,40s"]].concat()));
    assert_eq!(report.verdict, Cause::Edge, "{}", explain(&report));
    assert_eq!(report.source.mode, "idle-sweep", "{:?}", report.notes);
    for gap_ms in [20_000.0, 40_000.0] {
        let row = report.idle_sweep.iter().find(|r| r.gap_ms == gap_ms);
        assert_eq!(
            row.map(|r| r.probes),
            Some(2),
            "{gap_ms}: {:?}",
            report.idle_sweep
        );
    }
    // The reused burst whole (20 per target), three short gaps, two sweep
    // gaps, one probe per target after each; the fresh burst cut short.
    let fresh = report.source.probes - (2 * DEFAULT_PROBES as usize + 3 * 2 + 2 * 2);
    assert!(fresh < 2 * DEFAULT_PROBES as usize, "{}", report.source.probes);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("burst on new connections stopped early")),
        "{:?}",
        report.notes
    );
    // What the cut burst left untested, only the whole plan tests.
    assert!(
        report.untested.iter().all(|u| u.run.contains(" --full")),
        "{:?}",
        report.untested
    );

    let (_, implied) = diagnose(&args(&lab));
    assert_eq!(implied.verdict, Cause::Edge, "{}", explain(&implied));
    assert_eq!(implied.source.mode, "quick", "{:?}", implied.notes);
    assert!(
        implied.notes.iter().any(|n| n.contains("the plan stopped early")),
        "{:?}",
        implied.notes
    );
}

/// Issue 14: a healthy path probed too briefly for its idle timers is
/// `inconclusive`, not `healthy`, and names the command that tests them.
#[test]
fn healthy_without_a_sweep_is_inconclusive() {
    // At its own speed (1) the lab's default plan has no time for a sweep.
    let (code, report) = diagnose(&args(&["--lab", "healthy"]));
    assert_eq!(report.verdict, Cause::Inconclusive, "{}", explain(&report));
    assert_eq!(code, 0);
    let idle = report
        .untested
        .iter()
        .find(|u| u.cause == Cause::IdleTimeout)
        .expect("idle timers untested");
    assert_eq!(idle.run, "coldlink diagnose --lab healthy --idle-sweep");
}

#[test]
fn healthy_is_healthy() {
    // Compressed enough for quiet periods past nginx's timers and the NLB's.
    expect(
        Cause::Healthy,
        args(&["--lab", "healthy", "--speed", "20", "--idle-sweep", "65s,360s"]),
    );
}

#[test]
fn bad_path() {
    expect(Cause::BadPath, args(&["--lab", "bad-path"]));
}

#[test]
fn syn_loss() {
    expect(Cause::SynLoss, args(&["--lab", "syn-loss"]));
}

#[test]
fn dns_timeout() {
    // 5 s late answers, compressed to 1 s: a slow resolver.
    expect(
        Cause::DnsTimeout,
        args(&["--lab", "dns-timeout", "--speed", "5", "--probes", "10"]),
    );
}

#[test]
fn slow_tls() {
    expect(Cause::SlowTls, args(&["--lab", "slow-tls"]));
}

#[test]
fn slow_backend() {
    expect(
        Cause::SlowBackend,
        args(&["--lab", "slow-backend", "--probes", "10"]),
    );
}

#[test]
fn edge() {
    expect(Cause::Edge, args(&["--lab", "edge"]));
}

#[test]
fn integration_timeout() {
    expect(
        Cause::IntegrationTimeout,
        args(&["--lab", "integration-timeout", "--probes", "5"]),
    );
}

#[test]
fn errors() {
    expect(Cause::Errors, args(&["--lab", "errors"]));
}

#[test]
fn idle_timeout_with_the_default_sweep() {
    let (code, report) = diagnose(&args(&["--lab", "idle-timeout", "--idle-sweep"]));
    assert_eq!(report.verdict, Cause::IdleTimeout, "{}", explain(&report));
    assert_eq!(code, 1);
    let f = &report.findings[0];
    assert!(f.title.contains("NLB"), "names the 350 s timer: {}", f.title);
    let last = report.idle_sweep.last().expect("sweep rows");
    assert_eq!(
        (last.gap_ms, last.slow),
        (360_000.0, last.probes),
        "{:?}",
        report.idle_sweep
    );
}

#[test]
fn idle_timeout_blackhole() {
    expect(
        Cause::IdleTimeout,
        args(&["--lab", "idle-timeout-blackhole", "--idle-sweep"]),
    );
}

/// A silent drop the gateway waits on until its integration timeout: 504s,
/// but only after long quiet periods, so the cause is the idle timer.
#[test]
fn idle_timeout_ending_in_the_gateways_504() {
    let (_, report) = diagnose(&args(&[
        "--lab",
        "idle-timeout",
        "--set",
        "nlb.idle_behaviour=blackhole",
        "--set",
        "gateway.stall_retry=0s",
        "--idle-sweep",
        "120s,300s,360s,420s,600s",
    ]));
    assert_eq!(report.verdict, Cause::IdleTimeout, "{}", explain(&report));
    let f = &report.findings[0];
    assert!(
        f.evidence.iter().any(|e| e.contains("504")),
        "the 504s are counted as the gateway giving up: {f:?}"
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.cause != Cause::IntegrationTimeout),
        "{}",
        explain(&report)
    );
}

#[test]
fn keepalive_race() {
    expect(
        Cause::KeepaliveRace,
        args(&[
            "--lab",
            "keepalive-race",
            "--speed",
            "40",
            "--idle-sweep",
            "30s,63s,67s,80s,120s",
        ]),
    );
}

/// Issue 18: an ALB 502 page from a target's short keep-alive, on a share
/// of requests whatever the gap.
///
/// The race is found from the ALB's 502 pages, without a quiet period
/// between 60 s and 90 s: it is not listed as untested beside the verdict.
#[test]
fn alb_keepalive_race() {
    let args = args(&["--lab", "alb-keepalive-race"]);
    let (code, report) = diagnose(&args);
    assert_eq!(report.verdict, Cause::KeepaliveRace, "{}", explain(&report));
    assert_eq!(code, 1);
    assert!(
        report.untested.iter().all(|u| u.cause != Cause::KeepaliveRace),
        "a cause found is not untested: {:?}",
        report.untested
    );
}

/// Issue 18: the ALB's idle timeout racing the gateway's reuse.
#[test]
fn alb_idle_timeout() {
    expect(
        Cause::KeepaliveRace,
        args(&[
            "--lab",
            "alb-idle-timeout",
            "--speed",
            "20",
            "--idle-sweep",
            "30s,61s,63s,80s,120s",
        ]),
    );
}

/// Issue 18: a target slower than the ALB's idle timeout meets the ALB's
/// own 504 page at that timeout (here set to 20 s), not API Gateway's
/// integration timeout (29 s): the finding says it was the ALB's. The
/// gateway waits on its connection (`stall_retry=0s`) as API Gateway does
/// for an answer that is merely slow.
#[test]
fn alb_504_at_its_idle_timeout() {
    let a = args(&[
        "--lab",
        "slow-backend",
        "--speed",
        "20",
        "--set",
        "path=alb",
        "--set",
        "alb.idle_timeout=20s",
        "--set",
        "backend.delay=40s",
        "--set",
        "gateway.stall_retry=0s",
    ]);
    let (code, report) = diagnose(&a);
    assert_eq!(
        report.verdict,
        Cause::IntegrationTimeout,
        "{a:?}\n  {}",
        explain(&report)
    );
    assert_eq!(code, 1);
    let f = &report.findings[0];
    assert!(
        f.title.contains("the ALB's idle timeout") && f.title.contains("20 s"),
        "{}",
        f.title
    );
    assert!(!f.title.contains("29 s"), "{}", f.title);
}

/// Issue 18: a streamed response is no finding of its own.
#[test]
fn streaming_is_healthy() {
    // As docs/lab.md says: the scenario as it is (35 s of chunks in
    // 350 ms, the lab profile's sweep past the idle timers) is healthy.
    expect(Cause::Healthy, args(&["--lab", "streaming"]));
}

/// Issue 18: a target deregistered, then dead, serving pooled connections.
#[test]
fn draining() {
    expect(Cause::BadPath, args(&["--lab", "draining"]));
}

/// Issue 18: the ALB path with nothing wrong, and a client keep-alive short
/// enough that the ALB closes gateway connections during the run: its
/// graceful reconnect is never a finding.
#[test]
fn healthy_on_an_alb_path_is_healthy() {
    expect(
        Cause::Healthy,
        args(&[
            "--lab",
            "healthy",
            "--speed",
            "20",
            "--set",
            "path=alb",
            "--set",
            "alb.client_keep_alive=60s",
            "--idle-sweep",
            "65s,360s",
        ]),
    );
}

/// The scenarios drawn with random parameters: name, the verdict a draw
/// must get, and its seed offset (the cause's number for the scenarios
/// named after a cause, so their draws are those of before).
const DRAWN: [(&str, Cause, u64); 12] = [
    ("healthy", Cause::Inconclusive, Cause::Healthy as u64),
    ("bad-path", Cause::BadPath, Cause::BadPath as u64),
    ("slow-backend", Cause::SlowBackend, Cause::SlowBackend as u64),
    ("edge", Cause::Edge, Cause::Edge as u64),
    ("slow-tls", Cause::SlowTls, Cause::SlowTls as u64),
    ("idle-timeout", Cause::IdleTimeout, Cause::IdleTimeout as u64),
    (
        "keepalive-race",
        Cause::KeepaliveRace,
        Cause::KeepaliveRace as u64,
    ),
    ("errors", Cause::Errors, Cause::Errors as u64),
    ("alb-keepalive-race", Cause::KeepaliveRace, 101),
    ("alb-idle-timeout", Cause::KeepaliveRace, 102),
    ("draining", Cause::BadPath, 103),
    ("streaming", Cause::Healthy, 104),
];

/// The default plan's burst on new connections, in requests a second of
/// real time: its probes to each of the lab's two URLs over 4 s
/// (`FRESH_SPREAD` in `commands/diagnose/plan.rs`), every one reaching the
/// load balancer.
const PLAN_BURST_PER_S: f64 = 2.0 * DEFAULT_PROBES as f64 / 4.0;

/// A random set-up of one scenario: the lab arguments.
pub fn draw(scenario: &str, rng: &mut StdRng) -> Vec<String> {
    let s = |v: f64| format!("{}ms", v.round() as u64);
    let mut a: Vec<String> = Vec::new();
    let mut set = |kv: String| {
        a.push("--set".into());
        a.push(kv);
    };
    // A base latency anywhere from a fast app to a sluggish one.
    let base = rng.random_range(1.0..150.0);
    let jitter = base * rng.random_range(0.0..0.5);
    let plan: Vec<String>;
    let speed = match scenario {
        "healthy" => {
            set(format!("backend.targets={}", rng.random_range(1..=5)));
            plan = vec![];
            1.0
        }
        "bad-path" => {
            let n = rng.random_range(2..=5);
            let delay = rng.random_range(500.0..10_000.0);
            set(format!("backend.targets={n}"));
            set(format!(
                "nlb.faults=[{{ target = {}, kind = \"slow-connect\", delay = \"{}\" }}]",
                rng.random_range(0..n),
                s(delay)
            ));
            plan = vec![];
            10.0
        }
        "slow-backend" => {
            set(format!("backend.delay={}", s(rng.random_range(600.0..5_000.0))));
            plan = args(&["--probes", "8"]);
            5.0
        }
        "edge" => {
            set(format!("edge.delay={}", s(rng.random_range(40.0..300.0))));
            plan = vec![];
            1.0
        }
        "slow-tls" => {
            set(format!(
                "gateway.tls_delay={}",
                s(rng.random_range(500.0..3_000.0))
            ));
            plan = args(&["--probes", "10"]);
            1.0
        }
        "idle-timeout" => {
            // 0.5 s to 350 s, compressed so that the timer lasts 2 s.
            let timer: f64 = 500.0 * 700f64.powf(rng.random::<f64>());
            let speed = (timer / 2_000.0).max(1.0);
            let stall: f64 = rng.random_range(500.0..10_000.0);
            // A stall compressed below 40 ms is lost in loopback noise:
            // such draws meet a reset instead.
            let blackhole = stall / speed >= 40.0 && rng.random_bool(0.5);
            set(format!("nlb.idle_timeout={}", s(timer)));
            set(format!(
                "nlb.idle_behaviour={}",
                if blackhole { "blackhole" } else { "reset" }
            ));
            set(format!("gateway.stall_retry={}", s(stall)));
            let sweep: Vec<String> = [0.3, 0.6, 0.85, 1.3, 2.0].iter().map(|f| s(f * timer)).collect();
            plan = vec!["--idle-sweep".into(), sweep.join(",")];
            speed
        }
        "keepalive-race" => {
            let keepalive: f64 = rng.random_range(5_000.0..120_000.0);
            let window = keepalive * 0.25;
            let speed = keepalive / 1_500.0;
            set(format!("backend.keepalive_timeout={}", s(keepalive)));
            set(format!("backend.close_race={}", s(window)));
            let sweep: Vec<String> = [
                keepalive * 0.5,
                keepalive * 0.8,
                keepalive + window * 0.3,
                keepalive + window * 0.7,
                keepalive + window * 3.0,
                keepalive * 3.0,
            ]
            .iter()
            .map(|g| s(*g))
            .collect();
            plan = vec!["--idle-sweep".into(), sweep.join(",")];
            speed
        }
        "errors" => {
            set(format!("backend.error_rate={:.2}", rng.random_range(0.1..0.5)));
            plan = vec![];
            1.0
        }
        "alb-keepalive-race" => {
            // A target keep-alive of 2 to 15 s under an ALB idle timeout of
            // 30 to 120 s, and a race of a third to a half of the keep-alive,
            // compressed so that the keep-alive lasts 300 ms.
            let keepalive: f64 = rng.random_range(2_000.0..15_000.0);
            let race = keepalive * rng.random_range(0.3..0.5);
            let idle: f64 = rng
                .random_range(30_000.0f64..120_000.0)
                .max(keepalive + race + 1_000.0);
            let speed = keepalive / 300.0;
            // A request meets the race when the one before it on its target
            // came k to k + r earlier: with requests at random at λ a second
            // per target, e^(-λk) - e^(-λ(k + r)) of them, the most at
            // λ = ln((k + r) / k) / r. Each target's requests, the probes'
            // included, come at 0.8 to 1.25 times that rate: other clients
            // send what the probes' burst on new connections leaves, and
            // never less than it (the probe is one client among others, as
            // on a real ALB). With one or two targets the burst alone keeps
            // each connection warmer than the race (the misses in
            // docs/accuracy.md): 4 to 8 targets. Rates in scenario time.
            let targets: u32 = rng.random_range(4..=8);
            let best = ((keepalive + race) / keepalive).ln() / (race / 1_000.0);
            let probes = PLAN_BURST_PER_S / speed;
            let other = (best * targets as f64 * rng.random_range(0.8..1.25) - probes).max(probes);
            set(format!("backend.targets={targets}"));
            set(format!("backend.keepalive_timeout={}", s(keepalive)));
            set(format!("backend.close_race={}", s(race)));
            set(format!("alb.idle_timeout={}", s(idle)));
            set(format!("alb.other_traffic={other:.3}"));
            plan = vec![];
            speed
        }
        "alb-idle-timeout" => {
            let idle: f64 = rng.random_range(20_000.0..180_000.0);
            let window = idle * rng.random_range(0.1..0.25);
            set(format!("alb.idle_timeout={}", s(idle)));
            set(format!("alb.close_race={}", s(window)));
            let sweep: Vec<String> = [
                idle * 0.5,
                idle * 0.8,
                idle + window * 0.3,
                idle + window * 0.7,
                idle + window * 3.0,
                idle * 3.0,
            ]
            .iter()
            .map(|g| s(*g))
            .collect();
            plan = vec!["--idle-sweep".into(), sweep.join(",")];
            idle / 1_500.0
        }
        "draining" => {
            // A window the plan's burst on new connections (40 s of
            // scenario time at speed 10) has probes before, inside and
            // after; the target drained is the one in use (a real
            // gateway fleet holds connections to every target), slow
            // while it drains but faster than the probes come.
            let n = rng.random_range(2..=5);
            let at: f64 = rng.random_range(8_000.0..16_000.0);
            let dies: f64 = rng.random_range(8_000.0..16_000.0);
            let slow: f64 = rng.random_range(300.0..700.0);
            set(format!("backend.targets={n}"));
            set(format!(
                "nlb.drain={{ target = \"in-use\", at = \"{}\", dies_after = \"{}\", termination = {}, slow = \"{}\" }}",
                s(at),
                s(dies),
                rng.random_bool(0.5),
                s(slow)
            ));
            plan = vec![];
            10.0
        }
        "streaming" => {
            let duration: f64 = rng.random_range(10_000.0..120_000.0);
            set(format!("backend.stream_chunks={}", rng.random_range(2..=20)));
            set(format!("backend.stream_duration={}", s(duration)));
            plan = args(&["--idle-sweep", "65s,360s"]);
            (duration / 400.0).max(1.0)
        }
        other => panic!("no random draw for {other}"),
    };
    if scenario != "slow-backend" {
        set(format!("backend.delay={}", s(base)));
    }
    set(format!("backend.jitter={}", s(jitter)));
    let mut out = args(&["--lab", scenario, "--speed", &format!("{speed:.3}")]);
    out.extend(a);
    out.extend(plan);
    out
}

fn seed() -> u64 {
    std::env::var("COLDLINK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// The row of [`DRAWN`] for `scenario`: the verdict its draws must get (a
/// healthy draw runs at speed 1: the lab's default plan has no time for the
/// idle timers, and says so) and its seed offset.
fn drawn(scenario: &str) -> (Cause, u64) {
    let (_, verdict, offset) = DRAWN
        .iter()
        .find(|(n, _, _)| *n == scenario)
        .unwrap_or_else(|| panic!("no random draw for {scenario}"));
    (*verdict, *offset)
}

fn random(scenario: &str) {
    let seed = seed();
    let (verdict, offset) = drawn(scenario);
    let mut rng = StdRng::seed_from_u64(seed * 1000 + offset);
    let a = draw(scenario, &mut rng);
    let (_, report) = diagnose(&a);
    assert_eq!(
        report.verdict,
        verdict,
        "seed {seed}: {a:?}\n  {}",
        explain(&report)
    );
}

#[test]
fn random_bad_path() {
    random("bad-path");
}

#[test]
fn random_idle_timeout() {
    random("idle-timeout");
}

#[test]
fn random_slow_backend() {
    random("slow-backend");
}

#[test]
fn random_keepalive_race() {
    random("keepalive-race");
}

#[test]
fn random_healthy() {
    random("healthy");
}

#[test]
fn random_alb_keepalive_race() {
    random("alb-keepalive-race");
}

#[test]
fn random_alb_idle_timeout() {
    random("alb-idle-timeout");
}

#[test]
fn random_draining() {
    random("draining");
}

#[test]
fn random_streaming() {
    random("streaming");
}

/// The confusion table over many draws (slow: run by scripts/accuracy.sh).
#[test]
#[ignore]
fn accuracy_table() {
    let runs: u64 = std::env::var("COLDLINK_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    // COLDLINK_CAUSE=bad-path narrows the table to one scenario (its name,
    // or a cause id: every scenario of that cause).
    let only = std::env::var("COLDLINK_CAUSE").ok();
    println!("| scenario (random parameters) | runs | right | named instead |");
    println!("|---|---:|---:|---|");
    for (scenario, verdict, offset) in DRAWN {
        let cause = Scenario::load(scenario, &[]).expect("a lab scenario").cause;
        if only.as_ref().is_some_and(|o| *o != scenario && *o != cause) {
            continue;
        }
        let mut right = 0;
        let mut instead: std::collections::BTreeMap<String, u32> = Default::default();
        for run in 0..runs {
            let mut rng = StdRng::seed_from_u64(run * 1000 + offset + 77);
            let a = draw(scenario, &mut rng);
            let (_, report) = diagnose(&a);
            if report.verdict == verdict {
                right += 1;
            } else {
                eprintln!("miss {scenario}: {a:?}\n  {}", explain(&report));
                *instead.entry(report.verdict.to_string()).or_default() += 1;
            }
        }
        let instead: Vec<String> = instead.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        println!("| {scenario} | {runs} | {right} | {} |", instead.join(", "));
    }
}

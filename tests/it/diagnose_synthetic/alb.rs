//! Issue 18: the ALB path's own signatures and the changes since 2023, as
//! random set-ups of the same simulator: the ALB's 502 pages at a fraction
//! whatever the gap, its idle timeout racing the gateway's reuse, its 504
//! at its idle timeout, streamed answers, a draining target, and the ALB's
//! hourly client reconnect (never a finding).

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{expected, random_path, run_plan, verdict_on, Fault, Path, Sim};
use coldlink::diagnose::{Cause, PathKind};

/// The set-ups of this file, each with the cause it must be named.
#[derive(Debug, Clone, Copy)]
enum Setup {
    AlbPages,
    AlbIdleRace,
    Alb504,
    Streamed,
    Draining,
}

const ALL: [Setup; 5] = [
    Setup::AlbPages,
    Setup::AlbIdleRace,
    Setup::Alb504,
    Setup::Streamed,
    Setup::Draining,
];

impl Setup {
    fn row(self) -> &'static str {
        match self {
            Setup::AlbPages => "keepalive-race (ALB 502 pages, any gap)",
            Setup::AlbIdleRace => "keepalive-race (ALB idle timeout, gateway → ALB)",
            Setup::Alb504 => "integration-timeout (ALB 504)",
            Setup::Streamed => "healthy (streamed answers)",
            Setup::Draining => "bad-path (draining window)",
        }
    }

    fn cause(self) -> Cause {
        match self {
            Setup::AlbPages | Setup::AlbIdleRace => Cause::KeepaliveRace,
            Setup::Alb504 => Cause::IntegrationTimeout,
            Setup::Streamed => Cause::Healthy,
            Setup::Draining => Cause::BadPath,
        }
    }

    /// The fault, the idle sweep and the path's kind.
    fn draw(self, rng: &mut StdRng) -> (Fault, Vec<f64>, PathKind) {
        match self {
            Setup::AlbPages => {
                let sweep = if rng.random_bool(0.5) {
                    vec![2.0, 10.0, 30.0]
                } else {
                    vec![]
                };
                let fraction = rng.random_range(0.08..0.4);
                (Fault::AlbPages { fraction }, sweep, PathKind::Alb)
            }
            Setup::AlbIdleRace => {
                // The ALB's idle timeout (60 s by default; the lab's
                // scenarios set others) as the gateway's connection closes.
                let timer = if rng.random_bool(0.5) {
                    60.0
                } else {
                    rng.random_range(20.0..120.0)
                };
                let window = timer * rng.random_range(0.1..0.3);
                let sweep = vec![
                    timer * 0.5,
                    timer * 0.8,
                    timer + window * 0.3,
                    timer + window * 0.7,
                    timer + window * 3.0,
                    timer * 3.0,
                ];
                (Fault::Race { timer, window }, sweep, PathKind::Alb)
            }
            Setup::Alb504 => {
                let limit = if rng.random_bool(0.5) {
                    60_000.0
                } else {
                    rng.random_range(5_000.0..120_000.0)
                };
                let fraction = rng.random_range(0.1..1.0);
                (Fault::Alb504 { fraction, limit }, vec![], PathKind::Alb)
            }
            Setup::Streamed => {
                let body = rng.random_range(1_000.0..60_000.0);
                // Constant lengths, or lengths the app chooses per request.
                let vary = if rng.random_bool(0.5) {
                    0.0
                } else {
                    rng.random_range(0.3..0.95)
                };
                // Every request streams, or most (a target streams when
                // 80 % of its answers do: fewer could as well be a
                // buffered API with stalls in its bodies).
                let share = if rng.random_bool(0.5) {
                    1.0
                } else {
                    rng.random_range(0.85..1.0)
                };
                let sweep = if rng.random_bool(0.5) {
                    vec![30.0, 65.0, 80.0, 120.0, 360.0]
                } else {
                    vec![]
                };
                let kind = [PathKind::Alb, PathKind::Nlb, PathKind::Unknown][rng.random_range(0..3)];
                (Fault::Streamed { body, vary, share }, sweep, kind)
            }
            Setup::Draining => {
                // Inside the plan's second burst (probes 41–80, pooled).
                let from = rng.random_range(44..60);
                let fault = Fault::Drain {
                    from,
                    to: from + rng.random_range(8..18),
                    stall: rng.random_range(500.0..10_000.0),
                    fail: rng.random_bool(0.3),
                };
                let kind = [PathKind::Alb, PathKind::Nlb, PathKind::Unknown][rng.random_range(0..3)];
                (fault, vec![], kind)
            }
        }
    }
}

/// Right verdicts of `trials` draws, and what was named instead.
fn score(setup: Setup, trials: u64, seed_base: u64) -> (u64, BTreeMap<String, u64>, Vec<String>) {
    let mut right = 0;
    let mut instead: BTreeMap<String, u64> = BTreeMap::new();
    let mut wrong = Vec::new();
    for seed in seed_base..seed_base + trials {
        let mut rng = StdRng::seed_from_u64(seed * 104_729 + setup as u64 + 101);
        let (fault, sweep, kind) = setup.draw(&mut rng);
        let path = random_path(&mut rng, fault);
        let (got, titles) = verdict_on(&run_plan(path.clone(), seed, &sweep), kind);
        if got == expected(setup.cause(), &sweep) {
            right += 1;
        } else {
            *instead.entry(got.to_string()).or_default() += 1;
            wrong.push(format!("seed {seed} {kind:?}: {path:?}\n  → {got}\n  {titles}"));
        }
    }
    (right, instead, wrong)
}

/// The rows of `accuracy_table` for these set-ups.
pub(super) fn table_rows(trials: u64) {
    for setup in ALL {
        let (right, instead, _) = score(setup, trials, 0);
        let instead: Vec<String> = instead.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        println!(
            "| {} | {trials} | {:.1} % | {} |",
            setup.row(),
            right as f64 / trials as f64 * 100.0,
            instead.join(", ")
        );
    }
}

fn check(setup: Setup, trials: u64, accuracy: f64) {
    let base: u64 = std::env::var("COLDLINK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (right, _, wrong) = score(setup, trials, base * trials);
    assert!(
        right as f64 / trials as f64 >= accuracy,
        "{}: {}/{trials} wrong:\n{}",
        setup.row(),
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn alb_502_pages_at_any_gap_are_a_target_keep_alive_race() {
    check(Setup::AlbPages, 150, 0.95);
}

#[test]
fn the_alb_idle_timeout_racing_the_gateway_is_a_keep_alive_race() {
    check(Setup::AlbIdleRace, 150, 0.85);
}

#[test]
fn alb_504_at_its_idle_timeout_is_an_integration_timeout() {
    check(Setup::Alb504, 150, 0.95);
}

#[test]
fn streamed_answers_of_any_length_raise_no_finding() {
    check(Setup::Streamed, 150, 0.97);
}

#[test]
fn a_draining_window_is_a_bad_path() {
    check(Setup::Draining, 150, 0.9);
}

/// The words: the ALB's own 502s say so and give the target keep-alive
/// fix; a race at the ALB's idle timeout names the gateway → ALB leg; an
/// ALB 504 is the ALB's timeout, not API Gateway's; a draining window
/// says when.
#[test]
fn alb_findings_name_the_alb_its_timer_and_its_setting() {
    let mut rng = StdRng::seed_from_u64(3);
    let path = random_path(&mut rng, Fault::AlbPages { fraction: 0.3 });
    let (got, titles) = verdict_on(&run_plan(path, 3, &[]), PathKind::Alb);
    assert_eq!(got, Cause::KeepaliveRace, "{titles}");
    assert!(titles.contains("The ALB answered 502 itself"), "{titles}");

    let path = random_path(
        &mut rng,
        Fault::Race {
            timer: 60.0,
            window: 10.0,
        },
    );
    let sweep = [30.0, 48.0, 62.0, 66.0, 90.0, 180.0];
    let (got, titles) = verdict_on(&run_plan(path, 4, &sweep), PathKind::Alb);
    assert_eq!(got, Cause::KeepaliveRace, "{titles}");
    assert!(
        titles.contains("the ALB closes the gateway's idle connection"),
        "{titles}"
    );

    let path = random_path(
        &mut rng,
        Fault::Alb504 {
            fraction: 0.5,
            limit: 60_000.0,
        },
    );
    let (got, titles) = verdict_on(&run_plan(path, 5, &[]), PathKind::Alb);
    assert_eq!(got, Cause::IntegrationTimeout, "{titles}");
    assert!(
        titles.contains("the ALB's idle timeout (60 s by default)"),
        "{titles}"
    );
    assert!(!titles.contains("REST API"), "{titles}");

    let path = random_path(
        &mut rng,
        Fault::Drain {
            from: 50,
            to: 62,
            stall: 3_000.0,
            fail: false,
        },
    );
    let (got, titles) = verdict_on(&run_plan(path, 6, &[]), PathKind::Nlb);
    assert_eq!(got, Cause::BadPath, "{titles}");
    assert!(titles.contains("confined to"), "{titles}");
}

/// A configured integration timeout (not 29 s, not the ALB's) is named
/// as what it is: "a configured integration timeout of X".
#[test]
fn a_configured_timeout_is_named_by_its_value() {
    let mut rng = StdRng::seed_from_u64(9);
    let path = random_path(
        &mut rng,
        Fault::IntegrationTimeout {
            fraction: 0.5,
            limit: 12_000.0,
        },
    );
    let (got, titles) = verdict_on(&run_plan(path, 9, &[]), PathKind::Unknown);
    assert_eq!(got, Cause::IntegrationTimeout, "{titles}");
    assert!(
        titles.contains("a configured integration timeout of 12"),
        "{titles}"
    );
}

/// The ALB's client keep-alive (`client_keep_alive.seconds`, 3600 s by
/// default) closes the client's connection once an hour: a reconnect,
/// sometimes a failed request on the closing connection. Three simulated
/// hours of a healthy path probed every 20 s, with one such failure and
/// reconnect an hour, raise no finding.
#[test]
fn the_alb_s_hourly_client_reconnect_is_no_finding() {
    use coldlink::probe::{ErrorKind, Phase, ProbeError};
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(seed);
        let path = Path {
            fault: Fault::None,
            ..random_path(&mut rng, Fault::None)
        };
        let mut sim = Sim::new(path, seed);
        let mut next_close = rng.random_range(600.0..3_000.0);
        let mut fresh = true;
        while sim.now < 3.0 * 3_600.0 {
            sim.probe(0, fresh, (!fresh).then_some(20_000.0));
            fresh = false;
            if sim.now >= next_close {
                // The request met the ALB's close: failed, and the next
                // one opens a new connection.
                let r = sim.records.last_mut().unwrap();
                r.status = None;
                r.error = Some(ProbeError {
                    kind: ErrorKind::Reset,
                    phase: Phase::Ttfb,
                    message: "connection reset".into(),
                });
                next_close += 3_600.0;
                fresh = true;
            }
            sim.quiet(20.0);
        }
        let (got, titles) = verdict_on(&sim.records, PathKind::Alb);
        assert!(
            matches!(got, Cause::Healthy | Cause::Inconclusive),
            "seed {seed}: {got}\n  {titles}"
        );
    }
}

/// One body stall in a buffered API's large answer is slow: a body-
/// dominated probe is judged before its body only when its target streams
/// (most of its answers are body-dominated).
#[test]
fn one_body_stall_is_slow_on_a_buffered_target_and_not_on_a_streaming_one() {
    use coldlink::diagnose::Dataset;
    use coldlink::probe::TargetKind;
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    for (fault, streaming) in [
        (Fault::None, false),
        (
            Fault::Streamed {
                body: 2_000.0,
                vary: 0.0,
                share: 1.0,
            },
            true,
        ),
    ] {
        let mut rng = StdRng::seed_from_u64(7);
        let mut records = run_plan(random_path(&mut rng, fault), 7, &[]);
        // One probe's body stalls for 4 s.
        let i = records.len() / 2;
        let r = &mut records[i];
        let body = r.phases_ms.body.unwrap_or(0.0);
        r.phases_ms.body = Some(body + 4_000.0);
        r.total_ms += 4_000.0;
        let ds = Dataset::from_records(&records, &kinds, 1.0);
        let target = ds
            .targets
            .iter()
            .position(|t| *t.name == *records[i].target)
            .unwrap();
        assert_eq!(ds.target_streams(target as u16), streaming);
        // The stalled probe is its target's longest (4 s above the rest).
        let stalled = ds
            .of_target(target as u16)
            .map(|(_, s)| s)
            .max_by(|a, b| a.total_ms.total_cmp(&b.total_ms))
            .expect("the stalled probe");
        assert!(stalled.total_ms >= 4_000.0, "{stalled:?}");
        assert_eq!(ds.is_slow(stalled), !streaming, "streaming {streaming}");
        let (report, _) = coldlink::diagnose::report::diagnose(&ds, &Default::default());
        let noted = report.notes.iter().any(|n| n.contains("streams its responses"));
        assert_eq!(noted, streaming, "{:?}", report.notes);
    }
}

/// A streamed response cut by its idle timeout (5 min on a regional or
/// private API, 30 s at the edge) fails in the body after that long: the
/// `errors` finding names the timer.
#[test]
fn a_stream_cut_by_its_idle_timeout_is_named() {
    use coldlink::diagnose::report::{diagnose, Context};
    use coldlink::diagnose::Dataset;
    use coldlink::probe::{ErrorKind, Phase, ProbeError, TargetKind};
    for (cut_ms, timer) in [(301_000.0, "5 min"), (31_000.0, "30 s")] {
        let mut rng = StdRng::seed_from_u64(11);
        let fault = Fault::Streamed {
            body: 2_000.0,
            vary: 0.5,
            share: 1.0,
        };
        let mut records = run_plan(random_path(&mut rng, fault), 11, &[]);
        for r in records.iter_mut().skip(50).step_by(10).take(3) {
            let body = r.phases_ms.body.unwrap();
            r.phases_ms.body = Some(cut_ms);
            r.total_ms += cut_ms - body;
            r.error = Some(ProbeError {
                kind: ErrorKind::Io,
                phase: Phase::Body,
                message: "stream closed".into(),
            });
        }
        let kinds = [
            ("execute-api".to_string(), TargetKind::ExecuteApi),
            ("custom-domain".to_string(), TargetKind::CustomDomain),
        ];
        let ds = Dataset::from_records(&records, &kinds, 1.0);
        let (report, _) = diagnose(&ds, &Context::default());
        let errors = report
            .findings
            .iter()
            .find(|f| f.cause == Cause::Errors)
            .unwrap_or_else(|| panic!("no errors finding: {:#?}", report.findings));
        assert!(
            errors
                .evidence
                .iter()
                .any(|e| e.contains("responseTransferMode: STREAM") && e.contains(timer)),
            "{:#?}",
            errors.evidence
        );
    }
}

/// `edge` without `--aws-config` says what it assumes (both URLs reach the
/// same API and stage), and does not compare URLs whose answers show they
/// reach different things (404 on the custom domain, 200 on execute-api).
#[test]
fn edge_says_what_it_assumes_and_skips_different_answers() {
    use coldlink::diagnose::report::{diagnose, Context};
    use coldlink::diagnose::Dataset;
    use coldlink::probe::TargetKind;
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    let mut rng = StdRng::seed_from_u64(13);
    let path = random_path(&mut rng, Fault::Edge { extra: 300.0 });
    let mut records = run_plan(path, 13, &[]);
    let ds = Dataset::from_records(&records, &kinds, 1.0);
    let (report, _) = diagnose(&ds, &Context::default());
    let edge = report
        .findings
        .iter()
        .find(|f| f.cause == Cause::Edge)
        .expect("an edge finding");
    assert!(
        edge.evidence.iter().any(|e| e.contains("routing rules")),
        "{:#?}",
        edge.evidence
    );
    for r in records.iter_mut().filter(|r| &*r.target == "custom-domain") {
        r.status = Some(404);
    }
    let ds = Dataset::from_records(&records, &kinds, 1.0);
    let (report, _) = diagnose(&ds, &Context::default());
    assert!(
        !report.findings.iter().any(|f| f.cause == Cause::Edge),
        "{:#?}",
        report.findings
    );
}

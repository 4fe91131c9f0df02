//! Issue 19, §3: connection idle time, not only API quiet time. The
//! simulator's healthy records, with the failures a pool of stale
//! connections gives laid over them by a model of that pool:
//!
//! - nginx as the gateway (`gateway_pool`): its upstream pool hands out
//!   the most recently used connection first (LIFO: `ngx_queue_insert_head`
//!   on free, the search from the head on get), a request on a flow the
//!   "NLB" (conntrack) has forgotten fails with a reset, the failed
//!   connection is closed and nothing goes back to the pool; nginx's own
//!   upstream `keepalive_timeout` closes connections idle longer than it,
//!   so the next request opens a fresh one and succeeds;
//! - a direct backend behind a conntrack on the client's side
//!   (`client_pool`): the probe's own pool is LIFO too, a failed
//!   connection is dropped, and the next probe takes the next pooled
//!   connection, idle since the burst (its `conn.idle_ms` says so), or
//!   opens a new one when none is left.
//!
//! The two misreadings seen on a real kernel with real nginx, each as the
//! records it gave: a success after failures read as the far edge of a
//! keep-alive race window, and a short gap right after a failing long one
//! failing too.

use std::time::UNIX_EPOCH;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{run_plan, Fault, Path};
use coldlink::diagnose::report::{diagnose, Context};
use coldlink::diagnose::{Cause, Dataset, Finding};
use coldlink::probe::{ErrorKind, Phase, ProbeError, ProbeRecord, TargetKind};

/// A quiet path: the failures come from the pool models only.
fn quiet_path() -> Path {
    Path {
        rtt: 5.0,
        app: 20.0,
        jitter: 0.05,
        spike_rate: 0.0,
        fault: Fault::None,
    }
}

fn start_s(r: &ProbeRecord) -> f64 {
    r.at.0.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn fail(r: &mut ProbeRecord) {
    r.status = Some(502);
    r.error = Some(ProbeError {
        kind: ErrorKind::Status,
        phase: Phase::Ttfb,
        message: "status 502".into(),
    });
}

/// nginx's upstream pool in front of a conntrack that forgets flows idle
/// longer than `stale_after_s`: `size` connections opened by the burst,
/// handed out most recently used first; `closes_after_s` is nginx's own
/// upstream `keepalive_timeout`, if it fires within the run.
fn gateway_pool(records: &mut [ProbeRecord], size: usize, stale_after_s: f64, closes_after_s: Option<f64>) {
    let t0 = start_s(&records[0]);
    // Last use of each pooled connection, most recently used last.
    let mut pool: Vec<f64> = vec![t0; size];
    for r in records.iter_mut() {
        let now = start_s(r);
        if let Some(limit) = closes_after_s {
            pool.retain(|&last| now - last <= limit);
        }
        let end = now + r.total_ms / 1000.0;
        match pool.pop() {
            Some(last) if now - last > stale_after_s => fail(r),
            // A live pooled connection, or a fresh one: back on top.
            _ => pool.push(end),
        }
    }
}

/// A direct backend behind a conntrack on the client's side that forgets
/// flows idle longer than `stale_after_s`. Each target's sweep probes
/// (after the bursts) take the most recently used of `size` pooled
/// connections, last used at the end of the burst; a failed one is
/// dropped, and with none left the probe opens a new connection.
fn client_pool(records: &mut [ProbeRecord], size: usize, stale_after_s: f64) {
    // The sweep's probes are the reused ones after a quiet gap of ≥ 1 s.
    let burst_end = records
        .iter()
        .filter(|r| {
            r.conn
                .as_ref()
                .is_some_and(|c| c.idle_ms.is_some_and(|ms| ms < 1.0))
        })
        .map(|r| start_s(r) + r.total_ms / 1000.0)
        .fold(0.0, f64::max);
    let mut pools: Vec<Vec<(u64, f64)>> = vec![Vec::new(), Vec::new()];
    for (t, pool) in pools.iter_mut().enumerate() {
        *pool = (0..size as u64)
            .map(|k| (9_000 + 100 * t as u64 + k, burst_end))
            .collect();
    }
    let mut next_id = 50_000;
    for r in records.iter_mut().filter(|r| start_s(r) > burst_end) {
        let now = start_s(r);
        let end = now + r.total_ms / 1000.0;
        let pool = &mut pools[usize::from(&*r.target == "custom-domain")];
        let conn = r.conn.as_mut().unwrap();
        match pool.pop() {
            Some((id, last)) => {
                conn.id = id;
                conn.idle_ms = Some((now - last) * 1000.0);
                if now - last > stale_after_s {
                    fail(r);
                } else {
                    pool.push((id, end));
                }
            }
            None => {
                next_id += 1;
                conn.id = next_id;
                conn.reused = false;
                conn.idle_ms = None;
                r.phases_ms.dns = Some(1.0);
                r.phases_ms.connect = Some(5.0);
                r.phases_ms.tls = Some(7.0);
                r.total_ms += 13.0;
                pool.push((next_id, end));
            }
        }
    }
}

/// The report's findings and verdict for these records.
fn diagnosed(records: &[ProbeRecord]) -> (Cause, Vec<Finding>) {
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    let ds = Dataset::from_records(records, &kinds, 1.0);
    let (report, _) = diagnose(&ds, &Context::default());
    (report.verdict, report.findings)
}

fn finding(findings: &[Finding], cause: Cause) -> &Finding {
    findings
        .iter()
        .find(|f| f.cause == cause)
        .unwrap_or_else(|| panic!("no {cause} finding: {findings:#?}"))
}

fn said(f: &Finding, words: &str) -> bool {
    f.evidence.iter().any(|e| e.contains(words))
}

/// How many of the first requests after quiet gaps of `gap_s` failed, to
/// check the model did what the test is about.
fn failed_after(records: &[ProbeRecord], gap_s: f64) -> usize {
    let mut latest_end = f64::NAN;
    let mut session_gap = f64::NAN;
    let mut n = 0;
    for r in records {
        let start = start_s(r);
        if start - latest_end >= 0.02 {
            session_gap = start - latest_end;
        }
        if (session_gap - gap_s).abs() < 0.01 && r.status == Some(502) {
            n += 1;
        }
        latest_end = latest_end.max(start + r.total_ms / 1000.0);
    }
    n
}

/// §3a: the conntrack forgets flows after 50 s; nginx's pool closes its
/// own idle connections after 100 s (60 s by default: any value inside
/// the sweep gives this shape). After 65 s and 80 s the first request
/// meets a forgotten flow; after 120 s the pool had closed it and opens a
/// fresh one. One success after the failures is not the far edge of a
/// keep-alive race window: the step goes on, and the evidence says what
/// the pool's own timer did.
#[test]
fn one_success_after_failures_is_the_pools_own_timer_not_a_window() {
    let mut records = run_plan(quiet_path(), 3, &[10.0, 30.0, 65.0, 80.0, 120.0]);
    gateway_pool(&mut records, 8, 50.0, Some(100.0));
    assert!(failed_after(&records, 65.0) >= 1 && failed_after(&records, 80.0) >= 1);
    assert_eq!(failed_after(&records, 120.0), 0, "the pool opened a fresh one");
    let (verdict, findings) = diagnosed(&records);
    assert_eq!(verdict, Cause::IdleTimeout, "{findings:#?}");
    assert!(
        findings.iter().all(|f| f.cause != Cause::KeepaliveRace),
        "{findings:#?}"
    );
    let f = finding(&findings, Cause::IdleTimeout);
    assert!(f.title.contains("between 30 s and 65 s"), "{}", f.title);
    assert!(
        said(f, "one success at 120 s after failures from 65 s: a pool that closes idle connections itself (nginx upstream `keepalive_timeout`, 60 s by default) opens a fresh one; this does not end the step"),
        "{:#?}",
        f.evidence
    );
    // The quiet time explains it as well as any clock: no other is named.
    assert!(!said(f, "failures follow"), "{:#?}", f.evidence);
}

/// §3a, the other side: two successes beyond the failures are a window,
/// and a keep-alive race stays one.
#[test]
fn two_successes_beyond_the_failures_are_still_a_window() {
    let mut records = run_plan(quiet_path(), 4, &[10.0, 30.0, 65.0, 67.0, 120.0, 360.0]);
    // A race: only the first request after 60–70 s meets the close.
    let mut latest_end = f64::NAN;
    for r in &mut records {
        let start = start_s(r);
        let gap = start - latest_end;
        if (60.0..70.0).contains(&gap) {
            fail(r);
        }
        latest_end = latest_end.max(start + r.total_ms / 1000.0);
    }
    let (verdict, findings) = diagnosed(&records);
    assert_eq!(verdict, Cause::KeepaliveRace, "{findings:#?}");
}

/// §3b: nginx hands out its most recently used pooled connection first.
/// After 65 s the first requests meet forgotten flows and fail; nothing
/// goes back to the pool, so the request 5 s later meets another stale
/// connection and fails too. By the API's quiet time that is a failure
/// after 5 s, below the step; by the time since the API last answered it
/// is one after 70 s. The verdict stays idle-timeout, the step at 65 s,
/// and the evidence says which clock it follows.
#[test]
fn a_short_gap_after_a_failing_long_one_fails_on_the_pools_next_stale_connection() {
    let mut records = run_plan(quiet_path(), 5, &[10.0, 30.0, 65.0, 5.0, 80.0, 120.0]);
    gateway_pool(&mut records, 10, 50.0, None);
    assert_eq!(failed_after(&records, 5.0), 2, "the short gap failed too");
    let (verdict, findings) = diagnosed(&records);
    assert_eq!(verdict, Cause::IdleTimeout, "{findings:#?}");
    let f = finding(&findings, Cause::IdleTimeout);
    assert!(f.title.contains("between 30 s and 65 s"), "{}", f.title);
    assert!(
        said(f, "failures follow the time since the API last answered, not its quiet time: 2 of the 8 bad requests came right after a failure, only 5.0 s after the API's previous request, 70 s after the last success"),
        "{:#?}",
        f.evidence
    );
}

/// §3, the connection's own clock: a direct backend behind a conntrack on
/// the client's side. After 65 s each target's connection fails and is
/// dropped; the next probe, 5 s later, takes the next pooled connection,
/// idle since the burst, and fails too; with the pool empty a probe opens
/// a new connection and succeeds, which says nothing about a reused one.
#[test]
fn failures_that_follow_the_connections_own_idle_time_are_named_so() {
    let mut records = run_plan(quiet_path(), 6, &[10.0, 30.0, 65.0, 5.0, 80.0, 120.0, 360.0]);
    client_pool(&mut records, 3, 50.0);
    assert_eq!(failed_after(&records, 5.0), 2, "the short gap failed too");
    assert_eq!(failed_after(&records, 120.0), 0, "new connections after 120 s");
    let (verdict, findings) = diagnosed(&records);
    assert_eq!(verdict, Cause::IdleTimeout, "{findings:#?}");
    let f = finding(&findings, Cause::IdleTimeout);
    assert!(
        said(f, "failures follow the connection's own idle time (conn.idle_ms), not the API's quiet time: 2 of the"),
        "{:#?}",
        f.evidence
    );
    assert!(
        said(f, "5.0 s after the API's previous request, on a connection idle"),
        "{:#?}",
        f.evidence
    );
    assert!(
        f.evidence[0].contains("idle periods of the probe's own connection (conn.idle_ms)"),
        "{:#?}",
        f.evidence
    );
}

/// Fail the first requests after the quiet periods of ≥ 1 s that `fails`
/// picks: it is given each such period's number (from 0) and gap (s).
/// Both targets' requests in a period fail or not together when `fails`
/// says so once per period; it is asked once per request.
fn fail_after_gaps(records: &mut [ProbeRecord], mut fails: impl FnMut(usize, f64) -> bool) {
    let mut latest_end = f64::NAN;
    let mut period: Option<(usize, f64)> = None;
    let mut count = 0;
    for r in records.iter_mut() {
        let start = start_s(r);
        let gap = start - latest_end;
        if gap >= 0.02 {
            period = (gap >= 0.9).then(|| {
                count += 1;
                (count - 1, gap)
            });
        }
        latest_end = latest_end.max(start + r.total_ms / 1000.0);
        if let Some((k, gap)) = period {
            if fails(k, gap) {
                fail(r);
            }
        }
    }
}

/// The sweep of the reviewer's records: gaps from 1 to 30 s, shuffled.
const MIXED: [f64; 17] = [
    15.0, 25.0, 1.0, 5.0, 12.0, 20.0, 30.0, 2.0, 6.0, 10.0, 18.0, 28.0, 1.0, 4.0, 9.0, 16.0, 26.0,
];

/// No idle timer anywhere in the findings.
fn no_idle_timer(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.cause != Cause::IdleTimeout)
}

/// §3, the clock since the last success must not read an outage as an
/// idle timer: four requests in a row fail after gaps of 6, 10, 18 and
/// 28 s (the backend down for a minute). Since the last success they are
/// 6, 16, 34 and 62 s, a "step" that is only the outage's length; the run
/// began after 6 s, which the longer clean gaps put below any step.
#[test]
fn an_outage_of_consecutive_failures_is_no_idle_timer() {
    let mut records = run_plan(quiet_path(), 7, &MIXED);
    // The periods 0–2 are the plan's 1, 3 and 8 s; the sweep's 6, 10, 18
    // and 28 s are its 9th to 12th.
    fail_after_gaps(&mut records, |k, _| (11..=14).contains(&k));
    assert_eq!(failed_after(&records, 28.0), 2, "the model failed the outage");
    let (verdict, findings) = diagnosed(&records);
    assert!(no_idle_timer(&findings), "{verdict}: {findings:#?}");
    // Failures confined to a minute, clean before and after: a target
    // gone for a while (or plain errors), as it is.
    assert!(
        matches!(verdict, Cause::BadPath | Cause::Errors),
        "{verdict}: {findings:#?}"
    );
}

/// The same outage, begun after a long gap: 28 s fails, and so do 1 s,
/// 4 s and 9 s after it (29, 33 and 42 s since the last success; the
/// successes after it would be left out as the pool's fresh
/// connections). One run of failures is no step on that clock, wherever
/// it began.
#[test]
fn an_outage_begun_after_a_long_gap_is_no_idle_timer() {
    let mut records = run_plan(quiet_path(), 9, &MIXED);
    // The sweep's 28 s, 1 s, 4 s and 9 s are periods 14 to 17.
    fail_after_gaps(&mut records, |k, _| (14..=17).contains(&k));
    assert_eq!(failed_after(&records, 28.0), 2, "the model failed the outage");
    let (verdict, findings) = diagnosed(&records);
    assert!(no_idle_timer(&findings), "{verdict}: {findings:#?}");
}

/// An outage through the whole sweep: every request after every gap of
/// it fails, the short ones too. No gap was fine above a failing one, so
/// there is no step on any clock; since the last success the gaps only
/// grow.
#[test]
fn failures_after_every_gap_are_no_idle_timer() {
    let mut records = run_plan(quiet_path(), 8, &[1.0, 5.0, 2.0, 10.0, 1.0, 20.0, 3.0, 30.0]);
    fail_after_gaps(&mut records, |k, _| k >= 3);
    assert_eq!(failed_after(&records, 1.0), 4, "the model failed the sweep");
    let (verdict, findings) = diagnosed(&records);
    assert!(no_idle_timer(&findings), "{verdict}: {findings:#?}");
}

/// Errors independent of the gap: each request after a quiet period fails
/// with p = 0.15, over 20 seeds of the reviewer's sweep (twice over). A
/// run of two or three by chance must not make a step on the clock since
/// the last success.
///
/// Not asserted, printed (`--nocapture`): what the other clocks make of
/// chance clusters. On 2026-12-07: idle-timeout in 2 of 20 (seed 6 on
/// conn.idle_ms, whose periods are one per probe, so one bad quiet period
/// of two targets counts twice; seed 15 on the quiet time, 8/16 periods
/// ≥ 15 s against 1/22 below) and keepalive-race in 3 (seeds 0, 15, 18:
/// one or two bad gap levels between clean ones).
#[test]
fn random_failures_independent_of_the_gap_are_no_idle_timer_since_the_last_success() {
    let sweep: Vec<f64> = MIXED.iter().chain(&MIXED).copied().collect();
    let (mut timers, mut races) = (Vec::new(), Vec::new());
    for seed in 0..20 {
        let mut records = run_plan(quiet_path(), 100 + seed, &sweep);
        let mut rng = StdRng::seed_from_u64(seed);
        fail_after_gaps(&mut records, |_, _| rng.random::<f64>() < 0.15);
        let (verdict, findings) = diagnosed(&records);
        for f in &findings {
            assert!(
                !(f.cause == Cause::IdleTimeout && said(f, "periods since the API last answered")),
                "seed {seed}: {verdict}: {findings:#?}"
            );
            match f.cause {
                Cause::IdleTimeout => timers.push(seed),
                Cause::KeepaliveRace => races.push(seed),
                _ => continue,
            }
            println!("seed {seed}: {}: {}", f.title, f.evidence[0]);
        }
    }
    println!(
        "idle-timeout in {} of 20 seeds {timers:?}, keepalive-race in {} {races:?}",
        timers.len(),
        races.len()
    );
}

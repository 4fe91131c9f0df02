//! `bad-path`: one of N paths behind the entry point is bad (an AZ without a
//! healthy target while cross-zone load balancing is off, a dead nginx
//! upstream, one broken target). A stable fraction ≈ 1/N of requests is
//! slow whatever the idle gap, often clustered on one remote address, one
//! connection, or a period.
//!
//! Or a bad path for a while: a target deregistered (a deploy) or marked
//! unhealthy keeps serving the connections pooled before, until it stops:
//! slow or failed requests confined to one time window, clean before and
//! after (`draining`, below).

use std::collections::HashMap;

use super::gaps::is_head;
use super::words::hops;
use super::{ratio, target_names, Detection, Input};
use crate::diagnose::dataset::{Dataset, Ix, Sample};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{cv, frac, median, quantile, sorted};
use crate::diagnose::PathKind;
use crate::format::human_ms;
use crate::probe::{ErrorKind, Phase};

const FIND: &str = "Find the bad path: the target group's HealthyHostCount per Availability Zone (a zone with no healthy target while cross-zone load balancing is off still gets 1/N of the flows), UnHealthyHostCount, and each target's own latency.";
const FIND_ALB: &str = "Find the bad path: the ALB target group's HealthyHostCount and UnHealthyHostCount per Availability Zone, its TargetConnectionErrorCount (targets refusing or resetting the ALB's connections) and TargetResponseTime, and each target's own latency.";
const ZONES_NLB: &str = "Turn on cross-zone load balancing on the NLB, or keep a healthy target in every enabled zone; make the health check test what the traffic uses (same port and path).";
const ZONES_ALB: &str = "An ALB balances across zones unless the target group turns it off (`load_balancing.cross_zone.enabled` false on the target group): keep a healthy target in every enabled zone, and make the health check test what the traffic uses (same port and path).";
const ZONES_UNKNOWN: &str = "Keep a healthy target in every enabled zone: on an NLB turn on cross-zone load balancing; on an ALB it is on unless the target group turns it off (`load_balancing.cross_zone.enabled`); make the health check test what the traffic uses (same port and path).";
const NGINX: &str = "If nginx balances over several upstream servers, remove the dead one or tune `max_fails`/`fail_timeout` (a dead server costs one slow request per `fail_timeout`, 10 s by default, per worker).";

/// Fixes of a stable bad path, worded for the hop there.
fn fixes(kind: PathKind) -> Vec<&'static str> {
    match kind {
        PathKind::Alb => vec![FIND_ALB, ZONES_ALB, NGINX],
        PathKind::Nlb => vec![FIND, ZONES_NLB, NGINX],
        _ => vec![FIND, ZONES_UNKNOWN, NGINX],
    }
}

const DRAIN_NLB: &str = "A draining or unhealthy target kept serving pooled connections: on an NLB set `deregistration_delay.connection_termination.enabled` to true (false by default on TCP target groups) so that connections are closed when the deregistration delay ends (off, they go on reaching the target until it dies), and keep `target_health_state.unhealthy.connection_termination.enabled` true (its default) so that connections to an unhealthy target are reset.";
const DRAIN_ALB: &str = "A draining or unhealthy target kept answering: the ALB stops sending it new requests once it is deregistered or found unhealthy, and lets requests in flight finish for the deregistration delay (`deregistration_delay.timeout_seconds`, 300 s by default); shorten the health check's reaction (`HealthCheckIntervalSeconds`, `UnhealthyThresholdCount`) so that a failing target leaves sooner.";
const DRAIN_UNKNOWN: &str = "A draining or unhealthy target kept serving: on an NLB set `deregistration_delay.connection_termination.enabled` to true (false by default on TCP target groups) so that pooled connections close when the deregistration delay ends; an ALB stops sending a deregistered or unhealthy target new requests itself, so there shorten the health check's reaction (`HealthCheckIntervalSeconds`, `UnhealthyThresholdCount`).";
const DRAIN_APP: &str = "Make the app close its keep-alive connections on SIGTERM (answer with `Connection: close`, stop accepting, then exit after the drain), and keep the deregistration delay (`deregistration_delay.timeout_seconds`) longer than its longest request.";
const DRAIN_CHECK: &str = "Check the window against deploys, scaling events and the target group's health (`DescribeTargetHealth`: `draining`, `unhealthy.draining`; UnHealthyHostCount).";

/// Fixes of a bad path confined to a window, worded for the hop there.
fn drain_fixes(kind: PathKind) -> Vec<&'static str> {
    let first = match kind {
        PathKind::Alb => DRAIN_ALB,
        PathKind::Nlb => DRAIN_NLB,
        _ => DRAIN_UNKNOWN,
    };
    vec![first, DRAIN_APP, DRAIN_CHECK]
}

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    // The machine's own stalls, found once for both cases.
    let machine = super::machine::stalled(input.ds, |i| input.ds.is_slow(&input.ds.samples[i]));
    draining(input, &machine).or_else(|| stable(input, &machine))
}

/// Slow or failed requests confined to one time window, the run clean
/// before and after it.
fn draining(input: &Input<'_>, machine: &[bool]) -> Option<Detection> {
    let ds = input.ds;
    let mut order: Vec<usize> = (0..ds.samples.len()).filter(|&i| !input.explained[i]).collect();
    order.sort_by(|&a, &b| ds.samples[a].start_s.total_cmp(&ds.samples[b].start_s));
    let bad_at = |i: usize| {
        let s = &ds.samples[i];
        s.failed() || slow_on_path(ds, machine, i)
    };
    let pos: Vec<usize> = (0..order.len()).filter(|&k| bad_at(order[k])).collect();
    if pos.len() < 3 || order.len() < 20 {
        return None;
    }
    // The window from the first bad probe to the last, or with one stray
    // at either end left out.
    let mut best: Option<(usize, usize)> = None;
    for (a, b) in [
        (0, pos.len() - 1),
        (1, pos.len() - 1),
        (0, pos.len() - 2),
        (1, pos.len() - 2),
    ] {
        if b < a + 2 {
            continue;
        }
        let (lo, hi) = (pos[a], pos[b]);
        let inside = hi - lo + 1;
        let bad_inside = b - a + 1;
        let strays = pos.len() - bad_inside;
        let (before, after) = (lo, order.len() - 1 - hi);
        let ok = bad_inside * 2 >= inside
            && before >= 5
            && after >= 5
            && inside * 2 <= order.len()
            && strays <= 1
            && frac(strays, before + after) <= 0.05;
        if ok && best.is_none_or(|(l, h)| hi - lo > h - l) {
            best = Some((lo, hi));
        }
    }
    let (lo, hi) = best?;
    let bad: Vec<usize> = order[lo..=hi].iter().copied().filter(|&i| bad_at(i)).collect();
    // Clean before and after on the same targets over the same family:
    // a path slow throughout for one of them (interleaved with clean
    // probes of another) is no window.
    let same = |i: usize| {
        let s = &ds.samples[i];
        bad.iter()
            .any(|&b| ds.samples[b].target == s.target && ds.samples[b].family == s.family)
    };
    let clean = |ks: &[usize]| ks.iter().filter(|&&i| same(i) && !bad_at(i)).count();
    if clean(&order[..lo]) < 3 || clean(&order[hi + 1..]) < 3 {
        return None;
    }
    // Slow as a mode of its own, not the tail of one (a slow app's jitter).
    let ok: Vec<usize> = order.iter().copied().filter(|&i| ds.samples[i].ok()).collect();
    let stalled: Vec<usize> = bad.iter().copied().filter(|&i| ds.samples[i].ok()).collect();
    if !separated(ds, &ok, &stalled) {
        return None;
    }
    let failed = bad.iter().filter(|&&i| ds.samples[i].failed()).count();
    let pooled = bad.iter().filter(|&&i| ds.samples[i].reused).count();
    let (from, to) = (&ds.samples[order[lo]], &ds.samples[order[hi]]);
    let when = |s_: f64| match ds.t0 {
        Some(t0) => crate::format::clock(t0 + std::time::Duration::from_secs_f64((s_ / ds.scale).max(0.0))),
        None => format!("+{}", human_ms(s_ * 1000.0)),
    };
    let window = format!("{}–{}", when(from.start_s), when(to.end_s));
    let what = if failed * 2 >= bad.len() {
        "failed".to_string()
    } else {
        let excess = sorted(
            bad.iter()
                .filter(|&&i| !ds.samples[i].failed())
                .map(|&i| ds.excess_ms(&ds.samples[i])),
        );
        format!("took {} longer", human_ms(median(&excess)))
    };
    let kind = ds.path_kind(bad.iter().map(|&i| ds.samples[i].target));
    let mut confidence: f64 = 0.6;
    if bad.len() >= 5 {
        confidence += 0.1;
    }
    if pooled * 5 >= bad.len() * 4 {
        confidence += 0.1;
    }
    let mut f = Finding::new(
        Cause::BadPath,
        if bad.len() >= 5 { Severity::Critical } else { Severity::Warning },
        confidence,
        format!(
            "Requests {what}, confined to {window}, clean before and after: a draining or unhealthy target behind the {} kept serving pooled connections",
            kind.hop()
        ),
    )
    .evidence(format!(
        "{} probes in {window} {what}; {} of the {} before and after it",
        ratio(bad.len(), hi - lo + 1),
        pos.len() - bad.len(),
        order.len() - (hi - lo + 1)
    ))
    .evidence(format!(
        "{pooled}/{} on reused (pooled) connections, {} on new ones",
        bad.len(),
        bad.len() - pooled
    ))
    .fixes(&drain_fixes(kind))
    .targets(target_names(ds, bad.iter().copied()));
    if failed > 0 && failed < bad.len() {
        f = f.evidence(format!("{failed} of them failed, the others stalled"));
    }
    f.measured.window = true;
    Some(Detection::new(f, bad))
}

/// A stable fraction of requests slow, whatever the idle gap.
fn stable(input: &Input<'_>, machine: &[bool]) -> Option<Detection> {
    let ds = input.ds;
    let pool: Vec<usize> = (0..ds.samples.len())
        .filter(|&i| {
            let s = &ds.samples[i];
            !input.explained[i] && (s.responded() || timed_out(s))
        })
        .collect();
    let slow: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| slow_on_path(ds, machine, i))
        .collect();
    let f = frac(slow.len(), pool.len());
    if pool.len() < 12 || slow.len() < 3 || !(0.08..=0.75).contains(&f) {
        return None;
    }
    // Two modes with a valley between them, not the tail of one.
    if !separated(ds, &pool, &slow) {
        return None;
    }
    // Spread over the run, not bunched at its end: slow probes with few
    // clean ones after the first are a window still open (a draining
    // target, mid-plan), not one path in N; the window case names it once
    // it closes.
    let first_slow = slow
        .iter()
        .map(|&i| ds.samples[i].start_s)
        .fold(f64::INFINITY, f64::min);
    let clean_after = pool
        .iter()
        .filter(|&&i| ds.samples[i].start_s > first_slow && !slow_on_path(ds, machine, i))
        .count();
    if clean_after * 2 < slow.len() {
        return None;
    }
    // Not an idle effect: slow inside bursts as often as after gaps.
    let warm: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| !is_head(ds, &ds.samples[i]))
        .collect();
    let warm_slow = warm.iter().filter(|&&i| slow_on_path(ds, machine, i)).count();
    if warm.len() >= 10 && frac(warm_slow, warm.len()) < 0.4 * f {
        return None;
    }
    let kind = ds.path_kind(slow.iter().map(|&i| ds.samples[i].target));
    let excess = sorted(slow.iter().map(|&i| ds.excess_ms(&ds.samples[i])));
    let stall = median(&excess);
    let n = (1.0 / f).round().clamp(2.0, 8.0);
    let mut confidence: f64 = 0.5;
    if (f - 1.0 / n).abs() * n <= 0.3 {
        confidence += 0.15;
    }
    if pool.len() >= 30 {
        confidence += 0.05;
    }
    // Slow probes of a consistent size, not a smear of jitter.
    let (p25, p75) = (quantile(&excess, 0.25), quantile(&excess, 0.75));
    if p75 <= 2.0 * p25.max(1e-9) {
        confidence += 0.1;
    }
    let mut evidence = vec![
        format!(
            "{} probes were slow, by {} (median); the others answered in {}",
            ratio(slow.len(), pool.len()),
            human_ms(stall),
            human_ms(fast_total(ds, &pool, &slow))
        ),
        format!("{:.0} % ≈ 1 in {} paths", f * 100.0, n),
        format!(
            "independent of idle gap: {} inside bursts were slow",
            ratio(warm_slow, warm.len())
        ),
        format!("the extra time is in {}", dominant_phase(ds, &slow, kind)),
    ];
    if let Some(line) = remote_cluster(ds, &pool, &slow) {
        confidence += 0.15;
        evidence.push(line);
    }
    if let Some(line) = conn_cluster(ds, &pool, &slow) {
        confidence += 0.1;
        evidence.push(line);
    }
    if let Some(line) = period(ds, &slow) {
        confidence += 0.1;
        evidence.push(line);
    }
    let severity = if stall >= 1_000.0 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut finding = Finding::new(
        Cause::BadPath,
        severity,
        confidence,
        format!(
            "{:.0} % of requests take {} longer, whatever the idle gap: about 1 in {} paths is bad",
            f * 100.0,
            human_ms(stall),
            n
        ),
    )
    .fixes(&fixes(kind))
    .targets(target_names(ds, slow.iter().copied()));
    finding.evidence = evidence;
    // What `--aws-config` compares listener weights and zone shares with.
    finding.measured.slow_of = Some([slow.len(), pool.len()]);
    if let Some(cw) = &input.aws.cloudwatch {
        finding = with_cloudwatch(finding, cw);
    }
    if let Some(x) = &input.aws.xray {
        finding = with_xray(finding, x, kind);
    }
    Some(Detection::new(finding, slow))
}

/// The slow requests' traces: a long integration with a short app segment
/// puts the bad path between the gateway and the app (the VPC link, the
/// load balancer), which is where a dead target or zone sits.
fn with_xray(mut f: Finding, x: &crate::diagnose::xray::XrayEvidence, kind: PathKind) -> Finding {
    let slow = &x.slow_breakdown_ms;
    let (Some(integration), Some(app)) = (slow.integration, slow.app) else {
        return f;
    };
    if app.p50 < 0.5 * integration.p50 {
        f.confidence = super::raise(f.confidence, 0.05);
        f.evidence.push(format!(
            "X-Ray: on the slow requests the integration takes {} but the app only {} (p50): the time is lost on the way to the app ({}), not in it",
            human_ms(integration.p50),
            human_ms(app.p50),
            hops(kind)
        ));
    } else {
        f.evidence.push(format!(
            "X-Ray: on the slow requests the app's own segment takes {} of the integration's {} (p50): one app instance is slow, rather than the path to it",
            human_ms(app.p50),
            human_ms(integration.p50)
        ));
    }
    f
}

/// Target health from CloudWatch: a zone left with no healthy host is the
/// bad path itself when cross-zone load balancing is off.
fn with_cloudwatch(mut f: Finding, cw: &crate::diagnose::cloudwatch::CloudWatchEvidence) -> Finding {
    let empty = cw.zones_without_healthy_host();
    if !empty.is_empty() {
        f.confidence = super::raise(f.confidence, 0.1);
        f.title = format!(
            "{}; CloudWatch shows no healthy target in {}",
            f.title,
            empty.join(", ")
        );
        f.evidence.push(format!(
            "CloudWatch: HealthyHostCount fell to 0 in {} while other zones kept theirs: with cross-zone load balancing off, flows sent to that zone's NLB node have nowhere to go",
            empty.join(", ")
        ));
    } else if let Some(n) = cw.max_unhealthy_hosts().filter(|n| *n > 0.0) {
        f.evidence.push(format!(
            "CloudWatch: up to {n} unhealthy target(s) in the target group during the run"
        ));
    }
    f
}

/// The fastest slow probes are well clear of the slowest fast ones, in
/// time above each probe's own fast mode (so that new connections' set-up
/// does not blur the comparison).
fn separated(ds: &Dataset, pool: &[usize], slow: &[usize]) -> bool {
    let slow_set: std::collections::HashSet<usize> = slow.iter().copied().collect();
    let excess = |i: &usize| ds.excess_ms(&ds.samples[*i]);
    let fast_p90 = quantile(
        &sorted(pool.iter().filter(|i| !slow_set.contains(i)).map(excess)),
        0.9,
    );
    let responded = slow.iter().filter(|&&i| ds.samples[i].responded());
    let slow_p10 = quantile(&sorted(responded.map(excess)), 0.1);
    slow_p10.is_nan() || slow_p10 >= 2.0 * fast_p90
}

fn timed_out(s: &Sample) -> bool {
    matches!(s.error, Some((ErrorKind::Timeout, _)))
}

/// Slow beyond client noise in real time (with no `--slow` given): at the
/// lab's speed 50, a busy machine's 7 ms hiccups read as 350 ms and, one
/// probe in ten, looked like a path of their own. Nor a stall the machine
/// dealt every probe in flight at once (`machine[i]`, `detect/machine.rs`):
/// at speed 10, 30 ms of a loaded CPU read as a draining target.
fn slow_on_path(ds: &Dataset, machine: &[bool], i: usize) -> bool {
    let s = &ds.samples[i];
    let beyond_noise =
        ds.slow_override_ms.is_some() || (super::slower_than(ds, ds.excess_ms(s), 0.0) && !machine[i]);
    (s.responded() && ds.is_slow(s) && beyond_noise) || timed_out(s)
}

fn fast_total(ds: &Dataset, pool: &[usize], slow: &[usize]) -> f64 {
    let slow: std::collections::HashSet<usize> = slow.iter().copied().collect();
    median(&sorted(
        pool.iter()
            .filter(|i| !slow.contains(i))
            .map(|&i| ds.samples[i].total_ms),
    ))
}

/// The phase holding most of the slow probes' extra time.
fn dominant_phase(ds: &Dataset, slow: &[usize], kind: PathKind) -> String {
    let candidates = [Phase::Dns, Phase::Connect, Phase::Tls, Phase::Ttfb, Phase::Body];
    let typical: Vec<f64> = candidates
        .iter()
        .map(|&p| {
            median(&sorted(
                ds.samples.iter().filter(|s| s.ok()).filter_map(|s| s.phase(p)),
            ))
        })
        .collect();
    let mut extra = [0.0; 5];
    for &i in slow {
        for (k, &p) in candidates.iter().enumerate() {
            if let Some(v) = ds.samples[i].phase(p) {
                extra[k] += (v - typical[k].max(0.0)).max(0.0);
            }
        }
    }
    let (k, _) = extra
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap_or((3, &0.0));
    match candidates[k] {
        Phase::Ttfb => format!(
            "time to first byte: behind the gateway (integration, {}, target)",
            kind.hop()
        ),
        p => format!("the {p} phase: in front of the gateway"),
    }
}

/// Slow probes all on one remote address (a DNS name with a bad address).
fn remote_cluster(ds: &Dataset, pool: &[usize], slow: &[usize]) -> Option<String> {
    let mut per: HashMap<Option<Ix>, (usize, usize)> = HashMap::new();
    for &i in pool {
        per.entry(ds.samples[i].remote).or_default().1 += 1;
    }
    for &i in slow {
        per.entry(ds.samples[i].remote).or_default().0 += 1;
    }
    if per.len() < 2 {
        return None;
    }
    let (&worst, &(bad, n)) = per
        .iter()
        .max_by(|a, b| frac(a.1 .0, a.1 .1).total_cmp(&frac(b.1 .0, b.1 .1)))?;
    let others_bad: usize = per.iter().filter(|(k, _)| **k != worst).map(|(_, v)| v.0).sum();
    let others_n: usize = per.iter().filter(|(k, _)| **k != worst).map(|(_, v)| v.1).sum();
    if worst.is_none() || frac(bad, n) < 0.8 || frac(others_bad, others_n) > 0.1 {
        return None;
    }
    Some(format!(
        "{bad}/{n} probes to {} were slow, {others_bad}/{others_n} to the other addresses",
        ds.remotes[worst?.index()]
    ))
}

/// Each reused connection is either always slow or always fast: the path is
/// chosen per connection.
fn conn_cluster(ds: &Dataset, pool: &[usize], slow: &[usize]) -> Option<String> {
    let slow: std::collections::HashSet<usize> = slow.iter().copied().collect();
    let mut per: HashMap<Ix, (usize, usize)> = HashMap::new();
    for &i in pool {
        let s = &ds.samples[i];
        if let Some(conn) = s.conn {
            let e = per.entry(conn).or_default();
            e.1 += 1;
            e.0 += slow.contains(&i) as usize;
        }
    }
    let busy: Vec<(usize, usize)> = per.into_values().filter(|(_, n)| *n >= 3).collect();
    let bad = busy.iter().filter(|(b, n)| frac(*b, *n) >= 0.8).count();
    let good = busy.iter().filter(|(b, n)| frac(*b, *n) <= 0.2).count();
    (busy.len() >= 3 && bad >= 1 && good >= 1 && bad + good == busy.len()).then(|| {
        format!(
            "{bad} of {} reused connections were slow on every request, the other {good} never",
            busy.len()
        )
    })
}

/// Slow probes at a steady period (a dead nginx upstream retried every
/// `fail_timeout`).
fn period(ds: &Dataset, slow: &[usize]) -> Option<String> {
    let times: Vec<f64> = slow.iter().map(|&i| ds.samples[i].start_s).collect();
    if times.len() < 5 {
        return None;
    }
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let m = median(&sorted(gaps.iter().copied()));
    (m >= 1.0 && cv(&gaps) < 0.25).then(|| format!("one slow request every {} or so", human_ms(m * 1000.0)))
}

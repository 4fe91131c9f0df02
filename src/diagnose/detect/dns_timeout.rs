//! `dns-timeout`: name resolution stalls. A lost query costs the resolver's
//! timeout (glibc: 5 s, then 10 s on the second attempt); a slow resolver
//! shows as a DNS phase that dominates the probe.

use super::{ratio, slower_than, target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{frac, median, sorted};
use crate::format::human_ms;
use crate::probe::{ErrorKind, Phase};

const FIX: &[&str] = &[
    "Check the resolver the clients use: query the name against it and against a second resolver (`dig @resolver name`); a fast second answer points at the first.",
    "On Linux clients, `options timeout:1 attempts:2 rotate` in /etc/resolv.conf cuts a lost query from 5 s to 1 s; a local caching resolver (systemd-resolved, nscd, dnsmasq) avoids most lookups.",
    "Reuse connections (HTTP keep-alive) so that fewer requests resolve at all; keep the record's TTL long enough for caches to help.",
];

/// A lookup slower than this is a stall whatever the others do (scenario
/// ms): an uncached lookup across a continent takes ~100 ms.
const SLOW_LOOKUP_MS: f64 = 300.0;

/// Resolver timeouts a lost query waits for (real ms).
const RESOLVER_TIMEOUTS_MS: [f64; 3] = [5_000.0, 10_000.0, 15_000.0];

/// A lookup of `d` (scenario ms) stalled: above `stall_at` and, in real
/// time, above what the probing machine itself can cost. In the lab the
/// resolver runs in-process on loopback: a loaded machine held a lookup
/// for 94 ms of real time, which at speed 10 read as a 940 ms stall.
fn stalled_lookup(ds: &crate::diagnose::dataset::Dataset, d: f64, stall_at: f64) -> bool {
    slower_than(ds, d, stall_at) && ds.real_ms(d) > super::machine::MACHINE_STALL_REAL_MS
}

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let looked_up: Vec<usize> = ds
        .samples
        .iter()
        .enumerate()
        .filter(|(i, s)| !input.explained[*i] && (s.phase(Phase::Dns).is_some() || dns_failure(s)))
        .map(|(i, _)| i)
        .collect();
    if looked_up.len() < 3 {
        return None;
    }
    let durations = sorted(looked_up.iter().filter_map(|&i| ds.samples[i].phase(Phase::Dns)));
    // Slow against the fastest lookups, and slow in absolute terms: when
    // every lookup waits, the fast mode itself is the stall.
    let stall_at = SLOW_LOOKUP_MS;
    let stalled: Vec<usize> = looked_up
        .iter()
        .copied()
        .filter(|&i| {
            let s = &ds.samples[i];
            match s.phase(Phase::Dns) {
                Some(d) if stalled_lookup(ds, d, stall_at) => true,
                // A quick failure is the resolver's answer ("no such
                // name", "no IPv6 address"), not a lookup that stalled.
                Some(_) => dns_timed_out(s),
                None => dns_failure(s),
            }
        })
        .collect();
    if stalled.len() < 2 {
        return None;
    }
    let stall_times = sorted(stalled.iter().filter_map(|&i| ds.samples[i].phase(Phase::Dns)));
    let quantised = stall_times
        .iter()
        .filter(|&&d| {
            let real = ds.real_ms(d);
            RESOLVER_TIMEOUTS_MS.iter().any(|t| (real - t).abs() <= 0.15 * t)
        })
        .count();
    // The DNS phase must be what made these probes slow.
    let shares = sorted(stalled.iter().filter_map(|&i| {
        let s = &ds.samples[i];
        s.phase(Phase::Dns).map(|d| d / s.total_ms.max(1e-9))
    }));
    let dominant = shares.is_empty() || median(&shares) >= 0.5;
    let fraction = frac(stalled.len(), looked_up.len());
    if !dominant || (fraction < 0.05 && quantised < 2) {
        return None;
    }
    let typical = median(&stall_times);
    let normal = sorted(
        durations
            .iter()
            .copied()
            .filter(|&d| !stalled_lookup(ds, d, stall_at)),
    );
    let normal = if normal.is_empty() {
        "none were fast".to_string()
    } else {
        format!("the others took {}", human_ms(median(&normal)))
    };
    let mut confidence: f64 = 0.65;
    if quantised as f64 >= 0.6 * stall_times.len().max(1) as f64 && quantised >= 2 {
        confidence += 0.25;
    }
    if stalled.len() >= 5 {
        confidence += 0.05;
    }
    let severity = if typical >= 1_000.0 || fraction >= 0.2 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let failures = stalled.iter().filter(|&&i| dns_failure(&ds.samples[i])).count();
    let mut f = Finding::new(
        Cause::DnsTimeout,
        severity,
        confidence,
        format!(
            "{} DNS lookups stalled, typically for {} ({normal})",
            ratio(stalled.len(), looked_up.len()),
            human_ms(typical)
        ),
    )
    .fixes(FIX)
    .targets(target_names(ds, stalled.iter().copied()));
    if quantised >= 2 {
        f = f.evidence(format!(
            "{quantised} of them took close to a resolver timeout (5 s or 10 s): a query was lost and sent again"
        ));
    }
    f = f.evidence(format!(
        "in stalled probes DNS is {:.0} % of the total time",
        if shares.is_empty() {
            100.0
        } else {
            median(&shares) * 100.0
        }
    ));
    if failures > 0 {
        f = f.evidence(format!("{failures} probes failed in the DNS phase"));
    }
    f = f.evidence(format!(
        "lookups happen on new connections only: {} of {} probes opened one",
        looked_up.len(),
        ds.samples.len()
    ));
    Some(Detection::new(f, stalled))
}

/// The lookup ran out of time (the probe's DNS limit).
fn dns_timed_out(s: &crate::diagnose::dataset::Sample) -> bool {
    matches!(s.error, Some((ErrorKind::Timeout, Phase::Dns)))
}

fn dns_failure(s: &crate::diagnose::dataset::Sample) -> bool {
    matches!(
        s.error,
        Some((ErrorKind::Dns, _)) | Some((ErrorKind::Timeout, Phase::Dns))
    )
}

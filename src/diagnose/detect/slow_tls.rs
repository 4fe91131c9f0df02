//! `slow-tls`: every new connection pays a slow handshake (a full one each
//! time, slow key exchange, no session resumption); reused connections,
//! which skip it, are fast.

use super::{ratio, slower_than, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{median, sorted};
use crate::format::human_ms;
use crate::probe::Phase;

const FIX: &[&str] = &[
    "Reuse connections: with HTTP keep-alive the handshake is paid once per connection, not per request.",
    "Make resumption work (TLS session tickets / PSK) so that a returning client skips the full handshake.",
    "Look at what the handshake waits on: certificate chain size, OCSP stapling, an ECDSA certificate instead of RSA, TLS 1.3 (one round trip instead of two).",
];

/// TLS costing less than this over its round trips is not worth a word (scenario ms).
const MIN_EXCESS_MS: f64 = 100.0;

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let mut flagged = Vec::new();
    let mut f: Option<Finding> = None;
    for (t, target) in ds.targets.iter().enumerate() {
        let new: Vec<usize> = ds
            .of_target(t as u16)
            .filter(|(i, s)| !input.explained[*i] && s.phase(Phase::Tls).is_some() && s.responded())
            .map(|(i, _)| i)
            .collect();
        if new.len() < 3 {
            continue;
        }
        let tls = median(&sorted(
            new.iter().filter_map(|&i| ds.samples[i].phase(Phase::Tls)),
        ));
        let connect = median(&sorted(
            new.iter().filter_map(|&i| ds.samples[i].phase(Phase::Connect)),
        ));
        let total = median(&sorted(new.iter().map(|&i| ds.samples[i].total_ms)));
        // A full TLS 1.3 handshake is one round trip, TLS 1.2 two: the
        // connect time is that round trip.
        let excess = tls - 2.0 * connect.max(0.0);
        // In the lab both ends of the handshake run on the probing machine:
        // a loaded one took 26–39 ms of real time over it, at speed 10 a
        // handshake of 390 ms. Slow in real time beyond what it can cost.
        let beyond_machine = ds.real_ms(excess) > super::machine::MACHINE_STALL_REAL_MS;
        if !slower_than(ds, excess, MIN_EXCESS_MS) || !beyond_machine || tls < 0.3 * total {
            continue;
        }
        let reused_total = median(&sorted(
            ds.of_target(t as u16)
                .filter(|(_, s)| s.reused && s.ok())
                .map(|(_, s)| s.total_ms),
        ));
        let resumed = new
            .iter()
            .filter(|&&i| ds.samples[i].tls_resumed == Some(true))
            .count();
        let mut confidence: f64 = 0.6;
        if tls >= 0.6 * total {
            confidence += 0.2;
        }
        if resumed == 0 {
            confidence += 0.1;
        }
        if reused_total.is_finite() && reused_total < total - 0.5 * tls {
            confidence += 0.05;
        }
        let severity = if tls >= 1_000.0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut finding = Finding::new(
            Cause::SlowTls,
            severity,
            confidence,
            format!(
                "TLS handshakes take {} (TCP connect {}): {:.0} % of a new connection's {}",
                human_ms(tls),
                human_ms(connect),
                tls / total * 100.0,
                human_ms(total)
            ),
        )
        .evidence(format!(
            "{}: {} handshakes, TLS p50 {}, {} resumed",
            target.name,
            new.len(),
            human_ms(tls),
            ratio(resumed, new.len())
        ))
        .fixes(FIX);
        if reused_total.is_finite() {
            finding = finding.evidence(format!(
                "{}: requests on reused connections take {} (no handshake)",
                target.name,
                human_ms(reused_total)
            ));
        }
        flagged.extend(new.iter().copied());
        f = Some(match f {
            None => finding,
            Some(mut prev) => {
                prev.evidence.extend(finding.evidence);
                prev.confidence = prev.confidence.max(finding.confidence);
                prev.severity = prev.severity.max(finding.severity);
                prev
            }
        });
    }
    let f = f?;
    let targets = super::target_names(ds, flagged.iter().copied());
    Some(Detection::new(f.targets(targets), Vec::new()))
}

//! `syn-loss`: SYNs are dropped and the kernel resends them on its
//! retransmission timer — 1 s, then 3 s, 7 s … after the first (exponential
//! backoff; newer kernels may step linearly, older ones start at 3 s). The
//! connect phase of new connections lands near those marks; reused
//! connections never pay.

use super::{ratio, target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{frac, median, quantile, sorted};
use crate::diagnose::PathKind;
use crate::format::human_ms;
use crate::probe::{ErrorKind, Phase};

/// The fixes: the second names the hop behind the gateway and its counters.
fn fixes(kind: PathKind) -> [String; 3] {
    let behind = match kind {
        PathKind::Nlb => "to the NLB's targets) show as slow integrations, not here: see bad-path, NLB `SecurityGroupBlockedFlowCount_Inbound_TCP`".to_string(),
        PathKind::Alb => "from the ALB to its targets) show as slow integrations or the ALB's own 502/504s, not here: see bad-path, the ALB's `TargetConnectionErrorCount`".to_string(),
        PathKind::CloudMap => "to the Cloud Map service's instances) show as slow integrations, not here: see bad-path".to_string(),
        PathKind::Unknown => "to the load balancer's targets) show as slow integrations, not here: see bad-path, an NLB's `SecurityGroupBlockedFlowCount_Inbound_TCP` or an ALB's `TargetConnectionErrorCount`".to_string(),
    };
    [
        format!("The probe's connect goes to the API Gateway endpoint (or to CloudFront for an edge-optimized domain), not to the {}: look on the client's side of that first hop, its security group and network ACL egress, a NAT gateway or proxy, a full conntrack table on the client host (`conntrack -S`, `nstat -az TcpExtTCPSynRetrans`), and compare from another network.", kind.hop()),
        format!("Lost SYNs behind the gateway ({behind} and the targets' listen drops (`nstat -az TcpExtListenDrops`, nginx `listen … backlog=`)."),
        "Reusing connections (HTTP keep-alive) avoids the handshake, and with it the stall, for most requests.".to_string(),
    ]
}

/// Where retransmitted SYNs land after the first one (real ms): Linux
/// exponential backoff from a 1 s RTO, linear 1 s steps, old 3 s RTO.
const RTO_MARKS_MS: [f64; 9] = [
    1_000.0, 2_000.0, 3_000.0, 4_000.0, 7_000.0, 9_000.0, 15_000.0, 21_000.0, 31_000.0,
];

/// A connect stall shorter than this (real) is no retransmission.
const MIN_STALL_REAL_MS: f64 = 700.0;

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let opened: Vec<usize> = ds
        .samples
        .iter()
        .enumerate()
        .filter(|(i, s)| !input.explained[*i] && (s.new_conn() || connect_timeout(s)))
        .map(|(i, _)| i)
        .collect();
    if opened.len() < 3 {
        return None;
    }
    let connects = sorted(opened.iter().filter_map(|&i| ds.samples[i].phase(Phase::Connect)));
    let base = ds.real_ms(quantile(&connects, 0.25));
    let stalls: Vec<(usize, f64)> = opened
        .iter()
        .filter_map(|&i| {
            let s = &ds.samples[i];
            match s.phase(Phase::Connect) {
                Some(c) if ds.real_ms(c) - base >= MIN_STALL_REAL_MS => Some((i, ds.real_ms(c) - base)),
                None if connect_timeout(s) => Some((i, f64::NAN)),
                _ => None,
            }
        })
        .collect();
    let fraction = frac(stalls.len(), opened.len());
    if stalls.len() < 2 || fraction < 0.01 {
        return None;
    }
    let extra = sorted(stalls.iter().map(|(_, e)| *e));
    let quantised = extra
        .iter()
        .filter(|&&e| {
            RTO_MARKS_MS
                .iter()
                .any(|m| (e - m).abs() <= (0.15 * m).max(150.0))
        })
        .count();
    let mostly_quantised = quantised >= 2 && quantised as f64 >= 0.6 * extra.len().max(1) as f64;
    let mut confidence: f64 = if mostly_quantised { 0.85 } else { 0.5 };
    if stalls.len() >= 5 {
        confidence += 0.05;
    }
    let severity = if fraction >= 0.1 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let idx: Vec<usize> = stalls.iter().map(|(i, _)| *i).collect();
    let timeouts = stalls.iter().filter(|(_, e)| e.is_nan()).count();
    let mut f = Finding::new(
        Cause::SynLoss,
        severity,
        confidence,
        format!(
            "{} new connections waited {} extra in TCP connect{}",
            ratio(stalls.len(), opened.len()),
            if extra.is_empty() {
                "–".into()
            } else {
                human_ms(median(&extra))
            },
            if mostly_quantised {
                ": lost SYNs, resent by the kernel's timer"
            } else {
                ""
            }
        ),
    )
    .evidence(format!(
        "{quantised} of {} stalls sit near the SYN retransmission marks (1 s, 3 s, 7 s …); normal connect {}",
        extra.len(),
        human_ms(base)
    ))
    .targets(target_names(ds, idx.iter().copied()));
    let kind = ds.path_kind(
        idx.iter()
            .map(|&i| ds.samples[i].target)
            .collect::<std::collections::BTreeSet<_>>(),
    );
    f.fix.extend(fixes(kind));
    let reused = ds.samples.iter().filter(|s| s.reused).count();
    if reused > 0 {
        f = f.evidence(format!(
            "{reused} probes on reused connections had no connect phase to stall"
        ));
    }
    if timeouts > 0 {
        f = f.evidence(format!("{timeouts} connects timed out altogether"));
    }
    Some(Detection::new(f, idx))
}

fn connect_timeout(s: &crate::diagnose::dataset::Sample) -> bool {
    matches!(s.error, Some((ErrorKind::Timeout, Phase::Connect)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_names_the_hop_behind_the_gateway() {
        let nlb = fixes(PathKind::Nlb).join("\n");
        assert!(
            nlb.contains("not to the NLB") && nlb.contains("SecurityGroupBlockedFlowCount"),
            "{nlb}"
        );
        assert!(!nlb.contains("ALB"), "{nlb}");
        let alb = fixes(PathKind::Alb).join("\n");
        assert!(
            alb.contains("not to the ALB") && alb.contains("TargetConnectionErrorCount"),
            "{alb}"
        );
        assert!(!alb.contains("NLB"), "{alb}");
        let unknown = fixes(PathKind::Unknown).join("\n");
        assert!(unknown.contains("not to the load balancer"), "{unknown}");
        assert!(
            unknown.contains("an NLB's") && unknown.contains("an ALB's"),
            "{unknown}"
        );
    }
}

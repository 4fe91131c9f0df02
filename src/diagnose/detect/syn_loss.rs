//! `syn-loss`: SYNs are dropped and the kernel resends them on its
//! retransmission timer. The connect phase of new connections lands near
//! those marks; reused connections never pay. Which marks depends on the
//! kernel where the probe ran: its records carry its settings
//! (`syn_sysctls`), and the marks follow from them — 1, 2, 3, 4, 5, 7, 11 s
//! … with `tcp_syn_linear_timeouts` 4, 1, 3, 7, 15 s … without. Records
//! that do not say are held against each schedule Linux uses.

use super::{ratio, target_names, Detection, Input};
use crate::diagnose::dataset::SynSettings;
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{frac, median, quantile, sorted};
use crate::diagnose::PathKind;
use crate::format::human_ms;
use crate::probe::syn_schedule::FIRST_RTO_MS;
use crate::probe::{ErrorKind, Phase, SynSchedule};

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

/// A schedule the stalls are held against, and how the evidence names it.
struct Marks {
    marks_ms: Vec<f64>,
    name: String,
}

/// The marks of each setting the records carry, and where some records
/// carry none (written before the field, or where /proc could not be read),
/// those of every schedule Linux uses: linear-first (the default since
/// `tcp_syn_linear_timeouts`), exponential from 1 s, and from 3 s (kernels
/// before 3.1).
fn schedules(syn: &SynSettings) -> Vec<Marks> {
    let mut out: Vec<Marks> = syn
        .recorded
        .iter()
        .map(|s| Marks {
            marks_ms: s.schedule().marks_ms,
            name: format!("{} ({})", seconds(&s.schedule().marks_ms), s.describe()),
        })
        .collect();
    if syn.unrecorded > 0 || out.is_empty() {
        let linear = SynSchedule::linux(FIRST_RTO_MS, 4, 6).marks_ms;
        let exponential = SynSchedule::linux(FIRST_RTO_MS, 0, 6).marks_ms;
        let old = SynSchedule::linux(3_000.0, 0, 5).marks_ms;
        for (marks_ms, kind) in [
            (linear, "linear-first"),
            (exponential, "exponential"),
            (old, "from a 3 s first timeout"),
        ] {
            out.push(Marks {
                name: format!("{kind} {}", seconds(&marks_ms)),
                marks_ms,
            });
        }
    }
    out
}

/// `1, 2, 3, 4, 5, 7, 11 s …`: the first marks, enough to tell schedules
/// apart.
fn seconds(marks_ms: &[f64]) -> String {
    const SHOWN: usize = 7;
    let shown: Vec<String> = marks_ms
        .iter()
        .take(SHOWN)
        .map(|m| format!("{}", m / 1000.0))
        .collect();
    let more = if marks_ms.len() > SHOWN { " …" } else { "" };
    format!("{} s{more}", shown.join(", "))
}

/// Which schedules the stalls were held against, for the evidence.
fn schedule_words(syn: &SynSettings, schedules: &[Marks]) -> String {
    let names: Vec<&str> = schedules.iter().map(|m| m.name.as_str()).collect();
    match (syn.recorded.len(), syn.unrecorded) {
        (1, 0) => format!("the SYN retransmission marks of the kernel the probes ran on, {}", names[0]),
        (_, 0) => format!(
            "the SYN retransmission marks of the kernels the probes ran on, {}",
            names.join("; ")
        ),
        (0, _) => format!(
            "a Linux SYN retransmission mark (the records do not say which schedule their kernel used, so each counts: {})",
            names.join("; ")
        ),
        (_, n) => format!(
            "the SYN retransmission marks the records name, or for the {n} that name none each Linux schedule ({})",
            names.join("; ")
        ),
    }
}

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
    let schedules = schedules(&ds.syn);
    let quantised = extra
        .iter()
        .filter(|&&e| {
            schedules
                .iter()
                .flat_map(|s| &s.marks_ms)
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
        "{quantised} of {} stalls sit near {}; normal connect {}",
        extra.len(),
        schedule_words(&ds.syn, &schedules),
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
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::diagnose::dataset::{Builder, Observation};
    use crate::diagnose::evidence::AwsEvidence;
    use crate::diagnose::finding::Finding;
    use crate::probe::{Phases, SynSysctls};

    /// 20 new connections a second apart, connect 0.5 ms, but for those in
    /// `stalls` (index, extra ms); every record carries `syn`.
    fn run(stalls: &[(usize, f64)], syn: Option<SynSysctls>) -> Finding {
        let mut b = Builder::new();
        for i in 0..20 {
            let extra = stalls.iter().find(|(at, _)| *at == i).map_or(0.0, |s| s.1);
            let connect = 0.5 + extra;
            b.add(&Observation {
                target: "a",
                url: "http://a/",
                at: Some(UNIX_EPOCH + Duration::from_secs(6_000 + 10 * i as u64)),
                total_ms: connect + 5.0,
                phases: Phases {
                    connect: Some(connect),
                    send: Some(0.1),
                    ttfb: Some(4.9),
                    ..Phases::default()
                },
                status: Some(200),
                syn_sysctls: syn,
                ..Default::default()
            });
        }
        let ds = b.build(1.0, None);
        let explained = vec![false; ds.samples.len()];
        let aws = AwsEvidence::default();
        detect(&Input {
            ds: &ds,
            explained: &explained,
            aws: &aws,
        })
        .expect("a finding")
        .finding
    }

    const THIS_KERNEL: SynSysctls = SynSysctls {
        tcp_syn_retries: 6,
        tcp_syn_linear_timeouts: Some(4),
    };

    /// On a kernel with `tcp_syn_linear_timeouts` 4 the fourth and fifth
    /// retransmissions leave at 4 s and 5 s: stalls there are lost SYNs,
    /// and the evidence says whose schedule they were held against.
    #[test]
    fn four_and_five_seconds_on_the_linear_schedule_are_retransmissions() {
        let f = run(&[(3, 4_000.0), (11, 5_000.0)], Some(THIS_KERNEL));
        assert_eq!(f.cause, Cause::SynLoss);
        assert!(
            f.title.contains("lost SYNs, resent by the kernel's timer"),
            "{}",
            f.title
        );
        assert!(f.confidence >= 0.85, "{}", f.confidence);
        let evidence = &f.evidence[0];
        assert!(
            evidence.starts_with("2 of 2 stalls sit near the SYN retransmission marks of the kernel the probes ran on, 1, 2, 3, 4, 5, 7, 11 s … (tcp_syn_linear_timeouts 4, tcp_syn_retries 6)"),
            "{evidence}"
        );
    }

    /// The recorded schedule is the one that counts: on an exponential
    /// kernel nothing is resent at 4 s or 5 s.
    #[test]
    fn the_same_stalls_on_an_exponential_kernel_sit_off_its_marks() {
        let exponential = SynSysctls {
            tcp_syn_linear_timeouts: Some(0),
            ..THIS_KERNEL
        };
        let f = run(&[(3, 4_000.0), (11, 5_000.0)], Some(exponential));
        assert!(!f.title.contains("lost SYNs"), "{}", f.title);
        assert_eq!(f.confidence, 0.5);
        assert!(f.evidence[0].starts_with("0 of 2 stalls"), "{}", f.evidence[0]);
        assert!(
            f.evidence[0].contains("1, 3, 7, 15, 31, 63 s (tcp_syn_linear_timeouts 0"),
            "{}",
            f.evidence[0]
        );
    }

    /// Records that do not say (written before `syn_sysctls`) are held
    /// against each schedule, and the evidence says so.
    #[test]
    fn without_the_setting_every_linux_schedule_counts() {
        let f = run(&[(3, 4_000.0), (11, 5_000.0)], None);
        assert!(f.title.contains("lost SYNs"), "{}", f.title);
        let evidence = &f.evidence[0];
        assert!(
            evidence.contains("the records do not say which schedule"),
            "{evidence}"
        );
        assert!(
            evidence.contains("linear-first 1, 2, 3, 4, 5, 7, 11 s …"),
            "{evidence}"
        );
        assert!(
            evidence.contains("exponential 1, 3, 7, 15, 31, 63 s"),
            "{evidence}"
        );
        assert!(
            evidence.contains("from a 3 s first timeout 3, 9, 21, 45, 93 s"),
            "{evidence}"
        );
    }

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

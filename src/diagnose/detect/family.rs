//! IPv4 and IPv6 apart. A dual-stack endpoint can be broken on one family
//! only (a security group or NACL without the IPv6 rule, a dead IPv6 route),
//! and clients that prefer IPv6 then suffer while IPv4 probes look fine.
//! When a target was probed over both families, the detectors also run on
//! each family's probes by themselves; a finding that only one family shows
//! is called that family's alone only when the other family's probes are
//! clean and the difference is beyond chance (one-sided Fisher's exact test,
//! as `edge` does): 4 stalled connects of 20 against 0 of 20 happens by
//! luck about one run in twenty, and is not enough.
//!
//! With one family (every record before `--ip-family`), nothing here runs
//! and the findings are exactly the detectors'.

use super::gaps::is_head;
use super::{detect_all, percent, ratio, Detection};
use crate::diagnose::dataset::{slot, Dataset, Sample};
use crate::diagnose::evidence::AwsEvidence;
use crate::diagnose::finding::{family_name as name, Cause, Finding, Severity};
use crate::diagnose::num::fisher_greater;
use crate::probe::{ErrorKind, IpFamily, Phase};

/// Below this, a one-family difference is beyond chance.
pub(super) const BEYOND_CHANCE: f64 = 0.01;

/// The findings of the whole dataset, with what running each family by
/// itself adds: a finding one family alone shows is named so (and takes the
/// place of the whole run's finding of that cause); one both show says so.
///
/// Each finding keeps the probes its detections (the whole run's and the
/// families') account for, for the vantage points to be compared on.
pub(super) fn split(ds: &Dataset, aws: &AwsEvidence, all: Vec<Detection>) -> Vec<Detection> {
    let dual: Vec<bool> = ds.families().iter().map(|f| f[0] && f[1]).collect();
    if !dual.contains(&true) {
        return all;
    }
    // Slow or failed by its own family's measure: what "clean" is held to.
    let mut bad = vec![false; ds.samples.len()];
    let per_family = [IpFamily::Ipv4, IpFamily::Ipv6].map(|family| {
        let (sub, index) = ds.only(family, &dual);
        for (s, &i) in sub.samples.iter().zip(&index) {
            bad[i] = sub.is_bad(s);
        }
        let mut found = detect_all(&sub, aws);
        for d in &mut found {
            for i in &mut d.explains {
                *i = index[*i];
            }
        }
        found
    });
    let mut causes: Vec<Cause> = all
        .iter()
        .chain(per_family.iter().flatten())
        .map(|d| d.finding.cause)
        .collect();
    causes.sort();
    causes.dedup();
    let mut findings = Vec::new();
    for cause in causes {
        fn of(found: &[Detection], cause: Cause) -> Option<&Detection> {
            found.iter().find(|d| d.finding.cause == cause)
        }
        let whole = of(&all, cause);
        let [v4, v6] = [of(&per_family[0], cause), of(&per_family[1], cause)];
        let counts = Counts::of(ds, &dual, &bad, cause, [whole, v4, v6]);
        let f = match (v4, v6) {
            (Some(d), None) | (None, Some(d)) => {
                let family = if v4.is_some() {
                    IpFamily::Ipv4
                } else {
                    IpFamily::Ipv6
                };
                let echo = echoes(&per_family[slot(family)], cause);
                match one_family(family, d, whole, &counts, echo) {
                    Some(f) => f,
                    None => continue,
                }
            }
            (Some(a), Some(b)) => {
                let d = whole.unwrap_or(if a.finding.rank() >= b.finding.rank() {
                    a
                } else {
                    b
                });
                d.finding.clone().evidence(counts.both())
            }
            (None, None) => match whole {
                Some(d) => d.finding.clone(),
                None => continue,
            },
        };
        let mut explains: Vec<usize> = [whole, v4, v6]
            .into_iter()
            .flatten()
            .flat_map(|d| d.explains.iter().copied())
            .collect();
        explains.sort_unstable();
        explains.dedup();
        findings.push(Detection::new(f, explains));
    }
    findings
}

/// A cause the detectors found on `family`'s probes and not on the other's:
/// that family's finding, named so, when the difference is beyond chance;
/// else the whole run's finding (if it had one) saying what was seen. A
/// finding the whole run did not make and chance explains is dropped.
fn one_family(
    family: IpFamily,
    d: &Detection,
    whole: Option<&Detection>,
    counts: &Counts,
    echo: bool,
) -> Option<Finding> {
    let other = match family {
        IpFamily::Ipv4 => IpFamily::Ipv6,
        IpFamily::Ipv6 => IpFamily::Ipv4,
    };
    let (hit, n) = counts.seen[slot(family)];
    if hit == 0 || echo {
        // A finding that accounts for no probe (a comparison of targets):
        // nothing to count, nothing to claim; or one that may be another's
        // echo.
        return whole.map(|w| w.finding.clone());
    }
    // The other family is held to more than "no detector fired": any of its
    // probes that was slow or failed at all counts against it.
    let (other_bad, other_n) = counts.bad[slot(other)];
    let p = fisher_greater(hit, n, other_bad, other_n);
    let compared = format!(
        "{hit}/{n} ({}) of {}'s {}, while {other_bad}/{other_n} ({}) of {}'s were slow or failed at all",
        percent(hit, n),
        name(family),
        counts.what,
        percent(other_bad, other_n),
        name(other),
    );
    // The whole run saw it on targets probed over one family too: there the
    // other family was never tried, so the finding stays the whole run's.
    let elsewhere = whole.is_some_and(|w| w.finding.targets.iter().any(|t| !d.finding.targets.contains(t)));
    if p < BEYOND_CHANCE && elsewhere {
        let w = whole.expect("elsewhere implies whole");
        return Some(w.finding.clone().evidence(format!(
            "on {}, probed over both families, only {} shows it: {compared}; beyond chance (one-sided Fisher's exact test {})",
            d.finding.targets.join(", "),
            name(family),
            p_value(p)
        )));
    }
    if p < BEYOND_CHANCE {
        let mut f = d.finding.clone();
        f.title = format!(
            "The {} path {}; {} is clean. On {}, {}",
            name(family),
            verb(d.finding.cause),
            name(other),
            name(family),
            lower_first(&f.title)
        );
        f.evidence.insert(
            0,
            format!(
                "only {} shows it: {compared}; beyond chance (one-sided Fisher's exact test {})",
                name(family),
                p_value(p)
            ),
        );
        f.fix.insert(0, family_fix(family).into());
        f.family = Some(family);
        return Some(f);
    }
    let line = format!(
        "on its own only {} shows it: {compared}; a difference chance alone gives (one-sided Fisher's exact test {}), so it is not called {}'s alone",
        name(family),
        p_value(p),
        name(family)
    );
    whole.map(|w| w.finding.clone().evidence(line))
}

/// A finding made earlier on the family that accounts for no single probe
/// (slow-tls) leaves its slow probes to the detectors after it: what they
/// find among them (a "bad path" of the slowest handshakes) may be its echo
/// and is not called one family's. Info findings (CloudFront costs nothing)
/// leave nothing behind.
fn echoes(found: &[Detection], cause: Cause) -> bool {
    let Some(at) = found.iter().position(|d| d.finding.cause == cause) else {
        return false;
    };
    found[..at]
        .iter()
        .any(|d| d.explains.is_empty() && d.finding.severity >= Severity::Warning)
}

/// What to look at first when one family alone is affected.
fn family_fix(family: IpFamily) -> &'static str {
    match family {
        IpFamily::Ipv6 => "Only IPv6 is affected: look at what IPv6 has of its own on the client's way to the endpoint: security group and network ACL rules for IPv6 (`::/0` is a rule of its own), the IPv6 route (an egress-only internet gateway), a firewall or proxy that treats IPv6 apart. Clients that prefer IPv6 and do not fall back quickly (no Happy Eyeballs, as in many SDKs) pay it on their new connections.",
        IpFamily::Ipv4 => "Only IPv4 is affected: look at what IPv4 has of its own on the client's way to the endpoint: NAT (a NAT gateway's ports and idle timeout), security group and network ACL rules for IPv4, the IPv4 route. Clients that prefer IPv6 do not see this.",
    }
}

/// Per family, the probes a cause can show on and those it was seen on.
struct Counts {
    /// `[IPv4, IPv6]`: (accounted for by a detection of the cause, could show it).
    seen: [(usize, usize); 2],
    /// `[IPv4, IPv6]`: (that, or slow or failed by the family's own
    /// baselines, could show it).
    bad: [(usize, usize); 2],
    /// What the probes that could show it are: "new connections".
    what: &'static str,
}

impl Counts {
    /// Over the dual-stack targets' probes the cause could show on: those
    /// any detection of it (the whole run's, either family's) accounts for,
    /// and those that were besides slow or failed.
    fn of(ds: &Dataset, dual: &[bool], bad: &[bool], cause: Cause, found: [Option<&Detection>; 3]) -> Counts {
        let mut seen = vec![false; ds.samples.len()];
        for d in found.into_iter().flatten() {
            for &i in &d.explains {
                seen[i] = true;
            }
        }
        let mut counts = Counts {
            seen: [(0, 0); 2],
            bad: [(0, 0); 2],
            what: noun(cause),
        };
        for (i, s) in ds.samples.iter().enumerate() {
            let Some(family) = s.family else { continue };
            if !dual[s.target as usize] || !can_show(ds, cause, s) {
                continue;
            }
            let k = slot(family);
            counts.seen[k].0 += seen[i] as usize;
            counts.seen[k].1 += 1;
            counts.bad[k].0 += (seen[i] || bad[i]) as usize;
            counts.bad[k].1 += 1;
        }
        counts
    }

    /// The evidence line of a cause both families show.
    fn both(&self) -> String {
        let [(h4, n4), (h6, n6)] = self.seen;
        if h4 + h6 == 0 {
            "IPv4 and IPv6 each show it on their own".into()
        } else {
            format!(
                "IPv4 and IPv6 each show it on their own: {} of IPv4's {}, {} of IPv6's",
                ratio(h4, n4),
                self.what,
                ratio(h6, n6)
            )
        }
    }
}

/// The probes a cause can show on at all: a connect only where a
/// connection was opened, a timer after a quiet gap only on the first
/// requests after one.
pub(super) fn can_show(ds: &Dataset, cause: Cause, s: &Sample) -> bool {
    match cause {
        Cause::SynLoss => s.new_conn() || matches!(s.error, Some((ErrorKind::Timeout, Phase::Connect))),
        Cause::DnsTimeout => s.phase(Phase::Dns).is_some() || matches!(s.error, Some((_, Phase::Dns))),
        Cause::SlowTls => s.phase(Phase::Tls).is_some() || matches!(s.error, Some((_, Phase::Tls))),
        Cause::IdleTimeout | Cause::KeepaliveRace => is_head(ds, s),
        _ => true,
    }
}

pub(super) fn noun(cause: Cause) -> &'static str {
    match cause {
        Cause::SynLoss => "new connections",
        Cause::DnsTimeout => "lookups",
        Cause::SlowTls => "TLS handshakes",
        Cause::IdleTimeout | Cause::KeepaliveRace => "first requests after a quiet gap",
        _ => "requests",
    }
}

/// What the path does, after "The IPv6 path …".
fn verb(cause: Cause) -> &'static str {
    match cause {
        Cause::SynLoss => "loses SYNs",
        Cause::DnsTimeout => "stalls in DNS",
        Cause::SlowTls => "has slow TLS handshakes",
        Cause::IdleTimeout => "drops connections that sat idle",
        Cause::BadPath => "has a bad path",
        Cause::SlowBackend => "is slow to answer",
        Cause::Edge => "is slower at the edge",
        Cause::IntegrationTimeout => "times out",
        Cause::KeepaliveRace => "fails requests after quiet gaps",
        Cause::Errors | Cause::Healthy | Cause::Inconclusive => "fails requests",
    }
}

pub(super) fn p_value(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".into()
    } else {
        format!("p = {p:.4}")
    }
}

/// "The custom domain …" → "the custom domain …"; "DNS …" stays.
pub(super) fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() => {
            format!("{}{}", a.to_lowercase(), &s[a.len_utf8()..])
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_keep_acronyms() {
        assert_eq!(lower_first("The custom domain"), "the custom domain");
        assert_eq!(lower_first("DNS lookups"), "DNS lookups");
        assert_eq!(lower_first("12/30 (40 %) new"), "12/30 (40 %) new");
    }

    /// The brief's question: 4 of 20 against 0 of 20 is not beyond chance.
    #[test]
    fn four_of_twenty_against_none_is_within_chance() {
        let p = fisher_greater(4, 20, 0, 20);
        assert!(p > BEYOND_CHANCE && p < 0.06, "{p}");
        assert!(fisher_greater(10, 30, 0, 30) < BEYOND_CHANCE);
    }
}

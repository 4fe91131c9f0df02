//! `--ip-family` applied to the targets, once, before any plan is built:
//! with `4` or `6` each target gets its family fixed; with `both` every
//! target becomes one target per family, same name, family fixed. Plans hand
//! out jobs by index into the target list, so every plan of every command
//! (probe, run, watch, diagnose's live plan, keepwarm) probes each family
//! without knowing about families, and the records tell them apart by their
//! `family` field. Expanding in the prober instead (two connections per
//! job) would make one job two records and break every plan's count.

use std::net::SocketAddr;
use std::time::Duration;

use super::dns::{Dns, ResolvePin};
use super::family::{FamilyChoice, IpFamily};
use super::target::Target;

/// The family a probe's record names: the address it connected to, else
/// the family it was fixed to, else its URL's IP literal's; `None` when a
/// name failed before any address was known.
pub fn of_probe(remote: Option<SocketAddr>, target: &Target) -> Option<IpFamily> {
    remote
        .map(IpFamily::of_addr)
        .or(target.family)
        .or(target.endpoint.ip.map(IpFamily::of))
}

/// A target that cannot be probed on the family asked for: refused before
/// anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FamilyMismatch {
    #[error("{url} is an {has} address, and --ip-family {asked} asks for {wants} only; give a URL with a name or an {wants} address, or --ip-family {other} or both", has = has.label(), wants = asked.label(), asked = FamilyChoice::Only(*asked).as_str(), other = FamilyChoice::Only(*has).as_str())]
    Literal {
        url: String,
        has: IpFamily,
        asked: IpFamily,
    },
    #[error("--resolve pins {host}:{port} to {has} addresses only, and --ip-family {asked} asks for {wants}; add a --resolve {host}:{port}:ADDR with an {wants} address, or --ip-family {other} or both", has = has.label(), wants = asked.label(), asked = FamilyChoice::Only(*asked).as_str(), other = FamilyChoice::Only(*has).as_str())]
    Pinned {
        host: String,
        port: u16,
        has: IpFamily,
        asked: IpFamily,
    },
}

/// The families `target` can be probed on, as far as is known before
/// sending: an IP literal has one, a name pinned with `--resolve` has the
/// families of its pins, any other name may have both (DNS decides).
fn reachable(target: &Target, pins: &[ResolvePin]) -> Vec<IpFamily> {
    let ep = &target.endpoint;
    if let Some(ip) = ep.ip {
        return vec![IpFamily::of(ip)];
    }
    let pinned: Vec<IpFamily> = [IpFamily::Ipv4, IpFamily::Ipv6]
        .into_iter()
        .filter(|f| {
            pins.iter()
                .any(|p| p.port == ep.port && p.host.eq_ignore_ascii_case(&ep.host) && f.has(p.addr))
        })
        .collect();
    if pinned.is_empty() {
        vec![IpFamily::Ipv4, IpFamily::Ipv6]
    } else {
        pinned
    }
}

/// The targets to probe under `choice`: unchanged when it is not set; each
/// with its family fixed for `-4`/`-6`; one per family for `both`, in the
/// target's order (IPv4 first), same name. A target that cannot be reached
/// on the family asked for (an IP literal or `--resolve` pins of the other
/// family) is refused; a name DNS may or may not resolve on a family is
/// kept, and a probe that finds no address records a `dns` failure.
pub fn expand(
    targets: Vec<Target>,
    choice: Option<FamilyChoice>,
    pins: &[ResolvePin],
) -> Result<Vec<Target>, FamilyMismatch> {
    let Some(choice) = choice else {
        return Ok(targets);
    };
    let mut out = Vec::with_capacity(targets.len() * 2);
    for target in targets {
        let can = reachable(&target, pins);
        match choice {
            FamilyChoice::Only(asked) if can.contains(&asked) => out.push(target.with_family(asked)),
            FamilyChoice::Only(asked) => {
                let has = can[0];
                let ep = &target.endpoint;
                return Err(match ep.ip {
                    Some(_) => FamilyMismatch::Literal {
                        url: target.url_text.to_string(),
                        has,
                        asked,
                    },
                    None => FamilyMismatch::Pinned {
                        host: ep.host.clone(),
                        port: ep.port,
                        has,
                        asked,
                    },
                });
            }
            FamilyChoice::Both => {
                for family in can {
                    out.push(target.clone().with_family(family));
                }
            }
        }
    }
    Ok(out)
}

/// Whether some target is probed on both families (`--ip-family both`):
/// then what is shown per probe names the family, since two probes of one
/// target name differ only by it.
pub fn probes_both(targets: &[Target]) -> bool {
    targets.iter().any(|t| one_of_both(t, targets))
}

/// `t` is one family's variant of a target probed on both.
fn one_of_both(t: &Target, targets: &[Target]) -> bool {
    t.family.is_some() && targets.iter().any(|o| o.name == t.name && o.family != t.family)
}

/// `--ip-family both` probes each target on each family its name
/// resolves on: before the first probe, a variant whose name the DNS server
/// says has no address of its family (an IPv4-only API: no AAAA) is
/// dropped, with a line saying so, rather than probed into a `dns` failure
/// on every round that a diagnosis would take for a fault. A lookup that
/// fails otherwise (a timeout) decides nothing: the probes show it. When
/// neither family resolves, both variants stay, and fail as data.
pub async fn drop_unresolved(targets: Vec<Target>, dns: &Dns, limit: Duration) -> (Vec<Target>, Vec<String>) {
    // A name only: an IP literal's family is known without asking.
    let both = |t: &Target| t.endpoint.ip.is_none() && one_of_both(t, &targets);
    let mut missing: Vec<(String, u16, IpFamily)> = Vec::new();
    for t in targets.iter().filter(|t| both(t)) {
        let (ep, family) = (&t.endpoint, t.family.expect("both() checked"));
        let key = (ep.host.clone(), ep.port, family);
        if missing.contains(&key) {
            continue;
        }
        let answer = tokio::time::timeout(limit, dns.has_address(&ep.host, ep.port, family)).await;
        if answer == Ok(Some(false)) {
            missing.push(key);
        }
    }
    let lacks =
        |t: &Target, family: IpFamily| missing.contains(&(t.endpoint.host.clone(), t.endpoint.port, family));
    let mut notes = Vec::new();
    let kept = targets
        .iter()
        .filter(|t| {
            let Some(family) = t.family.filter(|_| both(t)) else {
                return true;
            };
            let other = match family {
                IpFamily::Ipv4 => IpFamily::Ipv6,
                IpFamily::Ipv6 => IpFamily::Ipv4,
            };
            if !lacks(t, family) || lacks(t, other) {
                return true;
            }
            notes.push(format!(
                "coldlink: {} has no {} address: {} is probed over {} only",
                t.endpoint.host,
                family.label(),
                t.name,
                other.label()
            ));
            false
        })
        .cloned()
        .collect();
    (kept, notes)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::probe::RequestSpec;

    fn target(url: &str) -> Target {
        Target::new("t", url.parse().unwrap(), None, Arc::new(RequestSpec::default()))
    }

    fn families(ts: &[Target]) -> Vec<Option<IpFamily>> {
        ts.iter().map(|t| t.family).collect()
    }

    #[test]
    fn both_gives_one_target_per_family_with_the_same_name_and_its_own_pool() {
        let ts = expand(
            vec![target("https://api.example.com/x")],
            Some(FamilyChoice::Both),
            &[],
        )
        .unwrap();
        assert_eq!(families(&ts), [Some(IpFamily::Ipv4), Some(IpFamily::Ipv6)]);
        assert!(ts.iter().all(|t| &*t.name == "t"));
        assert_ne!(
            ts[0].origin, ts[1].origin,
            "never an IPv4 connection for the IPv6 target"
        );
        // An IP literal has one family.
        let ts = expand(vec![target("http://[::1]:8080/")], Some(FamilyChoice::Both), &[]).unwrap();
        assert_eq!(families(&ts), [Some(IpFamily::Ipv6)]);
        // Unset: as today.
        let ts = expand(vec![target("https://api.example.com/x")], None, &[]).unwrap();
        assert_eq!(families(&ts), [None]);
    }

    #[test]
    fn a_literal_or_pins_of_the_other_family_are_refused_with_what_to_do() {
        let e = expand(
            vec![target("http://127.0.0.1:8080/")],
            Some(FamilyChoice::Only(IpFamily::Ipv6)),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "http://127.0.0.1:8080/ is an IPv4 address, and --ip-family 6 asks for IPv6 only; \
             give a URL with a name or an IPv6 address, or --ip-family 4 or both"
        );
        let pin = ResolvePin {
            host: "api.example.com".into(),
            port: 443,
            addr: "::1".parse().unwrap(),
        };
        let e = expand(
            vec![target("https://api.example.com/x")],
            Some(FamilyChoice::Only(IpFamily::Ipv4)),
            std::slice::from_ref(&pin),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--resolve pins api.example.com:443 to IPv6 addresses only"),
            "{e}"
        );
        let ts = expand(
            vec![target("https://api.example.com/x")],
            Some(FamilyChoice::Both),
            &[pin],
        )
        .unwrap();
        assert_eq!(families(&ts), [Some(IpFamily::Ipv6)], "only the pinned family");
    }
}

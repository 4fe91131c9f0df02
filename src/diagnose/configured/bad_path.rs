//! `bad-path` against the configuration: a zone of a load balancer with
//! no healthy target while cross-zone load balancing is off (on the load
//! balancer, or overridden on the target group) gets 1/N of the new flows
//! and nowhere to send them; unhealthy targets still served because
//! `target_health_state.unhealthy.connection_termination.enabled` is false;
//! a listener's weighted forward whose weight matches the slow share
//! (within sampling error). The first two are findings by themselves.
//! A bad path confined to a window (a draining target, `detect/bad_path.rs`)
//! also cites an NLB target group's
//! `deregistration_delay.connection_termination.enabled` when it is off
//! (the default on TCP groups): a deregistered target keeps its open
//! connections past the deregistration delay, until it closes them or dies.
//!
//! Just over 500 lines with its tests (about 330 without): each zone,
//! health and draining join beside the fixtures that prove it.

use std::collections::BTreeMap;

use super::path::{
    cross_zone, group_flag, group_label, lb_label, short_group, value, weighted, within_sampling_error, Read,
};
use super::{fixes_first, from_configuration};
use crate::aws::path::model::defaults;
use crate::aws::path::PathConfig;
use crate::diagnose::finding::{Cause, ConfiguredValue, Finding, Severity};

/// What the configuration shows about the paths behind the gateway.
#[derive(Default)]
struct Seen {
    evidence: Vec<String>,
    configured: Vec<ConfiguredValue>,
    fixes: Vec<String>,
    /// A fault the configuration shows by itself (not only a weight).
    fault: bool,
    titles: Vec<String>,
}

pub(super) fn join(f: Option<&mut Finding>, c: &PathConfig) -> Option<Finding> {
    let slow_of = f.as_ref().and_then(|f| f.measured.slow_of);
    let mut seen = look(c, slow_of);
    // The detector's window case marks itself (`Measured::window`).
    if f.as_ref().is_some_and(|f| f.measured.window) {
        for lb in &c.load_balancers {
            for tg in &lb.target_groups {
                drain_kept(&mut seen, lb, tg);
            }
        }
    }
    if seen.evidence.is_empty() {
        return None;
    }
    match f {
        Some(f) => {
            f.evidence.splice(0..0, seen.evidence);
            f.configured.extend(seen.configured);
            if seen.fault {
                f.confidence = crate::diagnose::detect::raise(f.confidence, 0.05);
            }
            fixes_first(f, seen.fixes);
            None
        }
        None if seen.fault => {
            let mut own = from_configuration(
                Cause::BadPath,
                Severity::Warning,
                0.6,
                format!("From the configuration: {}", seen.titles.join("; ")),
            );
            own.evidence = seen.evidence;
            own.evidence.push(
                "the probes did not show it as a slow share of requests: kept-alive connections stay on the path they opened on, and a few probes can miss a bad one"
                    .into(),
            );
            own.configured = seen.configured;
            own.fix = seen.fixes;
            Some(own)
        }
        None => None,
    }
}

fn look(c: &PathConfig, slow_of: Option<[usize; 2]>) -> Seen {
    let read = Read::of(c);
    let mut seen = Seen::default();
    for lb in &c.load_balancers {
        for tg in &lb.target_groups {
            empty_zones(&mut seen, lb, tg, slow_of, read);
            unhealthy_served(&mut seen, lb, tg);
        }
        if let Some([slow, n]) = slow_of {
            for l in &lb.listeners {
                for (arn, w, share) in weighted(l) {
                    if w == 0 || share >= 1.0 || !within_sampling_error(slow, n, share) {
                        continue;
                    }
                    let name = short_group(arn);
                    let mut v = value(
                        format!("{}, listener {}:{}", lb_label(lb), l.protocol, l.port),
                        &l.arn,
                        "forward weight",
                        format!("{name}={w}"),
                        false,
                    );
                    v.explains = true;
                    seen.configured.push(v);
                    seen.evidence.push(format!(
                        "{}, listener {}:{} sends {:.0} % of flows to target group {name} (weight {w}); {slow}/{n} probes were slow ({:.0} %): the same share, within sampling error",
                        lb_label(lb),
                        l.protocol,
                        l.port,
                        share * 100.0,
                        slow as f64 / n as f64 * 100.0
                    ));
                    seen.fixes.push(format!(
                        "Take target group {name} out of the listener's forward (weight 0) until it is fixed: `aws elbv2 modify-listener --listener-arn {} --default-actions` with a `ForwardConfig` whose `TargetGroups` give {name} `\"Weight\": 0`.",
                        l.arn
                    ));
                }
            }
        }
    }
    seen
}

/// Zones of `lb` in which `tg` has no healthy target, with cross-zone off.
fn empty_zones(
    seen: &mut Seen,
    lb: &crate::aws::path::LoadBalancerConfig,
    tg: &crate::aws::path::TargetGroupConfig,
    slow_of: Option<[usize; 2]>,
    read: Read,
) {
    let Some((on, mut setting)) = cross_zone(lb, tg, read) else {
        // The attributes that decide it could not be read: no guess.
        return;
    };
    if on || tg.targets.is_empty() || lb.zones.len() < 2 || tg.targets.iter().any(|t| t.zone.is_none()) {
        // Balanced across zones, nothing registered, or zones unknown
        // (instance targets, emulators): nothing to say per zone.
        return;
    }
    let mut per_zone: BTreeMap<&str, BTreeMap<&str, usize>> =
        lb.zones.iter().map(|z| (z.as_str(), BTreeMap::new())).collect();
    for t in &tg.targets {
        if let Some(z) = t.zone.as_deref() {
            *per_zone
                .entry(z)
                .or_default()
                .entry(t.state.as_str())
                .or_default() += 1;
        }
    }
    let empty: Vec<(&str, String)> = lb
        .zones
        .iter()
        .filter_map(|z| {
            let states = per_zone.get(z.as_str())?;
            (states.get("healthy").copied().unwrap_or(0) == 0).then(|| {
                let others: Vec<String> = states.iter().map(|(s, n)| format!("{s} {n}")).collect();
                let held = if others.is_empty() {
                    "no target registered".to_string()
                } else {
                    others.join(", ")
                };
                (z.as_str(), held)
            })
        })
        .collect();
    if empty.is_empty() {
        return;
    }
    if empty.len() == lb.zones.len() {
        // No zone has a healthy target: the load balancer fails open and
        // sends flows to every target as if healthy, so cross-zone is not
        // what matters; the targets' health is.
        let zones: Vec<&str> = empty.iter().map(|(z, _)| *z).collect();
        seen.evidence.push(format!(
            "{} has no healthy target in any zone ({}): the load balancer fails open and sends flows to every target as if healthy, so requests reach targets that fail their health checks",
            group_label(lb, tg),
            zones.join(", ")
        ));
        seen.fault = true;
        seen.titles.push(format!(
            "{} has no healthy target in any zone: the load balancer fails open",
            group_label(lb, tg)
        ));
        seen.fixes.push(format!(
            "Find why every target fails its health check: `aws elbv2 describe-target-health --target-group-arn {}` gives each target's reason; check the health check's port and path against what the targets serve.",
            tg.arn
        ));
        return;
    }
    let share = empty.len() as f64 / lb.zones.len() as f64;
    setting.explains = true;
    seen.configured.push(setting.clone());
    let zones: Vec<&str> = empty.iter().map(|(z, _)| *z).collect();
    for (z, held) in &empty {
        let mut v = value(
            format!("{} in {z}", group_label(lb, tg)),
            &tg.arn,
            "healthy targets",
            "0".into(),
            false,
        );
        v.explains = true;
        seen.configured.push(v);
        seen.evidence.push(format!(
            "{} has no healthy target in {z} ({held}) while `{}` is {}{} on {}: that zone's node gets {} of {} zones' flows and nowhere to send them",
            group_label(lb, tg),
            setting.setting,
            setting.value,
            if setting.default { " (default)" } else { "" },
            setting.resource,
            empty.len(),
            lb.zones.len()
        ));
    }
    if let Some([slow, n]) = slow_of {
        let fits = within_sampling_error(slow, n, share);
        seen.evidence.push(format!(
            "{:.0} % of flows go to {}; {slow}/{n} probes were slow ({:.0} %): {}",
            share * 100.0,
            zones.join(", "),
            slow as f64 / n as f64 * 100.0,
            if fits {
                "the same share, within sampling error"
            } else {
                "not the same share, so something else is slow too"
            }
        ));
    }
    seen.fault = true;
    seen.titles.push(format!(
        "{} has no healthy target in {} and cross-zone load balancing is off: about {:.0} % of new connections go nowhere",
        group_label(lb, tg),
        zones.join(", "),
        share * 100.0
    ));
    let on_group = setting.resource == group_label(lb, tg);
    seen.fixes.push(if on_group {
        format!(
            "Turn cross-zone load balancing back on for target group {}: `aws elbv2 modify-target-group-attributes --target-group-arn {} --attributes Key={},Value=true` (or `use_load_balancer_configuration`); or register a healthy target in {}.",
            tg.name,
            tg.arn,
            defaults::TG_CROSS_ZONE_KEY,
            zones.join(" and ")
        )
    } else {
        format!(
            "Turn on cross-zone load balancing on {}: `aws elbv2 modify-load-balancer-attributes --load-balancer-arn {} --attributes Key={},Value=true` (cross-zone traffic is billed on an NLB); or register a healthy target in {}.",
            lb_label(lb),
            lb.arn,
            defaults::CROSS_ZONE_KEY,
            zones.join(" and ")
        )
    });
}

/// Unhealthy targets that keep their connections because termination is off.
fn unhealthy_served(
    seen: &mut Seen,
    lb: &crate::aws::path::LoadBalancerConfig,
    tg: &crate::aws::path::TargetGroupConfig,
) {
    if !tg.attributes.contains_key(defaults::UNHEALTHY_TERMINATION_KEY) {
        // Absent: the default (true), or a group that has no such setting (ALB).
        return;
    }
    let Some((terminate, mut setting)) = group_flag(lb, tg, defaults::UNHEALTHY_TERMINATION_KEY, true, true)
    else {
        return;
    };
    let sick: Vec<&str> = tg
        .targets
        .iter()
        .filter(|t| t.state.starts_with("unhealthy"))
        .map(|t| t.id.as_str())
        .collect();
    if terminate || sick.is_empty() {
        return;
    }
    setting.explains = true;
    seen.configured.push(setting);
    seen.fault = true;
    seen.evidence.push(format!(
        "{}: `{}` is false and {} target(s) are unhealthy ({}): connections already open to them stay open and keep being served",
        group_label(lb, tg),
        defaults::UNHEALTHY_TERMINATION_KEY,
        sick.len(),
        sick.join(", ")
    ));
    seen.titles.push(format!(
        "{} keeps serving {} unhealthy target(s) on their open connections",
        group_label(lb, tg),
        sick.len()
    ));
    seen.fixes.push(format!(
        "Close connections to unhealthy targets: `aws elbv2 modify-target-group-attributes --target-group-arn {} --attributes Key={},Value=true` (or shorten `{}` if a draining interval is wanted).",
        tg.arn,
        defaults::UNHEALTHY_TERMINATION_KEY,
        defaults::UNHEALTHY_DRAINING_KEY
    ));
}

/// An NLB target group whose deregistered targets keep their open
/// connections past the deregistration delay (termination off,
/// the default on TCP groups).
fn drain_kept(
    seen: &mut Seen,
    lb: &crate::aws::path::LoadBalancerConfig,
    tg: &crate::aws::path::TargetGroupConfig,
) {
    let nlb_group = matches!(tg.protocol.as_deref(), Some("TCP" | "TLS" | "UDP" | "TCP_UDP"));
    if !nlb_group {
        return;
    }
    let key = defaults::DEREGISTRATION_TERMINATION_KEY;
    let Some((terminate, mut setting)) = group_flag(lb, tg, key, false, true) else {
        return;
    };
    if terminate {
        return;
    }
    setting.explains = true;
    seen.configured.push(setting);
    let delay = tg
        .attributes
        .get(defaults::DEREGISTRATION_DELAY_KEY)
        .map_or("300 s by default".to_string(), |v| format!("{v} s"));
    seen.evidence.push(format!(
        "{}: `{key}` is false: nothing closes the connections already open to a deregistered (draining) target when the deregistration delay ({delay}) ends, so pooled connections keep reaching it until it closes them or dies",
        group_label(lb, tg)
    ));
    seen.fixes.push(format!(
        "Close connections to deregistered targets when the delay ends: `aws elbv2 modify-target-group-attributes --target-group-arn {} --attributes Key={key},Value=true`; and make the app close keep-alive connections on SIGTERM.",
        tg.arn
    ));
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, attrs, TG2_ARN, TG_ARN};
    use super::*;
    use crate::aws::path::{Forward, TargetGroupConfig};
    use crate::diagnose::finding::FindingSource;

    fn empty_zone() -> PathConfig {
        let mut c = fixtures::path();
        c.load_balancers[0].target_groups[0].targets[1].state = "unhealthy".into();
        c
    }

    fn finding(slow: usize, n: usize) -> Finding {
        let mut f = Finding::new(
            Cause::BadPath,
            Severity::Critical,
            0.7,
            "50 % of requests take 3.0 s longer",
        );
        f.measured.slow_of = Some([slow, n]);
        f
    }

    #[test]
    fn a_zone_without_a_healthy_target_explains_the_slow_half() {
        let mut f = finding(21, 40);
        assert!(join(Some(&mut f), &empty_zone()).is_none());
        assert!(f.evidence[0].starts_with("NLB edge-nlb, target group api-tg has no healthy target in eu-west-1b (unhealthy 1) while `load_balancing.cross_zone.enabled` is false on NLB edge-nlb"), "{}", f.evidence[0]);
        assert!(
            f.evidence[1].ends_with("the same share, within sampling error"),
            "{}",
            f.evidence[1]
        );
        assert!(f.fix[0].contains(&format!("aws elbv2 modify-load-balancer-attributes --load-balancer-arn {} --attributes Key=load_balancing.cross_zone.enabled,Value=true", fixtures::NLB_ARN)), "{}", f.fix[0]);
        assert!(f.configured.iter().all(|v| v.explains));
    }

    #[test]
    fn a_draining_window_cites_connection_termination_on_deregistration() {
        let mut f = Finding::new(
            Cause::BadPath,
            Severity::Critical,
            0.7,
            "Requests took 3.0 s longer, confined to 10:00:05–10:00:40, clean before and after",
        );
        f.measured.window = true;
        assert!(join(Some(&mut f), &fixtures::path()).is_none());
        assert!(
            f.evidence[0].contains("`deregistration_delay.connection_termination.enabled` is false")
                && f.evidence[0].contains("(300 s)"),
            "{:?}",
            f.evidence
        );
        assert!(f.fix[0].contains("Key=deregistration_delay.connection_termination.enabled,Value=true"));
        // A stable fraction is not a draining target.
        let mut stable = finding(10, 40);
        join(Some(&mut stable), &fixtures::path());
        assert!(!stable.evidence.iter().any(|e| e.contains("deregistration")));
    }

    #[test]
    fn without_probes_showing_it_the_configuration_says_it_alone() {
        let own = join(None, &empty_zone()).expect("a finding of its own");
        assert_eq!(own.from, Some(FindingSource::Configuration));
        assert_eq!(own.severity, Severity::Warning);
        assert!(own.title.starts_with("From the configuration: NLB edge-nlb, target group api-tg has no healthy target in eu-west-1b"), "{}", own.title);
        assert!(!own.fix.is_empty());
    }

    #[test]
    fn no_healthy_target_anywhere_is_the_fail_open_not_cross_zone() {
        let mut c = fixtures::path();
        for t in &mut c.load_balancers[0].target_groups[0].targets {
            t.state = "unhealthy".into();
        }
        let mut f = finding(40, 40);
        join(Some(&mut f), &c);
        let said = f.evidence.join("\n");
        assert!(said.contains("no healthy target in any zone"), "{said}");
        assert!(said.contains("fails open"), "{said}");
        assert!(!said.contains("% of flows go to"), "no share of zones: {said}");
        assert!(
            f.fix[0].contains("aws elbv2 describe-target-health"),
            "{}",
            f.fix[0]
        );
        assert!(!f.fix.iter().any(|l| l.contains("cross_zone")), "{:?}", f.fix);
    }

    #[test]
    fn unread_attributes_claim_no_cross_zone_setting() {
        let mut c = empty_zone();
        c.load_balancers[0].attributes.clear();
        c.load_balancers[0].attributes_unread = true;
        assert!(join(None, &c).is_none());
    }

    #[test]
    fn a_target_group_override_is_the_setting_to_change() {
        let mut c = empty_zone();
        c.load_balancers[0].attributes = attrs(&[("load_balancing.cross_zone.enabled", "true")]);
        c.load_balancers[0].target_groups[0].attributes =
            attrs(&[("load_balancing.cross_zone.enabled", "false")]);
        let own = join(None, &c).unwrap();
        assert!(
            own.fix[0].contains(&format!(
                "modify-target-group-attributes --target-group-arn {TG_ARN}"
            )),
            "{}",
            own.fix[0]
        );
        // Cross-zone on: every zone's node reaches every target.
        c.load_balancers[0].target_groups[0].attributes.clear();
        assert!(join(None, &c).is_none());
    }

    #[test]
    fn unhealthy_targets_kept_by_a_disabled_termination() {
        let mut c = fixtures::path();
        // Cross-zone on: the zone itself is not the fault here.
        c.load_balancers[0].attributes = attrs(&[("load_balancing.cross_zone.enabled", "true")]);
        let tg = &mut c.load_balancers[0].target_groups[0];
        tg.attributes = attrs(&[(
            "target_health_state.unhealthy.connection_termination.enabled",
            "false",
        )]);
        tg.targets[1].state = "unhealthy.draining".into();
        let own = join(None, &c).unwrap();
        assert!(
            own.evidence[0].contains("is false and 1 target(s) are unhealthy (10.0.2.10)"),
            "{}",
            own.evidence[0]
        );
        assert!(own.fix[0]
            .contains("Key=target_health_state.unhealthy.connection_termination.enabled,Value=true"));
    }

    #[test]
    fn a_weight_that_matches_the_slow_share_is_named() {
        let mut c = fixtures::path();
        let lb = &mut c.load_balancers[0];
        lb.listeners[0].forwards = vec![
            Forward {
                target_group_arn: TG_ARN.into(),
                weight: Some(80),
            },
            Forward {
                target_group_arn: TG2_ARN.into(),
                weight: Some(20),
            },
        ];
        lb.target_groups.push(TargetGroupConfig {
            arn: TG2_ARN.into(),
            name: "canary-tg".into(),
            ..TargetGroupConfig::default()
        });
        let mut f = finding(19, 100);
        join(Some(&mut f), &c);
        assert!(
            f.evidence[0].contains(
                "sends 20 % of flows to target group canary-tg (weight 20); 19/100 probes were slow"
            ),
            "{}",
            f.evidence[0]
        );
        assert_eq!(f.configured[0].value, "canary-tg=20");
        // A weight alone is no finding.
        assert!(join(None, &c).is_none());
    }
}

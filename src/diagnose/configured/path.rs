//! Questions every join asks of the [`PathConfig`]: what a resource is
//! called for people, which timer a listener or load balancer has, whether
//! a target group balances across zones. Defaults are AWS's (`defaults`),
//! and a value the API did not return is said to be the default.

use crate::aws::path::model::defaults;
use crate::aws::path::{ListenerConfig, LoadBalancerConfig, TargetGroupConfig};
use crate::diagnose::finding::ConfiguredValue;

/// `NLB my-nlb`, `ALB web`.
pub fn lb_label(lb: &LoadBalancerConfig) -> String {
    let kind = match lb.kind.as_str() {
        "network" => "NLB",
        "application" => "ALB",
        other => other,
    };
    format!("{kind} {}", lb.name)
}

pub fn is_nlb(lb: &LoadBalancerConfig) -> bool {
    lb.kind == "network"
}

pub fn is_alb(lb: &LoadBalancerConfig) -> bool {
    lb.kind == "application"
}

/// `NLB my-nlb, listener TCP:443`.
pub fn listener_label(lb: &LoadBalancerConfig, l: &ListenerConfig) -> String {
    format!("{}, listener {}:{}", lb_label(lb), l.protocol, l.port)
}

/// `NLB my-nlb, target group api-tg`.
pub fn group_label(lb: &LoadBalancerConfig, tg: &TargetGroupConfig) -> String {
    format!("{}, target group {}", lb_label(lb), tg.name)
}

/// A configured value, not yet known to explain anything.
pub fn value(resource: String, arn: &str, setting: &str, value: String, default: bool) -> ConfiguredValue {
    ConfiguredValue {
        resource,
        arn: (!arn.is_empty()).then(|| arn.to_string()),
        setting: setting.to_string(),
        value,
        default,
        explains: false,
    }
}

/// Which attribute reads failed (`attributes_unread` in the model): an
/// empty attribute map of that kind was not read, and its keys' defaults
/// must not be assumed. (A map that was read holds every key AWS returns;
/// a key missing from it has its default.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub load_balancers: bool,
    pub listeners: bool,
    pub target_groups: bool,
}

impl Read {
    /// Each kind was read on every resource of it.
    pub fn of(c: &crate::aws::path::PathConfig) -> Read {
        let lbs = &c.load_balancers;
        Read {
            load_balancers: lbs.iter().all(|lb| !lb.attributes_unread),
            listeners: lbs
                .iter()
                .flat_map(|lb| &lb.listeners)
                .all(|l| !l.attributes_unread),
            target_groups: lbs
                .iter()
                .flat_map(|lb| &lb.target_groups)
                .all(|tg| !tg.attributes_unread),
        }
    }

    /// Every read succeeded (what hand-built fixtures mean).
    #[cfg(test)]
    pub const ALL: Read = Read {
        load_balancers: true,
        listeners: true,
        target_groups: true,
    };
}

/// `attrs` holds what the API said, or its keys' defaults apply: false
/// only for an empty map whose read failed.
pub fn known(attrs: &std::collections::BTreeMap<String, String>, read: bool) -> bool {
    read || !attrs.is_empty()
}

/// An idle timer on the path as configured.
#[derive(Debug, Clone)]
pub struct Timer {
    pub value: ConfiguredValue,
    /// `None` when not read, or not a number.
    pub seconds: Option<u64>,
    pub kind: TimerKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// An NLB TCP listener: `tcp.idle_timeout.seconds`, 60–6000 s.
    NlbTcp,
    /// An NLB TLS listener: 350 s, fixed.
    NlbTls,
    /// An ALB: `idle_timeout.timeout_seconds`, 1–4000 s.
    Alb,
}

impl Timer {
    /// `350 s (default)`, `350 s (fixed)`, `600 s`.
    pub fn words(&self) -> String {
        let tail = match (self.kind, self.value.default) {
            (TimerKind::NlbTls, _) => " (fixed)",
            (_, true) => " (default)",
            (_, false) => "",
        };
        match self.seconds {
            Some(s) => format!("{s} s{tail}"),
            None => self.value.value.clone(),
        }
    }
}

/// A numeric attribute, or the default when the API did not return it,
/// or `not read`. An unreadable number is reported as read and matches
/// nothing.
fn seconds(
    attrs: &std::collections::BTreeMap<String, String>,
    key: &str,
    default: u64,
    read: bool,
) -> (Option<u64>, String, bool) {
    match attrs.get(key) {
        Some(v) => (v.trim().parse().ok(), v.clone(), false),
        None if known(attrs, read) => (Some(default), default.to_string(), true),
        None => (None, "not read".into(), false),
    }
}

/// A listener's idle timer: TCP listeners have their attribute (350 s by
/// default), TLS ones a fixed 350 s; others have none an idle flow meets.
pub fn listener_timer(lb: &LoadBalancerConfig, l: &ListenerConfig, read: bool) -> Option<Timer> {
    if !is_nlb(lb) {
        return None;
    }
    let (secs, shown, default, kind) = match l.protocol.as_str() {
        "TCP" | "TCP_UDP" => {
            let (s, shown, d) = seconds(
                &l.attributes,
                defaults::TCP_IDLE_TIMEOUT_KEY,
                defaults::NLB_TCP_IDLE_TIMEOUT_S,
                read,
            );
            (s, shown, d, TimerKind::NlbTcp)
        }
        "TLS" => (
            Some(defaults::NLB_TLS_IDLE_TIMEOUT_S),
            defaults::NLB_TLS_IDLE_TIMEOUT_S.to_string(),
            true,
            TimerKind::NlbTls,
        ),
        _ => return None,
    };
    Some(Timer {
        value: value(
            listener_label(lb, l),
            &l.arn,
            defaults::TCP_IDLE_TIMEOUT_KEY,
            shown,
            default,
        ),
        seconds: secs,
        kind,
    })
}

/// An ALB's idle timeout (60 s by default).
pub fn alb_timer(lb: &LoadBalancerConfig, read: bool) -> Option<Timer> {
    if !is_alb(lb) {
        return None;
    }
    let (secs, shown, default) = seconds(
        &lb.attributes,
        defaults::ALB_IDLE_TIMEOUT_KEY,
        defaults::ALB_IDLE_TIMEOUT_S,
        read,
    );
    Some(Timer {
        value: value(
            lb_label(lb),
            &lb.arn,
            defaults::ALB_IDLE_TIMEOUT_KEY,
            shown,
            default,
        ),
        seconds: secs,
        kind: TimerKind::Alb,
    })
}

/// Every idle timer configured on the path, in the order read.
pub fn timers(c: &crate::aws::path::PathConfig) -> Vec<Timer> {
    let read = Read::of(c);
    let mut out = Vec::new();
    for lb in &c.load_balancers {
        out.extend(alb_timer(lb, read.load_balancers));
        out.extend(
            lb.listeners
                .iter()
                .filter_map(|l| listener_timer(lb, l, read.listeners)),
        );
    }
    out
}

/// Whether a target group balances across zones, and where that comes
/// from: its own override, else the load balancer's attribute, else the
/// default (off on an NLB, on on an ALB); `None` when an attribute read
/// that would decide it failed.
pub fn cross_zone(
    lb: &LoadBalancerConfig,
    tg: &TargetGroupConfig,
    read: Read,
) -> Option<(bool, ConfiguredValue)> {
    let key = defaults::CROSS_ZONE_KEY;
    if !known(&tg.attributes, read.target_groups) {
        return None;
    }
    if let Some(v) = tg
        .attributes
        .get(defaults::TG_CROSS_ZONE_KEY)
        .filter(|v| v.as_str() != "use_load_balancer_configuration")
    {
        return Some((
            v == "true",
            value(
                group_label(lb, tg),
                &tg.arn,
                defaults::TG_CROSS_ZONE_KEY,
                v.clone(),
                false,
            ),
        ));
    }
    match lb.attributes.get(key) {
        Some(v) => Some((v == "true", value(lb_label(lb), &lb.arn, key, v.clone(), false))),
        None if known(&lb.attributes, read.load_balancers) => {
            let on = is_alb(lb);
            Some((on, value(lb_label(lb), &lb.arn, key, on.to_string(), true)))
        }
        None => None,
    }
}

/// A boolean target-group attribute, or its default; `None` when the
/// group's attributes could not be read.
pub fn group_flag(
    lb: &LoadBalancerConfig,
    tg: &TargetGroupConfig,
    key: &str,
    default: bool,
    read: bool,
) -> Option<(bool, ConfiguredValue)> {
    match tg.attributes.get(key) {
        Some(v) => Some((
            v == "true",
            value(group_label(lb, tg), &tg.arn, key, v.clone(), false),
        )),
        None if known(&tg.attributes, read) => Some((
            default,
            value(group_label(lb, tg), &tg.arn, key, default.to_string(), true),
        )),
        None => None,
    }
}

/// The target groups a listener forwards to by weight, with each one's
/// share of the traffic (0–1); empty for a plain forward.
pub fn weighted(l: &ListenerConfig) -> Vec<(&str, i32, f64)> {
    if l.forwards.len() < 2 {
        return Vec::new();
    }
    let total: i32 = l.forwards.iter().map(|f| f.weight.unwrap_or(1).max(0)).sum();
    if total <= 0 {
        return Vec::new();
    }
    l.forwards
        .iter()
        .map(|f| {
            let w = f.weight.unwrap_or(1).max(0);
            (f.target_group_arn.as_str(), w, f64::from(w) / f64::from(total))
        })
        .collect()
}

/// `arn:…:targetgroup/api-tg/abc` → `api-tg` (or the ARN when it is not one).
pub fn short_group(arn: &str) -> &str {
    crate::aws::arn::parse(arn)
        .filter(|r| r.kind == crate::aws::arn::ElbKind::TargetGroup)
        .map_or(arn, |r| r.name)
}

/// The share `p` lies within sampling error (two standard errors of a
/// binomial share over `n` probes) of the observed `hit / n`.
pub fn within_sampling_error(hit: usize, n: usize, p: f64) -> bool {
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return false;
    }
    let seen = hit as f64 / n as f64;
    let se = (p * (1.0 - p) / n as f64).sqrt();
    (seen - p).abs() <= (2.0 * se).max(0.02)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_error_is_two_standard_errors() {
        // 1/3 over 90 probes: se ≈ 0.05, so 21–39 slow fit.
        assert!(within_sampling_error(30, 90, 1.0 / 3.0));
        assert!(within_sampling_error(22, 90, 1.0 / 3.0));
        assert!(!within_sampling_error(15, 90, 1.0 / 3.0));
        assert!(!within_sampling_error(5, 0, 0.5));
    }

    #[test]
    fn unread_attributes_come_from_the_model_not_the_notes() {
        let mut c = super::super::fixtures::path();
        c.notes
            .push("elasticloadbalancing:DescribeListenerAttributes: AccessDenied".into());
        assert_eq!(Read::of(&c), Read::ALL, "a note alone says nothing");
        c.load_balancers[0].listeners[0].attributes_unread = true;
        assert_eq!(
            Read::of(&c),
            Read {
                listeners: false,
                ..Read::ALL
            }
        );
    }

    #[test]
    fn group_names_come_out_of_their_arns() {
        assert_eq!(
            short_group("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-tg/0123"),
            "api-tg"
        );
        assert_eq!(short_group("plain"), "plain");
    }
}

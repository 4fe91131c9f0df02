//! The report's `aws.config` as a compact table for people, shared by the
//! text, Markdown and HTML formats: one row per API, route, VPC link,
//! domain, load balancer, listener and target group, with the settings a
//! diagnosis turns on. Not every attribute: the JSON has them all.

use std::collections::BTreeMap;

use crate::aws::path::model::defaults;
use crate::aws::path::{
    DomainConfig, LoadBalancerConfig, PathConfig, RouteConfig, StageConfig, TargetGroupConfig, VpcLinkConfig,
};
use crate::diagnose::configured::path::{is_alb, is_nlb, known, listener_timer, short_group, Read};

/// One row: what it is, its name, its settings; `depth` 1 for what
/// belongs to the row above (a route to its API, a listener to its load
/// balancer).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub depth: u8,
    pub what: &'static str,
    pub name: String,
    pub settings: String,
}

fn row(depth: u8, what: &'static str, name: String, settings: Vec<String>) -> Row {
    Row {
        depth,
        what,
        name,
        settings: settings
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Every row of the table, in the order the chain was read.
pub(crate) fn rows(c: &PathConfig) -> Vec<Row> {
    let mut out = Vec::new();
    if let Some(a) = &c.rest_api {
        out.push(row(
            0,
            "REST API",
            named(a.name.as_deref(), &a.id),
            vec![
                a.endpoint_type.clone().unwrap_or_default(),
                stage(a.stage.as_ref()),
            ],
        ));
        out.extend(
            a.routes
                .iter()
                .map(|r| route(r, defaults::REST_INTEGRATION_TIMEOUT_MS)),
        );
    }
    if let Some(a) = &c.http_api {
        out.push(row(
            0,
            "HTTP API",
            named(a.name.as_deref(), &a.id),
            vec![stage(a.stage.as_ref())],
        ));
        out.extend(
            a.routes
                .iter()
                .map(|r| route(r, defaults::HTTP_INTEGRATION_TIMEOUT_MS)),
        );
    }
    out.extend(c.vpc_links.iter().map(vpc_link));
    out.extend(c.domains.iter().map(domain));
    let read = Read::of(c);
    for lb in &c.load_balancers {
        out.extend(load_balancer(lb, read));
    }
    out
}

/// `orders (a1b2c3d4e5)`, or the id alone.
fn named(name: Option<&str>, id: &str) -> String {
    match name {
        Some(n) if n != id => format!("{n} ({id})"),
        _ => id.to_string(),
    }
}

fn stage(s: Option<&StageConfig>) -> String {
    let Some(s) = s else {
        return String::new();
    };
    let mut line = format!("stage {}", s.name);
    if let Some(t) = s.tracing {
        line.push_str(if t { ", tracing on" } else { ", tracing off" });
    }
    if !s.variables.is_empty() {
        line.push_str(&format!(", variables {}", pairs(&s.variables)));
    }
    line
}

fn pairs(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn route(r: &RouteConfig, default_ms: u64) -> Row {
    let via = match (&r.connection_type, &r.vpc_link_id, &r.connection_id) {
        (Some(t), Some(id), _) => format!("{t} {id}"),
        (Some(t), None, Some(id)) => format!("{t} {id}"),
        (Some(t), None, None) => t.clone(),
        (None, _, _) => String::new(),
    };
    let timeout = match r.timeout_ms {
        Some(ms) => format!("timeout {ms} ms"),
        None => format!("timeout (default {default_ms})"),
    };
    let name = if r.targets.is_empty() {
        r.route.clone()
    } else {
        format!("{} ({})", r.route, r.targets.join(", "))
    };
    row(
        1,
        "route",
        name,
        vec![
            r.integration_type.clone().unwrap_or_default(),
            via,
            r.integration_target
                .as_deref()
                .map(|t| format!("to {}", short_lb(t)))
                .unwrap_or_default(),
            timeout,
            r.response_transfer_mode.clone().unwrap_or_default(),
            if r.tls_config.is_empty() {
                String::new()
            } else {
                format!("tls {}", pairs(&r.tls_config))
            },
        ],
    )
}

fn vpc_link(l: &VpcLinkConfig) -> Row {
    let mut status = format!(
        "{} {}",
        l.version,
        l.status.as_deref().unwrap_or("status unknown")
    );
    if let Some(m) = &l.status_message {
        status.push_str(&format!(" ({m})"));
    }
    let targets: Vec<String> = l.target_arns.iter().map(|a| short_lb(a)).collect();
    row(
        0,
        "VPC link",
        named(l.name.as_deref(), &l.id),
        vec![
            status,
            if targets.is_empty() {
                String::new()
            } else {
                format!("to {}", targets.join(", "))
            },
            if l.subnets.is_empty() {
                String::new()
            } else {
                format!("subnets {}", l.subnets.join(" "))
            },
            if l.security_groups.is_empty() {
                String::new()
            } else {
                format!("security groups {}", l.security_groups.join(" "))
            },
        ],
    )
}

/// `…:loadbalancer/net/edge-nlb/50dc…` → `net/edge-nlb`.
fn short_lb(arn: &str) -> String {
    crate::aws::arn::parse(arn)
        .filter(|r| r.kind != crate::aws::arn::ElbKind::TargetGroup)
        .map_or_else(|| arn.to_string(), |r| r.kind_and_name())
}

fn domain(d: &DomainConfig) -> Row {
    let mappings: Vec<String> = d
        .base_path_mappings
        .iter()
        .map(|m| {
            let stage = m.stage.as_deref().map(|s| format!("/{s}")).unwrap_or_default();
            format!("{} → {}{stage}", m.base_path, m.api_id)
        })
        .collect();
    row(
        0,
        "domain",
        d.name.clone(),
        vec![
            d.endpoint_type.clone().unwrap_or_default(),
            d.routing_mode
                .as_deref()
                .map(|m| format!("routing {m}"))
                .unwrap_or_default(),
            d.security_policy
                .as_deref()
                .map(|p| format!("policy {p}"))
                .unwrap_or_default(),
            d.endpoint_access_mode
                .as_deref()
                .map(|m| format!("access {m}"))
                .unwrap_or_default(),
            d.distribution
                .as_deref()
                .map(|h| format!("CloudFront {h}"))
                .unwrap_or_default(),
            if mappings.is_empty() {
                String::new()
            } else {
                format!("base paths {}", mappings.join(", "))
            },
        ],
    )
}

/// `cross-zone false (default)`: an attribute as read, or its default, or
/// `not read` when the read failed.
fn attr(
    attrs: &BTreeMap<String, String>,
    read: bool,
    key: &str,
    label: &str,
    default: &str,
    unit: &str,
) -> String {
    match attrs.get(key) {
        Some(v) => format!("{label} {v}{unit}"),
        None if known(attrs, read) => format!("{label} {default}{unit} (default)"),
        None => format!("{label} not read"),
    }
}

fn load_balancer(lb: &LoadBalancerConfig, read: Read) -> Vec<Row> {
    let mut settings = vec![
        lb.scheme.clone().unwrap_or_default(),
        lb.ip_address_type.clone().unwrap_or_default(),
        if lb.zones.is_empty() {
            String::new()
        } else {
            format!("zones {}", lb.zones.join(" "))
        },
        attr(
            &lb.attributes,
            read.load_balancers,
            defaults::CROSS_ZONE_KEY,
            "cross-zone",
            if is_alb(lb) { "true" } else { "false" },
            "",
        ),
    ];
    if is_alb(lb) {
        settings.push(attr(
            &lb.attributes,
            read.load_balancers,
            defaults::ALB_IDLE_TIMEOUT_KEY,
            "idle timeout",
            &defaults::ALB_IDLE_TIMEOUT_S.to_string(),
            " s",
        ));
        settings.push(attr(
            &lb.attributes,
            read.load_balancers,
            defaults::ALB_CLIENT_KEEP_ALIVE_KEY,
            "client keep-alive",
            &defaults::ALB_CLIENT_KEEP_ALIVE_S.to_string(),
            " s",
        ));
    }
    if let Some(v) = lb.attributes.get(defaults::ZONAL_SHIFT_KEY) {
        settings.push(format!("zonal shift {v}"));
    }
    let mut out = vec![row(0, kind(lb), lb.name.clone(), settings)];
    for l in &lb.listeners {
        let idle = match listener_timer(lb, l, read.listeners) {
            Some(t) => format!("idle timeout {}", t.words()),
            None if is_nlb(lb) && !matches!(l.protocol.as_str(), "TCP" | "TCP_UDP" | "TLS") => String::new(),
            None => match l.attributes.get(defaults::TCP_IDLE_TIMEOUT_KEY) {
                Some(v) if is_nlb(lb) => format!("idle timeout {v} (not a number)"),
                _ => String::new(),
            },
        };
        let forwards: Vec<String> = l
            .forwards
            .iter()
            .map(|f| match f.weight {
                Some(w) if l.forwards.len() > 1 => format!("{} weight {w}", short_group(&f.target_group_arn)),
                _ => short_group(&f.target_group_arn).to_string(),
            })
            .collect();
        out.push(row(
            1,
            "listener",
            format!("{}:{}", l.protocol, l.port),
            vec![
                idle,
                if forwards.is_empty() {
                    String::new()
                } else {
                    format!("→ {}", forwards.join(", "))
                },
            ],
        ));
    }
    out.extend(
        lb.target_groups
            .iter()
            .map(|tg| target_group(lb, tg, read.target_groups)),
    );
    out
}

fn kind(lb: &LoadBalancerConfig) -> &'static str {
    match lb.kind.as_str() {
        "network" => "NLB",
        "application" => "ALB",
        _ => "load balancer",
    }
}

fn target_group(lb: &LoadBalancerConfig, tg: &TargetGroupConfig, read: bool) -> Row {
    let a = &tg.attributes;
    let proto = match (&tg.protocol, tg.port) {
        (Some(p), Some(port)) => format!("{p}:{port}"),
        (Some(p), None) => p.clone(),
        (None, Some(port)) => format!("port {port}"),
        (None, None) => String::new(),
    };
    let mut settings = vec![
        [proto, tg.target_type.clone().unwrap_or_default()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        attr(a, read, defaults::DEREGISTRATION_DELAY_KEY, "drain", "300", " s"),
    ];
    if is_nlb(lb) {
        settings.push(attr(
            a,
            read,
            defaults::DEREGISTRATION_TERMINATION_KEY,
            "close on drain",
            "false",
            "",
        ));
        settings.push(attr(
            a,
            read,
            defaults::UNHEALTHY_TERMINATION_KEY,
            "close when unhealthy",
            "true",
            "",
        ));
        if let Some(v) = a.get(defaults::UNHEALTHY_DRAINING_KEY) {
            settings.push(format!("unhealthy draining {v} s"));
        }
    }
    if let Some(v) = a.get(defaults::TG_CROSS_ZONE_KEY) {
        settings.push(format!("cross-zone {v}"));
    }
    settings.push(health(tg));
    row(1, "target group", tg.name.clone(), settings)
}

/// `eu-west-1a: healthy 2 · eu-west-1b: unhealthy 1`; `no targets`.
fn health(tg: &TargetGroupConfig) -> String {
    if tg.targets.is_empty() {
        return "no targets".into();
    }
    let mut per: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for t in &tg.targets {
        let zone = t.zone.as_deref().unwrap_or("zone unknown");
        *per.entry(zone).or_default().entry(t.state.as_str()).or_default() += 1;
    }
    let zones: Vec<String> = per
        .iter()
        .map(|(z, states)| {
            let counts: Vec<String> = states.iter().map(|(s, n)| format!("{s} {n}")).collect();
            format!("{z}: {}", counts.join(", "))
        })
        .collect();
    format!("targets {}", zones.join(" · "))
}

/// The rows as indented text lines (`kind name — settings`), for the text
/// format; the notes follow as they are.
pub(crate) fn lines(c: &PathConfig) -> Vec<String> {
    rows(c)
        .into_iter()
        .map(|r| {
            let indent = "  ".repeat(r.depth as usize);
            if r.settings.is_empty() {
                format!("{indent}{} {}", r.what, r.name)
            } else {
                format!("{indent}{} {} — {}", r.what, r.name, r.settings)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancer_arns_shorten_to_kind_and_name() {
        assert_eq!(
            short_lb("arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/edge-nlb/50dc"),
            "net/edge-nlb"
        );
    }

    #[test]
    fn missing_attributes_read_as_defaults() {
        let lb = LoadBalancerConfig {
            kind: "network".into(),
            name: "n".into(),
            ..LoadBalancerConfig::default()
        };
        let rows = load_balancer(&lb, Read::ALL);
        assert!(
            rows[0].settings.contains("cross-zone false (default)"),
            "{}",
            rows[0].settings
        );
    }
}

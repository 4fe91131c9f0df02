//! `edge` and a custom domain's routing rules (2025-06): whether the rule
//! that takes the custom domain's probed path reaches the API and stage
//! the execute-api URL's route was read on (see `edge`'s module comment
//! for what follows from each case).

use super::super::path::value;
use super::super::scope::lower;
use super::execute_api_reach;
use crate::aws::path::{DomainConfig, PathConfig, RoutingRule};
use crate::diagnose::finding::Finding;

/// Join `d`'s routing rules into `f`. True when a rule decides where the
/// custom domain's request goes (its base path mapping is then never
/// reached, so not compared).
pub(super) fn join(f: &mut Finding, c: &PathConfig, d: &DomainConfig) -> bool {
    let Some(mode) = d
        .routing_mode
        .as_deref()
        .filter(|m| m.starts_with("ROUTING_RULE"))
    else {
        return false;
    };
    f.configured.push(value(
        format!("custom domain {}", d.name),
        &d.name,
        "routingMode",
        mode.to_string(),
        false,
    ));
    if d.routing_rules_unread {
        f.evidence.push(format!(
            "custom domain {} routes with {mode}: its routing rules, evaluated before any mapping, choose the API and stage by header and base path, and they could not be read, so whether both URLs reach the same stage is unchecked: `aws apigatewayv2 list-routing-rules --domain-name {}`",
            d.name, d.name
        ));
        return false;
    }
    let taking: Vec<&RoutingRule> = d
        .routing_rules
        .iter()
        .filter(|r| r.targets.iter().any(|t| f.targets.contains(t)))
        .collect();
    if taking.is_empty() {
        f.evidence.push(format!(
            "custom domain {} routes with {mode}, and none of its {} routing rules takes the probed path: {}",
            d.name,
            d.routing_rules.len(),
            match mode {
                "ROUTING_RULE_ONLY" => "the domain answers it with no API behind (404)",
                _ => "its base path mapping decides",
            }
        ));
        // Under ROUTING_RULE_ONLY the mappings are never consulted: the
        // 404 is the answer, so no mapping is compared.
        return mode == "ROUTING_RULE_ONLY";
    }
    let others = execute_api_reach(c, f);
    let same = |r: &RoutingRule| {
        others.iter().any(|(id, stage)| {
            *id == r.api_id && (r.stage.is_none() || stage.is_none() || r.stage.as_deref() == *stage)
        })
    };
    let there = others.first().map(|(id, stage)| match stage {
        Some(s) => format!("API {id} stage {s}"),
        None => format!("API {id}"),
    });
    let mut maybe_elsewhere = false;
    let mut decided = false;
    for r in taking {
        let name = rule_name(r);
        let mut v = value(
            format!("custom domain {}, {name}", d.name),
            &d.name,
            "routing rule",
            r.reaches(),
            false,
        );
        let elsewhere = there.is_some() && !same(r);
        if r.needs_headers() {
            if let (true, Some(there)) = (elsewhere, &there) {
                maybe_elsewhere = true;
                f.evidence.push(format!(
                    "custom domain {}'s {name} sends requests carrying {} to {}, not where the execute-api URL goes ({there}): if your probe sends such a header, the two URLs do not reach the same thing",
                    d.name,
                    headers(r),
                    r.reaches()
                ));
            }
            f.configured.push(v);
            continue;
        }
        decided = true;
        match &there {
            Some(there) if elsewhere => {
                v.explains = true;
                f.evidence.insert(
                    0,
                    format!(
                        "not like for like: custom domain {}'s {name} sends the probed path to {}, the execute-api URL's route goes to {there}; the two URLs do not reach the same thing, so the difference is not the edge's alone",
                        d.name,
                        r.reaches()
                    ),
                );
                f.title = format!(
                    "{}; not like for like: the custom domain reaches {}, the execute-api URL {there}",
                    f.title,
                    r.reaches()
                );
                f.confidence = lower(f.confidence, 0.2);
                super::fixes_first(
                    f,
                    vec![format!(
                        "Compare like for like: probe the execute-api URL of {} (`https://{}.execute-api.REGION.amazonaws.com/{}/…`), or compare with the stage the custom domain's {name} reaches (`aws apigatewayv2 list-routing-rules --domain-name {}` lists them).",
                        r.reaches(),
                        r.api_id,
                        r.stage.as_deref().unwrap_or("STAGE"),
                        d.name
                    )],
                );
            }
            Some(there) => f.evidence.push(format!(
                "custom domain {}'s {name} sends the probed path to {}, as the execute-api URL's route ({there}): like for like",
                d.name,
                r.reaches()
            )),
            None => {}
        }
        f.configured.push(v);
        break;
    }
    if maybe_elsewhere {
        f.confidence = lower(f.confidence, 0.1);
    }
    decided
}

/// `routing rule 10`, or `a routing rule` without a priority.
fn rule_name(r: &RoutingRule) -> String {
    match r.priority {
        Some(p) => format!("routing rule {p}"),
        None => "a routing rule".to_string(),
    }
}

/// `x-version: v2*` (or `… or …`).
fn headers(r: &RoutingRule) -> String {
    r.conditions
        .iter()
        .flat_map(|c| &c.headers)
        .map(|h| format!("`{}: {}`", h.header, h.value_glob))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::super::super::fixtures;
    use super::super::join as edge;
    use crate::aws::path::{HeaderMatch, RuleCondition};
    use crate::aws::path::{PathConfig, RoutingRule};
    use crate::diagnose::finding::Finding;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding() -> Finding {
        Finding::new(
            Cause::Edge,
            Severity::Warning,
            0.95,
            "The custom domain is 60 ms slower than the execute-api URL on /orders",
        )
        .targets(["edge".to_string()])
    }

    fn rule(priority: i32, header: bool, stage: &str) -> RoutingRule {
        RoutingRule {
            priority: Some(priority),
            conditions: header
                .then(|| RuleCondition {
                    headers: vec![HeaderMatch {
                        header: "x-version".into(),
                        value_glob: "v2*".into(),
                    }],
                    ..RuleCondition::default()
                })
                .into_iter()
                .collect(),
            api_id: "a1b2c3d4e5".into(),
            stage: Some(stage.into()),
            strip_base_path: None,
            targets: vec!["edge".into()],
        }
    }

    /// The execute-api URL's route is API a1b2c3d4e5 stage prod; the
    /// custom domain's rules (which took target `edge`) are `rules`.
    fn path(rules: Vec<RoutingRule>) -> PathConfig {
        let mut c = fixtures::path();
        let mut d = fixtures::domain("EDGE", "prod", &[]);
        d.routing_mode = Some("ROUTING_RULE_THEN_BASE_PATH_MAPPING".into());
        d.routing_rules = rules;
        c.domains.push(d);
        c
    }

    #[test]
    fn a_rule_to_another_stage_is_not_like_for_like() {
        let mut f = finding();
        edge(&mut f, &path(vec![rule(10, false, "beta")]));
        assert!(
            f.evidence[0].starts_with("not like for like: custom domain api.example.com's routing rule 10 sends the probed path to API a1b2c3d4e5 stage beta, the execute-api URL's route goes to API a1b2c3d4e5 stage prod"),
            "{}",
            f.evidence[0]
        );
        assert!(f.fix[0].starts_with("Compare like for like"), "{}", f.fix[0]);
        assert_eq!(f.confidence, 0.75);
        let v = f.configured.iter().find(|v| v.setting == "routing rule").unwrap();
        assert!(v.explains);
        assert!(
            !f.configured.iter().any(|v| v.setting == "base path mapping"),
            "the rule decides: the mapping is never reached, so not compared"
        );
    }

    #[test]
    fn a_rule_to_the_same_stage_is_like_for_like_and_a_header_rule_before_it_is_said() {
        let mut f = finding();
        edge(
            &mut f,
            &path(vec![rule(5, true, "beta"), rule(10, false, "prod")]),
        );
        let said = f.evidence.join("\n");
        assert!(
            said.contains(
                "routing rule 5 sends requests carrying `x-version: v2*` to API a1b2c3d4e5 stage beta"
            ),
            "{said}"
        );
        assert!(
            said.contains("routing rule 10 sends the probed path to API a1b2c3d4e5 stage prod, as the execute-api URL's route (API a1b2c3d4e5 stage prod): like for like"),
            "{said}"
        );
        assert!(!said.contains("not like for like"), "{said}");
        // EDGE +0.05 (capped at 0.95), then −0.1 for the header rule.
        assert_eq!(f.confidence, 0.85);
        assert!(!f
            .configured
            .iter()
            .any(|v| v.setting == "routing rule" && v.explains));
    }

    #[test]
    fn no_rule_taking_the_path_leaves_the_mapping_to_decide() {
        let mut f = finding();
        let mut c = path(vec![]);
        c.domains[0].base_path_mappings[0].targets = vec!["edge".into()];
        edge(&mut f, &c);
        assert!(
            f.evidence.iter().any(|e| e.ends_with(
                "none of its 0 routing rules takes the probed path: its base path mapping decides"
            )),
            "{:?}",
            f.evidence
        );
        assert!(f.configured.iter().any(|v| v.setting == "base path mapping"));
        assert_eq!(f.confidence, 0.95);
    }

    #[test]
    fn no_rule_taking_the_path_under_rule_only_is_a_404_not_the_mapping() {
        let mut f = finding();
        let mut c = path(vec![]);
        c.domains[0].routing_mode = Some("ROUTING_RULE_ONLY".into());
        c.domains[0].base_path_mappings[0].targets = vec!["edge".into()];
        edge(&mut f, &c);
        assert!(
            f.evidence.iter().any(|e| e.ends_with(
                "none of its 0 routing rules takes the probed path: the domain answers it with no API behind (404)"
            )),
            "{:?}",
            f.evidence
        );
        assert!(
            !f.configured.iter().any(|v| v.setting == "base path mapping"),
            "rule-only routing never falls back to the mappings: {:?}",
            f.configured
        );
    }
}

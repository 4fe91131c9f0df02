//! Custom domain names (`apigateway` GetDomainName, GetBasePathMappings;
//! `apigatewayv2` ListRoutingRules when the domain routes by rules): which
//! API and stage a probed host's paths go to.

use super::ctx::{is_not_found, Ctx};
use super::model::{BasePathMapping, DomainConfig, HeaderMatch, RoutingRule, RuleCondition};

/// What GetDomainName said of a probed host.
pub enum Domain {
    Read(DomainConfig),
    /// API Gateway does not know it (in this account and region): not a
    /// custom domain, e.g. a private DNS name for a VPC endpoint.
    NotOne,
    /// The call failed (AccessDenied, throttled…): it may be one, mapped
    /// to any API; a note names the call.
    Unreadable,
}

/// Read the custom domain `host`.
pub async fn read(ctx: &mut Ctx<'_>, host: &str) -> Domain {
    ctx.step(&format!("reading custom domain {host}"));
    let action = format!("apigateway:GET on /domainnames/{host}");
    let out = match ctx
        .send(ctx.clients.rest.get_domain_name().domain_name(host).send())
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => {
            ctx.note(format!(
                "{host} is not an API Gateway custom domain in this account/region"
            ));
            return Domain::NotOne;
        }
        Err(e) => {
            ctx.failed(&action, &e);
            return Domain::Unreadable;
        }
    };
    let mut domain = DomainConfig {
        name: out.domain_name().unwrap_or(host).to_string(),
        endpoint_type: out
            .endpoint_configuration()
            .and_then(|c| c.types().first())
            .map(|t| t.as_str().to_string()),
        routing_mode: out.routing_mode().map(|m| m.as_str().to_string()),
        security_policy: out.security_policy().map(|p| p.as_str().to_string()),
        endpoint_access_mode: out.endpoint_access_mode().map(|m| m.as_str().to_string()),
        distribution: out.distribution_domain_name().map(String::from),
        base_path_mappings: Vec::new(),
        routing_rules: Vec::new(),
        routing_rules_unread: false,
    };
    let action = format!("apigateway:GET on /domainnames/{host}/basepathmappings");
    let rest = &ctx.clients.rest;
    // A failed page is a note; the mappings before it are kept.
    domain.base_path_mappings = ctx
        .pages(&action, |position| async move {
            let page = rest
                .get_base_path_mappings()
                .domain_name(host)
                .limit(500)
                .set_position(position)
                .send()
                .await?;
            let items = page
                .items()
                .iter()
                .map(|m| BasePathMapping {
                    base_path: match m.base_path() {
                        None | Some("") => "(none)".to_string(),
                        Some(p) => p.to_string(),
                    },
                    api_id: m.rest_api_id().unwrap_or_default().to_string(),
                    stage: m.stage().map(String::from),
                    targets: Vec::new(),
                })
                .collect();
            Ok((items, page.position().map(String::from)))
        })
        .await
        .items;
    if uses_rules(domain.routing_mode.as_deref()) {
        read_rules(ctx, &mut domain).await;
    }
    Domain::Read(domain)
}

/// `ROUTING_RULE_ONLY`, `ROUTING_RULE_THEN_BASE_PATH_MAPPING`: rules come
/// first. (No mode, an older domain: base path mappings only.)
pub fn uses_rules(mode: Option<&str>) -> bool {
    mode.is_some_and(|m| m.starts_with("ROUTING_RULE"))
}

/// The domain's routing rules, by priority. A failed page marks them
/// unread (a note names the call): a partial list could hide the rule
/// that takes a probed path.
async fn read_rules(ctx: &mut Ctx<'_>, domain: &mut DomainConfig) {
    let host = domain.name.clone();
    ctx.step(&format!("reading routing rules of {host}"));
    let action = format!("apigateway:GET on /domainnames/{host}/routingrules");
    let v2 = &ctx.clients.v2;
    let listing = ctx
        .pages(&action, |token| {
            let host = host.clone();
            async move {
                let page = v2
                    .list_routing_rules()
                    .domain_name(host)
                    .set_next_token(token)
                    .send()
                    .await?;
                let rules = page.routing_rules().iter().filter_map(rule).collect();
                Ok((rules, page.next_token().map(String::from)))
            }
        })
        .await;
    domain.routing_rules_unread = !listing.complete;
    let mut rules = listing.items;
    rules.sort_by_key(|r| r.priority.unwrap_or(i32::MAX));
    domain.routing_rules = rules;
}

/// A rule as read; one with no `invokeApi` action (none exists today) is
/// left out.
fn rule(r: &aws_sdk_apigatewayv2::types::RoutingRule) -> Option<RoutingRule> {
    let invoke = r.actions().iter().find_map(|a| a.invoke_api())?;
    Some(RoutingRule {
        priority: r.priority(),
        conditions: r
            .conditions()
            .iter()
            .map(|c| RuleCondition {
                headers: c
                    .match_headers()
                    .map(|h| {
                        h.any_of()
                            .iter()
                            .map(|m| HeaderMatch {
                                header: m.header().unwrap_or_default().to_string(),
                                value_glob: m.value_glob().unwrap_or_default().to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                base_paths: c
                    .match_base_paths()
                    .map(|b| b.any_of().to_vec())
                    .unwrap_or_default(),
            })
            .collect(),
        api_id: invoke.api_id().unwrap_or_default().to_string(),
        stage: invoke.stage().map(String::from),
        strip_base_path: invoke.strip_base_path(),
        targets: Vec::new(),
    })
}

/// What a domain's routing rules do with a probed `path`.
#[derive(Debug, PartialEq)]
pub struct RuleMatch<'p> {
    /// The rules, in priority order, whose base path conditions take it, up
    /// to the decisive one: each reaches its API when its headers match.
    pub taking: Vec<usize>,
    /// The first of them that needs no header: the request goes there
    /// whatever the probe sends, with the path its API then sees.
    pub decisive: Option<(usize, &'p str)>,
}

/// Match `path` against `d`'s rules (read by priority).
pub fn match_rules<'p>(d: &DomainConfig, path: &'p str) -> RuleMatch<'p> {
    let mut out = RuleMatch {
        taking: Vec::new(),
        decisive: None,
    };
    for (k, r) in d.routing_rules.iter().enumerate() {
        let mut rest = path;
        let takes = r.conditions.iter().all(|c| {
            c.base_paths.is_empty()
                || c.base_paths
                    .iter()
                    .any(|b| match super::matching::strip_prefix_segments(path, b) {
                        Some(after) => {
                            rest = after;
                            true
                        }
                        None => false,
                    })
        });
        if !takes {
            continue;
        }
        out.taking.push(k);
        if !r.needs_headers() {
            let seen = if r.strip_base_path == Some(true) {
                rest
            } else {
                path
            };
            out.decisive = Some((k, seen));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(priority: i32, base: &[&str], header: Option<&str>, api: &str) -> RoutingRule {
        let mut conditions = Vec::new();
        if !base.is_empty() {
            conditions.push(RuleCondition {
                base_paths: base.iter().map(|b| b.to_string()).collect(),
                ..RuleCondition::default()
            });
        }
        if let Some(h) = header {
            conditions.push(RuleCondition {
                headers: vec![HeaderMatch {
                    header: h.into(),
                    value_glob: "v2*".into(),
                }],
                ..RuleCondition::default()
            });
        }
        RoutingRule {
            priority: Some(priority),
            conditions,
            api_id: api.into(),
            stage: Some("prod".into()),
            strip_base_path: Some(true),
            targets: Vec::new(),
        }
    }

    #[test]
    fn header_rules_take_a_path_only_maybe_the_first_without_decides() {
        let d = DomainConfig {
            routing_rules: vec![
                rule(10, &["orders"], Some("x-version"), "v2api"),
                rule(20, &["billing"], None, "billing"),
                rule(30, &["orders"], None, "v1api"),
                rule(40, &[], None, "never"),
            ],
            ..DomainConfig::default()
        };
        let m = match_rules(&d, "/orders/7");
        assert_eq!(
            m.taking,
            [0, 2],
            "the billing rule does not take it; the last is never reached"
        );
        assert_eq!(m.decisive, Some((2, "/7")), "its base path stripped");
        assert_eq!(match_rules(&d, "/other").decisive, Some((3, "/other")));
    }
}

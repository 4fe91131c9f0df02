//! `edge` against the configuration: the custom domain the finding's
//! target probes (the base path mapping that takes it, `aws::path`),
//! its endpoint type, and whether the comparison is like for like.
//!
//! - `EDGE`: API Gateway's own CloudFront distribution is in front of the
//!   gateway, the hop the finding measured; the fix is a Regional
//!   endpoint for the domain.
//! - `REGIONAL`: API Gateway puts no CloudFront there; CloudFront marks
//!   mean a distribution of the user's own.
//! - `PRIVATE`: private custom domains (2024-11) have no CloudFront: never
//!   an edge, and confidence drops.
//! - The mapping: when it takes the custom domain's requests to another
//!   API or stage than the one the execute-api URL's route was read on,
//!   the two URLs do not reach the same thing and the difference is not
//!   the edge's alone.
//! - Routing rules (2025-06): with a routing mode other than
//!   `BASE_PATH_MAPPING_ONLY`, rules evaluated first send requests
//!   elsewhere by base path and header. The read keeps which rules take
//!   the probed path (`aws::path`). The first that needs no header decides
//!   where the custom domain's request goes: when that is another API or
//!   stage than the execute-api URL's, the finding is "not like for like"
//!   exactly as for a mapping (−0.2, the comparison is not the edge's
//!   alone). A rule before it that needs a header sends requests carrying
//!   it elsewhere: the probe's headers are not in what was read, so that
//!   is said and lowers the confidence by less (−0.1) rather than dropping
//!   the comparison. Rules that could not be read leave it unchecked
//!   (said, with the command that lists them).
//!
//! The migration command was checked against AWS's "Migrate a custom
//! domain name to a different API endpoint type" (API Gateway developer
//! guide): add the `REGIONAL` type to `/endpointConfiguration/types`
//! with a certificate from the API's Region (`/regionalCertificateArn`),
//! point DNS at the new endpoint, then remove the edge-optimized one.
//! `op=replace,path=/endpointConfiguration/types/EDGE,value=REGIONAL` is
//! the form AWS documents for `update-rest-api` (an API's own endpoint),
//! not for a domain name, so it is not what we print. The removal is
//! given as its console path: its CLI form was not verified.
//! `aws apigatewayv2 list-routing-rules --domain-name D` is the CLI's own
//! example (`awscli/examples/apigatewayv2/list-routing-rules.rst`).

use super::fixes_first;
use super::path::value;
use super::scope::{all_routes, domain_targets, domains_of, lower};
use crate::aws::path::{BasePathMapping, DomainConfig, PathConfig};

mod rules;
use crate::diagnose::finding::Finding;

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    let mut found = domains_of(c, &f.targets, true);
    // A target that a routing rule takes and no mapping does.
    for d in &c.domains {
        let ruled = d
            .routing_rules
            .iter()
            .any(|r| r.targets.iter().any(|t| f.targets.contains(t)));
        if ruled && !found.iter().any(|(x, _)| x.name == d.name) {
            found.push((d, None));
        }
    }
    if !found.is_empty() {
        // The configuration says what the domain reaches: the detector's
        // caveat (`detect/edge.rs`, UNCHECKED) gives way to what follows.
        f.evidence
            .retain(|e| !e.starts_with(crate::diagnose::detect::UNCHECKED_OPENING));
    }
    for (d, mapping) in found {
        endpoint_type(f, d);
        let decided = rules::join(f, c, d);
        if let (false, Some(m)) = (decided, mapping) {
            like_for_like(f, c, d, m);
        }
    }
}

/// The API and stage of each route probed by a target that is neither
/// the finding's nor a custom domain's: the execute-api URL's.
pub(super) fn execute_api_reach<'a>(c: &'a PathConfig, f: &Finding) -> Vec<(&'a str, Option<&'a str>)> {
    let mut custom = domain_targets(c);
    custom.extend(
        c.domains
            .iter()
            .flat_map(|d| &d.routing_rules)
            .flat_map(|r| r.targets.iter().map(String::as_str)),
    );
    all_routes(c)
        .into_iter()
        .filter(|(_, r)| {
            r.targets
                .iter()
                .any(|t| !custom.contains(&t.as_str()) && !f.targets.contains(t))
        })
        .map(|(api, _)| (api.id(), api.stage()))
        .collect()
}

fn endpoint_type(f: &mut Finding, d: &DomainConfig) {
    let Some(kind) = d.endpoint_type.as_deref() else {
        return;
    };
    let mut v = value(
        format!("custom domain {}", d.name),
        &d.name,
        "endpointConfiguration.types",
        kind.to_string(),
        false,
    );
    match kind {
        "EDGE" => {
            v.explains = true;
            let via = d
                .distribution
                .as_deref()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            f.evidence.insert(
                0,
                format!(
                    "custom domain {} is EDGE (edge-optimized): API Gateway's own CloudFront distribution{via} sits in front of the gateway, the hop this finding measured",
                    d.name
                ),
            );
            f.title = format!("{}; custom domain {} is edge-optimized", f.title, d.name);
            f.confidence = crate::diagnose::detect::raise(f.confidence, 0.05);
            fixes_first(
                f,
                vec![format!(
                    "Custom domain {0}: if the clients are in the API's Region, give it a Regional endpoint (no CloudFront hop): add one with a certificate from the API's Region, `aws apigateway update-domain-name --domain-name {0} --patch-operations op=add,path=/endpointConfiguration/types,value=REGIONAL op=add,path=/regionalCertificateArn,value=CERT_ARN`; point its DNS record at the new `regionalDomainName` (`aws apigateway get-domain-name --domain-name {0}`); then remove the edge-optimized endpoint (console: API Gateway → Custom domain names → {0} → Endpoint configuration).",
                    d.name
                )],
            );
        }
        "PRIVATE" => {
            f.evidence.insert(
                0,
                format!(
                    "custom domain {} is PRIVATE: a private custom domain has no CloudFront, so this is not an edge hop; the difference lies on the way to the VPC endpoint or in what the domain maps to",
                    d.name
                ),
            );
            f.title = format!(
                "{}; but custom domain {} is PRIVATE: no CloudFront",
                f.title, d.name
            );
            f.confidence = lower(f.confidence, 0.2);
        }
        _ => {
            f.evidence.insert(
                0,
                format!(
                    "custom domain {} is {kind}: API Gateway puts no CloudFront in front of it; CloudFront marks on its answers mean a distribution of your own (its origin settings are yours), else the time is another proxy's or in what the domain maps to",
                    d.name
                ),
            );
        }
    }
    f.configured.push(v);
}

/// The API and stage the custom domain's mapping reaches, against those
/// the other targets' routes (the execute-api URL's) were read on.
fn like_for_like(f: &mut Finding, c: &PathConfig, d: &DomainConfig, m: &BasePathMapping) {
    let others = execute_api_reach(c, f);
    let reached = match &m.stage {
        Some(s) => format!("API {} stage {s}", m.api_id),
        None => format!("API {}", m.api_id),
    };
    let same = others.iter().any(|(id, stage)| {
        *id == m.api_id && (m.stage.is_none() || stage.is_none() || m.stage.as_deref() == *stage)
    });
    let mut v = value(
        format!("custom domain {}, base path {}", d.name, m.base_path),
        &d.name,
        "base path mapping",
        reached.clone(),
        false,
    );
    if let Some((id, stage)) = others.first().filter(|_| !same) {
        v.explains = true;
        let there = match stage {
            Some(s) => format!("API {id} stage {s}"),
            None => format!("API {id}"),
        };
        f.evidence.insert(
            0,
            format!(
                "not like for like: custom domain {}'s base path {} goes to {reached}, the execute-api URL's route to {there}; the two URLs do not reach the same thing, so the difference is not the edge's alone",
                d.name, m.base_path
            ),
        );
        f.title = format!(
            "{}; not like for like: the custom domain reaches {reached}, the execute-api URL {there}",
            f.title
        );
        f.confidence = lower(f.confidence, 0.2);
        fixes_first(
            f,
            vec![format!(
                "Compare like for like: probe the execute-api URL of {reached} (`https://{}.execute-api.REGION.amazonaws.com/{}/…`), or map the custom domain to the stage you compare with (`aws apigateway get-base-path-mappings --domain-name {}` shows where each base path goes).",
                m.api_id,
                m.stage.as_deref().unwrap_or("STAGE"),
                d.name
            )],
        );
    }
    f.configured.push(v);
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::super::scope::NOTHING;
    use super::*;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding() -> Finding {
        Finding::new(
            Cause::Edge,
            Severity::Warning,
            0.95,
            "The custom domain is 60 ms slower than the execute-api URL on /orders (65 ms vs 3.3 ms to first byte)",
        )
        .fixes(&["If the clients are in the API's Region, use a Regional custom domain instead of an edge-optimized one: no CloudFront hop."])
        .targets(["edge".to_string()])
    }

    fn path(kind: &str, stage: &str) -> PathConfig {
        let mut c = fixtures::path();
        c.domains.push(fixtures::domain(kind, stage, &["edge"]));
        c
    }

    #[test]
    fn an_edge_domain_on_the_same_stage_explains_it_and_names_the_migration() {
        let mut f = finding();
        join(&mut f, &path("EDGE", "prod"));
        assert!(
            f.evidence[0].starts_with("custom domain api.example.com is EDGE (edge-optimized): API Gateway's own CloudFront distribution (d111111abcdef8.cloudfront.net)"),
            "{}",
            f.evidence[0]
        );
        assert!(
            f.title
                .ends_with("; custom domain api.example.com is edge-optimized"),
            "{}",
            f.title
        );
        assert!(f.fix[0].contains("aws apigateway update-domain-name --domain-name api.example.com --patch-operations op=add,path=/endpointConfiguration/types,value=REGIONAL op=add,path=/regionalCertificateArn,value=CERT_ARN"), "{}", f.fix[0]);
        assert_eq!(f.confidence, 0.95);
        let types = &f.configured[0];
        assert_eq!(
            (types.setting.as_str(), types.value.as_str()),
            ("endpointConfiguration.types", "EDGE")
        );
        assert!(types.explains);
        let mapping = &f.configured[1];
        assert_eq!(mapping.value, "API a1b2c3d4e5 stage prod");
        assert!(
            !mapping.explains,
            "same API and stage as the execute-api URL's route"
        );
        assert!(!f.evidence.iter().any(|e| e.starts_with("not like for like")));
    }

    #[test]
    fn a_mapping_to_another_stage_is_not_like_for_like() {
        let mut f = finding();
        join(&mut f, &path("EDGE", "beta"));
        assert!(
            f.evidence[0].starts_with("not like for like: custom domain api.example.com's base path (none) goes to API a1b2c3d4e5 stage beta, the execute-api URL's route to API a1b2c3d4e5 stage prod"),
            "{}",
            f.evidence[0]
        );
        assert!(f.title.contains("not like for like"), "{}", f.title);
        assert!(f.fix[0].starts_with("Compare like for like"), "{}", f.fix[0]);
        // +0.05 for EDGE, then −0.2: 0.95 capped, 0.75.
        assert_eq!(f.confidence, 0.75);
    }

    #[test]
    fn a_private_domain_is_never_an_edge() {
        let mut f = finding();
        join(&mut f, &path("PRIVATE", "prod"));
        assert!(
            f.evidence[0].contains("is PRIVATE: a private custom domain has no CloudFront"),
            "{}",
            f.evidence[0]
        );
        assert!(f
            .title
            .ends_with("but custom domain api.example.com is PRIVATE: no CloudFront"));
        assert_eq!(f.confidence, 0.75);
        assert!(!f.configured.iter().any(|v| v.explains));
        assert!(!f.fix[0].contains("update-domain-name"));
    }

    #[test]
    fn a_regional_domain_points_at_a_distribution_of_your_own() {
        let mut f = finding();
        join(&mut f, &path("REGIONAL", "prod"));
        assert!(
            f.evidence[0].contains("is REGIONAL: API Gateway puts no CloudFront in front of it"),
            "{}",
            f.evidence[0]
        );
        assert_eq!(f.confidence, 0.95);
    }

    #[test]
    fn routing_rules_leave_the_comparison_unchecked() {
        let mut c = path("EDGE", "prod");
        c.domains[0].routing_mode = Some("ROUTING_RULE_THEN_BASE_PATH_MAPPING".into());
        // Since issue 18 the read lists the rules; when it could not, it
        // marks them unread, and the comparison stays unchecked.
        c.domains[0].routing_rules_unread = true;
        let mut f = finding();
        join(&mut f, &c);
        let last = f.evidence.last().unwrap();
        assert!(
            last.contains("aws apigatewayv2 list-routing-rules --domain-name api.example.com"),
            "{last}"
        );
        assert!(f.configured.iter().any(|v| v.setting == "routingMode"));
    }

    #[test]
    fn a_target_no_domain_takes_adds_nothing() {
        let mut c = path("EDGE", "prod");
        c.domains[0].base_path_mappings[0].targets = vec!["someone-else".into()];
        let mut f = finding();
        let before = f.clone();
        join(&mut f, &c);
        assert_eq!(f, before);
        super::super::scope::say_when_nothing_explains(&mut f);
        assert_eq!(f.evidence.last().map(String::as_str), Some(NOTHING));
    }
}

//! Which part of the configuration a finding's targets reach: the routes
//! they probe (with their API), the custom domains whose base path
//! mappings take them. The joins cite only what the finding's own targets
//! go through; and the one line a finding ends with when nothing read
//! explains it.

use crate::aws::path::{BasePathMapping, DomainConfig, PathConfig, RouteConfig};
use crate::diagnose::finding::Finding;

/// The line a finding of the probes ends with when no configured value
/// explains it (`docs/causes.md`, "From the configuration"): the same
/// words for every cause, so that a reader (and a script) can tell "read
/// and checked" from "not read".
pub const NOTHING: &str = "configuration: nothing read explains this";

/// Which API a route belongs to: its id and the stage read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api<'a> {
    Rest { id: &'a str, stage: Option<&'a str> },
    Http { id: &'a str, stage: Option<&'a str> },
}

impl<'a> Api<'a> {
    pub fn id(self) -> &'a str {
        match self {
            Api::Rest { id, .. } | Api::Http { id, .. } => id,
        }
    }

    pub fn stage(self) -> Option<&'a str> {
        match self {
            Api::Rest { stage, .. } | Api::Http { stage, .. } => stage,
        }
    }
}

/// Every route read, with its API.
pub fn all_routes(c: &PathConfig) -> Vec<(Api<'_>, &RouteConfig)> {
    let mut out = Vec::new();
    if let Some(a) = &c.rest_api {
        let api = Api::Rest {
            id: &a.id,
            stage: a.stage.as_ref().map(|s| s.name.as_str()),
        };
        out.extend(a.routes.iter().map(|r| (api, r)));
    }
    if let Some(a) = &c.http_api {
        let api = Api::Http {
            id: &a.id,
            stage: a.stage.as_ref().map(|s| s.name.as_str()),
        };
        out.extend(a.routes.iter().map(|r| (api, r)));
    }
    out
}

/// The routes probed by any of `targets`.
pub fn routes_of<'a>(c: &'a PathConfig, targets: &[String]) -> Vec<(Api<'a>, &'a RouteConfig)> {
    all_routes(c)
        .into_iter()
        .filter(|(_, r)| r.targets.iter().any(|t| targets.contains(t)))
        .collect()
}

/// The custom domains whose base path mappings take any of `targets`,
/// with that mapping. `only_one`: when no mapping says which targets it
/// takes (a configuration read before mappings recorded them) and one
/// domain was read, that domain, with its mapping if it has one only; for
/// a finding whose target can only be a custom domain (`edge`).
pub fn domains_of<'a>(
    c: &'a PathConfig,
    targets: &[String],
    only_one: bool,
) -> Vec<(&'a DomainConfig, Option<&'a BasePathMapping>)> {
    let mut out: Vec<(&DomainConfig, Option<&BasePathMapping>)> = Vec::new();
    for d in &c.domains {
        if let Some(m) = d
            .base_path_mappings
            .iter()
            .find(|m| m.targets.iter().any(|t| targets.contains(t)))
        {
            out.push((d, Some(m)));
        }
    }
    let recorded = c
        .domains
        .iter()
        .flat_map(|d| &d.base_path_mappings)
        .any(|m| !m.targets.is_empty());
    if out.is_empty() && only_one && !recorded {
        if let [d] = c.domains.as_slice() {
            let m = match d.base_path_mappings.as_slice() {
                [m] => Some(m),
                _ => None,
            };
            out.push((d, m));
        }
    }
    out
}

/// Every target some base path mapping takes: the custom-domain targets.
pub fn domain_targets(c: &PathConfig) -> Vec<&str> {
    c.domains
        .iter()
        .flat_map(|d| &d.base_path_mappings)
        .flat_map(|m| m.targets.iter().map(String::as_str))
        .collect()
}

/// `confidence` lowered by what the configuration contradicts, never
/// below 0.3, to two decimals.
pub fn lower(confidence: f64, by: f64) -> f64 {
    ((confidence - by).max(0.3) * 100.0).round() / 100.0
}

/// End a finding of the probes with [`NOTHING`] when no configured value
/// it cites explains it (once).
pub fn say_when_nothing_explains(f: &mut Finding) {
    if f.from.is_none()
        && !f.configured.iter().any(|v| v.explains)
        && !f.evidence.iter().any(|e| e == NOTHING)
    {
        f.evidence.push(NOTHING.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::aws::path::{BasePathMapping, DomainConfig};
    use crate::diagnose::finding::{Cause, Severity};

    fn domain(targets: &[&str]) -> DomainConfig {
        DomainConfig {
            name: "api.example.com".into(),
            endpoint_type: Some("EDGE".into()),
            base_path_mappings: vec![BasePathMapping {
                base_path: "(none)".into(),
                api_id: "a1b2c3d4e5".into(),
                stage: Some("prod".into()),
                targets: targets.iter().map(|t| t.to_string()).collect(),
            }],
            ..DomainConfig::default()
        }
    }

    #[test]
    fn a_domain_is_the_target_s_when_its_mapping_takes_it() {
        let mut c = fixtures::path();
        c.domains.push(domain(&["custom"]));
        assert_eq!(domains_of(&c, &["custom".into()], false).len(), 1);
        assert!(
            domains_of(&c, &["api".into()], true).is_empty(),
            "recorded: no guess"
        );
        assert_eq!(domain_targets(&c), ["custom"]);
    }

    #[test]
    fn without_recorded_targets_only_a_lone_domain_is_taken_and_only_when_asked() {
        let mut c = fixtures::path();
        c.domains.push(domain(&[]));
        assert!(domains_of(&c, &["custom".into()], false).is_empty());
        let found = domains_of(&c, &["custom".into()], true);
        assert_eq!(found.len(), 1);
        assert!(found[0].1.is_some(), "its only mapping");
    }

    #[test]
    fn routes_are_the_targets_own() {
        let c = fixtures::path();
        assert_eq!(routes_of(&c, &["api".into()]).len(), 1);
        assert!(routes_of(&c, &["other".into()]).is_empty());
    }

    #[test]
    fn the_nothing_line_comes_once_and_only_without_an_explanation() {
        let mut f = Finding::new(Cause::SlowTls, Severity::Warning, 0.8, "tls");
        say_when_nothing_explains(&mut f);
        say_when_nothing_explains(&mut f);
        assert_eq!(f.evidence, [NOTHING]);
        assert_eq!(lower(0.55, 0.2), 0.35);
        assert_eq!(lower(0.4, 0.2), 0.3);
    }
}

//! `diagnose --aws-config`: the path's configuration, read-only, from API
//! Gateway (REST and HTTP APIs), their VPC links and custom domains, and
//! Elastic Load Balancing (NLBs and ALBs, listeners, target groups, target
//! health), starting from what the profile names and following the links
//! the APIs give.
//!
//! Reading never fails as a whole: a call that fails, or a link that cannot
//! be followed, is a note in [`PathConfig::notes`], and the rest is read.
//! Nothing is ever written to the account.

mod ctx;
mod domain;
mod elb;
mod http;
mod link;
mod matching;
pub mod model;
mod rest;

pub use ctx::Clients;
pub use matching::execute_api_id;
pub use model::*;

use std::collections::BTreeSet;

use aws_config::SdkConfig;

use ctx::{ApiRoute, Ctx, Follow};

/// Read what `query` names and what it leads to. `progress` is told what
/// is being read (one line a step, for stderr).
pub async fn read(sdk: &SdkConfig, query: &PathQuery, progress: &(dyn Fn(&str) + Sync)) -> PathConfig {
    read_with(&Clients::new(sdk), query, progress).await
}

/// [`read`] with the clients given (tests hand in the SDK's mocks).
pub async fn read_with(clients: &Clients, query: &PathQuery, progress: &(dyn Fn(&str) + Sync)) -> PathConfig {
    let mut ctx = Ctx::new(clients, progress);
    let mut out = PathConfig::default();
    let mut follow = Follow::default();

    let probed = probed_routes(&mut ctx, &mut out, query).await;

    let http_id = query.http_api.as_ref().map(|h| h.id.clone());
    let rest = match &query.rest_api {
        Some(r) => match &r.id {
            Some(id) => Some((id.clone(), r.stage.clone())),
            None => match &r.name {
                Some(name) => rest::find_by_name(&mut ctx, name)
                    .await
                    .map(|id| (id, r.stage.clone())),
                None => None,
            },
        },
        None => infer_rest(&mut ctx, &probed, http_id.as_deref()),
    };
    let named_rest = rest.is_some();
    let read_ids: Vec<&str> = rest
        .iter()
        .map(|(id, _)| id.as_str())
        .chain(http_id.as_deref())
        .collect();
    // A REST API named by a name not found: its id is unknown, so a probed
    // API cannot be called "not named" (the lookup's note says why).
    if query.rest_api.is_none() || rest.is_some() {
        unnamed_apis(&mut ctx, &probed, &read_ids);
    }
    if let Some((id, stage)) = &rest {
        let routes = routes_for(&mut ctx, &probed, id, stage, true);
        out.rest_api = rest::read(&mut ctx, id, stage, &routes, &mut follow).await;
    }
    if let Some(h) = &query.http_api {
        let prefixed = h.stage != "$default";
        let routes = routes_for(&mut ctx, &probed, &h.id, &h.stage, prefixed);
        out.http_api = http::read(&mut ctx, &h.id, &h.stage, &routes, &mut follow).await;
    }
    let links = follow.links.clone();
    for l in &links {
        if let Some(config) = link::read(&mut ctx, l, &mut follow).await {
            out.vpc_links.push(config);
        }
    }
    let mut lbs = follow.load_balancers.clone();
    for (reference, origin) in [(&query.nlb, "[aws] nlb"), (&query.alb, "[aws] alb")] {
        if let Some(r) = reference {
            if !lbs.iter().any(|(l, _)| l == r) {
                lbs.push((r.clone(), origin.to_string()));
            }
        }
    }
    out.load_balancers = elb::read(&mut ctx, &lbs, &query.target_groups).await;
    if !named_rest
        && query.rest_api.is_none()
        && query.http_api.is_none()
        && lbs.is_empty()
        && query.target_groups.is_empty()
        && out.domains.is_empty()
    {
        ctx.note(
            "nothing to read: [aws] names no rest_api, http_api, nlb, alb or target_groups, and no probed host is an API Gateway one",
        );
    }
    out.notes = ctx.into_notes();
    out
}

/// Where a probed route goes, as far as its host tells.
enum Hint {
    /// `ID.execute-api…`: the path starts with the stage.
    Api(String),
    /// A custom domain's base path mapping: the path is behind it.
    Mapped { api: String, stage: Option<String> },
    /// An IP literal, `localhost`, a host API Gateway says is not a custom
    /// domain (a private DNS name, the lab's): the profile's API serves it.
    /// (A host whose GetDomainName failed is none of these: its routes are
    /// not matched, not guessed.)
    Unknown,
}

struct Probed {
    route: ProbedRoute,
    hint: Hint,
    path: String,
}

/// The probed routes with their hosts read: the custom domains are read
/// into `out.domains` on the way.
async fn probed_routes(ctx: &mut Ctx<'_>, out: &mut PathConfig, query: &PathQuery) -> Vec<Probed> {
    let mut parsed = Vec::new();
    for route in &query.routes {
        match matching::host_and_path(&route.url) {
            Some((host, path)) => parsed.push((route, host, path)),
            None => ctx.note(format!("{}: {} has no host to read", route.target, route.url)),
        }
    }
    let hosts: BTreeSet<&str> = parsed
        .iter()
        .map(|(_, h, _)| h.as_str())
        .filter(|h| !matching::is_any_execute_api_host(h) && !matching::is_ip_literal(h) && *h != "localhost")
        .collect();
    let mut unreadable = BTreeSet::new();
    for host in hosts {
        match domain::read(ctx, host).await {
            domain::Domain::Read(domain) => out.domains.push(domain),
            domain::Domain::NotOne => {}
            domain::Domain::Unreadable => {
                unreadable.insert(host.to_string());
            }
        }
    }
    let mut probed = Vec::new();
    // (domain, mapping, target): which mapping takes which target, set
    // once the loop no longer borrows `out.domains`.
    let mut taken: Vec<(usize, usize, String)> = Vec::new();
    // The same for routing rules: (domain, rule, target).
    let mut ruled: Vec<(usize, usize, String)> = Vec::new();
    for (route, host, path) in parsed {
        if unreadable.contains(&host) {
            // It may map this path to any API and stage: matching it
            // against the profile's API could cite a route it never takes.
            ctx.note(format!(
                "{}: {} was not matched to a route: its custom domain {host} could not be read",
                route.target, route.url
            ));
            continue;
        }
        let domain = out
            .domains
            .iter()
            .enumerate()
            .find(|(_, d)| d.name.eq_ignore_ascii_case(&host));
        let (hint, path) = if let Some(id) = matching::execute_api_id(&host) {
            (Hint::Api(id.to_string()), path)
        } else if let Some(by_rules) =
            domain.and_then(|(d, domain)| by_rules(ctx, d, domain, &route.target, &host, &path, &mut ruled))
        {
            match by_rules {
                Some(hint_path) => hint_path,
                None => continue,
            }
        } else if let Some((d, domain)) = domain {
            let bases = domain.base_path_mappings.iter().map(|m| m.base_path.as_str());
            let Some((base, rest)) = matching::pick_base_path(bases, &path) else {
                ctx.note(format!(
                    "{}: no base path mapping of {host} takes {path}",
                    route.target
                ));
                continue;
            };
            let (k, m) = domain
                .base_path_mappings
                .iter()
                .enumerate()
                .find(|(_, m)| m.base_path == base)
                .expect("a listed base path");
            taken.push((d, k, route.target.clone()));
            let hint = Hint::Mapped {
                api: m.api_id.clone(),
                stage: m.stage.clone(),
            };
            (hint, rest.to_string())
        } else {
            (Hint::Unknown, path)
        };
        probed.push(Probed {
            route: route.clone(),
            hint,
            path,
        });
    }
    for (d, k, target) in taken {
        let targets = &mut out.domains[d].base_path_mappings[k].targets;
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    for (d, k, target) in ruled {
        let targets = &mut out.domains[d].routing_rules[k].targets;
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    probed
}

/// A probed path on a domain that routes by rules (2025-06), which API
/// Gateway evaluates before any base path mapping. `None`: the domain
/// does not use rules, or none decides and its mappings do
/// (`ROUTING_RULE_THEN_BASE_PATH_MAPPING`); `Some(None)`: the route is
/// not matched (a note says why); else where the rule sends it. The rules
/// that take the path are recorded in `ruled` either way.
fn by_rules(
    ctx: &mut Ctx<'_>,
    d: usize,
    domain: &DomainConfig,
    target: &str,
    host: &str,
    path: &str,
    ruled: &mut Vec<(usize, usize, String)>,
) -> Option<Option<(Hint, String)>> {
    let mode = domain.routing_mode.as_deref();
    if !domain::uses_rules(mode) {
        return None;
    }
    if domain.routing_rules_unread {
        ctx.note(format!(
            "{target}: {path} on {host} was not matched to a route: the domain's routing rules could not be read, and they may send it to any API"
        ));
        return Some(None);
    }
    let m = domain::match_rules(domain, path);
    ruled.extend(m.taking.iter().map(|&k| (d, k, target.to_string())));
    match m.decisive {
        Some((k, seen)) => {
            let r = &domain.routing_rules[k];
            let hint = Hint::Mapped {
                api: r.api_id.clone(),
                stage: r.stage.clone(),
            };
            Some(Some((hint, seen.to_string())))
        }
        None if mode == Some("ROUTING_RULE_ONLY") => {
            ctx.note(format!(
                "{target}: no routing rule of {host} takes {path} whatever the headers (routing mode ROUTING_RULE_ONLY): its route was not read"
            ));
            Some(None)
        }
        None => None,
    }
}

/// With no `[aws] rest_api`: the API an `ID.execute-api…` host names (not
/// the HTTP API), at the stage its path starts with.
fn infer_rest(ctx: &mut Ctx<'_>, probed: &[Probed], http_id: Option<&str>) -> Option<(String, String)> {
    let (id, path) = probed.iter().find_map(|p| match &p.hint {
        Hint::Api(id) if Some(id.as_str()) != http_id => Some((id.clone(), p.path.clone())),
        _ => None,
    })?;
    match path.split('/').find(|s| !s.is_empty()) {
        Some(stage) => Some((id, stage.to_string())),
        None => {
            ctx.note(format!(
                "REST API {id}: the probed URL names no stage (no path): name it in [aws] rest_api"
            ));
            None
        }
    }
}

/// Probed routes whose host names an API that is not read: said, once each.
fn unnamed_apis(ctx: &mut Ctx<'_>, probed: &[Probed], read_ids: &[&str]) {
    for p in probed {
        let api = match &p.hint {
            Hint::Api(api) | Hint::Mapped { api, .. } => api,
            Hint::Unknown => continue,
        };
        if !read_ids.contains(&api.as_str()) {
            ctx.note(format!(
                "{}: {} goes to API {api}, which [aws] rest_api / http_api does not name: its route was not read",
                p.route.target, p.route.url
            ));
        }
    }
}

/// The probed routes that go to API `id`, with the path the API sees.
/// `prefixed`: an `execute-api` URL starts with `/STAGE`.
fn routes_for(ctx: &mut Ctx<'_>, probed: &[Probed], id: &str, stage: &str, prefixed: bool) -> Vec<ApiRoute> {
    let mut out = Vec::new();
    for p in probed {
        let path = match &p.hint {
            Hint::Api(api) if api != id => continue,
            Hint::Mapped { api, .. } if api != id => continue,
            Hint::Mapped { stage: mapped, .. } => {
                if mapped.as_deref().is_some_and(|m| m != stage) {
                    ctx.note(format!(
                        "{}: {} goes to stage {} of API {id}; reading stage {stage}",
                        p.route.target,
                        p.route.url,
                        mapped.as_deref().unwrap_or_default()
                    ));
                }
                p.path.clone()
            }
            Hint::Api(_) if !prefixed => p.path.clone(),
            Hint::Api(_) => match matching::strip_prefix_segments(&p.path, stage) {
                Some(rest) => rest.to_string(),
                None => {
                    ctx.note(format!(
                        "{}: {} is not on stage {stage} of API {id}: its route was not read",
                        p.route.target, p.route.url
                    ));
                    continue;
                }
            },
            // Not an API Gateway host (the lab, a VPC endpoint's address):
            // the profile says this API serves it.
            Hint::Unknown => match prefixed {
                true => matching::strip_prefix_segments(&p.path, stage)
                    .unwrap_or(&p.path)
                    .to_string(),
                false => p.path.clone(),
            },
        };
        out.push(ApiRoute {
            target: p.route.target.clone(),
            method: p.route.method.clone(),
            path,
        });
    }
    out
}

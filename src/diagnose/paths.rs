//! Which path each target takes behind the gateway ([`PathKind`]), from
//! the strongest source that says: the configuration read (`--aws-config`:
//! the load balancer or Cloud Map service each probed route reaches), then
//! the profile (`[aws] alb` or `[aws] nlb` alone), then the responses (an
//! ALB's own 502/504 pages, `server: awselb/…`). A weaker source that
//! disagrees with a stronger one is said in a note, not taken.

use crate::aws::path::{LoadBalancerConfig, PathConfig, RouteConfig};
use crate::diagnose::configured::path::{is_alb, is_nlb};
use crate::diagnose::configured::scope::routes_of;
use crate::diagnose::path_kind::{short_lb, PathHint, PathKind, PathSource, TargetPath};
use crate::diagnose::Dataset;

/// Each target's path (by index, as `ds.targets`) and the notes on
/// sources that disagree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    pub paths: Vec<TargetPath>,
    pub notes: Vec<String>,
}

/// Resolve every target's path; pure.
pub fn resolve(ds: &Dataset, hint: &PathHint, config: Option<&PathConfig>) -> Resolved {
    let mut out = Resolved::default();
    for (t, info) in ds.targets.iter().enumerate() {
        let configured = config.and_then(|c| from_config(c, &info.name));
        let profiled = from_profile(hint);
        let alb_pages = ds.of_target(t as u16).filter(|(_, s)| s.alb_answered).count();
        let path = match (configured, profiled) {
            (Some(c), p) => {
                if let Some(p) = p.filter(|p| p.kind != c.kind) {
                    out.notes.push(format!(
                        "target {}: the profile says its path is {}, the configuration read says {}: the configuration is taken",
                        info.name,
                        p.words_bare(),
                        c.words_bare()
                    ));
                }
                c
            }
            (None, Some(p)) => p,
            (None, None) if alb_pages > 0 => TargetPath::new(
                PathKind::Alb,
                PathSource::Responses,
                hint.alb.as_deref().map(short_lb),
            ),
            (None, None) => TargetPath::default(),
        };
        if alb_pages > 0 && path.kind != PathKind::Alb && path.kind != PathKind::Unknown {
            out.notes.push(format!(
                "target {}: the {} says its path is {}, but {} of its responses came from an ALB (server: awselb): the responses disagree; check {}",
                info.name,
                path.from.map_or("profile", PathSource::word),
                path.words_bare(),
                alb_pages,
                match path.from {
                    Some(PathSource::Configuration) => "which load balancer the route reaches",
                    _ => "the profile's [aws] nlb and alb",
                }
            ));
        }
        out.paths.push(path);
    }
    out
}

impl TargetPath {
    /// `ALB app/x/y`, without the source.
    fn words_bare(&self) -> String {
        match &self.load_balancer {
            Some(lb) => format!("{} {lb}", self.kind.hop()),
            None => self.kind.hop().to_string(),
        }
    }
}

/// The profile alone: one kind named, that kind; both, neither.
fn from_profile(hint: &PathHint) -> Option<TargetPath> {
    match (&hint.nlb, &hint.alb) {
        (Some(n), None) => Some(TargetPath::new(
            PathKind::Nlb,
            PathSource::Profile,
            Some(short_lb(n)),
        )),
        (None, Some(a)) => Some(TargetPath::new(
            PathKind::Alb,
            PathSource::Profile,
            Some(short_lb(a)),
        )),
        _ => None,
    }
}

/// What the configuration read says `target`'s routes reach: the same
/// kind for every route that says, else nothing. A target whose routes
/// say nothing (moto's REST integrations carry no link or target) takes
/// the kind of the load balancers read when they are all of one kind.
fn from_config(c: &PathConfig, target: &str) -> Option<TargetPath> {
    let routes = routes_of(c, &[target.to_string()]);
    let said: Vec<TargetPath> = routes.iter().filter_map(|(_, r)| route_path(c, r)).collect();
    if let Some(first) = said.first() {
        return said.iter().all(|p| p.kind == first.kind).then(|| {
            let same_lb = said.iter().all(|p| p.load_balancer == first.load_balancer);
            TargetPath {
                load_balancer: first.load_balancer.clone().filter(|_| same_lb),
                ..first.clone()
            }
        });
    }
    // A route that leaves the VPC link (a public HTTP or Lambda
    // integration) reaches none of the load balancers read.
    let private = routes.is_empty()
        || routes
            .iter()
            .any(|(_, r)| r.connection_type.as_deref().is_none_or(|t| t == "VPC_LINK"));
    let lbs = &c.load_balancers;
    let first = lbs.first()?;
    let kind = lb_kind(first)?;
    (private && lbs.iter().all(|lb| lb_kind(lb) == Some(kind))).then(|| {
        TargetPath::new(
            kind,
            PathSource::Configuration,
            (lbs.len() == 1).then(|| lb_name(first)),
        )
    })
}

/// One route's hop: a Cloud Map URI; the ALB or NLB of its integration
/// target, its URI (an HTTP API's listener ARN) or its V1 link's targets.
fn route_path(c: &PathConfig, r: &RouteConfig) -> Option<TargetPath> {
    let uri = r.uri.as_deref().unwrap_or_default();
    if uri.starts_with("arn:aws:servicediscovery:") {
        return Some(TargetPath::new(
            PathKind::CloudMap,
            PathSource::Configuration,
            None,
        ));
    }
    let link = [&r.vpc_link_id, &r.connection_id]
        .into_iter()
        .flatten()
        .find_map(|id| c.vpc_links.iter().find(|l| &l.id == id));
    let mut arns: Vec<&str> = r.integration_target.iter().map(String::as_str).collect();
    if uri.contains(":elasticloadbalancing:") {
        arns.push(uri);
    }
    if let Some(l) = link {
        arns.extend(l.target_arns.iter().map(String::as_str));
    }
    for arn in arns {
        if let Some(lb) = c
            .load_balancers
            .iter()
            .find(|lb| lb.arn == arn || lb.listeners.iter().any(|l| l.arn == arn))
        {
            if let Some(kind) = lb_kind(lb) {
                return Some(TargetPath::new(
                    kind,
                    PathSource::Configuration,
                    Some(lb_name(lb)),
                ));
            }
        }
        // Not read: the ARN's own words (`loadbalancer/net/…`, `listener/app/…`).
        let kind = if arn.contains("/net/") {
            PathKind::Nlb
        } else if arn.contains("/app/") {
            PathKind::Alb
        } else {
            continue;
        };
        let name = arn.contains(":loadbalancer/").then(|| short_lb(arn));
        return Some(TargetPath::new(kind, PathSource::Configuration, name));
    }
    // A V1 link reaches NLBs only.
    link.filter(|l| l.version == "V1")
        .map(|_| TargetPath::new(PathKind::Nlb, PathSource::Configuration, None))
}

fn lb_kind(lb: &LoadBalancerConfig) -> Option<PathKind> {
    if is_alb(lb) {
        Some(PathKind::Alb)
    } else if is_nlb(lb) {
        Some(PathKind::Nlb)
    } else {
        None
    }
}

/// `net/NAME/ID` or `app/NAME/ID` by the kind read (moto writes `app/`
/// into every ARN, NLBs included).
fn lb_name(lb: &LoadBalancerConfig) -> String {
    // The prefix from the type the configuration says (moto's ARNs say
    // `app/` for an NLB too), the ID from the ARN (the one ELB parser).
    let prefix = if is_nlb(lb) { "net" } else { "app" };
    match crate::aws::arn::parse(&lb.arn)
        .filter(|r| r.arn.is_some())
        .and_then(|r| r.id)
    {
        Some(id) => format!("{prefix}/{}/{id}", lb.name),
        None => format!("{prefix}/{}", lb.name),
    }
}

#[cfg(test)]
mod tests;

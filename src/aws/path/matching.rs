//! The pure parts of reading the path: which API a probed URL goes to, the
//! route it asks for, which configured route takes it, stage variables, and
//! the names inside ARNs. No calls here.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// A probed URL's host (lower case, no port) and path (no query, `/` at least).
pub fn host_and_path(url: &str) -> Option<(String, String)> {
    let uri: http::Uri = url.parse().ok()?;
    let host = uri
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let path = match uri.path() {
        "" => "/".to_string(),
        p => p.to_string(),
    };
    Some((host, path))
}

pub fn is_ip_literal(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok()
}

/// `ID.execute-api.REGION.amazonaws.com` (and the private alias
/// `ID-VPCE.execute-api…`) → `ID`. A VPC endpoint's own name
/// (`vpce-….execute-api…`) names no API.
pub fn execute_api_id(host: &str) -> Option<&str> {
    let (first, rest) = host.split_once('.')?;
    if !rest.starts_with("execute-api.") || first.starts_with("vpce-") {
        return None;
    }
    Some(first.split_once("-vpce-").map_or(first, |(id, _)| id))
}

/// Any `*.execute-api.*` host, an API's or a VPC endpoint's: none is a
/// custom domain (not [`execute_api_id`], which only names an API's).
pub fn is_any_execute_api_host(host: &str) -> bool {
    host.split_once('.')
        .is_some_and(|(_, rest)| rest.starts_with("execute-api."))
}

/// `path` without a leading `/STAGE` segment: `Some("/rest")`, or `None`
/// when the path does not start with that stage.
pub fn strip_prefix_segments<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix('/')?.strip_prefix(prefix)?;
    match rest {
        "" => Some("/"),
        r if r.starts_with('/') => Some(r),
        _ => None,
    }
}

/// The base path mapping that takes `path` (the longest matching base
/// path; `(none)` or empty takes everything), and the path behind it.
pub fn pick_base_path<'a, 'p>(
    bases: impl IntoIterator<Item = &'a str>,
    path: &'p str,
) -> Option<(&'a str, &'p str)> {
    bases
        .into_iter()
        .filter_map(|b| {
            let key = if b == "(none)" { "" } else { b };
            strip_prefix_segments(path, key).map(|rest| (b, rest, key.len()))
        })
        .max_by_key(|(_, _, len)| *len)
        .map(|(b, rest, _)| (b, rest))
}

/// How well a path template matches a concrete path: `None` when it does
/// not; else a rank per segment (literal 3, `{param}` 2, `{greedy+}` 1),
/// compared lexicographically, so the most specific template wins as API
/// Gateway picks it.
pub fn template_rank(template: &str, path: &str) -> Option<Vec<u8>> {
    let tpl: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut rank = Vec::with_capacity(tpl.len());
    for (i, t) in tpl.iter().enumerate() {
        if t.starts_with('{') && t.ends_with("+}") {
            // Greedy: the rest of the path, at least one segment.
            return (i == tpl.len() - 1 && segs.len() > i).then(|| {
                rank.push(1);
                rank
            });
        }
        let s = segs.get(i)?;
        if t.starts_with('{') && t.ends_with('}') {
            rank.push(2);
        } else if t == s {
            rank.push(3);
        } else {
            return None;
        }
    }
    (segs.len() == tpl.len()).then_some(rank)
}

/// The most specific of `templates` that matches `path`.
pub fn best_template<'a>(templates: impl IntoIterator<Item = &'a str>, path: &str) -> Option<&'a str> {
    templates
        .into_iter()
        .filter_map(|t| template_rank(t, path).map(|r| (t, r)))
        .max_by(|a, b| a.1.cmp(&b.1))
        .map(|(t, _)| t)
}

/// An HTTP API route key for a probed method and path: the most specific
/// path first, then an exact method over `ANY`; `$default` takes what no
/// other route does.
pub fn best_route_key<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    method: &str,
    path: &str,
) -> Option<&'a str> {
    let mut default = None;
    let mut best: Option<(&str, Vec<u8>, bool)> = None;
    for key in keys {
        if key == "$default" {
            default = Some(key);
            continue;
        }
        let Some((m, tpl)) = key.split_once(' ') else {
            continue;
        };
        let exact = m.eq_ignore_ascii_case(method);
        if !exact && m != "ANY" {
            continue;
        }
        if let Some(rank) = template_rank(tpl, path) {
            let better = match &best {
                None => true,
                Some((_, r, e)) => (&rank, exact) > (r, *e),
            };
            if better {
                best = Some((key, rank, exact));
            }
        }
    }
    best.map(|(k, _, _)| k).or(default)
}

/// Why a value with stage variables could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Substitution {
    Value(String),
    /// A `${stageVariables.NAME}` the stage does not define.
    Undefined(String),
}

/// `${stageVariables.NAME}` replaced from the stage's variables.
pub fn substitute(value: &str, variables: &BTreeMap<String, String>) -> Substitution {
    const OPEN: &str = "${stageVariables.";
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Substitution::Value(out);
        };
        let name = &after[..end];
        match variables.get(name) {
            Some(v) => out.push_str(v),
            None => return Substitution::Undefined(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Substitution::Value(out)
}

/// The stage variables `value` names (`${stageVariables.NAME}`).
pub fn referenced_variables(value: &str) -> Vec<&str> {
    const OPEN: &str = "${stageVariables.";
    value
        .split(OPEN)
        .skip(1)
        .filter_map(|after| after.split_once('}').map(|(name, _)| name))
        .collect()
}

/// Keep of the stage's variables only those `routes` reference in their
/// `connectionId` or `uri`: the others may hold secrets, and the stage is
/// written into every report.
pub fn keep_referenced_variables(
    stage: &mut Option<super::model::StageConfig>,
    routes: &[super::model::RouteConfig],
) {
    let Some(stage) = stage else {
        return;
    };
    let used: Vec<&str> = routes
        .iter()
        .flat_map(|r| r.connection_id.iter().chain(r.uri.iter()))
        .flat_map(|v| referenced_variables(v))
        .collect();
    stage.variables.retain(|k, _| used.contains(&k.as_str()));
}

/// An ELB listener ARN's load balancer ARN
/// (`…:listener/net/N/ID/LID` → `…:loadbalancer/net/N/ID`).
pub fn listener_to_load_balancer(arn: &str) -> Option<String> {
    let (head, tail) = arn.split_once(":listener/")?;
    let parts: Vec<&str> = tail.split('/').collect();
    (parts.len() == 4).then(|| format!("{head}:loadbalancer/{}/{}/{}", parts[0], parts[1], parts[2]))
}

pub fn is_elb_listener_arn(uri: &str) -> bool {
    uri.starts_with("arn:") && uri.contains(":elasticloadbalancing:") && uri.contains(":listener/")
}

pub fn is_cloud_map_arn(uri: &str) -> bool {
    uri.starts_with("arn:") && uri.contains(":servicediscovery:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(
            host_and_path("https://Abc123.execute-api.eu-west-1.amazonaws.com/test/orders?x=1"),
            Some((
                "abc123.execute-api.eu-west-1.amazonaws.com".into(),
                "/test/orders".into()
            ))
        );
        assert_eq!(
            host_and_path("http://[::1]:8080"),
            Some(("::1".into(), "/".into()))
        );
        assert!(is_ip_literal("::1") && is_ip_literal("127.0.0.1") && !is_ip_literal("api.example.com"));
    }

    #[test]
    fn execute_api_hosts_name_their_api() {
        assert_eq!(
            execute_api_id("abc123.execute-api.eu-west-1.amazonaws.com"),
            Some("abc123")
        );
        assert_eq!(
            execute_api_id("abc123-vpce-0123456789abcdef0.execute-api.eu-west-1.amazonaws.com"),
            Some("abc123")
        );
        assert_eq!(
            execute_api_id("vpce-0123-abcd.execute-api.eu-west-1.vpce.amazonaws.com"),
            None
        );
        assert!(is_any_execute_api_host(
            "vpce-0123-abcd.execute-api.eu-west-1.vpce.amazonaws.com"
        ));
        assert_eq!(execute_api_id("api.example.com"), None);
    }

    #[test]
    fn stage_prefix_is_a_whole_segment() {
        assert_eq!(strip_prefix_segments("/test/orders/1", "test"), Some("/orders/1"));
        assert_eq!(strip_prefix_segments("/test", "test"), Some("/"));
        assert_eq!(strip_prefix_segments("/testing/x", "test"), None);
        assert_eq!(strip_prefix_segments("/x", ""), Some("/x"));
    }

    #[test]
    fn the_longest_base_path_takes_the_route() {
        let bases = ["(none)", "v1", "v1/orders"];
        assert_eq!(pick_base_path(bases, "/v1/orders/7"), Some(("v1/orders", "/7")));
        assert_eq!(pick_base_path(bases, "/v1/x"), Some(("v1", "/x")));
        assert_eq!(pick_base_path(bases, "/other"), Some(("(none)", "/other")));
        assert_eq!(pick_base_path(["v2"], "/other"), None);
    }

    #[test]
    fn the_most_specific_template_wins() {
        let t = ["/", "/{proxy+}", "/orders", "/orders/{id}", "/orders/latest"];
        assert_eq!(best_template(t, "/"), Some("/"));
        assert_eq!(best_template(t, "/orders"), Some("/orders"));
        assert_eq!(best_template(t, "/orders/42"), Some("/orders/{id}"));
        assert_eq!(best_template(t, "/orders/latest"), Some("/orders/latest"));
        assert_eq!(best_template(t, "/orders/42/items"), Some("/{proxy+}"));
        assert_eq!(best_template(["/orders/{id}"], "/orders"), None);
        assert_eq!(best_template(["/{proxy+}"], "/"), None);
        assert_eq!(best_template(["/a/{x}/c"], "/a/b/c"), Some("/a/{x}/c"));
    }

    #[test]
    fn route_keys_prefer_path_then_method() {
        let keys = [
            "$default",
            "ANY /{proxy+}",
            "GET /orders/{id}",
            "ANY /orders/{id}",
            "POST /orders",
        ];
        assert_eq!(best_route_key(keys, "GET", "/orders/1"), Some("GET /orders/{id}"));
        assert_eq!(best_route_key(keys, "PUT", "/orders/1"), Some("ANY /orders/{id}"));
        assert_eq!(best_route_key(keys, "GET", "/orders"), Some("ANY /{proxy+}"));
        assert_eq!(best_route_key(keys, "GET", "/"), Some("$default"));
        assert_eq!(best_route_key(["POST /x"], "GET", "/x"), None);
    }

    #[test]
    fn stage_variables_are_substituted() {
        let vars = BTreeMap::from([("vpcLinkId".to_string(), "abc12".to_string())]);
        assert_eq!(
            substitute("${stageVariables.vpcLinkId}", &vars),
            Substitution::Value("abc12".into())
        );
        assert_eq!(
            substitute("http://h/${stageVariables.vpcLinkId}/x", &vars),
            Substitution::Value("http://h/abc12/x".into())
        );
        assert_eq!(substitute("plain", &vars), Substitution::Value("plain".into()));
        assert_eq!(
            substitute("${stageVariables.other}", &vars),
            Substitution::Undefined("other".into())
        );
        assert_eq!(
            referenced_variables("http://${stageVariables.host}:${stageVariables.port}/x"),
            ["host", "port"]
        );
    }

    #[test]
    fn only_referenced_stage_variables_are_kept() {
        use super::super::model::{RouteConfig, StageConfig};
        let mut stage = Some(StageConfig {
            name: "prod".into(),
            tracing: None,
            variables: BTreeMap::from([
                ("vpcLinkId".to_string(), "l1".to_string()),
                ("apiKey".to_string(), "secret".to_string()),
                ("host".to_string(), "orders.internal".to_string()),
            ]),
        });
        let routes = [
            RouteConfig {
                connection_id: Some("${stageVariables.vpcLinkId}".into()),
                ..RouteConfig::default()
            },
            RouteConfig {
                uri: Some("http://${stageVariables.host}/orders".into()),
                ..RouteConfig::default()
            },
        ];
        keep_referenced_variables(&mut stage, &routes);
        let kept: Vec<&String> = stage.as_ref().unwrap().variables.keys().collect();
        assert_eq!(kept, ["host", "vpcLinkId"]);
    }

    #[test]
    fn load_balancers_come_out_of_listener_arns() {
        assert_eq!(
            listener_to_load_balancer("arn:aws:elasticloadbalancing:eu-west-1:1:listener/net/orders/abc/def")
                .as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/orders/abc")
        );
        assert!(is_elb_listener_arn(
            "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/a/b/c"
        ));
        assert!(is_cloud_map_arn(
            "arn:aws:servicediscovery:eu-west-1:1:service/srv-1"
        ));
    }
}

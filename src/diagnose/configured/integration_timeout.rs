//! `integration-timeout` against the configuration, per route: each
//! target's 504s (their median time) against the `timeoutInMillis` of the
//! routes that target probes (29 000 ms on a REST API, 30 000 ms on an
//! HTTP API when not set), and against an ALB's idle timeout (an ALB
//! answers 504 itself when its target is slower than that).

use super::fixes_first;
use super::path::alb_timer;
use crate::aws::path::model::defaults;
use crate::aws::path::{PathConfig, RouteConfig};
use crate::diagnose::finding::{ConfiguredValue, Finding};
use crate::format::human_ms;

/// Which API a route belongs to, and its id (and stage, for REST).
#[derive(Debug, Clone, Copy)]
enum Api<'a> {
    Rest { id: &'a str, stage: Option<&'a str> },
    Http { id: &'a str },
}

/// `12.0 s`: a 504's time to a tenth of a second, to set beside the
/// configured milliseconds.
fn at(ms: f64) -> String {
    if ms >= 1_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        human_ms(ms)
    }
}

/// A 504's time is the configured timeout plus the way there and back:
/// within 10 % (at least 1 s) of it.
fn near(measured_ms: f64, timeout_ms: f64) -> bool {
    (measured_ms - timeout_ms).abs() <= (0.1 * timeout_ms).max(1_000.0)
}

fn routes(c: &PathConfig) -> Vec<(Api<'_>, &RouteConfig)> {
    let mut out = Vec::new();
    if let Some(a) = &c.rest_api {
        let api = Api::Rest {
            id: &a.id,
            stage: a.stage.as_ref().map(|s| s.name.as_str()),
        };
        out.extend(a.routes.iter().map(|r| (api, r)));
    }
    if let Some(a) = &c.http_api {
        out.extend(a.routes.iter().map(|r| (Api::Http { id: &a.id }, r)));
    }
    out
}

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    if f.measured.timeout_ms.is_empty() {
        return;
    }
    let routes = routes(c);
    let read = super::path::Read::of(c).load_balancers;
    let albs: Vec<_> = c
        .load_balancers
        .iter()
        .filter_map(|lb| alb_timer(lb, read))
        .collect();
    let mut cited: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    let mut explained = 0;
    for (target, &m) in &f.measured.timeout_ms.clone() {
        let mine: Vec<&(Api, &RouteConfig)> = routes
            .iter()
            .filter(|(_, r)| r.targets.contains(target))
            .collect();
        let mut matched = false;
        let mut checked: Vec<String> = Vec::new();
        for (api, r) in mine {
            let (ms, default) = match (r.timeout_ms, api) {
                (Some(ms), _) => (ms, false),
                (None, Api::Rest { .. }) => (defaults::REST_INTEGRATION_TIMEOUT_MS, true),
                (None, Api::Http { .. }) => (defaults::HTTP_INTEGRATION_TIMEOUT_MS, true),
            };
            let fits = near(m, ms as f64);
            let shown = format!("{ms}{}", if default { " (default)" } else { "" });
            f.configured.push(ConfiguredValue {
                resource: format!("route {}", r.route),
                // A route has no ARN of its own in what was read; the
                // resource names it (and the fix its ids).
                arn: None,
                setting: "timeoutInMillis".into(),
                value: ms.to_string(),
                default,
                explains: fits,
            });
            if fits {
                matched = true;
                cited.push(format!(
                    "504 at {} = route `{}`'s `timeoutInMillis` {shown} (target {target})",
                    at(m),
                    r.route
                ));
                fixes.push(fix(*api, r, ms));
            } else {
                checked.push(format!("route `{}`'s `timeoutInMillis` {shown}", r.route));
            }
        }
        for t in &albs {
            let fits = t.seconds.is_some_and(|s| near(m, s as f64 * 1000.0));
            let mut v = t.value.clone();
            v.explains = fits;
            f.configured.push(v);
            if fits && !matched {
                matched = true;
                cited.push(format!(
                    "504 at {} = {}'s idle timeout {}: the ALB answered 504 itself, its target was slower than that (target {target})",
                    at(m),
                    t.value.resource,
                    t.words()
                ));
                fixes.push(format!(
                    "{}: make the target answer within `idle_timeout.timeout_seconds`, or raise it (1–4000 s): `aws elbv2 modify-load-balancer-attributes --load-balancer-arn {} --attributes Key=idle_timeout.timeout_seconds,Value=N`.",
                    t.value.resource,
                    t.value.arn.as_deref().unwrap_or("ARN")
                ));
            } else if !fits {
                checked.push(format!("{}'s idle timeout {}", t.value.resource, t.words()));
            }
        }
        if matched {
            explained += 1;
        } else if checked.is_empty() {
            cited.push(format!(
                "504 at {} (target {target}): no route of the configuration read is probed by this target, so no configured timeout to compare{}",
                at(m),
                if c.notes.is_empty() { "" } else { " (the read has notes: see the AWS configuration section)" }
            ));
        } else {
            cited.push(format!(
                "504 at {} (target {target}) matches no configured timeout ({}): the 504 comes from elsewhere (a proxy's own timeout behind the load balancer, or the gateway waiting on a dropped connection)",
                at(m),
                checked.join("; ")
            ));
        }
    }
    if explained > 0 && explained == f.measured.timeout_ms.len() {
        if let [one] = cited.as_slice() {
            let what = one.split(" (target ").next().unwrap_or(one);
            f.title = format!("{}; {what}", f.title);
        }
        f.confidence = crate::diagnose::detect::raise(f.confidence, 0.05);
    }
    for (k, line) in cited.into_iter().enumerate() {
        f.evidence.insert(k, line);
    }
    fixes.dedup();
    fixes_first(f, fixes);
}

/// The command that changes one route's integration timeout.
fn fix(api: Api<'_>, r: &RouteConfig, ms: u64) -> String {
    let method = r.route.split_whitespace().next().unwrap_or("GET");
    match api {
        Api::Rest { id, stage } => {
            let resource = r.resource_id.as_deref().unwrap_or("RESOURCE_ID");
            let (value, set) = if ms < defaults::REST_INTEGRATION_TIMEOUT_MS {
                let d = defaults::REST_INTEGRATION_TIMEOUT_MS;
                (format!("{d} (the default; 50–29000 ms)"), d.to_string())
            } else {
                (
                    "N (above 29000 only for regional and private APIs, after a quota increase)".to_string(),
                    "N".to_string(),
                )
            };
            let look_up = if r.resource_id.is_none() {
                format!(" (RESOURCE_ID: `aws apigateway get-resources --rest-api-id {id}`)")
            } else {
                String::new()
            };
            format!(
                "Route `{}`: if the work needs longer, raise its `timeoutInMillis` to {value}, then deploy the stage: `aws apigateway update-integration --rest-api-id {id} --resource-id {resource} --http-method {method} --patch-operations op=replace,path=/timeoutInMillis,value={set}` and `aws apigateway create-deployment --rest-api-id {id} --stage-name {}`{look_up}; if it should not take this long, the backend is what to fix.",
                r.route,
                stage.unwrap_or("STAGE")
            )
        }
        Api::Http { id } => format!(
            "Route `{}`: if the work needs longer, raise its `TimeoutInMillis` (50–30000 ms): `aws apigatewayv2 update-integration --api-id {id} --integration-id {} --timeout-in-millis N` (and deploy the stage unless it deploys automatically); if it should not take this long, the backend is what to fix.",
            r.route,
            r.integration_id.as_deref().unwrap_or("INTEGRATION_ID")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::aws::path::HttpApiConfig;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding(at_ms: f64) -> Finding {
        let mut f = Finding::new(
            Cause::IntegrationTimeout,
            Severity::Critical,
            0.7,
            "5/40 (12 %) requests end in 504 after 12.0 s: a configured integration timeout",
        );
        f.measured.timeout_ms.insert("api".into(), at_ms);
        f
    }

    #[test]
    fn a_504_at_the_route_s_timeout_cites_it_and_the_command() {
        let mut f = finding(12_050.0);
        join(&mut f, &fixtures::path());
        assert_eq!(
            f.evidence[0],
            "504 at 12.1 s = route `GET /orders`'s `timeoutInMillis` 12000 (target api)"
        );
        assert!(
            f.title
                .ends_with("; 504 at 12.1 s = route `GET /orders`'s `timeoutInMillis` 12000"),
            "{}",
            f.title
        );
        assert!(f.fix[0].contains("aws apigateway update-integration --rest-api-id a1b2c3d4e5 --resource-id res42 --http-method GET --patch-operations op=replace,path=/timeoutInMillis,value=29000"), "{}", f.fix[0]);
        assert!(
            f.fix[0].contains("aws apigateway create-deployment --rest-api-id a1b2c3d4e5 --stage-name prod")
        );
        let v = &f.configured[0];
        assert_eq!(
            (v.setting.as_str(), v.value.as_str(), v.default, v.explains),
            ("timeoutInMillis", "12000", false, true)
        );
    }

    #[test]
    fn a_504_that_matches_nothing_says_so() {
        let mut f = finding(20_000.0);
        join(&mut f, &fixtures::path());
        assert!(f.evidence[0].starts_with("504 at 20.0 s (target api) matches no configured timeout (route `GET /orders`'s `timeoutInMillis` 12000)"), "{}", f.evidence[0]);
        assert!(!f.configured[0].explains);
        assert!(!f.title.contains("timeoutInMillis"));
    }

    #[test]
    fn an_unset_timeout_is_the_api_s_default() {
        let mut c = fixtures::path();
        c.rest_api.as_mut().unwrap().routes[0].timeout_ms = None;
        let mut f = finding(29_100.0);
        join(&mut f, &c);
        assert!(
            f.evidence[0].contains("`timeoutInMillis` 29000 (default)"),
            "{}",
            f.evidence[0]
        );
        assert!(f.configured[0].default);
    }

    #[test]
    fn an_http_api_route_names_its_integration() {
        let mut c = fixtures::path();
        let mut r = c.rest_api.take().unwrap().routes.remove(0);
        r.timeout_ms = Some(5_000);
        r.integration_id = Some("int9".into());
        c.http_api = Some(HttpApiConfig {
            id: "h1t2t3".into(),
            routes: vec![r],
            ..HttpApiConfig::default()
        });
        let mut f = finding(5_100.0);
        join(&mut f, &c);
        assert!(f.fix[0].contains("aws apigatewayv2 update-integration --api-id h1t2t3 --integration-id int9 --timeout-in-millis N"), "{}", f.fix[0]);
    }

    #[test]
    fn an_alb_idle_timeout_can_be_the_504() {
        let mut c = fixtures::path();
        c.load_balancers[0].kind = "application".into();
        c.load_balancers[0].name = "web".into();
        let mut f = finding(60_500.0);
        join(&mut f, &c);
        assert!(
            f.evidence[0].contains("ALB web's idle timeout 60 s (default): the ALB answered 504 itself"),
            "{}",
            f.evidence[0]
        );
        assert!(
            f.fix[0].contains("modify-load-balancer-attributes"),
            "{}",
            f.fix[0]
        );
    }
}

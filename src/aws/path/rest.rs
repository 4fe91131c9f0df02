//! A REST API (`apigateway`): the API, its stage, and the integration of
//! each probed route, with the VPC link and load balancer it names.

use std::collections::BTreeMap;

use super::ctx::{is_not_found, ApiRoute, Ctx, Follow, LinkRef};
use super::matching::{best_template, keep_referenced_variables, substitute, Substitution};
use super::model::{RestApiConfig, RouteConfig, StageConfig};

/// The id of the REST API named `name` (GetRestApis, every page).
pub async fn find_by_name(ctx: &mut Ctx<'_>, name: &str) -> Option<String> {
    ctx.step(&format!("looking up REST API named {name}"));
    let action = "apigateway:GET on /restapis";
    let rest = &ctx.clients.rest;
    let listing = ctx
        .pages(action, |position| async move {
            let out = rest
                .get_rest_apis()
                .limit(500)
                .set_position(position)
                .send()
                .await?;
            let ids = out
                .items()
                .iter()
                .filter(|a| a.name() == Some(name))
                .filter_map(|a| a.id().map(String::from))
                .collect();
            Ok((ids, out.position().map(String::from)))
        })
        .await;
    if !listing.complete {
        return None;
    }
    let found = listing.items;
    match found.as_slice() {
        [] => {
            ctx.note(format!(
                "no REST API named {name} in this account/region: name its id in [aws] rest_api"
            ));
            None
        }
        [one] => Some(one.clone()),
        [first, ..] => {
            ctx.note(format!(
                "{} REST APIs are named {name} ({}); reading {first}: name the id in [aws] rest_api",
                found.len(),
                found.join(", ")
            ));
            Some(first.clone())
        }
    }
}

/// One resource: its path template, id and the methods it has (when the
/// listing said).
struct Resource {
    id: String,
    path: String,
    methods: Vec<String>,
}

/// Read REST API `id` at `stage` and the integrations of `routes`. `None`
/// when the API does not exist (a note says so).
pub async fn read(
    ctx: &mut Ctx<'_>,
    id: &str,
    stage: &str,
    routes: &[ApiRoute],
    follow: &mut Follow,
) -> Option<RestApiConfig> {
    let mut api = read_api(ctx, id, stage, routes, follow).await?;
    keep_referenced_variables(&mut api.stage, &api.routes);
    Some(api)
}

/// [`read`] with every stage variable (substitution needs them).
async fn read_api(
    ctx: &mut Ctx<'_>,
    id: &str,
    stage: &str,
    routes: &[ApiRoute],
    follow: &mut Follow,
) -> Option<RestApiConfig> {
    ctx.step(&format!("reading REST API {id} stage {stage}"));
    let mut api = RestApiConfig {
        id: id.to_string(),
        ..RestApiConfig::default()
    };
    match ctx
        .send(ctx.clients.rest.get_rest_api().rest_api_id(id).send())
        .await
    {
        Ok(out) => {
            api.name = out.name().map(String::from);
            api.endpoint_type = out
                .endpoint_configuration()
                .and_then(|c| c.types().first())
                .map(|t| t.as_str().to_string());
        }
        Err(e) if is_not_found(&e) => {
            ctx.note(format!(
                "REST API {id} is not known to API Gateway in this account/region ({})",
                crate::aws::describe(&format!("apigateway:GET on /restapis/{id}"), &e)
            ));
            return None;
        }
        Err(e) => ctx.failed(&format!("apigateway:GET on /restapis/{id}"), &e),
    }
    let action = format!("apigateway:GET on /restapis/{id}/stages/{stage}");
    match ctx
        .send(
            ctx.clients
                .rest
                .get_stage()
                .rest_api_id(id)
                .stage_name(stage)
                .send(),
        )
        .await
    {
        Ok(out) => {
            api.stage = Some(StageConfig {
                name: out.stage_name().unwrap_or(stage).to_string(),
                tracing: Some(out.tracing_enabled()),
                variables: out
                    .variables()
                    .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            })
        }
        Err(e) => ctx.failed(&action, &e),
    }
    if routes.is_empty() {
        return Some(api);
    }
    let Some(resources) = resources(ctx, id).await else {
        return Some(api);
    };
    for route in routes {
        read_route(ctx, &mut api, &resources, route, follow).await;
    }
    Some(api)
}

async fn resources(ctx: &mut Ctx<'_>, id: &str) -> Option<Vec<Resource>> {
    let action = format!("apigateway:GET on /restapis/{id}/resources");
    let rest = &ctx.clients.rest;
    let listing = ctx
        .pages(&action, |position| async move {
            let page = rest
                .get_resources()
                .rest_api_id(id)
                .limit(500)
                .set_position(position)
                .send()
                .await?;
            let items = page
                .items()
                .iter()
                .filter_map(|r| {
                    Some(Resource {
                        id: r.id()?.to_string(),
                        path: r.path()?.to_string(),
                        methods: r
                            .resource_methods()
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default(),
                    })
                })
                .collect();
            Ok((items, page.position().map(String::from)))
        })
        .await;
    listing.complete.then_some(listing.items)
}

async fn read_route(
    ctx: &mut Ctx<'_>,
    api: &mut RestApiConfig,
    resources: &[Resource],
    route: &ApiRoute,
    follow: &mut Follow,
) {
    let id = api.id.clone();
    let Some(template) = best_template(resources.iter().map(|r| r.path.as_str()), &route.path) else {
        ctx.note(format!(
            "REST API {id}: no resource matches {} {} (probed by {})",
            route.method, route.path, route.target
        ));
        return;
    };
    let resource = resources
        .iter()
        .find(|r| r.path == template)
        .expect("a listed path");
    let method = route.method.to_ascii_uppercase();
    // The effective method: when the listing named the resource's methods,
    // the first of the method itself and ANY that it has; else both are
    // tried in that order. A route already read is joined only under the
    // key this method takes: a POST that went to `ANY /x` must not take a
    // later GET there when `/x` has its own GET.
    let candidates: Vec<String> = [method.clone(), "ANY".to_string()]
        .into_iter()
        .filter(|m| resource.methods.is_empty() || resource.methods.contains(m))
        .take(if resource.methods.is_empty() { 2 } else { 1 })
        .collect();
    let key_of = |m: &str| format!("{m} {}", resource.path);
    for m in &candidates {
        if let Some(existing) = api.routes.iter_mut().find(|r| r.route == key_of(m)) {
            if !existing.targets.contains(&route.target) {
                existing.targets.push(route.target.clone());
            }
            return;
        }
        let action = format!(
            "apigateway:GET on /restapis/{id}/resources/{}/methods/{m}/integration",
            resource.id
        );
        ctx.step(&format!(
            "reading the integration of {m} {} on REST API {id}",
            resource.path
        ));
        let res = ctx
            .send(
                ctx.clients
                    .rest
                    .get_integration()
                    .rest_api_id(&id)
                    .resource_id(&resource.id)
                    .http_method(m)
                    .send(),
            )
            .await;
        match res {
            Ok(out) => {
                let mut config = RouteConfig {
                    targets: vec![route.target.clone()],
                    route: key_of(m),
                    resource_id: Some(resource.id.clone()),
                    integration_type: out.r#type().map(|t| t.as_str().to_string()),
                    connection_type: out.connection_type().map(|t| t.as_str().to_string()),
                    connection_id: out.connection_id().map(String::from),
                    integration_target: out.integration_target().map(String::from),
                    uri: out.uri().map(String::from),
                    timeout_ms: u64::try_from(out.timeout_in_millis()).ok().filter(|t| *t > 0),
                    response_transfer_mode: out.response_transfer_mode().map(|t| t.as_str().to_string()),
                    tls_config: out
                        .tls_config()
                        .map(|t| {
                            BTreeMap::from([(
                                "insecureSkipVerification".to_string(),
                                t.insecure_skip_verification().to_string(),
                            )])
                        })
                        .unwrap_or_default(),
                    ..RouteConfig::default()
                };
                follow_link(ctx, &id, api.stage.as_ref(), &mut config, follow);
                api.routes.push(config);
                return;
            }
            Err(e) if is_not_found(&e) => continue,
            Err(e) => {
                ctx.failed(&action, &e);
                return;
            }
        }
    }
    ctx.note(format!(
        "REST API {id}: {} has no integration for {method} or ANY (probed by {})",
        resource.path, route.target
    ));
}

/// The VPC link and load balancer a route's integration names, with the
/// stage's variables substituted; what cannot be followed is a note.
fn follow_link(
    ctx: &mut Ctx<'_>,
    id: &str,
    stage: Option<&StageConfig>,
    config: &mut RouteConfig,
    follow: &mut Follow,
) {
    let route = config.route.clone();
    if let Some(target) = &config.integration_target {
        follow.load_balancer(target, format!("integrationTarget of {route} on REST API {id}"));
    }
    if config.connection_type.as_deref() != Some("VPC_LINK") {
        return;
    }
    let Some(connection) = config.connection_id.clone() else {
        ctx.note(format!(
            "REST API {id}: {route} is a VPC_LINK integration without a connectionId (AWS always gives one; moto does not keep it): its VPC link cannot be followed"
        ));
        return;
    };
    let empty = BTreeMap::new();
    let variables = stage.map_or(&empty, |s| &s.variables);
    match substitute(&connection, variables) {
        Substitution::Value(link) => {
            config.vpc_link_id = Some(link.clone());
            follow.link(match config.integration_target {
                Some(_) => LinkRef::V2(link),
                None => LinkRef::Rest(link),
            });
        }
        Substitution::Undefined(name) => {
            let stage = match stage {
                Some(s) => format!("stage {} does not define it", s.name),
                None => "the stage could not be read".to_string(),
            };
            ctx.note(format!(
                "REST API {id}: {route} has connectionId {connection}, whose stage variable {name} is unknown ({stage}): its VPC link cannot be followed"
            ));
        }
    }
}

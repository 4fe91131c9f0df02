//! An HTTP API (`apigatewayv2`): the API, its stage, and the integration
//! behind the route each probe takes, with the V2 VPC link and the load
//! balancer its listener ARN names.

use std::collections::BTreeMap;

use super::ctx::{is_not_found, ApiRoute, Ctx, Follow, LinkRef};
use super::matching::{
    best_route_key, is_cloud_map_arn, is_elb_listener_arn, keep_referenced_variables,
    listener_to_load_balancer, substitute, Substitution,
};
use super::model::{HttpApiConfig, RouteConfig, StageConfig};

/// Read HTTP API `id` at `stage` and the integrations of `routes`. `None`
/// when the API does not exist (a note says so).
pub async fn read(
    ctx: &mut Ctx<'_>,
    id: &str,
    stage: &str,
    routes: &[ApiRoute],
    follow: &mut Follow,
) -> Option<HttpApiConfig> {
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
) -> Option<HttpApiConfig> {
    ctx.step(&format!("reading HTTP API {id} stage {stage}"));
    let mut api = HttpApiConfig {
        id: id.to_string(),
        ..HttpApiConfig::default()
    };
    let action = format!("apigateway:GET on /apis/{id}");
    match ctx.send(ctx.clients.v2.get_api().api_id(id).send()).await {
        Ok(out) => api.name = out.name().map(String::from),
        Err(e) if is_not_found(&e) => {
            ctx.note(format!(
                "HTTP API {id} is not known to API Gateway in this account/region ({})",
                crate::aws::describe(&action, &e)
            ));
            return None;
        }
        Err(e) => ctx.failed(&action, &e),
    }
    let action = format!("apigateway:GET on /apis/{id}/stages/{stage}");
    match ctx
        .send(ctx.clients.v2.get_stage().api_id(id).stage_name(stage).send())
        .await
    {
        Ok(out) => {
            api.stage = Some(StageConfig {
                name: out.stage_name().unwrap_or(stage).to_string(),
                // HTTP APIs are not traced by X-Ray.
                tracing: None,
                variables: out
                    .stage_variables()
                    .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            })
        }
        Err(e) => ctx.failed(&action, &e),
    }
    if routes.is_empty() {
        return Some(api);
    }
    let Some(listed) = list_routes(ctx, id).await else {
        return Some(api);
    };
    for route in routes {
        let Some(key) = best_route_key(listed.iter().map(|(k, _)| k.as_str()), &route.method, &route.path)
        else {
            ctx.note(format!(
                "HTTP API {id}: no route matches {} {} (probed by {})",
                route.method, route.path, route.target
            ));
            continue;
        };
        if let Some(existing) = api.routes.iter_mut().find(|r| r.route == key) {
            if !existing.targets.contains(&route.target) {
                existing.targets.push(route.target.clone());
            }
            continue;
        }
        let target = listed.iter().find(|(k, _)| k == key).and_then(|(_, t)| t.clone());
        let Some(integration) = target.as_deref().and_then(|t| t.strip_prefix("integrations/")) else {
            ctx.note(format!("HTTP API {id}: route {key} has no integration target"));
            continue;
        };
        let config = integration_of(
            ctx,
            id,
            key,
            integration,
            &route.target,
            api.stage.as_ref(),
            follow,
        )
        .await;
        if let Some(config) = config {
            api.routes.push(config);
        }
    }
    Some(api)
}

/// Every route: (route key, target).
async fn list_routes(ctx: &mut Ctx<'_>, id: &str) -> Option<Vec<(String, Option<String>)>> {
    let action = format!("apigateway:GET on /apis/{id}/routes");
    let v2 = &ctx.clients.v2;
    let listing = ctx
        .pages(&action, |token| async move {
            let page = v2
                .get_routes()
                .api_id(id)
                .max_results("500")
                .set_next_token(token)
                .send()
                .await?;
            let items = page
                .items()
                .iter()
                .filter_map(|r| Some((r.route_key()?.to_string(), r.target().map(String::from))))
                .collect();
            Ok((items, page.next_token().map(String::from)))
        })
        .await;
    listing.complete.then_some(listing.items)
}

async fn integration_of(
    ctx: &mut Ctx<'_>,
    id: &str,
    key: &str,
    integration: &str,
    target: &str,
    stage: Option<&StageConfig>,
    follow: &mut Follow,
) -> Option<RouteConfig> {
    ctx.step(&format!("reading the integration of {key} on HTTP API {id}"));
    let action = format!("apigateway:GET on /apis/{id}/integrations/{integration}");
    let out = match ctx
        .send(
            ctx.clients
                .v2
                .get_integration()
                .api_id(id)
                .integration_id(integration)
                .send(),
        )
        .await
    {
        Ok(out) => out,
        Err(e) => {
            ctx.failed(&action, &e);
            return None;
        }
    };
    let mut config = RouteConfig {
        targets: vec![target.to_string()],
        route: key.to_string(),
        integration_id: Some(integration.to_string()),
        integration_type: out.integration_type().map(|t| t.as_str().to_string()),
        connection_type: out.connection_type().map(|t| t.as_str().to_string()),
        connection_id: out.connection_id().map(String::from),
        uri: out.integration_uri().map(String::from),
        timeout_ms: out.timeout_in_millis().and_then(|t| u64::try_from(t).ok()),
        tls_config: out
            .tls_config()
            .and_then(|t| t.server_name_to_verify())
            .map(|s| BTreeMap::from([("serverNameToVerify".to_string(), s.to_string())]))
            .unwrap_or_default(),
        ..RouteConfig::default()
    };
    if let Some(uri) = config.uri.clone() {
        if is_elb_listener_arn(&uri) {
            match listener_to_load_balancer(&uri) {
                Some(lb) => follow.load_balancer(&lb, format!("the listener of {key} on HTTP API {id}")),
                None => ctx.note(format!(
                    "HTTP API {id}: {key} integrates with {uri}, not a listener ARN this reads"
                )),
            }
        } else if is_cloud_map_arn(&uri) {
            ctx.note(format!(
                "HTTP API {id}: {key} integrates with the Cloud Map service {uri}; its instances are not read"
            ));
        }
    }
    if config.connection_type.as_deref() == Some("VPC_LINK") {
        match config.connection_id.clone() {
            None => ctx.note(format!(
                "HTTP API {id}: {key} is a VPC_LINK integration without a ConnectionId: its VPC link cannot be followed"
            )),
            Some(connection) => {
                let empty = BTreeMap::new();
                match substitute(&connection, stage.map_or(&empty, |s| &s.variables)) {
                    Substitution::Value(link) => {
                        config.vpc_link_id = Some(link.clone());
                        follow.link(LinkRef::V2(link));
                    }
                    Substitution::Undefined(name) => ctx.note(format!(
                        "HTTP API {id}: {key} has ConnectionId {connection}, whose stage variable {name} is unknown: its VPC link cannot be followed"
                    )),
                }
            }
        }
    }
    Some(config)
}

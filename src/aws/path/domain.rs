//! Custom domain names (`apigateway` GetDomainName, GetBasePathMappings):
//! which API and stage a probed host's paths go to.

use super::ctx::{is_not_found, Ctx};
use super::model::{BasePathMapping, DomainConfig};

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
    Domain::Read(domain)
}

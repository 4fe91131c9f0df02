//! Custom domain names (`apigateway` GetDomainName, GetBasePathMappings):
//! which API and stage a probed host's paths go to.

use super::ctx::{is_not_found, Ctx, MAX_PAGES};
use super::model::{BasePathMapping, DomainConfig};

/// Read the custom domain `host`; `None` when it is not one (a note says
/// so) or could not be read.
pub async fn read(ctx: &mut Ctx<'_>, host: &str) -> Option<DomainConfig> {
    ctx.step(&format!("reading custom domain {host}"));
    let action = format!("apigateway:GET on /domainnames/{host}");
    let out = match ctx.clients.rest.get_domain_name().domain_name(host).send().await {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => {
            ctx.note(format!(
                "{host} is not an API Gateway custom domain in this account/region"
            ));
            return None;
        }
        Err(e) => {
            ctx.failed(&action, &e);
            return None;
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
    let mut position: Option<String> = None;
    for page in 0.. {
        if page == MAX_PAGES {
            ctx.too_many_pages(&action);
            break;
        }
        let res = ctx
            .clients
            .rest
            .get_base_path_mappings()
            .domain_name(host)
            .limit(500)
            .set_position(position.clone())
            .send()
            .await;
        let page = match res {
            Ok(p) => p,
            Err(e) => {
                ctx.failed(&action, &e);
                break;
            }
        };
        domain
            .base_path_mappings
            .extend(page.items().iter().map(|m| BasePathMapping {
                base_path: match m.base_path() {
                    None | Some("") => "(none)".to_string(),
                    Some(p) => p.to_string(),
                },
                api_id: m.rest_api_id().unwrap_or_default().to_string(),
                stage: m.stage().map(String::from),
                targets: Vec::new(),
            }));
        match page.position() {
            Some(p) if !p.is_empty() && Some(p) != position.as_deref() => position = Some(p.to_string()),
            _ => break,
        }
    }
    Some(domain)
}

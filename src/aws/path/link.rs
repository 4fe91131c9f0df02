//! VPC links: V1 (`apigateway`, PrivateLink to NLBs) and V2
//! (`apigatewayv2`, ENIs in subnets). Which one an id is, is decided by
//! which API knows it.

use super::ctx::{is_not_found, Ctx, Follow, LinkRef};
use super::model::VpcLinkConfig;

/// Read `link`; a V1 link's target NLBs are followed.
pub async fn read(ctx: &mut Ctx<'_>, link: &LinkRef, follow: &mut Follow) -> Option<VpcLinkConfig> {
    match link {
        LinkRef::Rest(id) => {
            ctx.step(&format!("reading VPC link {id}"));
            let action = format!("apigateway:GET on /vpclinks/{id}");
            match ctx
                .send(ctx.clients.rest.get_vpc_link().vpc_link_id(id).send())
                .await
            {
                Ok(out) => {
                    for arn in out.target_arns() {
                        follow.load_balancer(arn, format!("VPC link {id}"));
                    }
                    Some(VpcLinkConfig {
                        id: out.id().unwrap_or(id).to_string(),
                        name: out.name().map(String::from),
                        version: "V1".into(),
                        status: out.status().map(|s| s.as_str().to_string()),
                        status_message: out.status_message().map(String::from),
                        target_arns: out.target_arns().to_vec(),
                        ..VpcLinkConfig::default()
                    })
                }
                // Not a V1 link: a REST API may use a V2 link too.
                Err(e) if is_not_found(&e) => v2(ctx, id, true).await,
                Err(e) => {
                    ctx.failed(&action, &e);
                    None
                }
            }
        }
        LinkRef::V2(id) => {
            ctx.step(&format!("reading VPC link {id} (V2)"));
            v2(ctx, id, false).await
        }
    }
}

async fn v2(ctx: &mut Ctx<'_>, id: &str, tried_v1: bool) -> Option<VpcLinkConfig> {
    let action = format!("apigateway:GET on /vpclinks/{id}");
    match ctx
        .send(ctx.clients.v2.get_vpc_link().vpc_link_id(id).send())
        .await
    {
        Ok(out) => Some(VpcLinkConfig {
            id: out.vpc_link_id().unwrap_or(id).to_string(),
            name: out.name().map(String::from),
            version: "V2".into(),
            status: out.vpc_link_status().map(|s| s.as_str().to_string()),
            status_message: out.vpc_link_status_message().map(String::from),
            subnets: out.subnet_ids().to_vec(),
            security_groups: out.security_group_ids().to_vec(),
            ..VpcLinkConfig::default()
        }),
        Err(e) if is_not_found(&e) => {
            let which = if tried_v1 {
                "neither a V1 (REST) nor a V2 VPC link"
            } else {
                "not a V2 VPC link"
            };
            ctx.note(format!("VPC link {id} is {which} in this account/region"));
            None
        }
        Err(e) => {
            ctx.failed(&action, &e);
            None
        }
    }
}

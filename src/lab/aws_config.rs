//! The lab speaks its configuration: `diagnose --lab SCENARIO --aws-config
//! --aws-endpoint URL` first writes the scenario's own path into the AWS
//! API emulator at URL (moto's server), then reads it back like any
//! account's: a REST API with the lab's id, its stage (tracing on, a
//! `vpcLinkId` stage variable), the probed route's `HTTP_PROXY` integration
//! through a VPC link (its `timeoutInMillis` the scenario's
//! `gateway.integration_timeout`), the VPC link, and the load balancer
//! with one target group and one target per backend, each in its own zone
//! ([`super::cloudwatch::zone`]); and the custom domain, edge-optimized,
//! mapped to the stage. The load balancer is the scenario's `path`: an
//! NLB behind a V1 link (one TCP listener, `tcp.idle_timeout.seconds` the
//! scenario's `nlb.idle_timeout`, cross-zone off), or an ALB behind a V2
//! link, named by the integration's `integrationTarget` (one HTTP
//! listener, `idle_timeout.timeout_seconds` and `client_keep_alive.seconds`
//! the scenario's `alb.idle_timeout` and `alb.client_keep_alive`).
//!
//! These create/put/modify calls are the only writes in the whole project,
//! and they go to the emulator the lab is given, which the configuration
//! has checked is on loopback (`config::aws`). Nothing here is ever sent
//! to an AWS account.
//!
//! Names are this lab run's own ([`super::cloudwatch::AwsNames`]), so that
//! runs against one emulator never collide. The REST API takes the lab's
//! fixed id ([`super::API_ID`], moto's `_custom_id_` tag): the probed
//! execute-api host names it, and a later run replaces it whole.

use aws_config::SdkConfig;
use aws_sdk_apigateway::types::{
    ConnectionType, EndpointConfiguration, EndpointType, IntegrationType, ResponseTransferMode,
    SecurityPolicy,
};

use super::cloudwatch::{AwsNames, REGION};
use super::scenario::LabPath as PathKind;
use super::{Lab, API_ID, INTEGRATION_HOST};
use crate::aws::describe;

mod balancer;
mod subnets;

/// What was seeded: the ids and ARNs the emulator gave, which the read
/// starts from (the emulator makes up its own load balancer ids).
#[derive(Debug, Clone, PartialEq)]
pub struct Seeded {
    pub rest_api_id: String,
    /// A V1 link's id (to the NLB), or a V2 link's (to the ALB).
    pub vpc_link_id: String,
    /// The NLB's or the ALB's ARN.
    pub load_balancer_arn: String,
    /// `load_balancer_arn` is an ALB's (the integration's
    /// `integrationTarget`, over the V2 link).
    pub alb: bool,
    pub target_group_arn: String,
}

/// The load balancer a lab path has, with its timers in scenario seconds
/// (written as they are: AWS's own units, not divided by the lab's speed).
#[derive(Debug, Clone, PartialEq)]
pub enum Balancer {
    /// `None`: the scenario's NLB has no idle timer.
    Nlb { idle_timeout_s: Option<u64> },
    /// `idle_timeout.timeout_seconds`, `client_keep_alive.seconds`.
    Alb {
        idle_timeout_s: u64,
        client_keep_alive_s: u64,
    },
}

/// The scenario's path as the emulator should hold it.
#[derive(Debug, Clone)]
pub struct LabPath {
    pub names: AwsNames,
    pub stage: String,
    /// The probed resource under the stage, e.g. `header`.
    pub resource: String,
    /// Scenario milliseconds.
    pub integration_timeout_ms: u64,
    pub balancer: Balancer,
    /// `STREAM`: the integration streams its response (2025-11); `None`:
    /// not set, AWS's default (`BUFFERED`).
    pub response_transfer_mode: Option<String>,
    /// Each backend's port, target `i` in zone `zone(i)`.
    pub backend_ports: Vec<u16>,
    /// The lab's custom domain (edge-optimized: CloudFront in front),
    /// mapped with no base path to the stage.
    pub custom_domain: String,
}

impl Lab {
    /// This lab's path, to seed.
    pub fn aws_path(&self) -> LabPath {
        let s = &self.scenario;
        let balancer = match s.path {
            PathKind::Nlb => {
                let idle = s.nlb.idle_timeout.0.as_secs();
                Balancer::Nlb {
                    idle_timeout_s: (idle > 0).then_some(idle),
                }
            }
            PathKind::Alb => Balancer::Alb {
                idle_timeout_s: s.alb.idle_timeout.0.as_secs(),
                client_keep_alive_s: s.alb.client_keep_alive.0.as_secs(),
            },
        };
        LabPath {
            names: self.aws_names.clone(),
            stage: s.gateway.stage.clone(),
            resource: self
                .execute_api
                .path()
                .rsplit('/')
                .next()
                .unwrap_or("header")
                .to_string(),
            integration_timeout_ms: s.gateway.integration_timeout.0.as_millis() as u64,
            balancer,
            // API Gateway's own words for the gateway's transfer mode.
            response_transfer_mode: match s.gateway.response_transfer_mode {
                super::gateway::TransferMode::Buffered => None,
                super::gateway::TransferMode::Stream => Some("STREAM".to_string()),
            },
            backend_ports: self.backends.iter().map(|b| b.port()).collect(),
            custom_domain: super::CUSTOM_DOMAIN_HOST.to_string(),
        }
    }
}

/// `PREFIX/NAME/ID` → `NAME`.
fn name_of(short: &str) -> &str {
    crate::aws::arn::parse(short).map_or(short, |r| r.name)
}

/// `endpoint` is on this machine (`127.0.0.1`, `::1`, `localhost`): the only
/// place the lab ever writes to.
pub fn is_loopback_endpoint(endpoint: &str) -> bool {
    let host = url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()));
    match host {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Write `path` into the emulator `sdk` points at. The first call that
/// fails ends the seeding, in words (the read that follows says the rest).
/// An `sdk` without a loopback endpoint is refused before any call: the
/// command checks it too, but this is the one function that writes.
pub async fn seed(sdk: &SdkConfig, path: &LabPath) -> Result<Seeded, String> {
    match sdk.endpoint_url() {
        Some(e) if is_loopback_endpoint(e) => {}
        other => {
            return Err(format!(
                "the lab seeds only an emulator on loopback, not {}",
                other.unwrap_or("AWS itself")
            ))
        }
    }
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let subnets = subnets::default_subnets(sdk).await?;
    let made = balancer::seed(&elb, path, &subnets).await?;
    let alb = matches!(path.balancer, Balancer::Alb { .. });
    let link = match alb {
        // A REST API reaches an ALB over a VPC link V2 (2025-11): the
        // link's ENIs sit in the VPC's subnets; the integration names the
        // ALB itself (`integrationTarget`).
        true => {
            let v2 = aws_sdk_apigatewayv2::Client::new(sdk);
            let mut create = v2.create_vpc_link().name(&path.names.api_name);
            for s in subnets.iter().take(path.backend_ports.len().max(1)) {
                create = create.subnet_ids(&s.id);
            }
            let out = create.send().await.map_err(|e| describe("apigateway:POST", &e))?;
            Link::V2 {
                id: out
                    .vpc_link_id()
                    .ok_or("CreateVpcLink (V2) returned no id")?
                    .to_string(),
                alb_arn: made.load_balancer_arn.clone(),
            }
        }
        false => Link::V1 {
            nlb_arn: made.load_balancer_arn.clone(),
        },
    };
    let (rest_api_id, vpc_link_id) = seed_api(sdk, path, link).await?;
    Ok(Seeded {
        rest_api_id,
        vpc_link_id,
        load_balancer_arn: made.load_balancer_arn,
        alb,
        target_group_arn: made.target_group_arn,
    })
}

/// How the REST integration reaches the load balancer.
enum Link {
    /// A V1 link (PrivateLink) to the NLB, created with the API; the
    /// integration names it through the `vpcLinkId` stage variable.
    V1 { nlb_arn: String },
    /// A V2 link already made; the integration names it and the ALB.
    V2 { id: String, alb_arn: String },
}

/// The REST API, its VPC link (V1) or the V2 one given, the probed route
/// and the stage.
async fn seed_api(sdk: &SdkConfig, path: &LabPath, link: Link) -> Result<(String, String), String> {
    let api = aws_sdk_apigateway::Client::new(sdk);
    let created = api
        .create_rest_api()
        .name(&path.names.api_name)
        .tags("_custom_id_", API_ID)
        .endpoint_configuration(
            EndpointConfiguration::builder()
                .types(EndpointType::Regional)
                .build(),
        )
        .send()
        .await
        .map_err(|e| describe("apigateway:POST", &e))?;
    let id = created.id().ok_or("CreateRestApi returned no id")?.to_string();
    let resources = api
        .get_resources()
        .rest_api_id(&id)
        .send()
        .await
        .map_err(|e| describe("apigateway:GET", &e))?;
    let root = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/"))
        .and_then(|r| r.id())
        .ok_or("the new REST API has no root resource")?
        .to_string();
    let resource = api
        .create_resource()
        .rest_api_id(&id)
        .parent_id(&root)
        .path_part(&path.resource)
        .send()
        .await
        .map_err(|e| describe("apigateway:POST", &e))?;
    let resource_id = resource.id().ok_or("CreateResource returned no id")?.to_string();
    api.put_method()
        .rest_api_id(&id)
        .resource_id(&resource_id)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .map_err(|e| describe("apigateway:PUT", &e))?;
    let mut integration = api
        .put_integration()
        .rest_api_id(&id)
        .resource_id(&resource_id)
        .http_method("GET")
        .r#type(IntegrationType::HttpProxy)
        .integration_http_method("GET")
        .uri(format!("http://{INTEGRATION_HOST}/{}", path.resource))
        .connection_type(ConnectionType::VpcLink)
        .timeout_in_millis(i32::try_from(path.integration_timeout_ms).unwrap_or(i32::MAX));
    if let Some(mode) = &path.response_transfer_mode {
        integration = integration.response_transfer_mode(ResponseTransferMode::from(mode.as_str()));
    }
    let link_id = match link {
        Link::V1 { nlb_arn } => {
            let link = api
                .create_vpc_link()
                .name(&path.names.api_name)
                .target_arns(nlb_arn)
                .send()
                .await
                .map_err(|e| describe("apigateway:POST", &e))?;
            let link_id = link.id().ok_or("CreateVpcLink returned no id")?.to_string();
            integration = integration.connection_id("${stageVariables.vpcLinkId}");
            link_id
        }
        Link::V2 { id: link_id, alb_arn } => {
            integration = integration.connection_id(&link_id).integration_target(alb_arn);
            link_id
        }
    };
    // moto keeps neither `connectionId`, `integrationTarget` nor
    // `responseTransferMode` (its `Integration` has no such fields): they
    // are sent as AWS takes them, and the read says what came back.
    integration
        .send()
        .await
        .map_err(|e| describe("apigateway:PUT", &e))?;
    let deployment = api
        .create_deployment()
        .rest_api_id(&id)
        .send()
        .await
        .map_err(|e| describe("apigateway:POST", &e))?;
    let deployment_id = deployment
        .id()
        .ok_or("CreateDeployment returned no id")?
        .to_string();
    api.create_stage()
        .rest_api_id(&id)
        .stage_name(&path.stage)
        .deployment_id(deployment_id)
        .tracing_enabled(true)
        .variables("vpcLinkId", &link_id)
        .send()
        .await
        .map_err(|e| describe("apigateway:POST", &e))?;
    // The domain is the lab's one name for every run: a later run's
    // mapping replaces this one's.
    api.create_domain_name()
        .domain_name(&path.custom_domain)
        .certificate_arn(format!(
            "arn:aws:acm:{REGION}:123456789012:certificate/coldlink-lab"
        ))
        .endpoint_configuration(EndpointConfiguration::builder().types(EndpointType::Edge).build())
        .security_policy(SecurityPolicy::Tls12)
        .send()
        .await
        .map_err(|e| describe("apigateway:POST", &e))?;
    api.create_base_path_mapping()
        .domain_name(&path.custom_domain)
        .rest_api_id(&id)
        .stage(&path.stage)
        .send()
        .await
        .map_err(|e| describe("apigateway:POST", &e))?;
    Ok((id, link_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_short_forms() {
        assert_eq!(name_of("net/coldlink-lab-1a2b3c4d/0011"), "coldlink-lab-1a2b3c4d");
        assert_eq!(name_of("targetgroup/tg/1"), "tg");
    }
}

//! The lab speaks its configuration: `diagnose --lab SCENARIO --aws-config
//! --aws-endpoint URL` first writes the scenario's own path into the AWS
//! API emulator at URL (moto's server), then reads it back like any
//! account's: a REST API with the lab's id, its stage (tracing on, a
//! `vpcLinkId` stage variable), the probed route's `HTTP_PROXY` integration
//! through a VPC link (its `timeoutInMillis` the scenario's
//! `gateway.integration_timeout`), the VPC link, and the NLB: one TCP
//! listener (`tcp.idle_timeout.seconds` the scenario's `nlb.idle_timeout`),
//! cross-zone off, one target group with one target per backend, each in
//! its own zone ([`super::cloudwatch::zone`]); and the custom domain,
//! edge-optimized, mapped to the stage.
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

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_apigateway::types::{
    ConnectionType, EndpointConfiguration, EndpointType, IntegrationType, SecurityPolicy,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ListenerAttribute, LoadBalancerAttribute, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum, ProtocolEnum, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};

use super::cloudwatch::{zone, AwsNames, REGION};
use super::{Lab, API_ID, INTEGRATION_HOST};
use crate::aws::describe;

/// What was seeded: the ids and ARNs the emulator gave, which the read
/// starts from (the emulator makes up its own load balancer ids).
#[derive(Debug, Clone, PartialEq)]
pub struct Seeded {
    pub rest_api_id: String,
    pub vpc_link_id: String,
    pub nlb_arn: String,
    pub target_group_arn: String,
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
    /// Scenario seconds; `None`: the scenario's NLB has no idle timer.
    pub idle_timeout_s: Option<u64>,
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
        let idle = s.nlb.idle_timeout.0.as_secs();
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
            idle_timeout_s: (idle > 0).then_some(idle),
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
    let subnets = default_subnets(sdk).await?;
    let zones: Vec<String> = (0..path.backend_ports.len().max(1)).map(zone).collect();
    let mut lb = elb
        .create_load_balancer()
        .name(name_of(&path.names.nlb))
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::Internal);
    let mut vpc = None;
    for z in &zones {
        match subnets.iter().find(|s| &s.zone == z) {
            Some(s) => {
                lb = lb.subnets(&s.id);
                vpc = Some(s.vpc.clone());
            }
            None => return Err(format!("the emulator has no default subnet in {z}")),
        }
    }
    let vpc = vpc.ok_or("the emulator has no default subnet")?;
    let lb = lb
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:CreateLoadBalancer", &e))?;
    let nlb_arn = lb
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
        .ok_or("CreateLoadBalancer returned no ARN")?
        .to_string();
    elb.modify_load_balancer_attributes()
        .load_balancer_arn(&nlb_arn)
        .attributes(
            LoadBalancerAttribute::builder()
                .key("load_balancing.cross_zone.enabled")
                .value("false")
                .build(),
        )
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:ModifyLoadBalancerAttributes", &e))?;

    let tg = elb
        .create_target_group()
        .name(name_of(&path.names.target_group))
        .protocol(ProtocolEnum::Tcp)
        .port(80)
        .vpc_id(&vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:CreateTargetGroup", &e))?;
    let target_group_arn = tg
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .ok_or("CreateTargetGroup returned no ARN")?
        .to_string();
    // AWS's defaults, written out: what the lab's NLB does.
    let tg_attributes = [
        ("deregistration_delay.timeout_seconds", "300"),
        ("deregistration_delay.connection_termination.enabled", "false"),
        (
            "load_balancing.cross_zone.enabled",
            "use_load_balancer_configuration",
        ),
        ("preserve_client_ip.enabled", "false"),
        ("proxy_protocol_v2.enabled", "false"),
        (
            "target_health_state.unhealthy.connection_termination.enabled",
            "true",
        ),
    ];
    let mut modify = elb
        .modify_target_group_attributes()
        .target_group_arn(&target_group_arn);
    for (k, v) in tg_attributes {
        modify = modify.attributes(TargetGroupAttribute::builder().key(k).value(v).build());
    }
    modify
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:ModifyTargetGroupAttributes", &e))?;
    // The backends all listen on 127.0.0.1: as targets they take an
    // address in their zone's subnet (the emulator keys targets by id).
    let mut register = elb.register_targets().target_group_arn(&target_group_arn);
    for (i, port) in path.backend_ports.iter().enumerate() {
        let z = zone(i);
        let subnet = subnets.iter().find(|s| s.zone == z).expect("checked above");
        register = register.targets(
            TargetDescription::builder()
                .id(subnet.address(10))
                .port(i32::from(*port))
                .availability_zone(z)
                .build(),
        );
    }
    register
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:RegisterTargets", &e))?;
    let listener = elb
        .create_listener()
        .load_balancer_arn(&nlb_arn)
        .protocol(ProtocolEnum::Tcp)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&target_group_arn)
                .build(),
        )
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:CreateListener", &e))?;
    let listener_arn = listener
        .listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .ok_or("CreateListener returned no ARN")?
        .to_string();
    if let Some(idle) = path.idle_timeout_s {
        elb.modify_listener_attributes()
            .listener_arn(&listener_arn)
            .attributes(
                ListenerAttribute::builder()
                    .key("tcp.idle_timeout.seconds")
                    .value(idle.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| describe("elasticloadbalancing:ModifyListenerAttributes", &e))?;
    }

    let (rest_api_id, vpc_link_id) = seed_api(sdk, path, &nlb_arn).await?;
    Ok(Seeded {
        rest_api_id,
        vpc_link_id,
        nlb_arn,
        target_group_arn,
    })
}

/// The REST API, its VPC link to the NLB, the probed route and the stage.
async fn seed_api(sdk: &SdkConfig, path: &LabPath, nlb_arn: &str) -> Result<(String, String), String> {
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
    let link = api
        .create_vpc_link()
        .name(&path.names.api_name)
        .target_arns(nlb_arn)
        .send()
        .await
        .map_err(|e| describe("apigateway:POST", &e))?;
    let link_id = link.id().ok_or("CreateVpcLink returned no id")?.to_string();
    api.put_integration()
        .rest_api_id(&id)
        .resource_id(&resource_id)
        .http_method("GET")
        .r#type(IntegrationType::HttpProxy)
        .integration_http_method("GET")
        .uri(format!("http://{INTEGRATION_HOST}/{}", path.resource))
        .connection_type(ConnectionType::VpcLink)
        .connection_id("${stageVariables.vpcLinkId}")
        .timeout_in_millis(i32::try_from(path.integration_timeout_ms).unwrap_or(i32::MAX))
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

/// A default subnet of the emulator's default VPC.
#[derive(Debug, Clone, PartialEq)]
struct Subnet {
    id: String,
    zone: String,
    vpc: String,
    /// `172.31.0.0/20`.
    cidr: String,
}

impl Subnet {
    /// The `n`th address of the subnet's block.
    fn address(&self, n: u8) -> String {
        let base = self.cidr.split('/').next().unwrap_or("10.0.0.0");
        let mut octets: Vec<&str> = base.split('.').collect();
        let last = octets.pop().and_then(|o| o.parse::<u8>().ok()).unwrap_or(0);
        format!("{}.{}", octets.join("."), last.saturating_add(n))
    }
}

/// The emulator's default subnets, one per zone: a load balancer needs
/// subnets, and the emulator starts with a default VPC. EC2's one read is
/// made by hand in its Query protocol (one signed POST, an XML answer),
/// which costs far less than another SDK crate for a lab-only call.
async fn default_subnets(sdk: &SdkConfig) -> Result<Vec<Subnet>, String> {
    let endpoint = sdk.endpoint_url().ok_or("no --aws-endpoint to seed")?;
    let body = "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=default-for-az&Filter.1.Value.1=true";
    let headers = sign_ec2(sdk, endpoint, body).await?;
    let mut request = reqwest::Client::new()
        .post(endpoint)
        .timeout(crate::aws::CALL_TIMEOUT)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let call = "ec2:DescribeSubnets";
    let response = request.send().await.map_err(|e| format!("{call}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("{call}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "{call}: HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    Ok(parse_subnets(&text))
}

/// SigV4 headers for EC2's Query call with the lab's credentials (the
/// emulator routes a call by the service its signature names).
async fn sign_ec2(sdk: &SdkConfig, endpoint: &str, body: &str) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let provider = sdk.credentials_provider().ok_or("no credentials to sign with")?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| format!("credentials: {e}"))?;
    let identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(sdk.region().map_or(REGION, |r| r.as_ref()))
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let request = SignableRequest::new(
        "POST",
        endpoint,
        [("content-type", content_type)].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params).map_err(|e| e.to_string())?.into_parts();
    let (headers, _) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}

/// The `<item>`s of a `DescribeSubnetsResponse`.
fn parse_subnets(xml: &str) -> Vec<Subnet> {
    let element = |item: &str, name: &str| crate::aws::xml_element(item.as_bytes(), name);
    xml.split("<item>")
        .skip(1)
        .filter_map(|item| {
            Some(Subnet {
                id: element(item, "subnetId")?,
                zone: element(item, "availabilityZone")?,
                vpc: element(item, "vpcId")?,
                cidr: element(item, "cidrBlock")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_from_ec2_xml() {
        let xml = r#"<DescribeSubnetsResponse><subnetSet><item><availabilityZoneId>use1-az6</availabilityZoneId><ipv6CidrBlockAssociationSet/><subnetId>subnet-0a</subnetId><vpcId>vpc-1</vpcId><cidrBlock>172.31.16.0/20</cidrBlock><availabilityZone>us-east-1b</availabilityZone></item><item><subnetId>subnet-0b</subnetId></item></subnetSet></DescribeSubnetsResponse>"#;
        let subnets = parse_subnets(xml);
        assert_eq!(subnets.len(), 1, "an item without its zone is skipped");
        assert_eq!(subnets[0].id, "subnet-0a");
        assert_eq!(subnets[0].zone, "us-east-1b");
        assert_eq!(subnets[0].address(10), "172.31.16.10");
    }

    #[test]
    fn names_of_short_forms() {
        assert_eq!(name_of("net/coldlink-lab-1a2b3c4d/0011"), "coldlink-lab-1a2b3c4d");
        assert_eq!(name_of("targetgroup/tg/1"), "tg");
    }
}

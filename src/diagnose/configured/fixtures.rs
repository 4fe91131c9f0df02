//! A path as `--aws-config` reads it, built by hand for the joins' tests: a
//! REST API whose route `GET /orders` (target `api`) goes through a V1 VPC
//! link to an NLB with one TCP listener and one target group, a healthy
//! target in each of its two zones, eu-west-1a and eu-west-1b.

use std::collections::BTreeMap;

use crate::aws::path::*;

pub const NLB_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/edge-nlb/50dc6c495c0c9188";
pub const LISTENER_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/net/edge-nlb/50dc6c495c0c9188/f2f7dc8efc522ab2";
pub const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-tg/73e2d6bc24d8a067";
pub const TG2_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/canary-tg/0a1b2c3d4e5f6a7b";

pub fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn target(id: &str, zone: &str, state: &str) -> TargetConfig {
    TargetConfig {
        id: id.into(),
        port: Some(8080),
        zone: Some(zone.into()),
        state: state.into(),
        ..TargetConfig::default()
    }
}

pub fn route(timeout_ms: Option<u64>) -> RouteConfig {
    RouteConfig {
        targets: vec!["api".into()],
        route: "GET /orders".into(),
        integration_type: Some("HTTP_PROXY".into()),
        connection_type: Some("VPC_LINK".into()),
        connection_id: Some("${stageVariables.vpcLinkId}".into()),
        vpc_link_id: Some("vl1234".into()),
        uri: Some("http://edge-nlb.internal/orders".into()),
        timeout_ms,
        resource_id: Some("res42".into()),
        ..RouteConfig::default()
    }
}

pub fn nlb() -> LoadBalancerConfig {
    LoadBalancerConfig {
        arn: NLB_ARN.into(),
        name: "edge-nlb".into(),
        kind: "network".into(),
        scheme: Some("internal".into()),
        ip_address_type: Some("ipv4".into()),
        zones: vec!["eu-west-1a".into(), "eu-west-1b".into()],
        attributes: attrs(&[("load_balancing.cross_zone.enabled", "false")]),
        attributes_unread: false,
        listeners: vec![ListenerConfig {
            arn: LISTENER_ARN.into(),
            protocol: "TCP".into(),
            port: 443,
            attributes: BTreeMap::new(),
            attributes_unread: false,
            forwards: vec![Forward {
                target_group_arn: TG_ARN.into(),
                weight: None,
            }],
        }],
        target_groups: vec![TargetGroupConfig {
            arn: TG_ARN.into(),
            name: "api-tg".into(),
            protocol: Some("TCP".into()),
            port: Some(8080),
            target_type: Some("ip".into()),
            attributes: attrs(&[("deregistration_delay.timeout_seconds", "300")]),
            attributes_unread: false,
            targets: vec![
                target("10.0.1.10", "eu-west-1a", "healthy"),
                target("10.0.2.10", "eu-west-1b", "healthy"),
            ],
        }],
    }
}

pub fn path() -> PathConfig {
    PathConfig {
        rest_api: Some(RestApiConfig {
            id: "a1b2c3d4e5".into(),
            name: Some("orders".into()),
            endpoint_type: Some("REGIONAL".into()),
            stage: Some(StageConfig {
                name: "prod".into(),
                tracing: Some(true),
                variables: attrs(&[("vpcLinkId", "vl1234")]),
            }),
            routes: vec![route(Some(12_000))],
        }),
        vpc_links: vec![VpcLinkConfig {
            id: "vl1234".into(),
            name: Some("edge".into()),
            version: "V1".into(),
            status: Some("AVAILABLE".into()),
            target_arns: vec![NLB_ARN.into()],
            ..VpcLinkConfig::default()
        }],
        load_balancers: vec![nlb()],
        ..PathConfig::default()
    }
}

/// Custom domain `api.example.com` of endpoint type `kind`, its empty base
/// path mapped to the REST API at `stage`, taking `targets`.
pub fn domain(kind: &str, stage: &str, targets: &[&str]) -> DomainConfig {
    DomainConfig {
        name: "api.example.com".into(),
        endpoint_type: Some(kind.into()),
        routing_mode: Some("BASE_PATH_MAPPING_ONLY".into()),
        security_policy: Some("TLS_1_2".into()),
        distribution: (kind == "EDGE").then(|| "d111111abcdef8.cloudfront.net".into()),
        base_path_mappings: vec![BasePathMapping {
            base_path: "(none)".into(),
            api_id: "a1b2c3d4e5".into(),
            stage: Some(stage.into()),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }],
        ..DomainConfig::default()
    }
}

//! A path's configuration as `--aws-config` reads it, built by hand: a REST
//! API (stage `prod`, route `GET /orders` probed by target `api`, its
//! `timeoutInMillis` 12000) through a V1 VPC link to an NLB with one TCP
//! listener (no idle-timeout attribute: 350 s) and one target group with a
//! healthy target in each of two zones. [`full`] sets every field the model
//! has, for the schema.

use std::collections::BTreeMap;

use coldlink::aws::path::*;

pub const NLB_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/edge-nlb/50dc6c495c0c9188";
pub const LISTENER_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/net/edge-nlb/50dc6c495c0c9188/f2f7dc8efc522ab2";
pub const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-tg/73e2d6bc24d8a067";

pub fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn target(id: &str, zone: &str, state: &str) -> TargetConfig {
    TargetConfig {
        id: id.into(),
        port: Some(8080),
        zone: Some(zone.into()),
        state: state.into(),
        ..TargetConfig::default()
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
            routes: vec![RouteConfig {
                targets: vec!["api".into()],
                route: "GET /orders".into(),
                integration_type: Some("HTTP_PROXY".into()),
                connection_type: Some("VPC_LINK".into()),
                connection_id: Some("${stageVariables.vpcLinkId}".into()),
                vpc_link_id: Some("vl1234".into()),
                uri: Some("http://edge-nlb.internal/orders".into()),
                timeout_ms: Some(12_000),
                response_transfer_mode: Some("BUFFERED".into()),
                resource_id: Some("res42".into()),
                ..RouteConfig::default()
            }],
        }),
        vpc_links: vec![VpcLinkConfig {
            id: "vl1234".into(),
            name: Some("edge".into()),
            version: "V1".into(),
            status: Some("AVAILABLE".into()),
            target_arns: vec![NLB_ARN.into()],
            ..VpcLinkConfig::default()
        }],
        load_balancers: vec![LoadBalancerConfig {
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
        }],
        ..PathConfig::default()
    }
}

/// Every field set: an HTTP API, a domain, a V2 link that went INACTIVE, an
/// ALB, weighted forwards, a TLS listener, targets draining and unhealthy.
pub fn full() -> PathConfig {
    let mut c = path();
    let route = c.rest_api.as_ref().unwrap().routes[0].clone();
    c.rest_api.as_mut().unwrap().routes[0].integration_target = Some(NLB_ARN.into());
    c.rest_api.as_mut().unwrap().routes[0].tls_config = attrs(&[("insecureSkipVerification", "false")]);
    c.http_api = Some(HttpApiConfig {
        id: "h1t2t3".into(),
        name: Some("orders-http".into()),
        stage: Some(StageConfig {
            name: "$default".into(),
            tracing: None,
            variables: BTreeMap::new(),
        }),
        routes: vec![RouteConfig {
            targets: vec!["http".into()],
            route: "GET /orders".into(),
            timeout_ms: None,
            integration_id: Some("int9".into()),
            resource_id: None,
            ..route
        }],
    });
    c.vpc_links.push(VpcLinkConfig {
        id: "v2link".into(),
        name: None,
        version: "V2".into(),
        status: Some("INACTIVE".into()),
        status_message: Some("VPC link is inactive".into()),
        target_arns: Vec::new(),
        subnets: vec!["subnet-1".into(), "subnet-2".into()],
        security_groups: vec!["sg-1".into()],
    });
    c.domains.push(DomainConfig {
        name: "api.example.com".into(),
        endpoint_type: Some("EDGE".into()),
        routing_mode: Some("API_MAPPING_ONLY".into()),
        security_policy: Some("TLS_1_2".into()),
        endpoint_access_mode: Some("BASIC".into()),
        distribution: Some("d111111abcdef8.cloudfront.net".into()),
        base_path_mappings: vec![BasePathMapping {
            base_path: "(none)".into(),
            api_id: "a1b2c3d4e5".into(),
            stage: Some("prod".into()),
            targets: vec!["edge".into()],
        }],
        ..DomainConfig::default()
    });
    let nlb = &mut c.load_balancers[0];
    nlb.listeners.push(ListenerConfig {
        arn: format!("{LISTENER_ARN}-tls"),
        protocol: "TLS".into(),
        port: 8443,
        attributes: attrs(&[("tcp.idle_timeout.seconds", "350")]),
        attributes_unread: false,
        forwards: vec![
            Forward {
                target_group_arn: TG_ARN.into(),
                weight: Some(80),
            },
            Forward {
                target_group_arn: TG_ARN.replace("api-tg", "canary-tg"),
                weight: Some(20),
            },
        ],
    });
    let tg = &mut nlb.target_groups[0];
    tg.attributes.extend(attrs(&[
        ("deregistration_delay.connection_termination.enabled", "false"),
        (
            "target_health_state.unhealthy.connection_termination.enabled",
            "false",
        ),
        ("target_health_state.unhealthy.draining_interval_seconds", "0"),
    ]));
    tg.targets.push(TargetConfig {
        id: "10.0.2.11".into(),
        port: None,
        zone: Some("eu-west-1b".into()),
        state: "draining".into(),
        reason: Some("Target.DeregistrationInProgress".into()),
        description: Some("Target deregistration is in progress".into()),
    });
    tg.targets
        .push(target("10.0.1.12", "eu-west-1a", "unhealthy.draining"));
    c.load_balancers.push(LoadBalancerConfig {
        arn: NLB_ARN.replace("net/edge-nlb", "app/web"),
        name: "web".into(),
        kind: "application".into(),
        scheme: Some("internal".into()),
        ip_address_type: Some("dualstack".into()),
        zones: vec!["eu-west-1a".into()],
        attributes: attrs(&[
            ("idle_timeout.timeout_seconds", "120"),
            ("zonal_shift.config.enabled", "true"),
        ]),
        attributes_unread: false,
        listeners: Vec::new(),
        target_groups: Vec::new(),
    });
    c.notes.push("elasticloadbalancing:DescribeTargetHealth on canary-tg: AccessDenied (needs elasticloadbalancing:DescribeTargetHealth)".into());
    c
}

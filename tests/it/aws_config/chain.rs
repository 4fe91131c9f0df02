//! The mocked account of `mocked`: one chain of REST API, HTTP API, VPC
//! links and load balancers, as aws-smithy-mocks rules.

use aws_sdk_apigateway as apigw;
use aws_sdk_apigatewayv2 as apigw2;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_elasticloadbalancingv2::error::ErrorMetadata;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use coldlink::aws::path::{Clients, HttpApiRef, PathQuery, ProbedRoute, RestApiRef};

pub const NLB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/net/orders/50dc6c495c0c9188";
pub const NLB_LISTENER: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/net/orders/50dc6c495c0c9188/f2f7dc8efc522ab2";
pub const ALB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/1234567890abcdef";
pub const ALB_LISTENER: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/1234567890abcdef/0123456789abcdef";

pub fn tg_arn(name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/{name}/73e2d6bc24d8a067")
}

pub fn clients(rest: &[Rule], v2: &[Rule], lb: &[Rule]) -> Clients {
    Clients {
        rest: mock_client!(apigw, RuleMode::MatchAny, rest),
        v2: mock_client!(apigw2, RuleMode::MatchAny, v2),
        elb: mock_client!(elb, RuleMode::MatchAny, lb),
    }
}

pub fn code(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

pub fn get(target: &str, url: &str) -> ProbedRoute {
    ProbedRoute {
        target: target.into(),
        method: "GET".into(),
        url: url.into(),
    }
}

/// The REST API `r1` at stage `prod`: `/orders/{id}` on a V1 link named by
/// a stage variable, `/{proxy+}` on an ALB through a V2 link.
pub fn rest_rules() -> Vec<Rule> {
    use apigw::operation::{
        get_integration::{GetIntegrationError, GetIntegrationOutput},
        get_resources::GetResourcesOutput,
        get_rest_api::GetRestApiOutput,
        get_stage::GetStageOutput,
        get_vpc_link::{GetVpcLinkError, GetVpcLinkOutput},
    };
    use apigw::types::{EndpointConfiguration, Method, Resource, TlsConfig};
    let not_found = || code("NotFoundException", "Invalid Method identifier specified");
    vec![
        mock!(apigw::Client::get_rest_api).then_output(|| {
            GetRestApiOutput::builder()
                .id("r1")
                .name("orders")
                .endpoint_configuration(EndpointConfiguration::builder().types("PRIVATE".into()).build())
                .build()
        }),
        mock!(apigw::Client::get_stage)
            .match_requests(|r| r.stage_name() == Some("prod"))
            .then_output(|| {
                GetStageOutput::builder()
                    .stage_name("prod")
                    .tracing_enabled(false)
                    .variables("vpcLinkId", "l1v1")
                    .build()
            }),
        // Two pages: the most specific template is on the second.
        mock!(apigw::Client::get_resources)
            .match_requests(|r| r.position().is_none())
            .then_output(|| {
                GetResourcesOutput::builder()
                    .items(Resource::builder().id("root").path("/").build())
                    .items(Resource::builder().id("px").path("/{proxy+}").build())
                    .position("page2")
                    .build()
            }),
        mock!(apigw::Client::get_resources)
            .match_requests(|r| r.position() == Some("page2"))
            .then_output(|| {
                GetResourcesOutput::builder()
                    .items(
                        Resource::builder()
                            .id("ord")
                            .path("/orders/{id}")
                            .resource_methods("GET", Method::builder().http_method("GET").build())
                            .build(),
                    )
                    .build()
            }),
        mock!(apigw::Client::get_integration)
            .match_requests(|r| r.resource_id() == Some("ord") && r.http_method() == Some("GET"))
            .then_output(|| {
                GetIntegrationOutput::builder()
                    .r#type("HTTP_PROXY".into())
                    .connection_type("VPC_LINK".into())
                    .connection_id("${stageVariables.vpcLinkId}")
                    .uri("http://orders.internal/orders/{id}")
                    .timeout_in_millis(12_000)
                    .response_transfer_mode("STREAM".into())
                    .tls_config(TlsConfig::builder().insecure_skip_verification(false).build())
                    .build()
            }),
        // No GET on /{proxy+}: ANY takes it.
        mock!(apigw::Client::get_integration)
            .match_requests(|r| r.resource_id() == Some("px") && r.http_method() == Some("GET"))
            .then_error(move || GetIntegrationError::generic(not_found())),
        mock!(apigw::Client::get_integration)
            .match_requests(|r| r.resource_id() == Some("px") && r.http_method() == Some("ANY"))
            .then_output(|| {
                GetIntegrationOutput::builder()
                    .r#type("HTTP_PROXY".into())
                    .connection_type("VPC_LINK".into())
                    .connection_id("v2link")
                    .integration_target(ALB)
                    .uri("http://web.internal/{proxy}")
                    .build()
            }),
        mock!(apigw::Client::get_vpc_link)
            .match_requests(|r| r.vpc_link_id() == Some("l1v1"))
            .then_output(|| {
                GetVpcLinkOutput::builder()
                    .id("l1v1")
                    .name("orders-link")
                    .status("AVAILABLE".into())
                    .status_message("Your vpc link is ready for use")
                    .target_arns(NLB)
                    .build()
            }),
        mock!(apigw::Client::get_vpc_link)
            .match_requests(|r| r.vpc_link_id() != Some("l1v1"))
            .then_error(|| {
                GetVpcLinkError::NotFoundException(
                    apigw::types::error::NotFoundException::builder()
                        .message("VPC link not found")
                        .meta(code("NotFoundException", "VPC link not found"))
                        .build(),
                )
            }),
    ]
}

/// The HTTP API `h1` (stage `$default`) and the V2 link, INACTIVE.
pub fn v2_rules() -> Vec<Rule> {
    use apigw2::operation::{
        get_api::GetApiOutput, get_integration::GetIntegrationOutput, get_routes::GetRoutesOutput,
        get_stage::GetStageOutput, get_vpc_link::GetVpcLinkOutput,
    };
    use apigw2::types::{Route, TlsConfig};
    vec![
        mock!(apigw2::Client::get_api)
            .then_output(|| GetApiOutput::builder().api_id("h1").name("orders-http").build()),
        mock!(apigw2::Client::get_stage)
            .then_output(|| GetStageOutput::builder().stage_name("$default").build()),
        mock!(apigw2::Client::get_routes).then_output(|| {
            GetRoutesOutput::builder()
                .items(
                    Route::builder()
                        .route_key("GET /orders/{id}")
                        .target("integrations/i1")
                        .build(),
                )
                .items(
                    Route::builder()
                        .route_key("$default")
                        .target("integrations/i2")
                        .build(),
                )
                .build()
        }),
        mock!(apigw2::Client::get_integration)
            .match_requests(|r| r.integration_id() == Some("i1"))
            .then_output(|| {
                GetIntegrationOutput::builder()
                    .integration_id("i1")
                    .integration_type("HTTP_PROXY".into())
                    .connection_type("VPC_LINK".into())
                    .connection_id("v2link")
                    .integration_uri(NLB_LISTENER)
                    .timeout_in_millis(20_000)
                    .tls_config(
                        TlsConfig::builder()
                            .server_name_to_verify("orders.internal")
                            .build(),
                    )
                    .build()
            }),
        mock!(apigw2::Client::get_vpc_link)
            .match_requests(|r| r.vpc_link_id() == Some("v2link"))
            .then_output(|| {
                GetVpcLinkOutput::builder()
                    .vpc_link_id("v2link")
                    .name("web-link")
                    .vpc_link_status("INACTIVE".into())
                    .vpc_link_status_message("VPC link is inactive after 60 days without traffic")
                    .subnet_ids("subnet-a")
                    .subnet_ids("subnet-b")
                    .security_group_ids("sg-1")
                    .vpc_link_version("V2".into())
                    .build()
            }),
    ]
}

fn attribute(key: &str, value: &str) -> (String, String) {
    (key.to_string(), value.to_string())
}

/// The NLB (TLS listener, weighted forward, target groups over three
/// pages, one of which refuses DescribeTargetHealth) and the ALB.
pub fn elb_rules() -> Vec<Rule> {
    use elb::operation::{
        describe_listener_attributes::DescribeListenerAttributesOutput,
        describe_listeners::DescribeListenersOutput,
        describe_load_balancer_attributes::DescribeLoadBalancerAttributesOutput,
        describe_load_balancers::DescribeLoadBalancersOutput,
        describe_target_group_attributes::DescribeTargetGroupAttributesOutput,
        describe_target_groups::DescribeTargetGroupsOutput,
        describe_target_health::{DescribeTargetHealthError, DescribeTargetHealthOutput},
    };
    use elb::types::{
        Action, AvailabilityZone, ForwardActionConfig, Listener, ListenerAttribute, LoadBalancer,
        LoadBalancerAttribute, TargetDescription, TargetGroup, TargetGroupAttribute, TargetGroupTuple,
        TargetHealth, TargetHealthDescription,
    };
    let lb = |arn: &'static str, name: &'static str, kind: &'static str| {
        mock!(elb::Client::describe_load_balancers)
            .match_requests(move |r| r.load_balancer_arns() == [arn])
            .then_output(move || {
                DescribeLoadBalancersOutput::builder()
                    .load_balancers(
                        LoadBalancer::builder()
                            .load_balancer_arn(arn)
                            .load_balancer_name(name)
                            .r#type(kind.into())
                            .scheme("internal".into())
                            .ip_address_type("ipv4".into())
                            .availability_zones(AvailabilityZone::builder().zone_name("eu-west-1a").build())
                            .availability_zones(AvailabilityZone::builder().zone_name("eu-west-1b").build())
                            .build(),
                    )
                    .build()
            })
    };
    let lb_attributes = |arn: &'static str, pairs: Vec<(String, String)>| {
        mock!(elb::Client::describe_load_balancer_attributes)
            .match_requests(move |r| r.load_balancer_arn() == Some(arn))
            .then_output(move || {
                DescribeLoadBalancerAttributesOutput::builder()
                    .set_attributes(Some(
                        pairs
                            .iter()
                            .map(|(k, v)| LoadBalancerAttribute::builder().key(k).value(v).build())
                            .collect(),
                    ))
                    .build()
            })
    };
    let group = |name: &str| {
        TargetGroup::builder()
            .target_group_arn(tg_arn(name))
            .target_group_name(name)
            .protocol("TLS".into())
            .port(8443)
            .target_type("ip".into())
            .build()
    };
    let page =
        |lb: &'static str, marker: Option<&'static str>, name: &'static str, next: Option<&'static str>| {
            mock!(elb::Client::describe_target_groups)
                .match_requests(move |r| r.load_balancer_arn() == Some(lb) && r.marker() == marker)
                .then_output(move || {
                    DescribeTargetGroupsOutput::builder()
                        .target_groups(group(name))
                        .set_next_marker(next.map(String::from))
                        .build()
                })
        };
    let health =
        |name: &'static str,
         targets: Vec<(&'static str, &'static str, &'static str, Option<&'static str>)>| {
            mock!(elb::Client::describe_target_health)
                .match_requests(move |r| r.target_group_arn() == Some(tg_arn(name).as_str()))
                .then_output(move || {
                    DescribeTargetHealthOutput::builder()
                        .set_target_health_descriptions(Some(
                            targets
                                .iter()
                                .map(|(id, zone, state, reason)| {
                                    TargetHealthDescription::builder()
                                        .target(
                                            TargetDescription::builder()
                                                .id(*id)
                                                .port(8443)
                                                .availability_zone(*zone)
                                                .build(),
                                        )
                                        .target_health(
                                            TargetHealth::builder()
                                                .state((*state).into())
                                                .set_reason(reason.map(Into::into))
                                                .set_description(
                                                    reason.map(|_| "Health checks failed".to_string()),
                                                )
                                                .build(),
                                        )
                                        .build()
                                })
                                .collect(),
                        ))
                        .build()
                })
        };
    vec![
        lb(NLB, "orders", "network"),
        lb(ALB, "web", "application"),
        lb_attributes(NLB, vec![attribute("load_balancing.cross_zone.enabled", "false")]),
        lb_attributes(
            ALB,
            vec![
                attribute("idle_timeout.timeout_seconds", "120"),
                attribute("client_keep_alive.seconds", "3600"),
            ],
        ),
        mock!(elb::Client::describe_listeners)
            .match_requests(|r| r.load_balancer_arn() == Some(NLB))
            .then_output(|| {
                let forward = ForwardActionConfig::builder()
                    .target_groups(TargetGroupTuple::builder().target_group_arn(tg_arn("tg-a")).weight(90).build())
                    .target_groups(TargetGroupTuple::builder().target_group_arn(tg_arn("tg-b")).weight(10).build())
                    .build();
                DescribeListenersOutput::builder()
                    .listeners(
                        Listener::builder()
                            .listener_arn(NLB_LISTENER)
                            .protocol("TLS".into())
                            .port(443)
                            .default_actions(Action::builder().r#type("forward".into()).forward_config(forward).build())
                            .build(),
                    )
                    .build()
            }),
        mock!(elb::Client::describe_listeners)
            .match_requests(|r| r.load_balancer_arn() == Some(ALB))
            .then_output(|| {
                DescribeListenersOutput::builder()
                    .listeners(
                        Listener::builder()
                            .listener_arn(ALB_LISTENER)
                            .protocol("HTTP".into())
                            .port(80)
                            .default_actions(
                                Action::builder()
                                    .r#type("forward".into())
                                    .target_group_arn(tg_arn("tg-web"))
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            }),
        mock!(elb::Client::describe_listener_attributes)
            .match_requests(|r| r.listener_arn() == Some(NLB_LISTENER))
            .then_output(|| {
                DescribeListenerAttributesOutput::builder()
                    .attributes(ListenerAttribute::builder().key("tcp.idle_timeout.seconds").value("350").build())
                    .build()
            }),
        mock!(elb::Client::describe_listener_attributes)
            .match_requests(|r| r.listener_arn() == Some(ALB_LISTENER))
            .then_output(|| DescribeListenerAttributesOutput::builder().build()),
        page(NLB, None, "tg-a", Some("m2")),
        page(NLB, Some("m2"), "tg-b", Some("m3")),
        page(NLB, Some("m3"), "tg-c", None),
        page(ALB, None, "tg-web", None),
        mock!(elb::Client::describe_target_group_attributes).then_output(|| {
            DescribeTargetGroupAttributesOutput::builder()
                .attributes(
                    TargetGroupAttribute::builder()
                        .key("target_health_state.unhealthy.connection_termination.enabled")
                        .value("false")
                        .build(),
                )
                .build()
        }),
        mock!(elb::Client::describe_target_health)
            .match_requests(|r| r.target_group_arn() == Some(tg_arn("tg-a").as_str()))
            .then_error(|| {
                DescribeTargetHealthError::generic(code(
                    "AccessDenied",
                    "User: arn:aws:iam::111122223333:user/probe is not authorized to perform: elasticloadbalancing:DescribeTargetHealth",
                ))
            }),
        health(
            "tg-b",
            vec![
                ("10.0.1.10", "eu-west-1a", "healthy", None),
                ("10.0.2.10", "eu-west-1b", "unhealthy.draining", Some("Target.FailedHealthChecks")),
            ],
        ),
        health("tg-c", vec![("10.0.2.11", "eu-west-1b", "draining", Some("Target.DeregistrationInProgress"))]),
        health("tg-web", vec![("10.0.1.20", "eu-west-1a", "healthy", None)]),
    ]
}

pub fn full_query() -> PathQuery {
    PathQuery {
        rest_api: Some(RestApiRef {
            id: Some("r1".into()),
            name: Some("orders".into()),
            stage: "prod".into(),
        }),
        http_api: Some(HttpApiRef {
            id: "h1".into(),
            stage: "$default".into(),
        }),
        routes: vec![
            get(
                "orders",
                "https://r1.execute-api.eu-west-1.amazonaws.com/prod/orders/42",
            ),
            get(
                "web",
                "https://r1.execute-api.eu-west-1.amazonaws.com/prod/web/index.html",
            ),
            get("http", "https://h1.execute-api.eu-west-1.amazonaws.com/orders/5"),
        ],
        ..PathQuery::default()
    }
}

//! Issue 17: what `--aws-config` reads that moto's server does not give,
//! fed to the real SDK clients through aws-smithy-mocks: a REST
//! integration's `connectionId` through `${stageVariables.…}`, an
//! `integrationTarget` on a V2 link that is INACTIVE, `responseTransferMode`,
//! `tlsConfig`, targets' zones, a TLS listener with weighted forwards, an
//! HTTP API route whose integration URI is a listener ARN; and the failures:
//! AccessDenied on one call, throttling, paging, unknown ids.

use std::time::{Duration, Instant};

use aws_sdk_apigateway as apigw;
use aws_sdk_apigatewayv2 as apigw2;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_elasticloadbalancingv2::error::ErrorMetadata;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use coldlink::aws::path::{read_with, Clients, HttpApiRef, PathConfig, PathQuery, ProbedRoute, RestApiRef};

const NLB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/net/orders/50dc6c495c0c9188";
const NLB_LISTENER: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/net/orders/50dc6c495c0c9188/f2f7dc8efc522ab2";
const ALB: &str = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/1234567890abcdef";
const ALB_LISTENER: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/1234567890abcdef/0123456789abcdef";

fn tg_arn(name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/{name}/73e2d6bc24d8a067")
}

fn clients(rest: &[Rule], v2: &[Rule], lb: &[Rule]) -> Clients {
    Clients {
        rest: mock_client!(apigw, RuleMode::MatchAny, rest),
        v2: mock_client!(apigw2, RuleMode::MatchAny, v2),
        elb: mock_client!(elb, RuleMode::MatchAny, lb),
    }
}

fn code(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn get(target: &str, url: &str) -> ProbedRoute {
    ProbedRoute {
        target: target.into(),
        method: "GET".into(),
        url: url.into(),
    }
}

async fn run(clients: &Clients, query: &PathQuery) -> PathConfig {
    let started = Instant::now();
    let config = tokio::time::timeout(Duration::from_secs(60), read_with(clients, query, &|_| {}))
        .await
        .expect("reading ends");
    assert!(started.elapsed() < Duration::from_secs(60));
    config
}

/// The REST API `r1` at stage `prod`: `/orders/{id}` on a V1 link named by
/// a stage variable, `/{proxy+}` on an ALB through a V2 link.
fn rest_rules() -> Vec<Rule> {
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
fn v2_rules() -> Vec<Rule> {
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
fn elb_rules() -> Vec<Rule> {
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

fn full_query() -> PathQuery {
    PathQuery {
        rest_api: Some(RestApiRef {
            id: Some("r1".into()),
            name: "orders".into(),
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

#[tokio::test]
async fn the_whole_chain_is_followed() {
    let clients = clients(&rest_rules(), &v2_rules(), &elb_rules());
    let config = run(&clients, &full_query()).await;

    let rest = config.rest_api.as_ref().expect("the REST API");
    assert_eq!(rest.endpoint_type.as_deref(), Some("PRIVATE"));
    assert_eq!(rest.stage.as_ref().unwrap().tracing, Some(false));
    let orders = &rest.routes[0];
    assert_eq!(
        (orders.route.as_str(), orders.targets.as_slice()),
        ("GET /orders/{id}", &["orders".to_string()][..])
    );
    assert_eq!(
        orders.connection_id.as_deref(),
        Some("${stageVariables.vpcLinkId}")
    );
    assert_eq!(
        orders.vpc_link_id.as_deref(),
        Some("l1v1"),
        "the stage variable substituted"
    );
    assert_eq!(orders.timeout_ms, Some(12_000));
    assert_eq!(orders.response_transfer_mode.as_deref(), Some("STREAM"));
    assert_eq!(
        orders
            .tls_config
            .get("insecureSkipVerification")
            .map(String::as_str),
        Some("false")
    );
    let web = &rest.routes[1];
    assert_eq!(
        web.route, "ANY /{proxy+}",
        "GET is not on /{{proxy+}}: ANY takes it"
    );
    assert_eq!(
        (web.integration_target.as_deref(), web.vpc_link_id.as_deref()),
        (Some(ALB), Some("v2link"))
    );
    assert_eq!(web.timeout_ms, None);

    let http = config.http_api.as_ref().expect("the HTTP API");
    let route = &http.routes[0];
    assert_eq!(route.route, "GET /orders/{id}");
    assert_eq!(
        (route.uri.as_deref(), route.timeout_ms),
        (Some(NLB_LISTENER), Some(20_000))
    );
    assert_eq!(
        route.tls_config.get("serverNameToVerify").map(String::as_str),
        Some("orders.internal")
    );

    // The V1 link (from the stage variable) and the V2 link (from the
    // integration target and the HTTP API), each read once.
    assert_eq!(config.vpc_links.len(), 2, "{:#?}", config.vpc_links);
    let v1 = &config.vpc_links[0];
    assert_eq!(
        (v1.id.as_str(), v1.version.as_str(), v1.status.as_deref()),
        ("l1v1", "V1", Some("AVAILABLE"))
    );
    assert_eq!(v1.target_arns, [NLB]);
    let v2 = &config.vpc_links[1];
    assert_eq!(
        (v2.id.as_str(), v2.version.as_str(), v2.status.as_deref()),
        ("v2link", "V2", Some("INACTIVE"))
    );
    assert_eq!(
        (v2.subnets.len(), v2.security_groups.as_slice()),
        (2, &["sg-1".to_string()][..])
    );
    assert!(v2.status_message.as_deref().unwrap().contains("60 days"));

    // The NLB, reached from the V1 link and the HTTP API's listener: once.
    assert_eq!(config.load_balancers.len(), 2, "{:#?}", config.load_balancers);
    let nlb = config
        .load_balancers
        .iter()
        .find(|l| l.arn == NLB)
        .expect("the NLB");
    assert_eq!((nlb.kind.as_str(), nlb.zones.len()), ("network", 2));
    let listener = &nlb.listeners[0];
    assert_eq!((listener.protocol.as_str(), listener.port), ("TLS", 443));
    assert_eq!(
        listener
            .attributes
            .get("tcp.idle_timeout.seconds")
            .map(String::as_str),
        Some("350")
    );
    let weights: Vec<_> = listener
        .forwards
        .iter()
        .map(|f| (f.target_group_arn.clone(), f.weight))
        .collect();
    assert_eq!(weights, [(tg_arn("tg-a"), Some(90)), (tg_arn("tg-b"), Some(10))]);
    // Three pages of target groups, all read.
    let names: Vec<&str> = nlb.target_groups.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["tg-a", "tg-b", "tg-c"]);
    assert!(nlb.target_groups[0].targets.is_empty(), "its health was refused");
    let b = &nlb.target_groups[1];
    assert_eq!(b.targets[1].zone.as_deref(), Some("eu-west-1b"));
    assert_eq!(b.targets[1].state, "unhealthy.draining");
    assert_eq!(b.targets[1].reason.as_deref(), Some("Target.FailedHealthChecks"));
    assert_eq!(nlb.target_groups[2].targets[0].state, "draining");
    let alb = config
        .load_balancers
        .iter()
        .find(|l| l.arn == ALB)
        .expect("the ALB behind the V2 link");
    assert_eq!(alb.kind, "application");
    assert_eq!(
        alb.attributes
            .get("idle_timeout.timeout_seconds")
            .map(String::as_str),
        Some("120")
    );
    assert_eq!(alb.listeners[0].forwards[0].weight, None);
    assert_eq!(
        alb.target_groups[0].targets[0].zone.as_deref(),
        Some("eu-west-1a")
    );

    // AccessDenied on one call: one note naming the action; the rest read.
    assert_eq!(config.notes.len(), 1, "{:#?}", config.notes);
    let note = &config.notes[0];
    assert!(
        note.starts_with("elasticloadbalancing:DescribeTargetHealth: AccessDenied"),
        "{note}"
    );
    assert!(
        note.ends_with("(the credentials need elasticloadbalancing:DescribeTargetHealth)"),
        "{note}"
    );
}

/// Links that cannot be followed are said, not guessed: a stage variable
/// the stage lacks, a link neither API knows, a Cloud Map service.
#[tokio::test]
async fn unfollowable_links_are_notes() {
    use apigw::operation::{get_integration::GetIntegrationOutput, get_resources::GetResourcesOutput};
    use apigw::types::Resource;
    use apigw2::operation::{
        get_integration::GetIntegrationOutput as V2Integration, get_routes::GetRoutesOutput,
        get_vpc_link::GetVpcLinkError,
    };
    let mut rest = rest_rules();
    // Other resources and integrations than the full chain's: put first,
    // MatchAny takes the first rule that matches.
    rest.insert(
        0,
        mock!(apigw::Client::get_resources).then_output(|| {
            GetResourcesOutput::builder()
                .items(Resource::builder().id("a").path("/a").build())
                .items(Resource::builder().id("b").path("/b").build())
                .build()
        }),
    );
    rest.insert(
        0,
        mock!(apigw::Client::get_integration)
            .match_requests(|r| r.resource_id() == Some("a"))
            .then_output(|| {
                GetIntegrationOutput::builder()
                    .connection_type("VPC_LINK".into())
                    .connection_id("${stageVariables.missing}")
                    .build()
            }),
    );
    rest.insert(
        0,
        mock!(apigw::Client::get_integration)
            .match_requests(|r| r.resource_id() == Some("b"))
            .then_output(|| {
                GetIntegrationOutput::builder()
                    .connection_type("VPC_LINK".into())
                    .connection_id("ghost")
                    .build()
            }),
    );
    let mut v2 = v2_rules();
    v2.insert(
        0,
        mock!(apigw2::Client::get_routes).then_output(|| {
            GetRoutesOutput::builder()
                .items(
                    apigw2::types::Route::builder()
                        .route_key("ANY /{proxy+}")
                        .target("integrations/cm")
                        .build(),
                )
                .build()
        }),
    );
    v2.insert(
        0,
        mock!(apigw2::Client::get_integration).then_output(|| {
            V2Integration::builder()
                .integration_uri("arn:aws:servicediscovery:eu-west-1:111122223333:service/srv-1")
                .build()
        }),
    );
    v2.insert(
        0,
        mock!(apigw2::Client::get_vpc_link)
            .match_requests(|r| r.vpc_link_id() == Some("ghost"))
            .then_error(|| {
                GetVpcLinkError::generic(code("NotFoundException", "Invalid VPC link identifier"))
            }),
    );
    let clients = clients(&rest, &v2, &elb_rules());
    let query = PathQuery {
        routes: vec![
            get("a", "https://r1.execute-api.eu-west-1.amazonaws.com/prod/a"),
            get("b", "https://r1.execute-api.eu-west-1.amazonaws.com/prod/b"),
            get("c", "https://h1.execute-api.eu-west-1.amazonaws.com/c"),
            get("d", "https://r1.execute-api.eu-west-1.amazonaws.com/dev/a"),
        ],
        ..full_query()
    };
    let config = run(&clients, &query).await;
    let expected = [
        "REST API r1: GET /a has connectionId ${stageVariables.missing}, whose stage variable missing is unknown (stage prod does not define it): its VPC link cannot be followed",
        "VPC link ghost is neither a V1 (REST) nor a V2 VPC link in this account/region",
        "HTTP API h1: ANY /{proxy+} integrates with the Cloud Map service arn:aws:servicediscovery:eu-west-1:111122223333:service/srv-1; its instances are not read",
        "d: https://r1.execute-api.eu-west-1.amazonaws.com/dev/a is not on stage prod of API r1: its route was not read",
    ];
    for e in expected {
        assert!(
            config.notes.iter().any(|n| n == e),
            "{e}\nnot in {:#?}",
            config.notes
        );
    }
    assert_eq!(config.notes.len(), expected.len(), "{:#?}", config.notes);
    assert!(config.vpc_links.is_empty());
    assert!(config.load_balancers.is_empty());
}

/// Throttled on every attempt: a note once the SDK's retries are spent,
/// and reading ends.
#[tokio::test]
async fn throttling_is_a_note_not_a_hang() {
    use elb::operation::describe_load_balancers::DescribeLoadBalancersError;
    let throttled = mock!(elb::Client::describe_load_balancers)
        .sequence()
        .error(|| DescribeLoadBalancersError::generic(code("Throttling", "Rate exceeded")))
        .repeatedly()
        .build();
    let clients = clients(&[], &[], std::slice::from_ref(&throttled));
    let query = PathQuery {
        nlb: Some("net/orders/50dc6c495c0c9188".into()),
        ..PathQuery::default()
    };
    let config = run(&clients, &query).await;
    assert!(config.is_empty());
    assert_eq!(config.notes.len(), 1, "{:#?}", config.notes);
    let note = &config.notes[0];
    assert!(
        note.starts_with("elasticloadbalancing:DescribeLoadBalancers: Throttling: Rate exceeded"),
        "{note}"
    );
    assert!(note.contains("throttled"), "{note}");
    assert!(throttled.num_calls() >= 1);
}

/// An unknown REST API id (by host alone, no `[aws] rest_api`): a note
/// naming the id, nothing else called for it.
#[tokio::test]
async fn an_unknown_api_id_is_a_note() {
    use apigw::operation::get_rest_api::GetRestApiError;
    let missing = mock!(apigw::Client::get_rest_api).then_error(|| {
        GetRestApiError::NotFoundException(
            apigw::types::error::NotFoundException::builder()
                .message("Invalid API identifier specified 111122223333:zz9")
                .meta(code(
                    "NotFoundException",
                    "Invalid API identifier specified 111122223333:zz9",
                ))
                .build(),
        )
    });
    let clients = clients(std::slice::from_ref(&missing), &[], &[]);
    let query = PathQuery {
        routes: vec![get("x", "https://zz9.execute-api.eu-west-1.amazonaws.com/prod/x")],
        ..PathQuery::default()
    };
    let config = run(&clients, &query).await;
    assert_eq!(config.rest_api, None);
    assert_eq!(
        config.notes,
        ["REST API zz9 is not known to API Gateway in this account/region (apigateway:GET on /restapis/zz9: NotFoundException: Invalid API identifier specified 111122223333:zz9)"]
    );
}

/// Nothing named and no API Gateway host: one note saying so, no call.
#[tokio::test]
async fn nothing_named_is_said() {
    let clients = clients(&[], &[], &[]);
    let query = PathQuery {
        routes: vec![get("lab", "http://127.0.0.1:8080/test/orders")],
        ..PathQuery::default()
    };
    let config = run(&clients, &query).await;
    assert!(config.is_empty());
    assert_eq!(
        config.notes,
        ["nothing to read: [aws] names no rest_api, http_api, nlb, alb or target_groups, and no probed host is an API Gateway one"]
    );
}

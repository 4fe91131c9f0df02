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
use aws_smithy_mocks::mock;
use coldlink::aws::path::{read_with, Clients, PathConfig, PathQuery};

use super::chain::{
    clients, code, elb_rules, full_query, get, rest_rules, tg_arn, v2_rules, ALB, NLB, NLB_LISTENER,
};

async fn run(clients: &Clients, query: &PathQuery) -> PathConfig {
    let started = Instant::now();
    let config = tokio::time::timeout(Duration::from_secs(60), read_with(clients, query, &|_| {}))
        .await
        .expect("reading ends");
    assert!(started.elapsed() < Duration::from_secs(60));
    config
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
    assert_eq!(
        orders.resource_id.as_deref(),
        Some("ord"),
        "what update-integration needs"
    );
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
    assert_eq!(route.integration_id.as_deref(), Some("i1"));
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
            get("e", "https://zz.execute-api.eu-west-1.amazonaws.com/prod/x"),
        ],
        ..full_query()
    };
    let config = run(&clients, &query).await;
    let expected = [
        "REST API r1: GET /a has connectionId ${stageVariables.missing}, whose stage variable missing is unknown (stage prod does not define it): its VPC link cannot be followed",
        "VPC link ghost is neither a V1 (REST) nor a V2 VPC link in this account/region",
        "HTTP API h1: ANY /{proxy+} integrates with the Cloud Map service arn:aws:servicediscovery:eu-west-1:111122223333:service/srv-1; its instances are not read",
        "d: https://r1.execute-api.eu-west-1.amazonaws.com/dev/a is not on stage prod of API r1: its route was not read",
        "e: https://zz.execute-api.eu-west-1.amazonaws.com/prod/x goes to API zz, which [aws] rest_api / http_api does not name: its route was not read",
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

/// An endpoint that refuses every connection: the first call says so, and
/// no later call is made (one that never answered would cost each the full
/// time limit); one line counts them.
#[tokio::test]
async fn an_unreachable_endpoint_is_one_note_and_no_more_calls() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sdk = coldlink::aws::sdk_config(
        &coldlink::aws::AwsOptions {
            endpoint: Some(format!("http://127.0.0.1:{closed}")),
            profile: None,
            region: Some("eu-west-1".into()),
        },
        true,
    )
    .await;
    let mut query = full_query();
    query.nlb = Some("net/orders-nlb/50dc6c495c0c9188".into());
    query.target_groups = vec!["targetgroup/orders/73e2d6bc24d8a067".into()];
    let started = Instant::now();
    let config = coldlink::aws::path::read(&sdk, &query, &|_| {}).await;
    let reach: Vec<&String> = config
        .notes
        .iter()
        .filter(|n| n.contains("could not reach AWS"))
        .collect();
    assert_eq!(
        reach.len(),
        2,
        "the failed call, then the count: {:#?}",
        config.notes
    );
    let last = config.notes.last().unwrap();
    assert!(
        last.contains("further call(s) were not made"),
        "{:#?}",
        config.notes
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

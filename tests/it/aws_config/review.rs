//! Issue 17, review: which REST route a probe joins, which stage variables
//! are kept, listings whose tokens cycle, attribute reads that failed, and
//! custom domains that could not be read. aws-smithy-mocks: moto keeps no
//! `resourceMethods` choice to test, cannot cycle a token or refuse one call.

use std::time::Duration;

use aws_sdk_apigateway as apigw;
use aws_smithy_mocks::{mock, Rule};
use coldlink::aws::path::{read_with, Clients, PathConfig, PathQuery, ProbedRoute, RestApiRef};

use aws_sdk_elasticloadbalancingv2 as elb;

use super::chain::{clients, code, elb_rules, full_query, rest_rules, v2_rules, NLB};

async fn run(clients: &Clients, query: &PathQuery) -> PathConfig {
    tokio::time::timeout(Duration::from_secs(60), read_with(clients, query, &|_| {}))
        .await
        .expect("reading ends")
}

fn probe(target: &str, method: &str, url: &str) -> ProbedRoute {
    ProbedRoute {
        target: target.into(),
        method: method.into(),
        url: url.into(),
    }
}

fn rest_query(routes: Vec<ProbedRoute>) -> PathQuery {
    PathQuery {
        rest_api: Some(RestApiRef {
            id: Some("r1".into()),
            name: Some("orders".into()),
            stage: "prod".into(),
        }),
        routes,
        ..PathQuery::default()
    }
}

/// `/x` has GET and ANY: a POST goes to ANY, a GET after it to its own GET.
fn two_methods() -> Vec<Rule> {
    use apigw::operation::{
        get_integration::GetIntegrationOutput, get_resources::GetResourcesOutput,
        get_rest_api::GetRestApiOutput, get_stage::GetStageOutput,
    };
    use apigw::types::{Method, Resource};
    vec![
        mock!(apigw::Client::get_rest_api).then_output(|| GetRestApiOutput::builder().id("r1").build()),
        mock!(apigw::Client::get_stage).then_output(|| GetStageOutput::builder().stage_name("prod").build()),
        mock!(apigw::Client::get_resources).then_output(|| {
            GetResourcesOutput::builder()
                .items(
                    Resource::builder()
                        .id("x")
                        .path("/x")
                        .resource_methods("GET", Method::builder().http_method("GET").build())
                        .resource_methods("ANY", Method::builder().http_method("ANY").build())
                        .build(),
                )
                .build()
        }),
        mock!(apigw::Client::get_integration)
            .match_requests(|r| r.http_method() == Some("GET"))
            .then_output(|| GetIntegrationOutput::builder().uri("http://get.internal").build()),
        mock!(apigw::Client::get_integration)
            .match_requests(|r| r.http_method() == Some("ANY"))
            .then_output(|| GetIntegrationOutput::builder().uri("http://any.internal").build()),
    ]
}

#[tokio::test]
async fn a_probe_joins_only_the_route_its_method_takes() {
    let clients = clients(&two_methods(), &[], &[]);
    let query = rest_query(vec![
        probe("post", "POST", "http://127.0.0.1:8080/prod/x"),
        probe("get", "GET", "http://127.0.0.1:8080/prod/x"),
        probe("put", "PUT", "http://127.0.0.1:8080/prod/x"),
    ]);
    let config = run(&clients, &query).await;
    let routes: Vec<(&str, Vec<&str>, Option<&str>)> = config
        .rest_api
        .as_ref()
        .expect("the REST API")
        .routes
        .iter()
        .map(|r| {
            (
                r.route.as_str(),
                r.targets.iter().map(String::as_str).collect(),
                r.uri.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("ANY /x", vec!["post", "put"], Some("http://any.internal")),
            ("GET /x", vec!["get"], Some("http://get.internal")),
        ],
        "{:#?}",
        config.notes
    );
}

/// The stage defines `vpcLinkId` (the integration's connectionId) and
/// `apiKey` (nothing references it): only `vpcLinkId` is kept.
#[tokio::test]
async fn only_referenced_stage_variables_are_kept() {
    use apigw::operation::get_stage::GetStageOutput;
    let mut rest = rest_rules();
    rest.insert(
        0,
        mock!(apigw::Client::get_stage).then_output(|| {
            GetStageOutput::builder()
                .stage_name("prod")
                .variables("vpcLinkId", "l1v1")
                .variables("apiKey", "s3cret")
                .build()
        }),
    );
    let clients = clients(&rest, &v2_rules(), &elb_rules());
    let config = run(&clients, &full_query()).await;
    let rest = config.rest_api.as_ref().expect("the REST API");
    let stage = rest.stage.as_ref().expect("the stage");
    let names: Vec<&String> = stage.variables.keys().collect();
    assert_eq!(names, ["vpcLinkId"]);
    assert_eq!(
        rest.routes[0].vpc_link_id.as_deref(),
        Some("l1v1"),
        "still substituted"
    );
    let json = serde_json::to_string(&config).unwrap();
    assert!(!json.contains("s3cret"), "{json}");
}

/// A listing whose tokens go A → B → A ends at the repeated token, without
/// a note and without reaching the page cap.
#[tokio::test]
async fn a_cycling_token_ends_the_listing() {
    use apigw::operation::get_resources::GetResourcesOutput;
    use apigw::types::Resource;
    let page = |id: &'static str, next: &'static str| {
        let wanted = (id != "root").then_some(id);
        mock!(apigw::Client::get_resources)
            .match_requests(move |r| r.position() == wanted)
            .then_output(move || {
                GetResourcesOutput::builder()
                    .items(Resource::builder().id(id).path(format!("/{id}")).build())
                    .position(next)
                    .build()
            })
    };
    let mut rest = two_methods();
    // root → A → B → A …
    let a = page("A", "B");
    let b = page("B", "A");
    let first = page("root", "A");
    rest.splice(2..3, [first.clone(), a.clone(), b.clone()]);
    let clients = clients(&rest, &[], &[]);
    let config = run(
        &clients,
        &rest_query(vec![probe("a", "GET", "http://127.0.0.1:8080/prod/A")]),
    )
    .await;
    assert_eq!(
        (first.num_calls(), a.num_calls(), b.num_calls()),
        (1, 1, 1),
        "each page once: {:#?}",
        config.notes
    );
    assert!(
        !config.notes.iter().any(|n| n.contains("pages")),
        "{:#?}",
        config.notes
    );
}

/// A refused DescribeListenerAttributes marks that listener's attributes
/// unread in the model (not only in a note); the others stay read.
#[tokio::test]
async fn a_refused_attribute_read_is_in_the_model() {
    use elb::operation::describe_listener_attributes::DescribeListenerAttributesError;
    let mut lb = elb_rules();
    lb.insert(
        0,
        mock!(elb::Client::describe_listener_attributes)
            .then_error(|| DescribeListenerAttributesError::generic(code("AccessDenied", "not allowed"))),
    );
    let clients = clients(&rest_rules(), &v2_rules(), &lb);
    let config = run(&clients, &full_query()).await;
    let nlb = config
        .load_balancers
        .iter()
        .find(|l| l.arn == NLB)
        .expect("the NLB");
    assert!(nlb.listeners[0].attributes_unread);
    assert!(nlb.listeners[0].attributes.is_empty());
    assert!(!nlb.attributes_unread);
    assert!(nlb.target_groups.iter().all(|t| !t.attributes_unread));
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(
        json["load_balancers"][0]["listeners"][0]["attributes_unread"],
        serde_json::Value::Bool(true)
    );
    assert!(
        json["load_balancers"][0].get("attributes_unread").is_none(),
        "false is not written"
    );
}

/// GetDomainName refused: the host may be a custom domain mapping any API,
/// so its route is not matched against the profile's API (a note says so).
/// GetDomainName NotFound: not a custom domain (a private DNS name): the
/// profile's API serves it, matched as before.
#[tokio::test]
async fn an_unreadable_custom_domain_is_not_guessed() {
    use apigw::operation::get_domain_name::GetDomainNameError;
    let mut rest = two_methods();
    rest.insert(
        0,
        mock!(apigw::Client::get_domain_name)
            .match_requests(|r| r.domain_name() == Some("api.example.com"))
            .then_error(|| GetDomainNameError::generic(code("AccessDeniedException", "not allowed"))),
    );
    rest.insert(
        0,
        mock!(apigw::Client::get_domain_name)
            .match_requests(|r| r.domain_name() == Some("private.example.com"))
            .then_error(|| GetDomainNameError::generic(code("NotFoundException", "Invalid domain name"))),
    );
    let clients = clients(&rest, &[], &[]);
    let config = run(
        &clients,
        &rest_query(vec![
            probe("denied", "GET", "https://api.example.com/prod/x"),
            probe("private", "GET", "https://private.example.com/prod/x"),
        ]),
    )
    .await;
    let routes = &config.rest_api.as_ref().expect("the REST API").routes;
    assert_eq!(routes.len(), 1, "{routes:#?}");
    assert_eq!(
        (routes[0].route.as_str(), routes[0].targets.as_slice()),
        ("GET /x", &["private".to_string()][..])
    );
    assert!(
        config.notes.iter().any(|n| n
            == "denied: https://api.example.com/prod/x was not matched to a route: its custom domain api.example.com could not be read"),
        "{:#?}",
        config.notes
    );
    assert!(
        config
            .notes
            .iter()
            .any(|n| n.starts_with("apigateway:GET on /domainnames/api.example.com: AccessDeniedException")),
        "{:#?}",
        config.notes
    );
}

//! Issue 17: `--aws-config` reads the path's configuration from moto's
//! server, seeded by `seed.py` (boto3) the way an account holds
//! it, and every value comes back. What moto does not keep (a REST
//! integration's `connectionId`, zones in target health, VPC link states)
//! is tested with the SDK's mocks in `mocked`.

use std::path::Path;

use coldlink::aws::path::{read, HttpApiRef, PathConfig, PathQuery, ProbedRoute, RestApiRef};
use coldlink::aws::{sdk_config, AwsOptions};

use crate::common::moto::Moto;

fn route(target: &str, url: &str) -> ProbedRoute {
    ProbedRoute {
        target: target.into(),
        method: "GET".into(),
        url: url.into(),
    }
}

async fn seeded() -> (Moto, serde_json::Value) {
    tokio::task::spawn_blocking(|| {
        let moto = Moto::start();
        let seed = moto.seed(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/aws_config/seed.py"));
        (moto, seed)
    })
    .await
    .unwrap()
}

async fn read_from(moto: &Moto, query: &PathQuery) -> (PathConfig, Vec<String>) {
    let options = AwsOptions {
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        profile: None,
    };
    let sdk = sdk_config(&options, true).await;
    let lines = std::sync::Mutex::new(Vec::new());
    let config = read(&sdk, query, &|l: &str| lines.lock().unwrap().push(l.to_string())).await;
    (config, lines.into_inner().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_seeded_value_comes_back() {
    let (moto, seed) = seeded().await;
    let s = |k: &str| seed[k].as_str().unwrap().to_string();
    let api = s("rest_api");
    let nlb_id = s("nlb_arn").rsplit('/').next().unwrap().to_string();
    let query = PathQuery {
        rest_api: Some(RestApiRef {
            id: None,
            name: Some("orders-api".into()),
            stage: "test".into(),
        }),
        http_api: Some(HttpApiRef {
            id: s("http_api"),
            stage: "prod".into(),
        }),
        nlb: Some(format!("net/orders-nlb/{nlb_id}")),
        alb: None,
        target_groups: vec![s("target_group")],
        routes: vec![
            route(
                "one",
                &format!("https://{api}.execute-api.us-east-1.amazonaws.com/test/orders/42"),
            ),
            route(
                "two",
                &format!("https://{api}.execute-api.us-east-1.amazonaws.com/test/orders/7?x=1"),
            ),
            route(
                "list",
                &format!("https://{api}.execute-api.us-east-1.amazonaws.com/test/orders"),
            ),
            route("domain", "https://api.orders.example/v1/orders/9"),
            route(
                "http",
                &format!(
                    "https://{}.execute-api.us-east-1.amazonaws.com/prod/orders/1",
                    s("http_api")
                ),
            ),
        ],
    };
    let (config, progress) = read_from(&moto, &query).await;

    // The REST API, found by name, its stage and the two integrations.
    let rest = config.rest_api.as_ref().expect("the REST API");
    assert_eq!(rest.id, api);
    assert_eq!(rest.name.as_deref(), Some("orders-api"));
    assert_eq!(rest.endpoint_type.as_deref(), Some("REGIONAL"));
    let stage = rest.stage.as_ref().expect("the stage");
    assert_eq!((stage.name.as_str(), stage.tracing), ("test", Some(true)));
    // Only the variables the integrations reference: `backend` in a uri;
    // not `vpcLinkId`, whose connectionId moto does not keep.
    let names: Vec<&String> = stage.variables.keys().collect();
    assert_eq!(names, ["backend"]);
    assert_eq!(rest.routes.len(), 2, "{:#?}", rest.routes);
    let by_id = &rest.routes[0];
    assert_eq!(by_id.route, "GET /orders/{id}");
    // Two targets on one route, and the custom domain's base path mapping
    // leading to the same resource.
    assert_eq!(by_id.targets, ["one", "two", "domain"]);
    assert_eq!(by_id.integration_type.as_deref(), Some("HTTP_PROXY"));
    assert_eq!(by_id.connection_type.as_deref(), Some("VPC_LINK"));
    assert_eq!(
        by_id.uri.as_deref(),
        Some("http://orders-nlb.internal/orders/{id}")
    );
    assert_eq!(by_id.timeout_ms, Some(12_000));
    // moto keeps no connectionId: said, not guessed.
    assert_eq!(by_id.connection_id, None);
    assert_eq!(by_id.vpc_link_id, None);
    let list = &rest.routes[1];
    assert_eq!(
        (list.route.as_str(), list.targets.as_slice()),
        ("GET /orders", &["list".to_string()][..])
    );
    assert_eq!(list.timeout_ms, None, "not set: the API's default applies");
    for route in ["GET /orders/{id}", "GET /orders"] {
        let note = format!("REST API {api}: {route} is a VPC_LINK integration without a connectionId");
        assert!(
            config.notes.iter().any(|n| n.starts_with(&note)),
            "{note} in {:#?}",
            config.notes
        );
    }

    // The custom domain.
    let domain = &config.domains[0];
    assert_eq!(domain.name, "api.orders.example");
    assert_eq!(domain.endpoint_type.as_deref(), Some("REGIONAL"));
    assert_eq!(domain.security_policy.as_deref(), Some("TLS_1_2"));
    assert_eq!(domain.base_path_mappings.len(), 1);
    let mapping = &domain.base_path_mappings[0];
    assert_eq!(
        (
            mapping.base_path.as_str(),
            mapping.api_id.as_str(),
            mapping.stage.as_deref()
        ),
        ("v1", api.as_str(), Some("test"))
    );
    assert_eq!(mapping.targets, ["domain"], "the target whose path it takes");

    // The HTTP API: its route, the V2 link and the listener it names.
    let http = config.http_api.as_ref().expect("the HTTP API");
    assert_eq!(http.name.as_deref(), Some("orders-http"));
    let hstage = http.stage.as_ref().unwrap();
    assert_eq!((hstage.name.as_str(), hstage.tracing), ("prod", None));
    assert!(hstage.variables.is_empty(), "no integration references tier");
    let hroute = &http.routes[0];
    assert_eq!(
        (hroute.route.as_str(), hroute.targets.as_slice()),
        ("GET /orders/{id}", &["http".to_string()][..])
    );
    assert_eq!(hroute.connection_id, Some(s("vpc_link_v2")));
    assert_eq!(hroute.vpc_link_id, Some(s("vpc_link_v2")));
    assert_eq!(hroute.uri, Some(s("listener")));
    assert_eq!(hroute.timeout_ms, Some(15_000));
    assert_eq!(config.vpc_links.len(), 1);
    let link = &config.vpc_links[0];
    assert_eq!((link.id.clone(), link.version.as_str()), (s("vpc_link_v2"), "V2"));
    assert_eq!(link.name.as_deref(), Some("orders-link-v2"));
    assert_eq!(link.status.as_deref(), Some("AVAILABLE"));
    let subnets: Vec<String> = seed["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(link.subnets, subnets);
    assert_eq!(link.security_groups, ["sg-0123456789abcdef0"]);

    // The NLB, reached from the profile, the listener ARN and the target
    // group alike: read once.
    assert_eq!(config.load_balancers.len(), 1, "{:#?}", config.load_balancers);
    let nlb = &config.load_balancers[0];
    assert_eq!(
        (nlb.arn.clone(), nlb.name.as_str(), nlb.kind.as_str()),
        (s("nlb_arn"), "orders-nlb", "network")
    );
    assert_eq!(nlb.scheme.as_deref(), Some("internal"));
    assert_eq!(nlb.ip_address_type.as_deref(), Some("ipv4"));
    assert_eq!(nlb.zones, ["us-east-1a", "us-east-1b"]);
    assert_eq!(
        nlb.attributes
            .get("load_balancing.cross_zone.enabled")
            .map(String::as_str),
        Some("false")
    );
    assert!(
        nlb.attributes.contains_key("deletion_protection.enabled"),
        "every key kept: {:?}",
        nlb.attributes
    );
    assert_eq!(nlb.listeners.len(), 1);
    let listener = &nlb.listeners[0];
    assert_eq!(
        (listener.arn.clone(), listener.protocol.as_str(), listener.port),
        (s("listener"), "TCP", 80)
    );
    assert_eq!(
        listener
            .attributes
            .get("tcp.idle_timeout.seconds")
            .map(String::as_str),
        Some("300")
    );
    assert_eq!(listener.forwards.len(), 1);
    assert_eq!(
        (
            listener.forwards[0].target_group_arn.clone(),
            listener.forwards[0].weight
        ),
        (s("target_group"), None)
    );
    assert_eq!(nlb.target_groups.len(), 1);
    let tg = &nlb.target_groups[0];
    assert_eq!(
        (tg.arn.clone(), tg.name.as_str()),
        (s("target_group"), "orders-tg")
    );
    assert_eq!(
        (tg.protocol.as_deref(), tg.port, tg.target_type.as_deref()),
        (Some("TCP"), Some(8080), Some("instance"))
    );
    for (key, value) in [
        ("deregistration_delay.timeout_seconds", "120"),
        ("deregistration_delay.connection_termination.enabled", "true"),
        (
            "target_health_state.unhealthy.connection_termination.enabled",
            "false",
        ),
        ("proxy_protocol_v2.enabled", "true"),
        ("preserve_client_ip.enabled", "false"),
    ] {
        assert_eq!(tg.attributes.get(key).map(String::as_str), Some(value), "{key}");
    }
    let mut ids: Vec<&str> = tg.targets.iter().map(|t| t.id.as_str()).collect();
    let mut seeded: Vec<&str> = seed["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ids.sort_unstable();
    seeded.sort_unstable();
    assert_eq!(ids, seeded, "a target in each zone");
    for t in &tg.targets {
        assert_eq!((t.port, t.state.as_str()), (Some(8080), "healthy"));
        // moto gives no zone for instance targets (aws_config_mocked covers it).
        assert_eq!(t.zone, None);
    }

    // Only moto's gap is a note; each step said what it reads.
    assert_eq!(config.notes.len(), 2, "{:#?}", config.notes);
    assert!(
        progress.iter().all(|l| l.starts_with("AWS config: ")),
        "{progress:#?}"
    );
    assert!(
        progress.contains(&format!("AWS config: reading REST API {api} stage test")),
        "{progress:#?}"
    );
    assert!(
        progress
            .iter()
            .any(|l| l.contains("reading load balancer orders-nlb")),
        "{progress:#?}"
    );
    // What was read survives the report's JSON.
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(serde_json::from_str::<PathConfig>(&json).unwrap(), config);
}

/// Names that lead nowhere, against moto's own NotFound answers: each is a
/// note naming it, and what can be read still is.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_names_are_notes() {
    let (moto, seed) = seeded().await;
    let s = |k: &str| seed[k].as_str().unwrap().to_string();
    let query = PathQuery {
        rest_api: Some(RestApiRef {
            id: Some("nosuchapi1".into()),
            name: Some("whatever".into()),
            stage: "test".into(),
        }),
        http_api: Some(HttpApiRef {
            id: "nosuchv2".into(),
            stage: "$default".into(),
        }),
        // The right name with another id: found by name, and said.
        nlb: Some("net/orders-nlb/0123456789abcdef".into()),
        alb: Some("app/no-such-alb/0123456789abcdef".into()),
        target_groups: vec!["targetgroup/no-such-tg/0123456789abcdef".into()],
        routes: vec![route("web", "https://www.example.org/test/orders")],
    };
    let (config, _) = read_from(&moto, &query).await;
    let has = |text: &str| config.notes.iter().any(|n| n.contains(text));
    assert!(
        has("REST API nosuchapi1 is not known to API Gateway in this account/region"),
        "{:#?}",
        config.notes
    );
    assert!(has("NotFoundException"), "{:#?}", config.notes);
    assert!(
        has("HTTP API nosuchv2 is not known to API Gateway in this account/region"),
        "{:#?}",
        config.notes
    );
    assert!(
        has("www.example.org is not an API Gateway custom domain in this account/region"),
        "{:#?}",
        config.notes
    );
    assert!(
        has("[aws] alb: no load balancer app/no-such-alb/0123456789abcdef in this account/region"),
        "{:#?}",
        config.notes
    );
    assert!(has("target group targetgroup/no-such-tg/0123456789abcdef (from [aws] target_groups) is not in this account/region"), "{:#?}", config.notes);
    assert!(
        has(&format!(
            "[aws] nlb: net/orders-nlb/0123456789abcdef found by its name orders-nlb as {}, whose id differs",
            s("nlb_arn")
        )),
        "{:#?}",
        config.notes
    );
    assert_eq!((config.rest_api.as_ref(), config.http_api.as_ref()), (None, None));
    assert_eq!(config.load_balancers.len(), 1);
    assert_eq!(
        config.load_balancers[0].listeners[0]
            .attributes
            .get("tcp.idle_timeout.seconds")
            .map(String::as_str),
        Some("300")
    );
}

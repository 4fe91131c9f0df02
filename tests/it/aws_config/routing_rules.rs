//! Issue 18: a custom domain's routing rules (2025-06), read with
//! `apigatewayv2` ListRoutingRules. moto has no routing rules (nor a
//! routing mode on its domains), so the SDK's own mocks answer here.

use aws_sdk_apigateway as apigw;
use aws_sdk_apigatewayv2 as apigw2;
use aws_smithy_mocks::{mock, Rule};
use coldlink::aws::path::{read_with, PathConfig, PathQuery};

use super::chain::{clients, code, get};

fn domain_rules() -> Vec<Rule> {
    use apigw::operation::get_base_path_mappings::GetBasePathMappingsOutput;
    use apigw::operation::get_domain_name::GetDomainNameOutput;
    use apigw::types::{BasePathMapping, EndpointConfiguration, RoutingMode};
    vec![
        mock!(apigw::Client::get_domain_name).then_output(|| {
            GetDomainNameOutput::builder()
                .domain_name("api.example.com")
                .endpoint_configuration(EndpointConfiguration::builder().types("REGIONAL".into()).build())
                .routing_mode(RoutingMode::RoutingRuleThenBasePathMapping)
                .build()
        }),
        mock!(apigw::Client::get_base_path_mappings).then_output(|| {
            GetBasePathMappingsOutput::builder()
                .items(
                    BasePathMapping::builder()
                        .base_path("(none)")
                        .rest_api_id("r1")
                        .stage("prod")
                        .build(),
                )
                .build()
        }),
    ]
}

fn rule(priority: i32, base: &str, header: Option<&str>, stage: &str) -> apigw2::types::RoutingRule {
    use apigw2::types::{
        RoutingRule, RoutingRuleAction, RoutingRuleActionInvokeApi, RoutingRuleCondition,
        RoutingRuleMatchBasePaths, RoutingRuleMatchHeaderValue, RoutingRuleMatchHeaders,
    };
    let mut r = RoutingRule::builder()
        .priority(priority)
        .routing_rule_id(format!("rule{priority}"))
        .conditions(
            RoutingRuleCondition::builder()
                .match_base_paths(RoutingRuleMatchBasePaths::builder().any_of(base).build())
                .build(),
        )
        .actions(
            RoutingRuleAction::builder()
                .invoke_api(
                    RoutingRuleActionInvokeApi::builder()
                        .api_id("r1")
                        .stage(stage)
                        .strip_base_path(true)
                        .build(),
                )
                .build(),
        );
    if let Some(h) = header {
        r = r.conditions(
            RoutingRuleCondition::builder()
                .match_headers(
                    RoutingRuleMatchHeaders::builder()
                        .any_of(
                            RoutingRuleMatchHeaderValue::builder()
                                .header(h)
                                .value_glob("v2*")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        );
    }
    r.build()
}

fn query() -> PathQuery {
    PathQuery {
        routes: vec![get("edge", "https://api.example.com/orders/42")],
        ..PathQuery::default()
    }
}

async fn run(v2: &[Rule]) -> PathConfig {
    let clients = clients(&domain_rules(), v2, &[]);
    read_with(&clients, &query(), &|_| {}).await
}

#[tokio::test]
async fn routing_rules_are_read_and_the_first_without_a_header_decides() {
    use apigw2::operation::list_routing_rules::ListRoutingRulesOutput;
    // Two pages, out of priority order: the read sorts them.
    let pages = vec![
        mock!(apigw2::Client::list_routing_rules)
            .match_requests(|r| r.next_token().is_none() && r.domain_name() == Some("api.example.com"))
            .then_output(|| {
                ListRoutingRulesOutput::builder()
                    .routing_rules(rule(20, "orders", None, "beta"))
                    .next_token("p2")
                    .build()
            }),
        mock!(apigw2::Client::list_routing_rules)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(|| {
                ListRoutingRulesOutput::builder()
                    .routing_rules(rule(10, "orders", Some("x-version"), "v2"))
                    .routing_rules(rule(30, "billing", None, "prod"))
                    .build()
            }),
    ];
    let config = run(&pages).await;
    let d = &config.domains[0];
    assert!(!d.routing_rules_unread);
    let seen: Vec<(Option<i32>, &str, &[String])> = d
        .routing_rules
        .iter()
        .map(|r| (r.priority, r.stage.as_deref().unwrap(), r.targets.as_slice()))
        .collect();
    let edge = ["edge".to_string()];
    assert_eq!(
        seen,
        [
            (Some(10), "v2", &edge[..]),
            (Some(20), "beta", &edge[..]),
            (Some(30), "prod", &[][..])
        ],
        "by priority; the rules that take /orders took target edge"
    );
    assert_eq!(d.routing_rules[0].conditions[1].headers[0].header, "x-version");
    assert!(
        d.base_path_mappings[0].targets.is_empty(),
        "rule 20 decides: the mapping never takes it"
    );
    assert!(
        config
            .notes
            .iter()
            .any(|n| n.contains("goes to API r1, which [aws] rest_api / http_api does not name")),
        "the rule's API is where the route goes: {:?}",
        config.notes
    );
}

#[tokio::test]
async fn unreadable_rules_leave_the_route_unmatched() {
    use apigw2::operation::list_routing_rules::ListRoutingRulesError;
    let denied = vec![mock!(apigw2::Client::list_routing_rules)
        .then_error(|| ListRoutingRulesError::generic(code("AccessDeniedException", "not authorized")))];
    let config = run(&denied).await;
    let d = &config.domains[0];
    assert!(d.routing_rules_unread);
    assert!(
        d.base_path_mappings[0].targets.is_empty(),
        "not guessed from the mapping"
    );
    let notes = config.notes.join("\n");
    assert!(
        notes.contains("/domainnames/api.example.com/routingrules"),
        "{notes}"
    );
    assert!(
        notes.contains("the domain's routing rules could not be read, and they may send it to any API"),
        "{notes}"
    );
}

//! What `--aws-config` read about the path, as plain data: the report's
//! `aws.config` section (`docs/report.schema.json`) and what the findings
//! cite. Every value is as the API returned it; a value the API did not
//! return is `None`, never a default filled in by us (the default, where
//! one applies, is named by [`defaults`] and by the findings' wording).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where `--aws-config` starts: the profile's `[aws]` table and the probed
/// routes. Nothing here is looked up yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathQuery {
    /// `[aws] rest_api`: an id, else the API is looked up by name.
    pub rest_api: Option<RestApiRef>,
    /// `[aws] http_api`.
    pub http_api: Option<HttpApiRef>,
    /// `[aws] nlb`, `net/NAME/ID` (or a full ARN).
    pub nlb: Option<String>,
    /// `[aws] alb`, `app/NAME/ID` (or a full ARN).
    pub alb: Option<String>,
    /// `[aws] target_groups`, `targetgroup/NAME/ID` (or full ARNs).
    pub target_groups: Vec<String>,
    /// The routes the probes asked for, one per target (and method).
    pub routes: Vec<ProbedRoute>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RestApiRef {
    pub id: Option<String>,
    /// Looked up by when there is no id; one of the two is always given.
    pub name: Option<String>,
    pub stage: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpApiRef {
    pub id: String,
    pub stage: String,
}

/// One probed route: the target's name, its method and URL as probed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbedRoute {
    pub target: String,
    pub method: String,
    pub url: String,
}

/// Everything read, in the order the chain was followed. Empty lists mean
/// "nothing of this kind on the path, or nothing could be read": `notes`
/// says which.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PathConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_api: Option<RestApiConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_api: Option<HttpApiConfig>,
    /// VPC links the integrations name (V1 and V2).
    #[serde(default)]
    pub vpc_links: Vec<VpcLinkConfig>,
    /// Custom domain names the probed hosts are.
    #[serde(default)]
    pub domains: Vec<DomainConfig>,
    /// NLBs and ALBs, with listeners, target groups and targets.
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerConfig>,
    /// One line per call that failed (naming the IAM action an AccessDenied
    /// lacks), per link that could not be followed, per value an emulator
    /// does not keep. The rest of the section is what could be read.
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RestApiConfig {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `REGIONAL`, `EDGE`, `PRIVATE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageConfig>,
    /// The integration of each probed route.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageConfig {
    pub name: String,
    /// X-Ray tracing on the stage (REST only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<bool>,
    /// Only the stage variables the read integrations reference
    /// (`${stageVariables.NAME}` in `connectionId` or `uri`): the others
    /// are none of the path's business and may hold secrets (API keys,
    /// passwords), and this section is written whole into every report
    /// format.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpApiConfig {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageConfig>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// A probed route and the integration behind it (REST: the resource's
/// method integration; HTTP API: the route's integration).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteConfig {
    /// The coldlink targets that probe this route.
    pub targets: Vec<String>,
    /// `GET /orders/{id}` (REST: method and resource path; HTTP: route key).
    pub route: String,
    /// `HTTP_PROXY`, `HTTP`, `AWS_PROXY`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_type: Option<String>,
    /// `VPC_LINK` or `INTERNET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    /// As configured, e.g. `${stageVariables.vpcLinkId}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// The VPC link id after stage variables were substituted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_link_id: Option<String>,
    /// REST with a V2 link: the ALB or NLB ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_target: Option<String>,
    /// REST `uri`; HTTP API `IntegrationUri` (a listener ARN or a Cloud Map service ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// As configured; `None` when the API did not say (the API's default applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// `BUFFERED` or `STREAM` (REST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_transfer_mode: Option<String>,
    /// `tlsConfig` as `key=value` pairs (`insecureSkipVerification=false`…).
    #[serde(default)]
    pub tls_config: BTreeMap<String, String>,
    /// REST: the resource's id (`GetResources`), what `update-integration
    /// --resource-id` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// HTTP API: the integration's id, what `update-integration
    /// --integration-id` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VpcLinkConfig {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `V1` (REST, PrivateLink to an NLB) or `V2`.
    pub version: String,
    /// As the API says it: V1 `AVAILABLE`, `PENDING`, `DELETING`, `FAILED`;
    /// V2 also `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// V1: the NLB ARNs.
    #[serde(default)]
    pub target_arns: Vec<String>,
    /// V2: its subnets and security groups.
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainConfig {
    pub name: String,
    /// `EDGE`, `REGIONAL`, `PRIVATE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<String>,
    /// `BASE_PATH_MAPPING_ONLY`, `ROUTING_RULE_THEN_BASE_PATH_MAPPING`,
    /// `ROUTING_RULE_ONLY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_access_mode: Option<String>,
    /// CloudFront's host name, for an edge-optimized domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
    #[serde(default)]
    pub base_path_mappings: Vec<BasePathMapping>,
    /// Its routing rules (2025-06; `apigatewayv2` ListRoutingRules), by
    /// priority: read only when the routing mode uses them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_rules: Vec<RoutingRule>,
    /// The routing mode uses rules but ListRoutingRules failed (a note
    /// says why): where the domain sends a request is then unknown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub routing_rules_unread: bool,
}

/// A custom domain's routing rule: when all its conditions match, the
/// request goes to `api_id` at `stage`. Evaluated by priority (lowest
/// first), before any base path mapping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Each condition matches when any of its values does; all must.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RuleCondition>,
    pub api_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_base_path: Option<bool>,
    /// The coldlink targets whose probed paths this rule's base path
    /// conditions take: they reach its API when its header conditions (if
    /// any) match what they send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// One condition of a routing rule: a header matching a glob, or a base
/// path (any of those listed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleCondition {
    /// `(header, value glob)` pairs, any of which matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_paths: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeaderMatch {
    pub header: String,
    pub value_glob: String,
}

impl RoutingRule {
    /// A header must match for the rule to apply.
    pub fn needs_headers(&self) -> bool {
        self.conditions.iter().any(|c| !c.headers.is_empty())
    }

    /// The API and stage it reaches, in words.
    pub fn reaches(&self) -> String {
        match &self.stage {
            Some(s) => format!("API {} stage {s}", self.api_id),
            None => format!("API {}", self.api_id),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BasePathMapping {
    /// `(none)` for the empty base path.
    pub base_path: String,
    pub api_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The coldlink targets whose probed paths this mapping takes (the
    /// longest base path that matches): what an `edge` comparison checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerConfig {
    pub arn: String,
    pub name: String,
    /// `network` or `application`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// `ipv4`, `dualstack`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    /// Availability Zones it has a node in.
    #[serde(default)]
    pub zones: Vec<String>,
    /// `DescribeLoadBalancerAttributes`, every key as returned.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// True when `DescribeLoadBalancerAttributes` failed (a note names the call):
    /// `attributes` is then empty and its keys' defaults must not be
    /// assumed. False, and not written, when they were read: the zero
    /// value, so that fixtures built with `..Default::default()` and
    /// reports written before this field mean "read".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attributes_unread: bool,
    #[serde(default)]
    pub listeners: Vec<ListenerConfig>,
    #[serde(default)]
    pub target_groups: Vec<TargetGroupConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListenerConfig {
    pub arn: String,
    /// `TCP`, `TLS`, `UDP`, `TCP_UDP`, `HTTP`, `HTTPS`.
    pub protocol: String,
    pub port: u16,
    /// `DescribeListenerAttributes`, every key as returned
    /// (`tcp.idle_timeout.seconds`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// True when `DescribeListenerAttributes` failed (a note names the call):
    /// `attributes` is then empty and its keys' defaults must not be
    /// assumed. False, and not written, when they were read: the zero
    /// value, so that fixtures built with `..Default::default()` and
    /// reports written before this field mean "read".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attributes_unread: bool,
    /// The default action's forward: target group ARN and weight.
    #[serde(default)]
    pub forwards: Vec<Forward>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Forward {
    pub target_group_arn: String,
    /// `None` for a plain forward to one group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetGroupConfig {
    pub arn: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `instance`, `ip`, `lambda`, `alb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    /// `DescribeTargetGroupAttributes`, every key as returned.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// True when `DescribeTargetGroupAttributes` failed (a note names the call):
    /// `attributes` is then empty and its keys' defaults must not be
    /// assumed. False, and not written, when they were read: the zero
    /// value, so that fixtures built with `..Default::default()` and
    /// reports written before this field mean "read".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attributes_unread: bool,
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetConfig {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `None` when the API gave none (instance targets, and emulators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `healthy`, `unhealthy`, `unhealthy.draining`, `draining`, `initial`,
    /// `unused`, `unavailable`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The attribute keys the findings read, and AWS's defaults for them.
pub mod defaults {
    /// NLB TCP listener idle timeout (60–6000 s since 2024-09).
    pub const TCP_IDLE_TIMEOUT_KEY: &str = "tcp.idle_timeout.seconds";
    pub const NLB_TCP_IDLE_TIMEOUT_S: u64 = 350;
    /// A TLS listener's idle timeout cannot be changed.
    pub const NLB_TLS_IDLE_TIMEOUT_S: u64 = 350;
    pub const ALB_IDLE_TIMEOUT_KEY: &str = "idle_timeout.timeout_seconds";
    pub const ALB_IDLE_TIMEOUT_S: u64 = 60;
    pub const ALB_CLIENT_KEEP_ALIVE_KEY: &str = "client_keep_alive.seconds";
    pub const ALB_CLIENT_KEEP_ALIVE_S: u64 = 3600;
    pub const CROSS_ZONE_KEY: &str = "load_balancing.cross_zone.enabled";
    /// Target-group override of the load balancer's cross-zone setting.
    pub const TG_CROSS_ZONE_KEY: &str = "load_balancing.cross_zone.enabled";
    pub const DEREGISTRATION_DELAY_KEY: &str = "deregistration_delay.timeout_seconds";
    pub const DEREGISTRATION_TERMINATION_KEY: &str = "deregistration_delay.connection_termination.enabled";
    pub const UNHEALTHY_TERMINATION_KEY: &str =
        "target_health_state.unhealthy.connection_termination.enabled";
    pub const UNHEALTHY_DRAINING_KEY: &str = "target_health_state.unhealthy.draining_interval_seconds";
    pub const ZONAL_SHIFT_KEY: &str = "zonal_shift.config.enabled";
    /// REST API integration timeout default; HTTP API's is 30 s.
    pub const REST_INTEGRATION_TIMEOUT_MS: u64 = 29_000;
    pub const HTTP_INTEGRATION_TIMEOUT_MS: u64 = 30_000;
}

impl PathConfig {
    /// Nothing was read at all (every call failed or nothing was named).
    pub fn is_empty(&self) -> bool {
        self.rest_api.is_none()
            && self.http_api.is_none()
            && self.vpc_links.is_empty()
            && self.domains.is_empty()
            && self.load_balancers.is_empty()
    }

    /// Every route of either API.
    pub fn routes(&self) -> impl Iterator<Item = &RouteConfig> {
        let rest = self.rest_api.iter().flat_map(|a| a.routes.iter());
        let http = self.http_api.iter().flat_map(|a| a.routes.iter());
        rest.chain(http)
    }
}

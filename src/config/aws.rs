//! `diagnose --xray` / `--cloudwatch` / `--aws-config`, validated: where
//! and as whom to call AWS (the AWS flags over the profile's `[aws]`), and
//! what to read.

use std::time::Duration;

use super::error::{ConfigError, ElbShape, KeyProblem, Source};
use super::file::AwsEntry;
use super::Profile;
use crate::aws::cloudwatch::{Api, Resources};
use crate::aws::path::{HttpApiRef, PathQuery, RestApiRef};
use crate::cli::{AwsIdentityArgs, DiagnoseArgs};
use toml::Spanned;

/// How long to keep asking X-Ray for traces not there yet.
pub const DEFAULT_XRAY_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
pub struct XrayLookup {
    pub aws: crate::aws::AwsOptions,
    pub wait: Duration,
    /// The REST API stage's filter, from the profile's `[aws] rest_api`
    /// (with its `id`): ids that never come back are searched for by it.
    pub search_filter: Option<String>,
    /// The lab's own traces: static credentials, no AWS account involved.
    pub lab: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchLookup {
    pub aws: crate::aws::AwsOptions,
    pub resources: crate::aws::cloudwatch::Resources,
    /// The lab's own metrics: static credentials, no AWS account involved.
    pub lab: bool,
}

/// `--aws-config`: where to read the path's configuration, and where to
/// start (the routes are the run's, added by the command).
#[derive(Debug, Clone, PartialEq)]
pub struct PathConfigLookup {
    pub aws: crate::aws::AwsOptions,
    pub query: PathQuery,
    /// The lab's own configuration, seeded into the emulator at
    /// `aws.endpoint` (loopback, checked) before it is read back.
    pub lab: bool,
    /// What happened before the read (the lab's seeding), put first in the
    /// section's notes.
    pub notes: Vec<String>,
    /// `--aws-config`, or the profile's `[aws] config = true`: for errors.
    pub asked_by: String,
}

/// `--aws-config` was asked for, by the flag or by the profile.
pub(super) fn wants_config(args: &DiagnoseArgs, profile: Option<&Profile>) -> bool {
    args.aws_config || profile.and_then(|p| p.aws.as_ref()).is_some_and(|a| a.config)
}

/// An endpoint flag over the profile's `[aws] endpoint_url`, written
/// without a trailing slash.
pub(super) fn endpoint_over(flag: Option<&url::Url>, entry: Option<&AwsEntry>) -> Option<String> {
    flag.map(|u| u.as_str().trim_end_matches('/').to_string())
        .or_else(|| entry.and_then(|e| e.endpoint_url.clone()))
}

/// Where and as whom AWS is called: `--aws-profile` and `--region` over
/// the profile's `[aws]`; in a lab, the lab's region when none is named.
/// The one place diagnose's reads and the publishers' writes agree on it.
pub(super) fn options(
    identity: &AwsIdentityArgs,
    entry: Option<&AwsEntry>,
    endpoint: Option<String>,
    lab: bool,
) -> crate::aws::AwsOptions {
    crate::aws::AwsOptions {
        endpoint,
        profile: identity
            .aws_profile
            .clone()
            .or_else(|| entry.and_then(|e| e.profile.clone())),
        region: identity
            .region
            .clone()
            .or_else(|| entry.and_then(|e| e.region.clone()))
            .or_else(|| lab.then(|| crate::lab::cloudwatch::REGION.to_string())),
    }
}

/// Where and as whom to call AWS for `--xray` / `--cloudwatch` /
/// `--aws-config`: the AWS flags over the profile's `[aws]`; `None` when no
/// lookup is asked for.
pub(super) fn aws_options(
    args: &DiagnoseArgs,
    profile: Option<&Profile>,
    lab: bool,
    signs: bool,
) -> Result<Option<crate::aws::AwsOptions>, ConfigError> {
    let entry = profile.and_then(|p| p.aws.as_ref());
    let endpoint = endpoint_over(args.aws_endpoint.as_ref(), entry);
    let config = wants_config(args, profile);
    if !args.xray && !args.cloudwatch && !config {
        // --sigv4 uses --aws-profile and --region too.
        let identity = args.conn.aws.aws_profile.is_some() || args.conn.aws.region.is_some();
        if args.aws_endpoint.is_some() || (identity && !signs) {
            return Err(ConfigError::AwsFlagsWithoutLookup);
        }
        return Ok(None);
    }
    if lab && endpoint.is_none() {
        if !args.xray && !args.cloudwatch {
            return Err(ConfigError::LabConfigWithoutEndpoint);
        }
        let flag = if args.xray { "--xray" } else { "--cloudwatch" };
        return Err(ConfigError::LabLookupWithoutEndpoint { flag });
    }
    if let (true, true, Some(url)) = (lab, config, &endpoint) {
        check_loopback(url)?;
    }
    Ok(Some(options(&args.conn.aws, entry, endpoint, lab)))
}

/// What `--cloudwatch` reads: the profile's `[aws]` NLB, ALB, target groups and API.
pub(super) fn cloudwatch_resources(profile: Option<&Profile>) -> Result<Resources, ConfigError> {
    let entry = profile.and_then(|p| p.aws.as_ref());
    let resources = Resources {
        nlb: entry.and_then(|e| e.nlb.as_ref()).map(|n| dimension(n.get_ref())),
        alb: entry.and_then(|e| e.alb.as_ref()).map(|a| dimension(a.get_ref())),
        target_groups: entry
            .map(|e| e.target_groups.iter().map(|t| dimension(t.get_ref())).collect())
            .unwrap_or_default(),
        api: entry.and_then(|e| match (&e.rest_api, &e.http_api) {
            (Some(rest), _) => Some(Api::Rest {
                name: rest.name.clone().unwrap_or_default(),
                stage: rest.stage.clone(),
            }),
            (None, Some(http)) => Some(Api::Http {
                id: http.id.clone(),
                stage: http.stage.clone(),
            }),
            (None, None) => None,
        }),
    };
    if resources.is_empty() {
        return Err(ConfigError::NothingForCloudWatch);
    }
    if matches!(&resources.api, Some(Api::Rest { name, .. }) if name.is_empty()) {
        return Err(ConfigError::CloudWatchWithoutApiName);
    }
    Ok(resources)
}

/// `net/NAME/ID`, `app/NAME/ID`, `targetgroup/NAME/ID`: CloudWatch's
/// `LoadBalancer` and `TargetGroup` dimensions, from the profile's names
/// (checked for their shape: the short form or a full ARN, which
/// CloudWatch would not match).
fn dimension(reference: &str) -> String {
    crate::aws::arn::short_form(reference)
}

/// The values of a list of spanned names.
fn names(list: &[Spanned<String>]) -> Vec<String> {
    list.iter().map(|s| s.get_ref().clone()).collect()
}

/// Where `--aws-config` starts: what the profile's `[aws]` names. Refused
/// when it names nothing and no probed URL is an execute-api host
/// (`probes_execute_api`: `None` when the URLs are not known yet, as with
/// `--from`; the command checks the records' then).
/// Who asked for the read, for an error about it: the profile's
/// `[aws] config = true` when it says so, else the flag.
pub fn asked_by(profile: Option<&Profile>) -> String {
    match profile {
        Some(p) if p.aws.as_ref().is_some_and(|a| a.config) => {
            format!("{}: [aws] config = true", p.path.display())
        }
        _ => "--aws-config".to_string(),
    }
}

pub(super) fn path_query(
    profile: Option<&Profile>,
    probes_execute_api: Option<bool>,
) -> Result<PathQuery, ConfigError> {
    let entry = profile.and_then(|p| p.aws.as_ref());
    let query = PathQuery {
        rest_api: entry.and_then(|e| e.rest_api.as_ref()).map(|r| RestApiRef {
            id: r.id.clone(),
            name: r.name.clone(),
            stage: r.stage.clone(),
        }),
        http_api: entry.and_then(|e| e.http_api.as_ref()).map(|h| HttpApiRef {
            id: h.id.clone(),
            stage: h.stage.clone(),
        }),
        nlb: entry.and_then(|e| e.nlb.as_ref()).map(|n| n.get_ref().clone()),
        alb: entry.and_then(|e| e.alb.as_ref()).map(|n| n.get_ref().clone()),
        target_groups: entry.map(|e| names(&e.target_groups)).unwrap_or_default(),
        routes: Vec::new(),
    };
    if names_nothing(&query) && probes_execute_api == Some(false) {
        return Err(ConfigError::NothingForAwsConfig {
            flag: asked_by(profile),
        });
    }
    Ok(query)
}

/// The profile names no API, load balancer or target group.
pub fn names_nothing(query: &PathQuery) -> bool {
    query.rest_api.is_none()
        && query.http_api.is_none()
        && query.nlb.is_none()
        && query.alb.is_none()
        && query.target_groups.is_empty()
}

/// An API Gateway execute-api host that names its API
/// (`{id}.execute-api.{region}.amazonaws.com`, the private alias
/// `{id}-vpce-….execute-api.…`, the lab's): where `--aws-config` can start
/// without a profile naming the API. A VPC endpoint's own name
/// (`vpce-….execute-api…`) names none. The reader's rule, so both agree.
pub fn is_execute_api_host(host: &str) -> bool {
    crate::aws::path::execute_api_id(host).is_some()
}

/// The lab writes to the emulator it seeds: only ever one on this machine.
fn check_loopback(endpoint: &str) -> Result<(), ConfigError> {
    match crate::lab::aws_config::is_loopback_endpoint(endpoint) {
        true => Ok(()),
        false => Err(ConfigError::LabEndpointNotLoopback {
            endpoint: crate::probe::secrets::shown_typed_url(endpoint),
        }),
    }
}

/// The `[aws]` names `--aws-config` and `--cloudwatch` start from, checked
/// for their shape: `net/NAME/ID`, `app/NAME/ID`, `targetgroup/NAME/ID`, or
/// full ARNs of those.
pub(super) fn check_entry(src: &Source<'_>, aws: &AwsEntry) -> Result<(), ConfigError> {
    if let Some(nlb) = &aws.nlb {
        check_elb(src, nlb, "aws.nlb", &NLB)?;
    }
    if let Some(alb) = &aws.alb {
        check_elb(src, alb, "aws.alb", &ALB)?;
    }
    for tg in &aws.target_groups {
        check_elb(src, tg, "aws.target_groups", &TARGET_GROUP)?;
    }
    Ok(())
}

/// One kind of ELB resource name, and how the message describes it.
struct ElbKind {
    kind: crate::aws::arn::ElbKind,
    shape: ElbShape,
}

static NLB: ElbKind = ElbKind {
    kind: crate::aws::arn::ElbKind::Network,
    shape: ElbShape {
        what: "a Network Load Balancer",
        short: "net/NAME/ID",
        arn_tail: "loadbalancer/net/NAME/ID",
    },
};
static ALB: ElbKind = ElbKind {
    kind: crate::aws::arn::ElbKind::Application,
    shape: ElbShape {
        what: "an Application Load Balancer",
        short: "app/NAME/ID",
        arn_tail: "loadbalancer/app/NAME/ID",
    },
};
static TARGET_GROUP: ElbKind = ElbKind {
    kind: crate::aws::arn::ElbKind::TargetGroup,
    shape: ElbShape {
        what: "a target group",
        short: "targetgroup/NAME/ID",
        arn_tail: "targetgroup/NAME/ID",
    },
};

fn check_elb(
    src: &Source<'_>,
    value: &Spanned<String>,
    key: &str,
    kind: &'static ElbKind,
) -> Result<(), ConfigError> {
    match elb_shape(value.get_ref(), kind) {
        true => Ok(()),
        false => Err(src.error(
            value,
            key,
            KeyProblem::ElbName {
                value: value.get_ref().clone(),
                shape: &kind.shape,
            },
        )),
    }
}

/// `PREFIX/NAME/ID`, or `arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:`
/// followed by it (after `loadbalancer/` for load balancers), as
/// `crate::aws::arn` parses it, with each field checked.
fn elb_shape(value: &str, kind: &ElbKind) -> bool {
    let Some(r) = crate::aws::arn::parse(value) else {
        return false;
    };
    let arn_ok = r.arn.is_none_or(|a| {
        a.partition.starts_with("aws")
            && a.service == "elasticloadbalancing"
            && !a.region.is_empty()
            && a.account.len() == 12
            && a.account.bytes().all(|b| b.is_ascii_digit())
    });
    arn_ok
        && r.kind == kind.kind
        && (1..=32).contains(&r.name.len())
        && r.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && r.id
            .is_some_and(|id| id.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elb_names_short_and_as_arns() {
        assert!(elb_shape("net/my-nlb/50dc6c495c0c9188", &NLB));
        assert!(elb_shape(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/my-nlb/50dc6c495c0c9188",
            &NLB
        ));
        assert!(!elb_shape("app/my-alb/50dc6c495c0c9188", &NLB));
        assert!(!elb_shape("my-nlb", &NLB));
        assert!(!elb_shape("net/my_nlb/1", &NLB));
        assert!(!elb_shape("net/my-nlb/", &NLB));
        assert!(elb_shape("app/my-alb/50dc6c495c0c9188", &ALB));
        assert_eq!(
            dimension("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc"),
            "app/my-alb/50dc"
        );
        assert_eq!(dimension("app/my-alb/50dc"), "app/my-alb/50dc");
        assert!(!elb_shape(
            "arn:aws:elasticloadbalancing:eu-west-1:123:loadbalancer/app/my-alb/1",
            &ALB
        ));
        assert!(elb_shape("targetgroup/tg-1/73e2d6bc24d8a067", &TARGET_GROUP));
        assert!(elb_shape(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-1/73e2d6bc24d8a067",
            &TARGET_GROUP
        ));
        assert!(!elb_shape(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/targetgroup/tg/1",
            &TARGET_GROUP
        ));
    }

    #[test]
    fn only_loopback_is_seeded() {
        for ok in [
            "http://127.0.0.1:5000",
            "http://[::1]:5000",
            "http://localhost:5000",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for no in [
            "http://10.0.0.1:5000",
            "https://elasticloadbalancing.us-east-1.amazonaws.com",
        ] {
            assert!(check_loopback(no).is_err(), "{no}");
        }
    }

    #[test]
    fn execute_api_hosts() {
        assert!(is_execute_api_host("abc123.execute-api.eu-west-1.amazonaws.com"));
        assert!(is_execute_api_host("abc123.execute-api.lab.test"));
        assert!(is_execute_api_host(
            "abc123-vpce-0123456789abcdef0.execute-api.eu-west-1.amazonaws.com"
        ));
        assert!(!is_execute_api_host(
            "vpce-0123-abcd.execute-api.eu-west-1.vpce.amazonaws.com"
        ));
        assert!(!is_execute_api_host("api.example.com"));
    }
}

//! `diagnose --xray` / `--cloudwatch`, validated: where and as whom to
//! call AWS (the AWS flags over the profile's `[aws]`), and what to read.

use std::time::Duration;

use super::error::ConfigError;
use super::Profile;
use crate::aws::cloudwatch::{Api, Resources};
use crate::cli::DiagnoseArgs;

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

/// Where and as whom to call AWS for `--xray` / `--cloudwatch`: the AWS
/// flags over the profile's `[aws]`; `None` when neither lookup is asked for.
pub(super) fn aws_options(
    args: &DiagnoseArgs,
    profile: Option<&Profile>,
    lab: bool,
    signs: bool,
) -> Result<Option<crate::aws::AwsOptions>, ConfigError> {
    let entry = profile.and_then(|p| p.aws.as_ref());
    let endpoint = args
        .aws_endpoint
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_string())
        .or_else(|| entry.and_then(|e| e.endpoint_url.clone()));
    if !args.xray && !args.cloudwatch {
        // --sigv4 uses --aws-profile and --region too.
        let identity = args.conn.aws.aws_profile.is_some() || args.conn.aws.region.is_some();
        if args.aws_endpoint.is_some() || (identity && !signs) {
            return Err(ConfigError::AwsFlagsWithoutLookup);
        }
        return Ok(None);
    }
    if lab && endpoint.is_none() {
        let flag = if args.xray { "--xray" } else { "--cloudwatch" };
        return Err(ConfigError::LabLookupWithoutEndpoint { flag });
    }
    Ok(Some(crate::aws::AwsOptions {
        endpoint,
        profile: args
            .conn
            .aws
            .aws_profile
            .clone()
            .or_else(|| entry.and_then(|e| e.profile.clone())),
        region: args
            .conn
            .aws
            .region
            .clone()
            .or_else(|| entry.and_then(|e| e.region.clone()))
            .or_else(|| lab.then(|| crate::lab::cloudwatch::REGION.to_string())),
    }))
}

/// What `--cloudwatch` reads: the profile's `[aws]` NLB, target groups and API.
pub(super) fn cloudwatch_resources(profile: Option<&Profile>) -> Result<Resources, ConfigError> {
    let entry = profile.and_then(|p| p.aws.as_ref());
    let resources = Resources {
        nlb: entry.and_then(|e| e.nlb.clone()),
        target_groups: entry.map(|e| e.target_groups.clone()).unwrap_or_default(),
        api: entry.and_then(|e| match (&e.rest_api, &e.http_api) {
            (Some(rest), _) => Some(Api::Rest {
                name: rest.name.clone(),
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
    Ok(resources)
}

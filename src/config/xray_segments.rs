//! `--xray-segments` (run, keepwarm), validated: where and as whom to send
//! the client segments (the AWS flags over the profile's `[aws]`), and the
//! probes' trace header set to name each one as its trace's parent.

use super::error::ConfigError;
use super::Profile;
use crate::cli::AwsIdentityArgs;
use crate::probe::ProbeSettings;
use crate::publish::xray_segments::XraySegments;

/// `None` when the flag is off. The endpoint: `--aws-endpoint`, else the
/// profile's `[aws] endpoint_url`, else AWS's own. The lab (a lab profile's probes) sends to
/// an emulator only: an endpoint must be named.
pub(super) fn xray_segments(
    on: bool,
    identity: &AwsIdentityArgs,
    endpoint_flag: Option<&url::Url>,
    profile: Option<&Profile>,
    settings: &mut ProbeSettings,
) -> Result<Option<XraySegments>, ConfigError> {
    if !on {
        return Ok(None);
    }
    if !settings.trace_header {
        return Err(ConfigError::SegmentsWithoutTraceHeader);
    }
    let entry = profile.and_then(|p| p.aws.as_ref());
    // `--aws-endpoint` (shared with --cloudwatch-namespace) over the profile's.
    let endpoint = super::aws::endpoint_over(endpoint_flag, entry);
    let lab = settings.lab.is_some();
    let from_env = ["AWS_ENDPOINT_URL_XRAY", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    if lab && endpoint.is_none() && !from_env {
        return Err(ConfigError::LabSegmentsWithoutEndpoint);
    }
    settings.trace_parent = true;
    Ok(Some(XraySegments {
        aws: super::aws::options(identity, entry, endpoint, lab),
        lab,
    }))
}

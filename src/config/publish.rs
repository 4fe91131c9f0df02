//! `--cloudwatch-namespace`, `--emf` and their `--aws-endpoint`
//! (`keepwarm`, `run`), validated before anything starts.

use std::path::Path;

use super::error::{ConfigError, PublishError};
use super::Profile;
use crate::cli::{AwsIdentityArgs, PublishArgs};
use crate::publish::{EmfOut, Namespace, PublishSettings, Route, DEFAULT_NAMESPACE};

/// `None` when neither flag is given. `stdout_carries`: what the command
/// already prints on stdout that EMF lines would spoil (`run --format
/// ndjson`: "probe records"), if anything. `lab`: a lab run.
/// `xray_segments`: `--xray-segments` is on, which sends to
/// `--aws-endpoint` too.
pub(super) fn publish_settings(
    args: &PublishArgs,
    identity: &AwsIdentityArgs,
    profile: Option<&Profile>,
    lab: bool,
    stdout_carries: Option<&'static str>,
    xray_segments: bool,
) -> Result<Option<PublishSettings>, ConfigError> {
    let namespace = match &args.cloudwatch_namespace {
        Some(value) => Some(
            Namespace::parse(value).map_err(|problem| PublishError::Namespace {
                value: value.clone(),
                problem,
            })?,
        ),
        None => None,
    };
    let route = match (&args.emf, &namespace) {
        (None, None) => {
            if args.publish_endpoint.is_some() && !xray_segments {
                return Err(PublishError::EndpointUnused.into());
            }
            return Ok(None);
        }
        (Some(file), _) => {
            if args.publish_endpoint.is_some() && !xray_segments {
                return Err(PublishError::EndpointUnused.into());
            }
            Route::Emf(emf_out(file, stdout_carries)?)
        }
        (None, Some(_)) => {
            let entry = profile.and_then(|p| p.aws.as_ref());
            let endpoint = super::aws::endpoint_over(args.publish_endpoint.as_ref(), entry);
            if lab && endpoint.is_none() {
                return Err(PublishError::LabWithoutEndpoint.into());
            }
            Route::PutMetricData(super::aws::options(identity, entry, endpoint, lab))
        }
    };
    Ok(Some(PublishSettings {
        namespace: namespace
            .unwrap_or_else(|| Namespace::parse(DEFAULT_NAMESPACE).expect("a valid namespace")),
        route,
    }))
}

fn emf_out(file: &Path, stdout_carries: Option<&'static str>) -> Result<EmfOut, ConfigError> {
    if file.as_os_str() == "-" {
        if let Some(format) = stdout_carries {
            return Err(PublishError::StdoutTaken { format }.into());
        }
        return Ok(EmfOut::Stdout);
    }
    super::check_writable(file, "--emf")?;
    Ok(EmfOut::File(file.to_path_buf()))
}

//! What AWS said about the probes, beside what the records say: given to
//! the detectors and written into the report, so it lives below both.

use serde::{Deserialize, Serialize};

use super::cloudwatch::CloudWatchEvidence;
use super::xray::XrayEvidence;
use crate::aws::path::PathConfig;

/// AWS-side evidence; `null` when not asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwsEvidence {
    /// `--xray`: null when not asked for.
    pub xray: Option<XrayEvidence>,
    /// `--cloudwatch`: null when not asked for.
    pub cloudwatch: Option<CloudWatchEvidence>,
    /// `--aws-config`: the path's configuration as read; null when not
    /// asked for (and absent from earlier reports).
    #[serde(default)]
    pub config: Option<PathConfig>,
}

//! What stands behind the gateway for each target: an NLB (VPC link V1, or
//! V2), an ALB (VPC link V2), a Cloud Map service (HTTP APIs), or unknown.
//! The timers, the failure signatures and the fixes differ by kind, so the
//! detectors word their findings by it (DOMAIN.md, "The ALB path").

use serde::{Deserialize, Serialize};

/// The kind of hop between the VPC link and the targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    /// A Network Load Balancer: a flow table, not a proxy.
    Nlb,
    /// An Application Load Balancer: a proxy with its own timers and pages.
    Alb,
    /// A Cloud Map service (HTTP APIs only): no load balancer.
    CloudMap,
    /// Nothing said which.
    #[default]
    Unknown,
}

impl PathKind {
    /// `NLB`, `ALB`, `Cloud Map`, `load balancer`: how findings name the hop.
    pub fn hop(self) -> &'static str {
        match self {
            PathKind::Nlb => "NLB",
            PathKind::Alb => "ALB",
            PathKind::CloudMap => "Cloud Map service",
            PathKind::Unknown => "load balancer",
        }
    }
}

/// Where a target's [`PathKind`] was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathSource {
    /// The profile's `[aws] nlb` or `[aws] alb`.
    Profile,
    /// The path's configuration, read with `--aws-config`.
    Configuration,
    /// The responses themselves (an ALB's own error pages: `awselb/2.0`).
    Responses,
}

/// One target's path: its kind, where that was learned, and the load
/// balancer when one was named (`app/NAME/ID`, `net/NAME/ID`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPath {
    pub kind: PathKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PathSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<String>,
}

impl TargetPath {
    pub fn new(kind: PathKind, from: PathSource, load_balancer: Option<String>) -> TargetPath {
        TargetPath {
            kind,
            from: Some(from),
            load_balancer,
        }
    }
}

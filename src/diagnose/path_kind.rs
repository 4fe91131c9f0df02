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

impl TargetPath {
    /// `ALB app/x/y (configuration)`: the report's words for it.
    pub fn words(&self) -> String {
        let mut s = self.kind.hop().to_string();
        if let Some(lb) = &self.load_balancer {
            s.push(' ');
            s.push_str(lb);
        }
        if let Some(from) = self.from {
            s.push_str(&format!(" ({})", from.word()));
        }
        s
    }

    /// Known: worth a line in the report.
    pub fn is_known(&self) -> bool {
        self.kind != PathKind::Unknown
    }
}

impl PathSource {
    /// `profile`, `configuration`, `responses`.
    pub fn word(self) -> &'static str {
        match self {
            PathSource::Profile => "profile",
            PathSource::Configuration => "configuration",
            PathSource::Responses => "responses",
        }
    }
}

/// What the profile's `[aws]` names behind the gateway: its `nlb` and
/// `alb` (short `net/NAME/ID`, `app/NAME/ID`, or ARNs, as written). The
/// command passes it down; nothing below the command reads the profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathHint {
    pub nlb: Option<String>,
    pub alb: Option<String>,
}

/// `net/NAME/ID` or `app/NAME/ID` of a load balancer's ARN (or of the
/// short form itself): how reports name it, as CloudWatch does.
pub fn short_lb(arn_or_short: &str) -> String {
    match crate::aws::arn::parse(arn_or_short) {
        Some(r) if r.kind != crate::aws::arn::ElbKind::TargetGroup => {
            crate::aws::arn::short_form(arn_or_short)
        }
        _ => arn_or_short.to_string(),
    }
}

//! The findings joined with the path's configuration (`--aws-config`): each
//! finding gains the configured values that bear on what it measured (the
//! one that explains it, and the others checked), the wording that cites
//! them, and a fix that names the exact setting and the `aws` command that
//! changes it. What the configuration shows by itself (a VPC link that is
//! not AVAILABLE, a zone with no healthy target while cross-zone load
//! balancing is off, targets draining) becomes a finding of its own,
//! marked as coming from the configuration.
//!
//! A post-pass over the detectors' findings, one file per cause; it reads
//! only the findings' measured numbers ([`Measured`]) and the
//! [`PathConfig`], never the titles.
//!
//! [`Measured`]: crate::diagnose::finding::Measured

mod bad_path;
mod dns_timeout;
mod edge;
mod errors;
#[cfg(test)]
pub(crate) mod fixtures;
mod idle_timeout;
mod integration_timeout;
mod keepalive_race;
pub(crate) mod path;
pub(crate) mod scope;
mod slow_backend;
mod slow_tls;
mod syn_loss;

use crate::aws::path::PathConfig;
use crate::diagnose::finding::{Cause, Finding, FindingSource, Severity};

/// Join `findings` (the detectors', ranked) with what `config` says, add
/// the findings the configuration makes by itself, and rank them again.
pub fn join(findings: &mut Vec<Finding>, config: &PathConfig) {
    if config.is_empty() {
        // Nothing could be read: `aws.config.notes` says why.
        return;
    }
    for f in findings.iter_mut() {
        match f.cause {
            Cause::IdleTimeout => idle_timeout::join(f, config),
            Cause::IntegrationTimeout => integration_timeout::join(f, config),
            Cause::Edge => edge::join(f, config),
            Cause::KeepaliveRace => keepalive_race::join(f, config),
            Cause::SlowTls => slow_tls::join(f, config),
            Cause::SynLoss => syn_loss::join(f, config),
            Cause::SlowBackend => slow_backend::join(f, config),
            Cause::DnsTimeout => dns_timeout::join(f, config),
            _ => {}
        }
    }
    for (cause, join) in [
        (
            Cause::BadPath,
            bad_path::join as fn(Option<&mut Finding>, &PathConfig) -> Option<Finding>,
        ),
        (Cause::Errors, errors::join),
    ] {
        let found = findings.iter_mut().find(|f| f.cause == cause);
        if let Some(own) = join(found, config) {
            findings.push(own);
        }
    }
    // One rule for every cause: a finding of the probes that no configured
    // value explains says so, in the same words.
    findings.iter_mut().for_each(scope::say_when_nothing_explains);
    rank(findings);
}

/// What was measured comes first: the probes' findings at warning or
/// above, then the configuration's own at warning or above (so that one
/// is the verdict when the probes show nothing wrong, and never hides what
/// they did show), then the rest; by severity and confidence within each.
fn rank(findings: &mut [Finding]) {
    findings.sort_by_key(|f| {
        let group = match (f.severity >= Severity::Warning, f.from) {
            (true, None) => 0,
            (true, Some(FindingSource::Configuration)) => 1,
            (false, _) => 2,
        };
        (group, std::cmp::Reverse(f.rank()))
    });
}

/// A finding made from the configuration alone.
fn from_configuration(cause: Cause, severity: Severity, confidence: f64, title: String) -> Finding {
    let mut f = Finding::new(cause, severity, confidence, title);
    f.from = Some(FindingSource::Configuration);
    f
}

/// Put the configuration's fixes before the detector's general advice.
fn fixes_first(f: &mut Finding, fixes: Vec<String>) {
    let mut all = fixes;
    all.retain(|x| !f.fix.contains(x));
    all.append(&mut f.fix);
    f.fix = all;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_findings_rank_before_the_configuration_s_own() {
        let mut found = vec![
            from_configuration(Cause::Errors, Severity::Critical, 0.9, "link FAILED".into()),
            Finding::new(Cause::SlowTls, Severity::Info, 0.9, "tls"),
            Finding::new(Cause::IdleTimeout, Severity::Warning, 0.55, "idle"),
        ];
        rank(&mut found);
        let causes: Vec<Cause> = found.iter().map(|f| f.cause).collect();
        assert_eq!(causes, [Cause::IdleTimeout, Cause::Errors, Cause::SlowTls]);
    }

    #[test]
    fn an_empty_configuration_changes_nothing() {
        let mut found = vec![Finding::new(Cause::IdleTimeout, Severity::Critical, 0.8, "idle")];
        found[0].measured.timer_ms = Some([300_000.0, 360_000.0]);
        let before = found.clone();
        join(&mut found, &PathConfig::default());
        assert_eq!(found, before);
    }
}

//! `errors` against the configuration: a VPC link that is not AVAILABLE
//! (FAILED or DELETING: nothing passes; PENDING: not yet; a V2 link goes
//! INACTIVE after 60 days without traffic and the next request through it
//! fails for minutes), and targets `draining` or `unhealthy.draining` when
//! the configuration was read. Each is a finding by itself when the probes
//! made none.

use super::path::{group_flag, group_label, known, value, Read};
use super::{fixes_first, from_configuration};
use crate::aws::path::model::defaults;
use crate::aws::path::{PathConfig, VpcLinkConfig};
use crate::diagnose::finding::{Cause, Finding, Severity};

pub(super) fn join(f: Option<&mut Finding>, c: &PathConfig) -> Option<Finding> {
    let mut evidence = Vec::new();
    let mut configured = Vec::new();
    let mut fixes = Vec::new();
    let mut titles = Vec::new();
    // The targets whose routes go through a link that is not AVAILABLE.
    let mut through: Vec<String> = Vec::new();
    let mut severity = Severity::Info;
    for link in c
        .vpc_links
        .iter()
        .filter(|l| l.status.as_deref().is_some_and(|s| s != "AVAILABLE"))
    {
        let status = link.status.as_deref().unwrap_or_default();
        let mut v = value(
            format!("VPC link {} ({})", link.id, link.version),
            &link.id,
            "status",
            status.to_string(),
            false,
        );
        v.explains = true;
        configured.push(v);
        let (what, sev) = meaning(link, status);
        severity = severity.max(sev);
        let message = link
            .status_message
            .as_deref()
            .map(|m| format!(" (\"{m}\")"))
            .unwrap_or_default();
        evidence.push(format!(
            "VPC link {} ({}) is {status}{message}: {what}",
            link.id, link.version
        ));
        titles.push(format!("VPC link {} is {status}", link.id));
        through.extend(
            c.routes()
                .filter(|r| r.vpc_link_id.as_deref() == Some(link.id.as_str()))
                .flat_map(|r| r.targets.iter().cloned()),
        );
        fixes.push(fix(link, status));
    }
    let read = Read::of(c).target_groups;
    for lb in &c.load_balancers {
        for tg in &lb.target_groups {
            let draining: Vec<String> = tg
                .targets
                .iter()
                .filter(|t| t.state == "draining" || t.state == "unhealthy.draining")
                .map(|t| {
                    let zone = t.zone.as_deref().map(|z| format!(" in {z}")).unwrap_or_default();
                    let why = t.reason.as_deref().map(|r| format!(", {r}")).unwrap_or_default();
                    format!("{}{zone} ({}{why})", t.id, t.state)
                })
                .collect();
            if draining.is_empty() {
                continue;
            }
            let delay = match tg.attributes.get(defaults::DEREGISTRATION_DELAY_KEY) {
                Some(v) => format!("{v} s"),
                None if known(&tg.attributes, read) => "300 s (default)".into(),
                None => "the deregistration delay (not read)".into(),
            };
            let flag = group_flag(lb, tg, defaults::DEREGISTRATION_TERMINATION_KEY, false, read);
            let terminate = flag.as_ref().map(|(t, _)| *t);
            let said = terminate.map_or("not read".to_string(), |t| t.to_string());
            if let Some((t, mut setting)) = flag {
                setting.explains = !t;
                configured.push(setting);
            }
            severity = severity.max(Severity::Info);
            // Termination on: the NLB closes the old connections when the
            // delay ends. Off (the TCP default): it never closes them; they
            // keep reaching the target until it stops, then stall.
            let then = match terminate {
                Some(true) => format!("are closed when the {delay} delay ends"),
                Some(false) => format!(
                    "keep reaching them after the {delay} delay, until the target stops (then they stall on silent drops)"
                ),
                None => format!("either are closed after the {delay} delay or keep reaching them until they stop"),
            };
            evidence.push(format!(
                "when read, {} had {} target(s) draining: {}; with `{}` {said}, connections opened before {then}",
                group_label(lb, tg),
                draining.len(),
                draining.join(", "),
                defaults::DEREGISTRATION_TERMINATION_KEY,
            ));
            titles.push(format!("{} target(s) of {} draining", draining.len(), tg.name));
            if terminate != Some(true) {
                fixes.push(format!(
                    "Close connections to deregistered targets when their delay ends, so that clients reconnect instead of stalling: `aws elbv2 modify-target-group-attributes --target-group-arn {} --attributes Key={},Value=true`; deploy outside the probes' window, or shorten `{}` ({delay}).",
                    tg.arn,
                    defaults::DEREGISTRATION_TERMINATION_KEY,
                    defaults::DEREGISTRATION_DELAY_KEY
                ));
            }
        }
    }
    if evidence.is_empty() {
        return None;
    }
    match f {
        Some(f) => {
            f.evidence.splice(0..0, evidence);
            f.configured.extend(configured);
            fixes_first(f, fixes);
            None
        }
        None => {
            let confidence = if severity >= Severity::Warning { 0.7 } else { 0.5 };
            let mut own = from_configuration(
                Cause::Errors,
                severity,
                confidence,
                format!("From the configuration: {}", titles.join("; ")),
            );
            own.evidence = evidence;
            own.configured = configured;
            own.fix = fixes;
            Some(own.targets(through))
        }
    }
}

/// What a VPC link's status means for requests, and how bad it is.
fn meaning(link: &VpcLinkConfig, status: &str) -> (&'static str, Severity) {
    match (status, link.version.as_str()) {
        ("INACTIVE", _) => (
            "a V2 link that saw no traffic for 60 days: the next request through it fails for minutes while it comes back",
            Severity::Warning,
        ),
        ("PENDING", _) => ("being created or updated: requests through it fail until it is AVAILABLE", Severity::Warning),
        ("FAILED", _) => ("no request through it can reach the load balancer", Severity::Critical),
        ("DELETING", _) => ("being deleted: no request through it can reach the load balancer", Severity::Critical),
        _ => ("not AVAILABLE: requests through it may fail", Severity::Warning),
    }
}

fn fix(link: &VpcLinkConfig, status: &str) -> String {
    let id = &link.id;
    let (get, api) = if link.version == "V1" {
        (
            format!("aws apigateway get-vpc-link --vpc-link-id {id}"),
            "apigateway",
        )
    } else {
        (
            format!("aws apigatewayv2 get-vpc-link --vpc-link-id {id}"),
            "apigatewayv2",
        )
    };
    match status {
        "INACTIVE" => format!(
            "VPC link {id}: keep it AVAILABLE with traffic, a keep-warm request well within 60 days (`coldlink keepwarm`, or any scheduled request through the route); `{get}` shows its status (`VpcLinkStatus`)."
        ),
        "FAILED" if link.version == "V1" => format!(
            "VPC link {id}: read why (`statusMessage`: `{get}`); a V1 link fails when its NLB is gone or in another account or region: recreate it on a live NLB (`aws {api} create-vpc-link --name NAME --target-arns NLB_ARN`) and point the integration's `connectionId` (or the stage variable) at it."
        ),
        "FAILED" => format!(
            "VPC link {id}: read why (`VpcLinkStatusMessage`: `{get}`); a V2 link fails on subnets or security groups it cannot use: recreate it (`aws {api} create-vpc-link --name NAME --subnet-ids … --security-group-ids …`) and point the integration's `ConnectionId` at it."
        ),
        _ => format!("VPC link {id}: wait until it is AVAILABLE, or read why not: `{get}`."),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::diagnose::finding::FindingSource;

    #[test]
    fn a_failed_link_is_a_critical_finding_by_itself() {
        let mut c = fixtures::path();
        c.vpc_links[0].status = Some("FAILED".into());
        c.vpc_links[0].status_message = Some("NLB not found".into());
        let own = join(None, &c).expect("a finding of its own");
        assert_eq!(own.from, Some(FindingSource::Configuration));
        assert_eq!(own.severity, Severity::Critical);
        assert_eq!(own.title, "From the configuration: VPC link vl1234 is FAILED");
        assert!(
            own.evidence[0].contains("is FAILED (\"NLB not found\")"),
            "{}",
            own.evidence[0]
        );
        assert!(
            own.fix[0].contains("aws apigateway get-vpc-link --vpc-link-id vl1234"),
            "{}",
            own.fix[0]
        );
        assert_eq!(own.configured[0].value, "FAILED");
        assert_eq!(own.targets, ["api"], "the targets whose route goes through it");
    }

    #[test]
    fn an_inactive_v2_link_asks_for_traffic() {
        let mut c = fixtures::path();
        c.vpc_links[0].version = "V2".into();
        c.vpc_links[0].status = Some("INACTIVE".into());
        let own = join(None, &c).unwrap();
        assert_eq!(own.severity, Severity::Warning);
        assert!(own.evidence[0].contains("60 days"));
        assert!(own.fix[0].contains("keep-warm") && own.fix[0].contains("aws apigatewayv2 get-vpc-link"));
    }

    #[test]
    fn draining_targets_join_the_probes_errors() {
        let mut c = fixtures::path();
        let t = &mut c.load_balancers[0].target_groups[0].targets[0];
        t.state = "draining".into();
        t.reason = Some("Target.DeregistrationInProgress".into());
        let mut f = Finding::new(
            Cause::Errors,
            Severity::Critical,
            0.7,
            "6/40 (15 %) requests failed",
        );
        assert!(join(Some(&mut f), &c).is_none());
        assert!(
            f.evidence[0].contains("10.0.1.10 in eu-west-1a (draining, Target.DeregistrationInProgress)"),
            "{}",
            f.evidence[0]
        );
        assert!(f.fix[0].contains("Key=deregistration_delay.connection_termination.enabled,Value=true"));
        assert!(f.configured[0].default && f.configured[0].explains);
        // Alone, draining is worth knowing, not a problem.
        assert_eq!(join(None, &c).unwrap().severity, Severity::Info);
    }

    #[test]
    fn an_available_path_adds_nothing() {
        assert!(join(None, &fixtures::path()).is_none());
    }
}

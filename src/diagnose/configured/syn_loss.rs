//! `syn-loss` against the configuration: a V2 VPC link's security groups
//! and subnets, cited as where to look when SYNs may be lost between the
//! gateway and the load balancer. The probes' connects go to the first
//! hop (API Gateway, CloudFront), so SYNs lost behind the gateway show
//! only when a target probes the load balancer directly; the link's
//! groups are where the gateway's connections come from, and the load
//! balancer's `SecurityGroupBlockedFlowCount_Inbound_TCP` counts what its
//! own groups dropped. No rule is read, so none is invented: the fix is
//! the commands that show them. (V1 links are PrivateLink to an NLB and
//! have no security groups of their own.)

use super::path::value;
use super::scope::routes_of;
use crate::aws::path::{PathConfig, VpcLinkConfig};
use crate::diagnose::finding::Finding;

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    let routes = routes_of(c, &f.targets);
    let v2 = c.vpc_links.iter().filter(|l| l.version == "V2");
    // The targets' own links; a target with no route read (one that probes
    // a load balancer directly) may go through any of them.
    let links: Vec<&VpcLinkConfig> = if routes.is_empty() {
        v2.collect()
    } else {
        v2.filter(|l| {
            routes
                .iter()
                .any(|(_, r)| r.vpc_link_id.as_deref() == Some(l.id.as_str()))
        })
        .collect()
    };
    for l in links {
        if l.security_groups.is_empty() && l.subnets.is_empty() {
            continue;
        }
        let resource = format!("VPC link {} (V2)", l.id);
        f.configured.push(value(
            resource.clone(),
            &l.id,
            "SecurityGroupIds",
            l.security_groups.join(" "),
            false,
        ));
        f.configured
            .push(value(resource, &l.id, "SubnetIds", l.subnets.join(" "), false));
        f.evidence.push(format!(
            "the gateway's connections through VPC link {} come from its security groups {} in subnets {}: if SYNs are lost behind the gateway (they show here only when a target probes the load balancer directly), look at the load balancer's `SecurityGroupBlockedFlowCount_Inbound_TCP` and at what these groups and subnets allow",
            l.id,
            or_none(&l.security_groups),
            or_none(&l.subnets)
        ));
        let mut fix = format!(
            "VPC link {}: read the rules that decide whether its SYNs pass: `aws ec2 describe-security-groups --group-ids {}` (the load balancer's own groups must allow the listener port from these: `aws elbv2 describe-load-balancers --load-balancer-arns ARN --query 'LoadBalancers[].SecurityGroups'`)",
            l.id,
            l.security_groups.join(" ")
        );
        if !l.subnets.is_empty() {
            fix.push_str(&format!(
                "; the subnets' network ACLs, both ways: `aws ec2 describe-network-acls --filters Name=association.subnet-id,Values={}`",
                l.subnets.join(",")
            ));
        }
        fix.push('.');
        f.fix.push(fix);
    }
}

fn or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "(none read)".into()
    } else {
        ids.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding(target: &str) -> Finding {
        Finding::new(
            Cause::SynLoss,
            Severity::Critical,
            0.9,
            "5/45 (11 %) new connections waited 1.0 s in connect",
        )
        .fixes(&["The probe's connect goes to the API Gateway endpoint."])
        .targets([target.to_string()])
    }

    fn v2(c: &mut PathConfig) {
        let l = &mut c.vpc_links[0];
        l.version = "V2".into();
        l.target_arns.clear();
        l.security_groups = vec!["sg-0a1".into(), "sg-0b2".into()];
        l.subnets = vec!["subnet-1".into(), "subnet-2".into()];
    }

    #[test]
    fn a_v2_link_s_groups_and_subnets_are_where_to_look() {
        let mut c = fixtures::path();
        v2(&mut c);
        let mut f = finding("api");
        join(&mut f, &c);
        assert!(
            f.evidence[0].starts_with("the gateway's connections through VPC link vl1234 come from its security groups sg-0a1, sg-0b2 in subnets subnet-1, subnet-2"),
            "{}",
            f.evidence[0]
        );
        assert_eq!(
            f.fix[0], "The probe's connect goes to the API Gateway endpoint.",
            "the detector's advice stays first"
        );
        assert!(
            f.fix[1].contains("aws ec2 describe-security-groups --group-ids sg-0a1 sg-0b2"),
            "{}",
            f.fix[1]
        );
        assert!(
            f.fix[1].contains("Name=association.subnet-id,Values=subnet-1,subnet-2"),
            "{}",
            f.fix[1]
        );
        assert_eq!(f.configured[0].value, "sg-0a1 sg-0b2");
        assert!(!f.configured.iter().any(|v| v.explains));
    }

    #[test]
    fn a_v1_link_or_another_target_s_link_adds_nothing() {
        let mut f = finding("api");
        join(&mut f, &fixtures::path());
        assert!(f.configured.is_empty());
        let mut c = fixtures::path();
        v2(&mut c);
        c.rest_api.as_mut().unwrap().routes[0].vpc_link_id = Some("other".into());
        let mut f = finding("api");
        join(&mut f, &c);
        assert!(f.configured.is_empty() && f.fix.len() == 1);
    }
}

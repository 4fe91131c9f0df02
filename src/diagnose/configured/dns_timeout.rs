//! `dns-timeout` against the configuration: a PRIVATE REST API's name is
//! resolved through the interface VPC endpoint's private DNS (or the
//! Route 53 alias that names the endpoint), so the lookups that stalled
//! were asked of the VPC's resolver (`docs/private-apis.md`). A regional
//! or edge-optimized API is resolved by public DNS, which no setting read
//! here touches: nothing is added, and the finding ends with the line
//! that nothing read explains it.

use super::path::value;
use super::scope::routes_of;
use crate::aws::path::PathConfig;
use crate::diagnose::finding::Finding;

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    let Some(api) = &c.rest_api else {
        return;
    };
    if api.endpoint_type.as_deref() != Some("PRIVATE") {
        return;
    }
    // The finding's targets must probe this API (a route read), or have no
    // route read at all (a VPC endpoint's address, which names no API).
    let probes_it = api
        .routes
        .iter()
        .any(|r| r.targets.iter().any(|t| f.targets.contains(t)));
    if !probes_it && !routes_of(c, &f.targets).is_empty() {
        return;
    }
    f.configured.push(value(
        format!("REST API {}", api.id),
        &api.id,
        "endpointConfiguration.types",
        "PRIVATE".into(),
        false,
    ));
    f.evidence.push(format!(
        "REST API {} is PRIVATE: its name resolves through the interface VPC endpoint's private DNS (the VPC's resolver answers for `*.execute-api.REGION.amazonaws.com` with the endpoint's addresses) or the Route 53 alias `{}-VPCE_ID.execute-api.REGION.amazonaws.com`: the lookups that stalled were asked of that resolver",
        api.id, api.id
    ));
    f.fix.push(format!(
        "Tell the resolver from the path: pin the endpoint's address with `--resolve HOST:443:ADDR` (no DNS phase; `docs/private-apis.md`), and from inside the VPC ask its resolver directly (`dig @169.254.169.253 {}.execute-api.REGION.amazonaws.com`); check that the endpoint's private DNS is on: `aws ec2 describe-vpc-endpoints --filters Name=service-name,Values=com.amazonaws.REGION.execute-api --query 'VpcEndpoints[].[VpcEndpointId,PrivateDnsEnabled]'`.",
        api.id
    ));
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding() -> Finding {
        Finding::new(
            Cause::DnsTimeout,
            Severity::Critical,
            0.95,
            "5/20 lookups took about 5 s",
        )
        .targets(["api".to_string()])
    }

    #[test]
    fn a_private_api_is_resolved_by_the_vpc_endpoint_s_dns() {
        let mut c = fixtures::path();
        c.rest_api.as_mut().unwrap().endpoint_type = Some("PRIVATE".into());
        let mut f = finding();
        join(&mut f, &c);
        assert!(f.evidence[0].starts_with("REST API a1b2c3d4e5 is PRIVATE: its name resolves through the interface VPC endpoint's private DNS"), "{}", f.evidence[0]);
        assert!(
            f.fix[0].contains("aws ec2 describe-vpc-endpoints"),
            "{}",
            f.fix[0]
        );
        assert_eq!(f.configured[0].value, "PRIVATE");
        assert!(!f.configured[0].explains);
    }

    #[test]
    fn a_regional_api_adds_nothing() {
        let mut f = finding();
        let before = f.clone();
        join(&mut f, &fixtures::path());
        assert_eq!(f, before);
    }
}

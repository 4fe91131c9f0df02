//! `slow-tls` against the configuration: what the path configures about
//! TLS, cited as context, never as the cause. The handshake measured is
//! the client's with its first hop (API Gateway, or CloudFront for an
//! edge-optimized domain).
//!
//! - The custom domain's `securityPolicy` sets which TLS versions and
//!   ciphers are accepted; AWS's security-policy page (API Gateway
//!   developer guide, "Choose a security policy for your custom domain")
//!   says both legacy policies, `TLS_1_0` and `TLS_1_2`, accept TLS 1.3,
//!   so neither forces the slower two-round-trip handshake. Nothing in
//!   the model names a handshake's speed, so no fix is drawn from it.
//! - An NLB TLS listener terminates TLS for the gateway's connections
//!   (the integration, inside the time to first byte), not the client's
//!   handshake, unless a target probes the NLB directly.

use super::path::{is_nlb, listener_label, value};
use super::scope::domains_of;
use crate::aws::path::PathConfig;
use crate::diagnose::finding::Finding;

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    for (d, _) in domains_of(c, &f.targets, false) {
        let Some(policy) = d.security_policy.as_deref() else {
            continue;
        };
        f.configured.push(value(
            format!("custom domain {}", d.name),
            &d.name,
            "securityPolicy",
            policy.to_string(),
            false,
        ));
        f.evidence.push(format!(
            "custom domain {}'s security policy is {policy}: it sets which TLS versions and ciphers the handshake may use, not how long it takes (the legacy TLS_1_0 and TLS_1_2 policies both accept TLS 1.3)",
            d.name
        ));
    }
    for lb in c.load_balancers.iter().filter(|lb| is_nlb(lb)) {
        for l in lb.listeners.iter().filter(|l| l.protocol == "TLS") {
            f.configured.push(value(
                listener_label(lb, l),
                &l.arn,
                "protocol",
                l.protocol.clone(),
                false,
            ));
            f.evidence.push(format!(
                "{} terminates TLS for the gateway's connections through the VPC link: those handshakes count in the time to first byte, not in the TLS phase measured here (unless a target probes the NLB directly)",
                listener_label(lb, l)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding(target: &str) -> Finding {
        Finding::new(
            Cause::SlowTls,
            Severity::Warning,
            0.95,
            "New connections spend 402 ms in TLS (99 % of 405 ms)",
        )
        .targets([target.to_string()])
    }

    #[test]
    fn the_domain_s_policy_is_cited_as_context_without_a_fix() {
        let mut c = fixtures::path();
        c.domains.push(fixtures::domain("REGIONAL", "prod", &["custom"]));
        let mut f = finding("custom");
        join(&mut f, &c);
        assert_eq!(
            f.evidence[0],
            "custom domain api.example.com's security policy is TLS_1_2: it sets which TLS versions and ciphers the handshake may use, not how long it takes (the legacy TLS_1_0 and TLS_1_2 policies both accept TLS 1.3)"
        );
        assert_eq!(f.configured[0].setting, "securityPolicy");
        assert!(!f.configured[0].explains);
        assert!(f.fix.is_empty());
    }

    #[test]
    fn an_execute_api_target_does_not_cite_the_domain() {
        let mut c = fixtures::path();
        c.domains.push(fixtures::domain("REGIONAL", "prod", &["custom"]));
        let mut f = finding("api");
        join(&mut f, &c);
        assert!(f.configured.is_empty() && f.evidence.is_empty());
    }

    #[test]
    fn a_tls_listener_is_the_gateway_s_handshake_not_the_client_s() {
        let mut c = fixtures::path();
        c.load_balancers[0].listeners[0].protocol = "TLS".into();
        let mut f = finding("api");
        join(&mut f, &c);
        assert!(
            f.evidence[0]
                .starts_with("NLB edge-nlb, listener TLS:443 terminates TLS for the gateway's connections"),
            "{}",
            f.evidence[0]
        );
        assert_eq!(f.configured[0].value, "TLS");
    }
}

//! What a detector concludes: a cause, how bad, how sure, and why.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use strum::{EnumCount, EnumMessage, VariantArray};

use crate::probe::IpFamily;

/// The stable cause ids (ARCHITECTURE.md); `docs/causes.md` explains each.
///
/// The one list of causes: ids, their order in reports and schema
/// (declaration order) and headlines are all derived from it. Explicit
/// discriminants keep `Inconclusive`, added last, from renumbering the
/// others (tests seed from them, and `Ord` follows them).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
    strum::EnumCount,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Cause {
    #[strum(message = "nothing stands out: the path is healthy")]
    Healthy = 0,
    /// Nothing found, but the plan could not test every cause.
    #[strum(message = "nothing stands out, but not every cause was tested")]
    Inconclusive = 11,
    #[strum(message = "an idle timer on the path drops connections that sat unused")]
    IdleTimeout = 1,
    #[strum(message = "one of several paths behind the gateway is bad")]
    BadPath = 2,
    #[strum(message = "TCP handshakes lose SYNs and wait for the retransmit timer")]
    SynLoss = 3,
    #[strum(message = "DNS resolution stalls")]
    DnsTimeout = 4,
    #[strum(message = "TLS handshakes are slow")]
    SlowTls = 5,
    #[strum(message = "the backend itself is slow")]
    SlowBackend = 6,
    #[strum(message = "the edge (CloudFront) in front of the custom domain adds latency")]
    Edge = 7,
    #[strum(message = "the integration does not answer within the gateway's timeout")]
    IntegrationTimeout = 8,
    #[strum(
        message = "a keep-alive connection behind the gateway closes just as the side in front of it reuses it"
    )]
    KeepaliveRace = 9,
    #[strum(message = "requests fail")]
    Errors = 10,
}

impl Cause {
    /// Every cause, in report order.
    pub const ALL: [Cause; <Cause as EnumCount>::COUNT] =
        match <Cause as VariantArray>::VARIANTS.first_chunk() {
            Some(all) => *all,
            None => panic!("COUNT is the number of VARIANTS"),
        };

    /// The stable id: `idle-timeout`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The cause in a few words, for the verdict sentence.
    pub fn headline(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One conclusion, with the numbers behind it and what to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub cause: Cause,
    pub severity: Severity,
    /// 0–1: how sure the detector is that this cause explains what it saw.
    pub confidence: f64,
    /// One line, with the numbers.
    pub title: String,
    pub evidence: Vec<String>,
    pub fix: Vec<String>,
    pub targets: Vec<String>,
    /// Set when the finding holds on one IP family only: the records hold
    /// both, the other family's probes are clean, and the difference is
    /// beyond chance. Absent otherwise (and from earlier reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<IpFamily>,
    /// Set when the finding is seen from one vantage point only: the
    /// records come from several (their `vantage`), the others with enough
    /// probes are clean, and the difference is beyond chance. Absent
    /// otherwise (and always with records from one vantage point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vantage: Option<String>,
    /// The numbers the detector measured that `--aws-config` compares with
    /// the configuration (scenario time). Not written: the evidence says
    /// them for people, and a report without `--aws-config` stays as it was.
    #[serde(skip)]
    pub measured: Measured,
    /// The configured values on the path that bear on this finding
    /// (`--aws-config`): the one that explains it, and the others checked.
    /// Absent without `--aws-config` (and from earlier reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configured: Vec<ConfiguredValue>,
    /// `configuration` when the finding comes from the configuration alone
    /// (a VPC link that is not AVAILABLE), not from the probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FindingSource>,
}

/// What a detector measured, for the configuration to be compared with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// `idle-timeout`: the timer lies between these quiet gaps (ms): the
    /// longest the path stayed warm after, the shortest it went cold after.
    /// `keepalive-race`: the close lies between the longest gap that was
    /// fine and the shortest after which requests failed.
    pub timer_ms: Option<[f64; 2]>,
    /// `integration-timeout`: per target, the median time of its 504s (ms).
    pub timeout_ms: BTreeMap<String, f64>,
    /// `bad-path`: slow probes, of how many.
    pub slow_of: Option<[usize; 2]>,
    /// `bad-path`: the bad probes are confined to one time window (a
    /// draining or unhealthy target), not a stable fraction.
    pub window: bool,
}

/// One setting read from the account (`--aws-config`) that a finding cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfiguredValue {
    /// What holds it, for a human: `NLB my-nlb, listener TCP:443`.
    pub resource: String,
    /// Its ARN or id, when it has one (what a command names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// As the API names it: `tcp.idle_timeout.seconds`, `timeoutInMillis`.
    pub setting: String,
    /// As read (`350`, `false`, `INACTIVE`), or `unknown` when it cannot be read.
    pub value: String,
    /// The API returned nothing and this is AWS's default (or the value is
    /// fixed, as a TLS listener's idle timeout).
    pub default: bool,
    /// This value accounts for what the finding saw.
    pub explains: bool,
}

/// Where a finding comes from, when not from the probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSource {
    /// Read from the account's configuration (`--aws-config`), whatever the
    /// probes showed.
    Configuration,
}

impl Finding {
    pub fn new(cause: Cause, severity: Severity, confidence: f64, title: impl Into<String>) -> Finding {
        Finding {
            cause,
            severity,
            confidence: (confidence.clamp(0.0, 1.0) * 100.0).round() / 100.0,
            title: title.into(),
            evidence: Vec::new(),
            fix: Vec::new(),
            targets: Vec::new(),
            family: None,
            vantage: None,
            measured: Measured::default(),
            configured: Vec::new(),
            from: None,
        }
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Finding {
        self.evidence.push(line.into());
        self
    }

    /// Adds fixes, each once: a line already there is not repeated.
    pub fn fixes(mut self, lines: &[&str]) -> Finding {
        for line in lines {
            if !self.fix.iter().any(|x| x == line) {
                self.fix.push(line.to_string());
            }
        }
        self
    }

    pub fn targets(mut self, names: impl IntoIterator<Item = String>) -> Finding {
        self.targets = names.into_iter().collect();
        self.targets.sort();
        self.targets.dedup();
        self
    }

    /// `IPv6 only`, when the finding holds on one family only.
    pub fn family_note(&self) -> Option<String> {
        self.family.map(|f| format!("{} only", family_name(f)))
    }

    /// `only from eu-west-1b`, when the finding is seen from one vantage
    /// point alone.
    pub fn vantage_note(&self) -> Option<String> {
        self.vantage.as_ref().map(|v| format!("only from {v}"))
    }

    /// Ordering for the verdict: most severe first, then most confident.
    pub fn rank(&self) -> (Severity, i64) {
        (self.severity, (self.confidence * 1000.0) as i64)
    }
}

/// A family as people write it: `IPv4`, `IPv6`.
pub fn family_name(f: IpFamily) -> &'static str {
    match f {
        IpFamily::Ipv4 => "IPv4",
        IpFamily::Ipv6 => "IPv6",
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn a_fix_is_given_once() {
        let f = Finding::new(Cause::KeepaliveRace, Severity::Warning, 0.5, "t")
            .fixes(&["retry once on a 502", "raise it"])
            .fixes(&["retry once on a 502"]);
        assert_eq!(f.fix, ["retry once on a 502", "raise it"]);
    }

    #[test]
    fn ids_are_kebab_case_and_round_trip() {
        assert_eq!(Cause::IdleTimeout.as_str(), "idle-timeout");
        assert_eq!(Cause::IntegrationTimeout.to_string(), "integration-timeout");
        for c in Cause::iter() {
            assert_eq!(c.as_str().parse::<Cause>(), Ok(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
            assert!(!c.headline().is_empty(), "{c} has a headline");
        }
        assert_eq!(Cause::ALL.to_vec(), Cause::iter().collect::<Vec<_>>());
    }

    #[test]
    fn discriminants_and_order_stay_put() {
        assert_eq!(Cause::Healthy as u64, 0);
        assert_eq!(Cause::Errors as u64, 10);
        assert_eq!(Cause::Inconclusive as u64, 11);
        assert!(Cause::Errors < Cause::Inconclusive);
    }

    #[test]
    fn the_schema_lists_every_cause_in_order() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
        let ids: Vec<&str> = schema["$defs"]["cause"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let ours: Vec<&str> = Cause::iter().map(Cause::as_str).collect();
        assert_eq!(ids, ours);
    }

    #[test]
    fn the_causes_page_explains_every_cause() {
        let page = include_str!("../../docs/causes.md");
        for c in Cause::iter() {
            assert!(
                page.contains(&format!("\n## `{c}`\n")),
                "docs/causes.md has no section for {c}"
            );
        }
    }
}

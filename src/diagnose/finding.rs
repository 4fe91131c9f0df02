//! What a detector concludes: a cause, how bad, how sure, and why.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable cause ids (ARCHITECTURE.md); `docs/causes.md` explains each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    Healthy,
    IdleTimeout,
    BadPath,
    SynLoss,
    DnsTimeout,
    SlowTls,
    SlowBackend,
    Edge,
    IntegrationTimeout,
    KeepaliveRace,
    Errors,
    /// Nothing found, but the plan could not test every cause. Last, so
    /// that the others keep their discriminants (tests seed from them).
    Inconclusive,
}

impl Cause {
    pub const ALL: [Cause; 12] = [
        Cause::Healthy,
        Cause::Inconclusive,
        Cause::IdleTimeout,
        Cause::BadPath,
        Cause::SynLoss,
        Cause::DnsTimeout,
        Cause::SlowTls,
        Cause::SlowBackend,
        Cause::Edge,
        Cause::IntegrationTimeout,
        Cause::KeepaliveRace,
        Cause::Errors,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Healthy => "healthy",
            Cause::Inconclusive => "inconclusive",
            Cause::IdleTimeout => "idle-timeout",
            Cause::BadPath => "bad-path",
            Cause::SynLoss => "syn-loss",
            Cause::DnsTimeout => "dns-timeout",
            Cause::SlowTls => "slow-tls",
            Cause::SlowBackend => "slow-backend",
            Cause::Edge => "edge",
            Cause::IntegrationTimeout => "integration-timeout",
            Cause::KeepaliveRace => "keepalive-race",
            Cause::Errors => "errors",
        }
    }

    pub fn parse(id: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == id)
    }

    /// The cause in a few words, for the verdict sentence.
    pub fn headline(self) -> &'static str {
        match self {
            Cause::Healthy => "nothing stands out: the path is healthy",
            Cause::Inconclusive => "nothing stands out, but not every cause was tested",
            Cause::IdleTimeout => "an idle timer on the path drops connections that sat unused",
            Cause::BadPath => "one of several paths behind the gateway is bad",
            Cause::SynLoss => "TCP handshakes lose SYNs and wait for the retransmit timer",
            Cause::DnsTimeout => "DNS resolution stalls",
            Cause::SlowTls => "TLS handshakes are slow",
            Cause::SlowBackend => "the backend itself is slow",
            Cause::Edge => "the edge (CloudFront) in front of the custom domain adds latency",
            Cause::IntegrationTimeout => "the integration does not answer within the gateway's timeout",
            Cause::KeepaliveRace => {
                "the backend closes keep-alive connections just as the gateway reuses them"
            }
            Cause::Errors => "requests fail",
        }
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
        }
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Finding {
        self.evidence.push(line.into());
        self
    }

    pub fn fixes(mut self, lines: &[&str]) -> Finding {
        self.fix.extend(lines.iter().map(|s| s.to_string()));
        self
    }

    pub fn targets(mut self, names: impl IntoIterator<Item = String>) -> Finding {
        self.targets = names.into_iter().collect();
        self.targets.sort();
        self.targets.dedup();
        self
    }

    /// Ordering for the verdict: most severe first, then most confident.
    pub fn rank(&self) -> (Severity, i64) {
        (self.severity, (self.confidence * 1000.0) as i64)
    }
}

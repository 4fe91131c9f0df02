//! Words and values several detectors share: the hops of a path by its
//! kind, the ALB's idle timeout by default, and the fix of a target
//! keep-alive shorter than it. One place, so that the findings agree.

use crate::aws::path::model::defaults;
use crate::diagnose::PathKind;

/// The ALB's idle timeout by default (`idle_timeout.timeout_seconds`, 60 s),
/// in scenario ms.
pub(crate) const ALB_IDLE_MS: f64 = defaults::ALB_IDLE_TIMEOUT_S as f64 * 1000.0;

/// The fix of a target whose keep-alive is shorter than the ALB's idle
/// timeout (the ALB reuses a connection the target just closed).
pub(crate) const TARGET_KEEPALIVE_FIX: &str = "Keep the targets' keep-alive longer than the ALB's idle timeout (`idle_timeout.timeout_seconds`, 60 s by default): Node.js `server.keepAliveTimeout` above it (e.g. 65 s; 5 s by default) and `server.headersTimeout` above that; nginx `keepalive_timeout` (75 s by default); gunicorn `--keep-alive` (2 s by default); or lower the ALB's idle timeout below the targets'.";

/// The fix of the ALB's idle timeout racing the gateway's reuse, in
/// general words: `--aws-config` replaces it with the ALB it read.
pub(crate) const ALB_IDLE_RAISE_FIX: &str = "The ALB closes a connection idle for its `idle_timeout.timeout_seconds` (60 s by default) with a FIN; a request the gateway sends on it just then fails. Raise the ALB's idle timeout (1–4000 s) above the longest quiet gap your traffic leaves, or keep the API busier than that.";

/// The fix of an ALB's 502 pages from a target that went away, refused
/// the ALB's connection or failed its TLS handshake (not a keep-alive).
pub(crate) const TARGET_REFUSED_FIX: &str = "If the ALB's 502s cluster in a window, a target went away or refused the ALB's connections (a deploy, a crash, a restart, a failed TLS handshake to an HTTPS target): compare the window with deploys and target health (`DescribeTargetHealth`, UnHealthyHostCount), watch TargetConnectionErrorCount, stop targets only after they are deregistered and drained (`deregistration_delay.timeout_seconds`), and keep the targets' certificates and TLS settings valid.";

/// The hops between the gateway and the app on a path of this kind.
pub(crate) fn hops(kind: PathKind) -> &'static str {
    match kind {
        PathKind::Nlb => "VPC link, NLB, nginx",
        PathKind::Alb => "VPC link, ALB, target",
        PathKind::CloudMap => "VPC link, Cloud Map service, target",
        PathKind::Unknown => "VPC link, NLB or ALB, target",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_names_its_own_hop_only() {
        assert!(hops(PathKind::Alb).contains("ALB") && !hops(PathKind::Alb).contains("NLB"));
        assert!(hops(PathKind::Nlb).contains("NLB") && !hops(PathKind::Nlb).contains("ALB"));
        assert!(hops(PathKind::Unknown).contains("NLB") && hops(PathKind::Unknown).contains("ALB"));
        assert_eq!(ALB_IDLE_MS, 60_000.0);
    }
}

//! `errors`: requests fail, and no more specific cause accounts for them.

use std::collections::BTreeMap;

use super::{ratio, target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::frac;
use crate::probe::refusal::Reason;

const FIX: &[&str] = &[
    "A failure with x-amzn-errortype was the gateway's own answer (throttling, auth, its integration failing); without it the status came from the integration: read the app's and nginx's logs for those request ids.",
    "Resets and timeouts on reused connections after a quiet period point at an idle timer: run `coldlink diagnose --idle-sweep`.",
    "For 5xx from the app, its logs at the probes' times (the records carry x-amzn-requestid and the trace id).",
];

const UNREACHABLE_FIX: &[&str] = &[
    "Nothing behind the first hop was reached, so nothing about the gateway, the VPC link or the backend can be said yet. Check the URL's host and port, and that the endpoint exists in that region: a private API answers only from inside its VPC, through its interface VPC endpoint.",
    "Refused: nothing listens at that address, or a firewall rejects the connection. Timeout in connect: a security group, network ACL or route drops the SYNs. DNS: the name does not resolve from where coldlink runs.",
];

/// What to do about a refusal the server explained: the request, its
/// credentials or this host is at fault, not the path or the backend.
fn refusal_fix(reason: Reason) -> &'static str {
    match reason {
        Reason::Signature | Reason::IncompleteSignature => "The gateway recomputed the SigV4 signature and got another: check the secret access key (are these the credentials meant? --aws-profile), --sigv4-service and the region, and that nothing between coldlink and the gateway rewrites the Host, path or query.",
        Reason::ClockSkew => "This host's clock is more than 5 minutes off AWS's, and a signature carries its time: synchronise the clock (chrony, systemd-timesyncd).",
        Reason::Credentials => "The access key or session token is not valid (expired, revoked, or of another partition): refresh the credentials (aws sso login, a new role session).",
        Reason::Unsigned => "The API uses AWS_IAM authorisation and the probes were not signed (sign them with --sigv4), or the path or method does not exist: check the path against the API's routes and stage.",
        Reason::NotAuthorized => "The identity is valid but not allowed: give it execute-api:Invoke on this API's ARN, in its IAM policy and in the API's resource policy.",
        Reason::NoClientCertificate | Reason::ClientCertificateExpired | Reason::ClientCertificateRefused => "The server requires a valid client certificate (mutual TLS): give --cert and --key, issued by a CA in the server's trust store and not expired.",
    }
}

/// Failures below this rate (and below two) are noise, not a finding.
const MIN_RATE: f64 = 0.02;

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let failed: Vec<usize> = (0..ds.samples.len())
        .filter(|&i| !input.explained[i] && ds.samples[i].failed())
        .collect();
    let rate = frac(failed.len(), ds.samples.len());
    if failed.len() < 2 || rate < MIN_RATE {
        return None;
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut from_gateway = 0;
    let mut reasons: BTreeMap<Reason, usize> = BTreeMap::new();
    for &i in &failed {
        let s = &ds.samples[i];
        let key = match (s.error, s.refusal) {
            (_, Some(reason)) => {
                *reasons.entry(reason).or_default() += 1;
                format!("{} {}", s.status, reason.label())
            }
            (Some((crate::probe::ErrorKind::Status, _)) | None, None) => format!("status {}", s.status),
            (Some((kind, phase)), None) => format!("{kind} in {phase}"),
        };
        *kinds.entry(key).or_default() += 1;
        from_gateway += s.gateway_error as usize;
    }
    let mut by_kind: Vec<(String, usize)> = kinds.into_iter().collect();
    by_kind.sort_by_key(|k| std::cmp::Reverse(k.1));
    let summary = by_kind
        .iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let severity = if rate >= 0.1 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let unreachable = ds.unreachable_targets();
    let refused: usize = reasons.values().sum();
    let title = if refused == failed.len() {
        format!(
            "{} requests refused, and the server said why: {summary}",
            ratio(failed.len(), ds.samples.len())
        )
    } else if unreachable.is_empty() {
        format!(
            "{} requests failed: {summary}",
            ratio(failed.len(), ds.samples.len())
        )
    } else {
        format!(
            "{} unreachable: no connection was made ({summary})",
            unreachable.join(", ")
        )
    };
    let mut f = Finding::new(Cause::Errors, severity, 0.5 + (rate * 4.0).min(0.4), title);
    // The refusals' own fixes first: the server named the cause.
    let mut said: Vec<&str> = reasons.keys().map(|r| refusal_fix(*r)).collect();
    said.dedup();
    f = f.fixes(&said);
    if refused < failed.len() {
        f = f.fixes(if unreachable.is_empty() {
            FIX
        } else {
            UNREACHABLE_FIX
        });
    }
    f = f.targets(target_names(ds, failed.iter().copied()));
    for t in 0..ds.targets.len() {
        let n = ds.of_target(t as u16).count();
        let bad = failed
            .iter()
            .filter(|&&i| ds.samples[i].target as usize == t)
            .count();
        if n > 0 {
            f = f.evidence(format!("{}: {}", ds.targets[t].name, ratio(bad, n)));
        }
    }
    let reused = failed.iter().filter(|&&i| ds.samples[i].reused).count();
    f = f.evidence(format!(
        "{reused} on reused connections, {} on new ones",
        failed.len() - reused
    ));
    if refused > 0 {
        f = f.evidence(format!(
            "{refused} refused for a reason the server gave (the request, its credentials or this host's clock; not the path or the backend)"
        ));
    }
    if from_gateway > 0 {
        f = f.evidence(format!(
            "{from_gateway} answered by the gateway itself (x-amzn-errortype)"
        ));
    }
    if let Some(line) = stream_cut(ds, &failed) {
        f = f.evidence(line);
    }
    Some(Detection::new(f, failed))
}

/// A streamed response (`responseTransferMode: STREAM`) is cut when it
/// sends nothing for its idle timeout: 30 s through an edge-optimized
/// endpoint, 5 min on a regional or private one. A failure in the body
/// phase after at least that long names the timer.
fn stream_cut(ds: &crate::diagnose::Dataset, failed: &[usize]) -> Option<String> {
    use crate::probe::Phase;
    let body = |i: usize| ds.samples[i].phase(Phase::Body).unwrap_or(0.0);
    let cut: Vec<usize> = failed
        .iter()
        .copied()
        // Only a target that streams: a buffered answer's body failing
        // late is a download cut, not a stream's idle timer.
        .filter(|&i| ds.target_streams(ds.samples[i].target))
        .filter(|&i| matches!(ds.samples[i].error, Some((_, Phase::Body))) && body(i) >= 28_500.0)
        .collect();
    if cut.is_empty() {
        return None;
    }
    let longest = cut.iter().map(|&i| body(i)).fold(0.0, f64::max);
    let timer = if longest >= 285_000.0 {
        "a regional or private API's 5 min (or the edge's 30 s)"
    } else {
        "an edge-optimized endpoint's 30 s"
    };
    Some(format!(
        "{} failed in the body after {} or more of it: a streamed response (`responseTransferMode: STREAM`) is cut when it sends nothing for its idle timeout, {timer}; send data (or a keep-alive chunk) more often than that",
        cut.len(),
        crate::format::human_ms(cut.iter().map(|&i| body(i)).fold(f64::INFINITY, f64::min))
    ))
}

//! `slow-backend`: the app itself is slow. Time to first byte dominates and
//! is roughly the same on every request — not tied to an idle gap, not
//! split between a fast and a slow path.

use super::words::hops;
use super::{Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::quantiles;
use crate::diagnose::PathKind;
use crate::format::human_ms;
use crate::probe::Phase;

/// Median time to first byte above which a backend counts as slow, unless
/// `--slow` says otherwise (scenario ms).
pub const DEFAULT_LIMIT_MS: f64 = 400.0;

/// Median time to first byte (real ms) a backend must also exceed. The
/// in-process lab's gateway, load balancer and backend take turns on the
/// CPU: on a loaded machine their answer took 21–67 ms of real time, which
/// at speed 30–100 reads as a backend taking seconds. Outside the lab
/// (scale 1) the limit above is higher and this never binds.
pub const MIN_REAL_MS: f64 = 60.0;

const FIX: &[&str] = &[
    "Profile the app: its own segment in X-Ray, or its access log's request time (nginx `$upstream_response_time`); API Gateway's IntegrationLatency close to Latency confirms the time is spent behind the gateway.",
    "Look at what each request waits on in the app: database queries, calls to other services, cold caches, too few workers for the load.",
];

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let limit = ds.slow_override_ms.unwrap_or(DEFAULT_LIMIT_MS);
    let mut f: Option<Finding> = None;
    for (t, target) in ds.targets.iter().enumerate() {
        let ok: Vec<&crate::diagnose::dataset::Sample> = ds
            .of_target(t as u16)
            .filter(|(i, s)| !input.explained[*i] && s.ok())
            .map(|(_, s)| s)
            .collect();
        let warm: Vec<_> = ok.iter().filter(|s| s.reused).copied().collect();
        let use_set = if warm.len() >= 5 { warm } else { ok };
        if use_set.len() < 5 {
            continue;
        }
        let q = quantiles(
            use_set.iter().filter_map(|s| s.phase(Phase::Ttfb)),
            &[0.1, 0.5, 0.9],
        );
        let (p10, p50, p90) = (q[0], q[1], q[2]);
        let total_p50 = quantiles(use_set.iter().map(|s| ds.judged_ms(s)), &[0.5])[0];
        // In the lab a few real milliseconds of client noise read as
        // hundreds of scenario ones: the median must be slow in real time too.
        let real = ds.slow_override_ms.is_some() || ds.real_ms(p50) > MIN_REAL_MS;
        if !(super::slower_than(ds, p50, limit) && real && p10 >= 0.5 * p50 && p50 >= 0.5 * total_p50) {
            continue;
        }
        let mut confidence: f64 = 0.6;
        if p10 >= 0.7 * p50 {
            confidence += 0.2;
        }
        if use_set.len() >= 20 {
            confidence += 0.1;
        }
        let severity = if p50 >= 2.5 * limit {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let finding = Finding::new(
            Cause::SlowBackend,
            severity,
            confidence,
            format!(
                "The backend takes {} to answer (time to first byte p50), on every request",
                human_ms(p50)
            ),
        )
        .evidence(format!(
            "{}: TTFB p10 {} · p50 {} · p90 {} over {} requests; {:.0} % of the total",
            target.name,
            human_ms(p10),
            human_ms(p50),
            human_ms(p90),
            use_set.len(),
            p50 / total_p50 * 100.0
        ))
        .evidence(format!(
            "one mode, not a fast and a slow path: p10 is {:.0} % of p50",
            p10 / p50 * 100.0
        ))
        .fixes(FIX)
        .targets([target.name.clone()]);
        f = Some(match f {
            None => finding,
            Some(mut prev) => {
                prev.evidence.extend(finding.evidence);
                prev.targets.extend(finding.targets);
                prev.confidence = prev.confidence.max(finding.confidence);
                prev.severity = prev.severity.max(finding.severity);
                prev
            }
        });
    }
    f.map(|f| {
        let targets = f.targets.clone();
        let kind = ds.path_kind(
            ds.targets
                .iter()
                .enumerate()
                .filter(|(_, t)| targets.contains(&t.name))
                .map(|(i, _)| i as u16),
        );
        let f = match &input.aws.xray {
            Some(x) => with_xray(f, x, kind),
            None => f,
        };
        let f = match &input.aws.cloudwatch {
            Some(cw) => with_cloudwatch(f, cw),
            None => f,
        };
        Detection::new(f.targets(targets), Vec::new())
    })
}

/// API Gateway's own view of the run (a slow backend is slow throughout):
/// `IntegrationLatency` close to `Latency` puts the time behind the
/// gateway; far below it, in the gateway itself.
fn with_cloudwatch(mut f: Finding, cw: &crate::diagnose::cloudwatch::CloudWatchEvidence) -> Finding {
    let Some((latency, integration)) = cw.api_latencies() else {
        return f;
    };
    let place = if integration >= 0.8 * latency {
        "the time is behind the gateway, in the integration"
    } else {
        "much of the time is the gateway's own, not the integration's"
    };
    f.evidence.push(format!(
        "CloudWatch: API Gateway's Latency averaged {} over the run and its IntegrationLatency {}: {place}",
        human_ms(latency),
        human_ms(integration)
    ));
    f
}

/// The app's share of the integration, when X-Ray traced both, points at
/// the app or at the path to it (the VPC link, the load balancer).
fn with_xray(mut f: Finding, x: &crate::diagnose::xray::XrayEvidence, kind: PathKind) -> Finding {
    let b = &x.breakdown_ms;
    let (Some(gateway), Some(integration)) = (b.gateway, b.integration) else {
        return f;
    };
    match b.app {
        Some(app) if app.p50 >= 0.7 * integration.p50 => {
            f.confidence = super::raise(f.confidence, 0.05);
            f.evidence.push(format!(
                "X-Ray: the app's own segment takes {} of the integration's {} (p50): the time is in the app",
                human_ms(app.p50),
                human_ms(integration.p50)
            ));
        }
        Some(app) => {
            f.title = format!(
                "{}; X-Ray puts it between the gateway and the app ({}), not in the app",
                f.title,
                hops(kind)
            );
            f.evidence.push(format!(
                "X-Ray: the integration takes {} but the app's own segment only {} (p50): {} is spent on the way to the app",
                human_ms(integration.p50),
                human_ms(app.p50),
                human_ms(integration.p50 - app.p50)
            ));
            f.fix.insert(0, path_fix(kind).to_string());
        }
        None => f.evidence.push(format!(
            "X-Ray: the integration takes {} of the gateway's {} (p50): the time is behind the gateway, on the way ({}) or in the app (trace the app to tell which)",
            human_ms(integration.p50),
            human_ms(gateway.p50),
            hops(kind)
        )),
    }
    f
}

const PATH_FIX_NLB: &str = "Look at the path to the app: nginx's `$upstream_connect_time` and `$upstream_response_time` against `$request_time` (the difference is nginx and the network before it), the NLB's NewFlowCount and reset counts in the slow minutes, and whether nginx reaches the app over a slow or distant network.";
const PATH_FIX_ALB: &str = "Look at the path to the app: the ALB's TargetResponseTime (the target's own time) against the integration's, its TargetConnectionErrorCount and the access log's `request_processing_time` and `target_processing_time` in the slow minutes, and whether the targets sit in a slow or distant network.";
const PATH_FIX_UNKNOWN: &str = "Look at the path to the app: behind an NLB, nginx's `$upstream_connect_time` and `$upstream_response_time` against `$request_time` and the NLB's NewFlowCount and reset counts; behind an ALB, its TargetResponseTime and access log's `target_processing_time` in the slow minutes.";

/// Where to look on the way to the app, for the hop there.
fn path_fix(kind: PathKind) -> &'static str {
    match kind {
        PathKind::Nlb => PATH_FIX_NLB,
        PathKind::Alb => PATH_FIX_ALB,
        _ => PATH_FIX_UNKNOWN,
    }
}

//! `integration-timeout`: the gateway gave up waiting for the integration
//! and answered 504 — always after the same time (29 s on a REST API, 30 s
//! on an HTTP API, or a lower timeout configured on the integration).

use super::{ratio, target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{median, sorted};
use crate::format::human_ms;

/// The API Gateway limits a 504's total lands near.
const AWS_LIMITS_MS: [(f64, &str); 2] = [(29_000.0, "REST API"), (30_000.0, "HTTP API")];

const FIX: &[&str] = &[
    "Find what the integration waits on: compare IntegrationLatency with Latency, and the app's own segment in X-Ray; if the app answers fast, the wait is on the path (VPC link, NLB, nginx).",
    "If the work legitimately takes this long, make it asynchronous (answer 202 and let the client poll): a REST API integration can wait at most 29 s by default.",
    "If only some requests time out, look at the other findings: a stalled idle connection or a dead target can hold a request until the gateway gives up.",
];

pub fn detect(input: &Input<'_>) -> Option<Detection> {
    let ds = input.ds;
    let hits: Vec<usize> = ds
        .samples
        .iter()
        .enumerate()
        .filter(|(i, s)| !input.explained[*i] && s.status == 504)
        .map(|(i, _)| i)
        .collect();
    if hits.is_empty() {
        return None;
    }
    let totals = sorted(hits.iter().map(|&i| ds.samples[i].total_ms));
    let m = median(&totals);
    let near = |t: f64| (t - m).abs() <= 0.1 * m;
    let clustered: Vec<usize> = hits
        .iter()
        .copied()
        .filter(|&i| near(ds.samples[i].total_ms))
        .collect();
    let tight = clustered.len() as f64 >= 0.8 * hits.len() as f64;
    // The two limits are 1 s apart: name the nearer one, not the first.
    let limit = AWS_LIMITS_MS
        .iter()
        .filter(|(ms, _)| (m - ms).abs() <= 1_500.0)
        .min_by(|a, b| (m - a.0).abs().total_cmp(&(m - b.0).abs()));
    if !(limit.is_some() || (clustered.len() >= 2 && tight)) {
        return None;
    }
    let mut confidence = 0.6;
    if limit.is_some() {
        confidence += 0.25;
    }
    if clustered.len() >= 3 && tight {
        confidence += 0.1;
    }
    let named = match limit {
        Some((_, api)) => format!("the {api} integration timeout"),
        None => "a configured integration timeout".to_string(),
    };
    let from_gateway = hits.iter().filter(|&&i| ds.samples[i].gateway_error).count();
    let mut f = Finding::new(
        Cause::IntegrationTimeout,
        Severity::Critical,
        confidence,
        format!(
            "{} requests end in 504 after {}: {named}",
            ratio(hits.len(), ds.samples.len()),
            human_ms(m)
        ),
    )
    .evidence(format!(
        "{}/{} of the 504s took {} ± 10 % (range {}–{})",
        clustered.len(),
        hits.len(),
        human_ms(m),
        human_ms(totals[0]),
        human_ms(totals[totals.len() - 1])
    ))
    .fixes(FIX)
    .targets(target_names(ds, hits.iter().copied()));
    // Per target, what `--aws-config` compares each route's timeout with.
    for (t, info) in ds.targets.iter().enumerate() {
        let mine = sorted(
            hits.iter()
                .filter(|&&i| ds.samples[i].target as usize == t)
                .map(|&i| ds.samples[i].total_ms),
        );
        if !mine.is_empty() {
            f.measured.timeout_ms.insert(info.name.clone(), median(&mine));
        }
    }
    if let Some((ms, api)) = limit {
        f = f.evidence(format!("{api} integrations time out at {}", human_ms(*ms)));
    }
    if from_gateway > 0 {
        f = f.evidence(format!(
            "{from_gateway} carried x-amzn-errortype: the gateway itself answered"
        ));
    }
    Some(Detection::new(f, clustered))
}

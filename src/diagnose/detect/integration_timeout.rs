//! `integration-timeout`: something in front of a slow integration gave up
//! waiting and answered 504 — always after the same time. Either API
//! Gateway (`x-amzn-errortype`, a JSON body) at the integration's
//! `timeoutInMillis`: 29 s by default on a REST API, 30 s on an HTTP API,
//! 50 ms up to that (or more, by quota, on regional and private REST APIs)
//! when configured; or an ALB (`server: awselb/2.0`, its HTML page) at its
//! own idle timeout (`idle_timeout.timeout_seconds`, 60 s by default) when
//! the target stays silent that long. Nothing assumes 29 s: a cluster
//! elsewhere is "a configured timeout of X".

use super::words::{hops, ALB_IDLE_MS};
use super::{ratio, target_names, Detection, Input};
use crate::diagnose::finding::{Cause, Finding, Severity};
use crate::diagnose::num::{median, sorted};
use crate::format::human_ms;

/// The API Gateway defaults a 504's total lands near.
const AWS_LIMITS_MS: [(f64, &str); 2] = [(29_000.0, "REST API"), (30_000.0, "HTTP API")];

const ALB_FIX: &[&str] = &[
    "The ALB answered 504 itself: the target sent nothing for the ALB's idle timeout (`idle_timeout.timeout_seconds`, 60 s by default). Find what the target waits on (its own logs, `TargetResponseTime`, X-Ray); if the work legitimately takes this long, make it asynchronous, or raise the ALB's idle timeout (1–4000 s) and the integration's timeout with it.",
    "API Gateway's own integration timeout (29 s by default on a REST API, 30 s on an HTTP API) ends a request before a 60 s ALB timeout: a 504 from the ALB means that timeout was raised (by quota) above the ALB's, or the ALB's was lowered below it.",
];

/// The first fix of a gateway's timeout; it names the hops of the path.
const FIND: &str = "Find what the integration waits on: compare IntegrationLatency with Latency, and the app's own segment in X-Ray; if the app answers fast, the wait is on the path";

const FIX: &[&str] = &[
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
    let alb = hits.iter().filter(|&&i| ds.samples[i].alb_answered).count();
    // The ALB's own 504 pages, most of them: its idle timeout, not API Gateway's.
    let by_alb = alb * 2 > hits.len();
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
        .filter(|_| !by_alb)
        .filter(|(ms, _)| (m - ms).abs() <= 1_500.0)
        .min_by(|a, b| (m - a.0).abs().total_cmp(&(m - b.0).abs()));
    let alb_default = by_alb && (m - ALB_IDLE_MS).abs() <= 1_500.0;
    if !(limit.is_some() || alb_default || (clustered.len() >= 2 && tight)) {
        return None;
    }
    let mut confidence = 0.6;
    // A known limit, or the ALB's own 504 page: the timer that fired is named
    // by the answer itself, whatever it was set to.
    if limit.is_some() || by_alb {
        confidence += 0.25;
    }
    if clustered.len() >= 3 && tight {
        confidence += 0.1;
    }
    let named = match limit {
        _ if alb_default => "the ALB's idle timeout (60 s by default) ran out on a slow target".to_string(),
        _ if by_alb => format!(
            "the ALB's idle timeout, configured to {}, ran out on a slow target",
            human_ms(m)
        ),
        Some((_, api)) => format!("the {api} integration timeout, at its default"),
        None => format!("a configured integration timeout of {}", human_ms(m)),
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
    .targets(target_names(ds, hits.iter().copied()));
    if by_alb {
        f = f.fixes(ALB_FIX);
    } else {
        let kind = ds.path_kind(hits.iter().map(|&i| ds.samples[i].target));
        let find = format!("{FIND} ({}).", hops(kind));
        f = f.fixes(&[find.as_str()]).fixes(FIX);
    }
    // Per target, what `--aws-config` compares each route's timeout with
    // (not the ALB's: its idle timeout is no integration's).
    for (t, info) in ds.targets.iter().enumerate().filter(|_| !by_alb) {
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
        f = f.evidence(format!(
            "{api} integrations time out at {} by default (`timeoutInMillis`, 50 ms and up, per integration)",
            human_ms(*ms)
        ));
    }
    if alb > 0 {
        f = f.evidence(format!(
            "{alb} were the ALB's own 504 page (`server: awselb/…`): the ALB gave up on the target, not API Gateway on the integration"
        ));
    }
    if from_gateway > 0 {
        f = f.evidence(format!(
            "{from_gateway} carried x-amzn-errortype: the gateway itself answered"
        ));
    }
    Some(Detection::new(f, clustered))
}

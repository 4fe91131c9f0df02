//! X-Ray evidence for the report: which probes to look up (every slow or
//! failed one, and an even sample of the others as a baseline), the lookup
//! in order (by id, then a search of the run's window when ids are missing)
//! and, from the traces found, where their time went. The calls themselves
//! are `aws::xray`'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::num::quantiles;
use crate::aws::segments::{Breakdown, TraceError};
use crate::probe::trace::TraceKey;

/// At most this many probes are looked up (BatchGetTraces takes five a call).
pub const MAX_LOOKUPS: usize = 200;
/// Fast probes looked up as the baseline the slow ones are compared with.
pub const BASELINE: usize = 20;

/// A probe to look up: its index in the dataset and its trace id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub sample: usize,
    pub trace: TraceKey,
    pub slow: bool,
}

/// Every slow or failed probe that carried a trace id (the most recent
/// first when there are too many), then an even spread of the others.
pub fn pick(ds: &Dataset) -> Vec<Pick> {
    let traced = || {
        ds.samples
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.trace.map(|t| (i, s, t)))
    };
    let mut slow: Vec<Pick> = traced()
        .filter(|(_, s, _)| s.failed() || (s.responded() && ds.is_slow(s)))
        .map(|(i, _, t)| Pick {
            sample: i,
            trace: t,
            slow: true,
        })
        .collect();
    let keep_slow = MAX_LOOKUPS - BASELINE;
    if slow.len() > keep_slow {
        slow.drain(..slow.len() - keep_slow);
    }
    let fast: Vec<Pick> = traced()
        .filter(|(_, s, _)| s.ok() && !ds.is_slow(s))
        .map(|(i, _, t)| Pick {
            sample: i,
            trace: t,
            slow: false,
        })
        .collect();
    // An even spread over the run, so the baseline covers its whole length.
    let take = (MAX_LOOKUPS - slow.len()).min(BASELINE).min(fast.len());
    if take > 0 {
        let step = fast.len() as f64 / take as f64;
        slow.extend((0..take).map(|k| fast[(k as f64 * step) as usize]));
    }
    slow
}

/// p50 and p99 of one part of the breakdown, in scenario ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p50: f64,
    pub p99: f64,
    /// How many traces had this part.
    pub n: usize,
}

/// Where the time went, part by part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parts {
    /// The client's total less the gateway's stage segment: DNS, connect,
    /// TLS, the edge, the network.
    pub before_gateway: Option<Spread>,
    /// The stage segment, end to end.
    pub gateway: Option<Spread>,
    /// The integration request: VPC link, NLB, nginx, app.
    pub integration: Option<Spread>,
    /// The app's own segment (when the app is traced).
    pub app: Option<Spread>,
}

/// `aws.xray` in the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct XrayEvidence {
    pub probes_looked_up: usize,
    pub traces_found: usize,
    /// Ids X-Ray (or the retrieval from CloudWatch Logs) never returned:
    /// not sampled, an HTTP API, or not arrived within the wait.
    pub missing: usize,
    /// Traces found but unreadable (no stage segment, say), by reason.
    pub unreadable: BTreeMap<String, usize>,
    /// Over every trace found.
    pub breakdown_ms: Parts,
    /// Over the slow or failed probes' traces only.
    pub slow_breakdown_ms: Parts,
    /// The lookup stopped on this error; what was found before is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When probes' ids were missing: the stage's other traces in the
    /// run's window, by `GetTraceSummaries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_search: Option<WindowSearch>,
    /// Where the account sends its spans (`GetTraceSegmentDestination`):
    /// `XRay`, `CloudWatchLogs` (Transaction Search: read back with
    /// `StartTraceRetrieval`), or null when it could not be told.
    #[serde(default)]
    pub destination: Option<String>,
    /// What the reader should know about how the traces were read (the
    /// destination unknown, a change of destination under way, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// `aws.xray.window_search`: traces of the API stage in the run's window,
/// not matched to probes (so no time before the gateway).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowSearch {
    /// The X-Ray filter the search used.
    pub filter: String,
    pub traces_found: usize,
    pub breakdown_ms: Parts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// At most this many traces of the window are read.
pub const WINDOW_SEARCH_LIMIT: usize = 100;

/// The X-Ray filter for a REST API stage's traces.
pub fn stage_filter(api_id: &str, stage: &str) -> String {
    format!("service(id(name: \"{api_id}/{stage}\", type: \"AWS::ApiGateway::Stage\"))")
}

/// How to look up: how long to wait for late traces, and the filter for a
/// search of the window when ids are missing (none: no search).
#[derive(Debug, Clone)]
pub struct Lookup {
    pub wait: std::time::Duration,
    pub search_filter: Option<String>,
}

/// Look up the picked probes' traces: first where the account sends its
/// spans (X-Ray, or CloudWatch Logs with Transaction Search), then by id
/// from there; when some never come back, search the run's window for the
/// stage's traces. `say` reports progress.
pub async fn look_up(
    client: &aws_sdk_xray::Client,
    ds: &Dataset,
    how: &Lookup,
    say: &dyn Fn(String),
) -> XrayEvidence {
    use crate::aws::xray::{fetch, Polling};
    use crate::aws::xray_retrieval::{destination, window_of};
    use std::time::{Duration, SystemTime};
    use tokio::time::Instant;
    let picks = pick(ds);
    if picks.is_empty() {
        say("X-Ray: no probe carried a trace id (--no-trace-header?); nothing to look up".into());
        return evidence(ds, &picks, &Default::default(), 0, None);
    }
    let deadline = Instant::now() + how.wait;
    let mut notes = Vec::new();
    let mut unknown = None;
    let dest = match destination(client).await {
        Ok(d) => Some(d),
        // An endpoint that does not answer would not answer the next call
        // either: one time limit is enough.
        Err(e) if e.timed_out => {
            return evidence(ds, &picks, &Default::default(), picks.len(), Some(e.line));
        }
        Err(e) => {
            unknown = Some(e);
            None
        }
    };
    let cwl = dest.as_ref().is_some_and(|d| d.is_cloudwatch_logs());
    notes.extend(dest.as_ref().and_then(destination_note));
    say(format!(
        "X-Ray: looking up {} traces{} (waiting up to {} for late ones)",
        picks.len(),
        if cwl {
            " in CloudWatch Logs (Transaction Search)"
        } else {
            ""
        },
        humantime::format_duration(how.wait)
    ));
    let ids: Vec<String> = picks.iter().map(|p| p.trace.to_string()).collect();
    let every = Duration::from_secs(2)
        .min(how.wait / 4)
        .max(Duration::from_millis(100));
    let polling = Polling { deadline, every };
    let mut last = usize::MAX;
    let mut progress = |found: usize, wanted: usize| {
        if found != last {
            last = found;
            say(format!("X-Ray: {found}/{wanted} traces found"));
        }
    };
    let window = |ids: &[String]| {
        let now = SystemTime::now();
        window_of(ids, now)
            .or(ds.wall_span())
            .unwrap_or((now - Duration::from_secs(3600), now))
    };
    let mut got = if cwl {
        crate::aws::xray_retrieval::retrieve(client, &ids, window(&ids), polling, &mut progress).await
    } else {
        fetch(client, &ids, polling, &mut progress).await
    };
    // A change to CloudWatch Logs under way: what X-Ray still holds is read too.
    if cwl && dest.as_ref().is_some_and(|d| d.is_pending()) && !got.missing.is_empty() {
        let once = Polling {
            deadline: Instant::now(),
            every: Duration::ZERO,
        };
        let more = fetch(client, &got.missing, once, |_, _| {}).await;
        got.found.extend(more.found);
        got.missing = more.missing;
        notes.extend(more.error);
    }
    // Unreachable, or no credentials: the lookup's own error says it once.
    if let Some(e) = unknown.filter(|e| e.answered || got.error.is_none()) {
        notes.insert(
            0,
            format!(
                "{}; the traces are read with BatchGetTraces, which finds none if the account sends its spans to CloudWatch Logs (Transaction Search)",
                e.line
            ),
        );
    }
    if got.still_running {
        got.error = got.error.map(|e| {
            format!(
                "{e}: a longer --xray-wait than {} may let it finish",
                humantime::format_duration(how.wait)
            )
        });
    }
    let mut ev = evidence(ds, &picks, &got.found, got.missing.len(), got.error);
    ev.destination = dest.as_ref().map(|d| d.name.clone());
    ev.notes = notes;
    let (Some(filter), Some((from, to))) = (&how.search_filter, ds.wall_span()) else {
        return ev;
    };
    if ev.missing == 0 || ev.error.is_some() {
        return ev;
    }
    say(format!(
        "X-Ray: {} probes' traces never came back; searching the run's window for the stage's traces",
        ev.missing
    ));
    // What is left of the wait, for a retrieval from CloudWatch Logs.
    let polling = Polling {
        deadline: deadline.max(Instant::now()),
        every,
    };
    let read = cwl.then_some((polling, window));
    ev.window_search = Some(search_window(client, ds, filter, (from, to), read).await);
    if cwl {
        ev.notes.push(TRANSACTION_SEARCH_SUMMARIES.into());
    }
    ev
}

/// A note on where spans go, when the reader should know.
fn destination_note(d: &crate::aws::xray_retrieval::Destination) -> Option<String> {
    if d.is_pending() {
        Some(format!(
            "X-Ray's trace destination is changing to {} (status {}): spans sent before the change completes may still be in the former one",
            d.name,
            d.status.as_deref().unwrap_or("?")
        ))
    } else if !d.is_cloudwatch_logs() && !d.is_xray() {
        Some(format!(
            "X-Ray names a trace destination this version does not know ({}); the traces are read with BatchGetTraces",
            d.name
        ))
    } else {
        None
    }
}

/// The stage's traces in the run's window (`GetTraceSummaries`), read with
/// `BatchGetTraces`, or, given `from_logs` (how long to wait, and the time
/// range of given ids), retrieved from CloudWatch Logs.
async fn search_window(
    client: &aws_sdk_xray::Client,
    ds: &Dataset,
    filter: &str,
    (from, to): (std::time::SystemTime, std::time::SystemTime),
    from_logs: Option<(
        crate::aws::xray::Polling,
        impl Fn(&[String]) -> (std::time::SystemTime, std::time::SystemTime),
    )>,
) -> WindowSearch {
    use crate::aws::xray::{fetch, Polling};
    let mut search = WindowSearch {
        filter: filter.to_string(),
        ..WindowSearch::default()
    };
    let found_ids = match crate::aws::xray::search(client, from, to, Some(filter), WINDOW_SEARCH_LIMIT).await
    {
        Err(e) => {
            search.error = Some(e);
            return search;
        }
        Ok(ids) => ids,
    };
    let traces = match from_logs {
        None => {
            let once = Polling {
                deadline: tokio::time::Instant::now(),
                every: std::time::Duration::ZERO,
            };
            fetch(client, &found_ids, once, |_, _| {}).await
        }
        Some(_) if found_ids.is_empty() => Default::default(),
        Some((polling, window)) => {
            let w = window(&found_ids);
            crate::aws::xray_retrieval::retrieve(client, &found_ids, w, polling, |_, _| {}).await
        }
    };
    let readable: Vec<(Option<f64>, &Breakdown)> = traces
        .found
        .values()
        .filter_map(|r| r.as_ref().ok())
        .map(|b| (None, b))
        .collect();
    search.traces_found = readable.len();
    search.breakdown_ms = parts(ds.scale, &readable);
    search.error = traces.error;
    search
}

/// Why a window search finds few traces when spans go to CloudWatch Logs.
pub const TRANSACTION_SEARCH_SUMMARIES: &str = "with Transaction Search, GetTraceSummaries sees only the spans indexed as X-Ray trace summaries (the trace indexing rate, 1 % by default): the search of the window finds at most that share of the stage's requests";

/// Summarise what the lookup found for `picks`.
pub fn evidence(
    ds: &Dataset,
    picks: &[Pick],
    found: &BTreeMap<String, Result<Breakdown, TraceError>>,
    missing: usize,
    error: Option<String>,
) -> XrayEvidence {
    let mut ev = XrayEvidence {
        probes_looked_up: picks.len(),
        missing,
        error,
        ..XrayEvidence::default()
    };
    let mut all: Vec<(Option<f64>, &Breakdown)> = Vec::new();
    let mut slow: Vec<(Option<f64>, &Breakdown)> = Vec::new();
    for p in picks {
        match found.get(&p.trace.to_string()) {
            Some(Ok(b)) => {
                let total = Some(ds.samples[p.sample].total_ms);
                all.push((total, b));
                if p.slow {
                    slow.push((total, b));
                }
            }
            Some(Err(e)) => *ev.unreadable.entry(e.to_string()).or_default() += 1,
            None => {}
        }
    }
    ev.traces_found = all.len();
    ev.breakdown_ms = parts(ds.scale, &all);
    ev.slow_breakdown_ms = parts(ds.scale, &slow);
    ev
}

/// X-Ray's times are real; the client's `total` (when the trace is a
/// probe's) is already in scenario time.
fn parts(scale: f64, traces: &[(Option<f64>, &Breakdown)]) -> Parts {
    let spread = |v: Vec<f64>| {
        let n = v.len();
        (n > 0).then(|| {
            let q = quantiles(v, &[0.5, 0.99]);
            Spread {
                p50: round(q[0]),
                p99: round(q[1]),
                n,
            }
        })
    };
    Parts {
        before_gateway: spread(
            traces
                .iter()
                .filter_map(|(total, b)| total.map(|t| (t - b.gateway_ms * scale).max(0.0)))
                .collect(),
        ),
        gateway: spread(traces.iter().map(|(_, b)| b.gateway_ms * scale).collect()),
        integration: spread(
            traces
                .iter()
                .filter_map(|(_, b)| b.integration_ms.map(|v| v * scale))
                .collect(),
        ),
        app: spread(
            traces
                .iter()
                .filter_map(|(_, b)| b.app_ms.map(|v| v * scale))
                .collect(),
        ),
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

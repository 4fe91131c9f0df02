//! The probes' own traces from X-Ray: `BatchGetTraces` by trace id, five
//! ids a call, asked again while X-Ray has not processed them yet (traces
//! take seconds to arrive), until a deadline; and, for ids that never come
//! back, a search of the run's window with `GetTraceSummaries`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use aws_sdk_xray::primitives::DateTime;
use aws_sdk_xray::types::TimeRangeType;
use aws_sdk_xray::Client;
use tokio::time::Instant;

use super::segments::{breakdown, parse_documents, Breakdown, TraceError};

/// `BatchGetTraces` takes at most this many ids a call.
pub const IDS_PER_CALL: usize = 5;

/// What the lookup found.
#[derive(Debug, Default)]
pub struct Traces {
    /// Trace id → where its time went, or why the trace could not be read.
    pub found: BTreeMap<String, Result<Breakdown, TraceError>>,
    /// Ids X-Ray never returned before the deadline: not sampled, an HTTP
    /// API (which X-Ray does not trace), or not arrived yet.
    pub missing: Vec<String>,
    /// The call that failed, if one did; what was found before it is kept.
    pub error: Option<String>,
    /// A trace retrieval from CloudWatch Logs (`xray_retrieval`) was still
    /// under way when the wait ran out: a longer wait may find more.
    pub still_running: bool,
}

/// How long to keep asking, and how often.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub deadline: Instant,
    /// The wait between rounds for ids not found yet.
    pub every: Duration,
}

/// Fetch the traces of `ids`. `progress(found, wanted)` is called after
/// every round.
pub async fn fetch(
    client: &Client,
    ids: &[String],
    polling: Polling,
    mut progress: impl FnMut(usize, usize),
) -> Traces {
    let wanted: BTreeSet<String> = ids.iter().cloned().collect();
    let mut pending: Vec<String> = wanted.iter().cloned().collect();
    let mut out = Traces::default();
    'rounds: loop {
        let mut still = Vec::new();
        for chunk in pending.chunks(IDS_PER_CALL) {
            let mut traces = match batch(client, chunk).await {
                Ok(traces) => traces,
                Err(e) => {
                    out.error = Some(e);
                    break 'rounds;
                }
            };
            for id in chunk {
                match traces.remove(id) {
                    None => still.push(id.clone()),
                    Some(result) => {
                        // A stage segment still in progress may end by the
                        // next round; if not, it stays as the last word.
                        if result == Err(TraceError::InProgress) {
                            still.push(id.clone());
                        }
                        out.found.insert(id.clone(), result);
                    }
                }
            }
        }
        progress(out.found.values().filter(|r| r.is_ok()).count(), wanted.len());
        pending = still;
        if pending.is_empty() || Instant::now() + polling.every > polling.deadline {
            break;
        }
        tokio::time::sleep(polling.every).await;
    }
    // Never returned at all; a trace returned but unreadable is in `found`.
    out.missing = wanted
        .into_iter()
        .filter(|id| !out.found.contains_key(id))
        .collect();
    out
}

/// One `BatchGetTraces` (with its pages) for up to five ids.
async fn batch(
    client: &Client,
    ids: &[String],
) -> Result<BTreeMap<String, Result<Breakdown, TraceError>>, String> {
    let mut out = BTreeMap::new();
    let mut pages = client
        .batch_get_traces()
        .set_trace_ids(Some(ids.to_vec()))
        .into_paginator()
        .send();
    while let Some(answer) = pages.next().await {
        let answer = answer.map_err(|e| super::describe("xray:BatchGetTraces", &e))?;
        for trace in answer.traces() {
            let Some(id) = trace.id() else { continue };
            let documents = trace.segments().iter().filter_map(|s| s.document());
            let result = parse_documents(documents).and_then(|segs| breakdown(&segs));
            out.insert(id.to_string(), result);
        }
    }
    Ok(out)
}

/// Send segment documents to X-Ray (`PutTraceSegments`), as the lab's
/// gateway does for the requests it handles. Returns the documents X-Ray
/// did not take.
pub async fn put_segments(client: &Client, documents: Vec<String>) -> Result<usize, String> {
    Ok(put_documents(client, documents).await?.len())
}

/// [`put_segments`], with what X-Ray said of each document it did not
/// take (`ID: CODE: MESSAGE`), for a log line that says why.
pub async fn put_documents(client: &Client, documents: Vec<String>) -> Result<Vec<String>, String> {
    let answer = client
        .put_trace_segments()
        .set_trace_segment_documents(Some(documents))
        .send()
        .await
        .map_err(|e| super::describe("xray:PutTraceSegments", &e))?;
    Ok(answer
        .unprocessed_trace_segments()
        .iter()
        .map(|u| {
            format!(
                "{}: {}: {}",
                u.id().unwrap_or("?"),
                u.error_code().unwrap_or("?"),
                u.message().unwrap_or("")
            )
        })
        .collect())
}

/// The ids of traces X-Ray has between `from` and `to` (at most `limit`),
/// by `GetTraceSummaries`, narrowed by `filter` (an X-Ray filter
/// expression, e.g. the API stage's service) when given. X-Ray searches at
/// most 24 hours at a time: a longer window keeps its last 24 hours.
pub async fn search(
    client: &Client,
    from: SystemTime,
    to: SystemTime,
    filter: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, String> {
    const MAX_SPAN: Duration = Duration::from_secs(24 * 3600);
    let from = from.max(to.checked_sub(MAX_SPAN).unwrap_or(from));
    let mut ids = Vec::new();
    let mut pages = client
        .get_trace_summaries()
        .start_time(DateTime::from(from))
        .end_time(DateTime::from(to))
        .time_range_type(TimeRangeType::Event)
        .sampling(false)
        .set_filter_expression(filter.map(str::to_string))
        .into_paginator()
        .send();
    // Page by page, so that no page is asked for once `limit` ids are in.
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| super::describe("xray:GetTraceSummaries", &e))?;
        ids.extend(
            page.trace_summaries()
                .iter()
                .filter_map(|t| t.id().map(str::to_string)),
        );
        if ids.len() >= limit {
            ids.truncate(limit);
            break;
        }
    }
    Ok(ids)
}

//! X-Ray with CloudWatch Transaction Search. Once an account sends its spans
//! to CloudWatch Logs, `BatchGetTraces` finds nothing: X-Ray no longer
//! indexes the traces. So: ask where spans go (`GetTraceSegmentDestination`)
//! and, when it is CloudWatch Logs, read the probes' traces back from there
//! (`StartTraceRetrieval`, then `ListRetrievedTraces` until the retrieval is
//! complete), in X-Ray's own format, so that the segment documents read the
//! same as `BatchGetTraces`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_xray::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_xray::primitives::DateTime;
use aws_sdk_xray::types::{RetrievalStatus, TraceFormatType, TraceSegmentDestination};
use aws_sdk_xray::Client;
use tokio::time::Instant;

use super::segments::{breakdown, parse_documents, Breakdown, TraceError};
use super::xray::{Polling, Traces};

/// `StartTraceRetrieval` takes at most this many trace ids a call.
pub const IDS_PER_RETRIEVAL: usize = 100;

/// What the account needs to read traces from CloudWatch Logs.
pub const NEEDS: &str = "traces go to CloudWatch Logs (Transaction Search); reading them needs xray:StartTraceRetrieval and xray:ListRetrievedTraces";

/// Where the account's spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `XRay`, `CloudWatchLogs`, or what a newer API answers.
    pub name: String,
    /// `ACTIVE`, or `PENDING` while a change of destination is under way
    /// (spans may then still land in the former one).
    pub status: Option<String>,
}

impl Destination {
    pub fn is_cloudwatch_logs(&self) -> bool {
        self.name == TraceSegmentDestination::CloudWatchLogs.as_str()
    }

    pub fn is_xray(&self) -> bool {
        self.name == TraceSegmentDestination::XRay.as_str()
    }

    pub fn is_pending(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s != "ACTIVE")
    }
}

/// Why the destination is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationError {
    /// One line, as `describe` words it.
    pub line: String,
    /// The call ran out of time: another call to the same endpoint would too.
    pub timed_out: bool,
    /// The service answered (with an error): not a matter of reaching it or
    /// of credentials, which the next call would meet as well.
    pub answered: bool,
}

/// Where the account sends its spans (`GetTraceSegmentDestination`).
pub async fn destination(client: &Client) -> Result<Destination, DestinationError> {
    const ACTION: &str = "xray:GetTraceSegmentDestination";
    let answer = client
        .get_trace_segment_destination()
        .send()
        .await
        .map_err(|e| DestinationError {
            line: super::describe(ACTION, &e),
            timed_out: matches!(e, SdkError::TimeoutError(_)),
            answered: matches!(e, SdkError::ServiceError(_)),
        })?;
    let name = answer.destination().ok_or_else(|| DestinationError {
        line: format!("{ACTION}: the answer names no destination"),
        timed_out: false,
        answered: true,
    })?;
    Ok(Destination {
        name: name.as_str().to_string(),
        status: answer.status().map(|s| s.as_str().to_string()),
    })
}

/// The time range to retrieve `ids` over: the seconds their ids carry (a
/// probe's id starts with its send time), from a minute before the first to
/// 15 minutes after the last (a streamed response may last that long), and
/// no later than now. `None` when no id carries a time.
pub fn window_of(ids: &[String], now: SystemTime) -> Option<(SystemTime, SystemTime)> {
    let secs = ids
        .iter()
        .filter_map(|id| id.get(2..10))
        .filter_map(|hex| u32::from_str_radix(hex, 16).ok());
    let (first, last) = secs.fold(None, |acc: Option<(u32, u32)>, s| match acc {
        None => Some((s, s)),
        Some((a, b)) => Some((a.min(s), b.max(s))),
    })?;
    let at = |s: u32| UNIX_EPOCH + Duration::from_secs(u64::from(s));
    let from = at(first) - Duration::from_secs(60);
    let to = (at(last) + Duration::from_secs(15 * 60))
        .min(now)
        .max(from + Duration::from_secs(1));
    Some((from, to))
}

/// A retrieval reads what CloudWatch Logs holds when it runs; spans of the
/// last probes may land seconds later. Ids not found are asked for again,
/// in a new retrieval, at most this many times in all, within the wait.
pub const MAX_RETRIEVALS: usize = 4;

/// Read the traces of `ids` from CloudWatch Logs: one retrieval per 100
/// ids, each asked after every `polling.every` until it is complete or
/// `polling.deadline` passes; then, while the wait lasts, a new retrieval
/// for the ids not found (or whose stage segment had not ended).
/// `progress(found, wanted)` after every look.
pub async fn retrieve(
    client: &Client,
    ids: &[String],
    window: (SystemTime, SystemTime),
    polling: Polling,
    mut progress: impl FnMut(usize, usize),
) -> Traces {
    let wanted: BTreeSet<String> = ids.iter().cloned().collect();
    let mut out = Traces::default();
    let mut ask: Vec<String> = wanted.iter().cloned().collect();
    for round in 1..=MAX_RETRIEVALS {
        let ended = one_retrieval(client, &ask, window, polling, &wanted, &mut out, &mut progress).await;
        ask = wanted
            .iter()
            .filter(|id| matches!(out.found.get(*id), None | Some(Err(TraceError::InProgress))))
            .cloned()
            .collect();
        if !ended
            || ask.is_empty()
            || round == MAX_RETRIEVALS
            || Instant::now() + polling.every > polling.deadline
        {
            break;
        }
        tokio::time::sleep(polling.every).await;
    }
    out.missing = wanted
        .into_iter()
        .filter(|id| !out.found.contains_key(id))
        .collect();
    out
}

/// One retrieval of `ids` (a call per 100), asked until complete. False
/// when it did not end well: a call failed, or the wait ran out.
async fn one_retrieval(
    client: &Client,
    ids: &[String],
    window: (SystemTime, SystemTime),
    polling: Polling,
    wanted: &BTreeSet<String>,
    out: &mut Traces,
    progress: &mut impl FnMut(usize, usize),
) -> bool {
    let mut pending: Vec<String> = Vec::new();
    for chunk in ids.chunks(IDS_PER_RETRIEVAL) {
        match start(client, chunk, window).await {
            Ok(token) => pending.push(token),
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    let mut last_status = String::new();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for token in pending {
            match list(client, &token, polling.deadline).await {
                Ok(Listing::Done(traces)) => out.found.extend(traces),
                Ok(Listing::Waiting(status)) => {
                    last_status = status;
                    still.push(token);
                }
                Ok(Listing::Ended(status)) => {
                    out.error = Some(format!(
                        "xray:ListRetrievedTraces: the trace retrieval from CloudWatch Logs ended {status}"
                    ));
                }
                Err(e) => {
                    out.error = Some(e);
                    still.clear();
                    break;
                }
            }
        }
        progress(out.found.values().filter(|r| r.is_ok()).count(), wanted.len());
        pending = still;
        if pending.is_empty() {
            break;
        }
        if Instant::now() + polling.every > polling.deadline {
            out.still_running = true;
            out.error.get_or_insert(format!(
                "xray:ListRetrievedTraces: the trace retrieval from CloudWatch Logs was still {last_status} when the wait ran out; {} of its traces not read",
                not_read(out, wanted)
            ));
            break;
        }
        tokio::time::sleep(polling.every).await;
    }
    out.error.is_none()
}

fn not_read(out: &Traces, wanted: &BTreeSet<String>) -> usize {
    wanted.iter().filter(|id| !out.found.contains_key(*id)).count()
}

/// Whether an SDK error is a refused permission.
fn denied<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    match e {
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("");
            code.starts_with("AccessDenied") || s.raw().status().as_u16() == 403
        }
        _ => false,
    }
}

/// `StartTraceRetrieval` for up to 100 ids: its retrieval token.
async fn start(
    client: &Client,
    ids: &[String],
    (from, to): (SystemTime, SystemTime),
) -> Result<String, String> {
    const ACTION: &str = "xray:StartTraceRetrieval";
    let answer = client
        .start_trace_retrieval()
        .set_trace_ids(Some(ids.to_vec()))
        .start_time(DateTime::from(from))
        .end_time(DateTime::from(to))
        .send()
        .await
        .map_err(|e| {
            let line = super::describe(ACTION, &e);
            if denied(&e) {
                format!("{NEEDS}: {line}")
            } else {
                format!(
                    "traces go to CloudWatch Logs (Transaction Search) and could not be retrieved: {line}"
                )
            }
        })?;
    answer
        .retrieval_token()
        .map(str::to_string)
        .ok_or_else(|| format!("{ACTION}: the answer carries no retrieval token"))
}

/// Where one retrieval stands.
enum Listing {
    /// Scheduled or running: ask again later.
    Waiting(String),
    /// Complete: every page read.
    Done(BTreeMap<String, Result<Breakdown, TraceError>>),
    /// Failed, cancelled or timed out on AWS's side.
    Ended(String),
}

/// Pages of one listing read at most: far more than any run's traces.
const MAX_PAGES: usize = 100;

/// `ListRetrievedTraces` for one token, with its pages once complete.
/// The pages end at an empty token, a token seen before (an endpoint that
/// repeats itself), [`MAX_PAGES`] or the wait's deadline: what was read by
/// then is kept, and the ids it lacks are asked for again by the caller.
async fn list(client: &Client, token: &str, deadline: Instant) -> Result<Listing, String> {
    let mut out = BTreeMap::new();
    let mut next: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let answer = client
            .list_retrieved_traces()
            .retrieval_token(token)
            .trace_format(TraceFormatType::Xray)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| {
                let line = super::describe("xray:ListRetrievedTraces", &e);
                if denied(&e) {
                    format!("{NEEDS}: {line}")
                } else {
                    line
                }
            })?;
        let status = answer
            .retrieval_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "UNKNOWN".into());
        match answer.retrieval_status() {
            Some(RetrievalStatus::Complete) => {}
            Some(RetrievalStatus::Failed | RetrievalStatus::Cancelled | RetrievalStatus::Timeout) => {
                return Ok(Listing::Ended(status))
            }
            // Scheduled, running, or a status this SDK does not know yet:
            // the answer holds no traces until it is complete.
            _ => return Ok(Listing::Waiting(status)),
        }
        // X-Ray's format was asked for; spans in another are not segment
        // documents, and are said to be so rather than misread.
        let otel = answer.trace_format().is_some_and(|f| *f != TraceFormatType::Xray);
        for trace in answer.traces() {
            let Some(id) = trace.id() else { continue };
            let result = if otel {
                Err(TraceError::BadDocument(
                    "spans came back in OTEL format, not as X-Ray segment documents".into(),
                ))
            } else {
                let documents = trace.spans().iter().filter_map(|s| s.document());
                parse_documents(documents).and_then(|segs| breakdown(&segs))
            };
            out.insert(id.to_string(), result);
        }
        match answer.next_token() {
            Some(t) if !t.is_empty() && seen.insert(t.to_string()) && Instant::now() < deadline => {
                next = Some(t.to_string())
            }
            _ => return Ok(Listing::Done(out)),
        }
    }
    Ok(Listing::Done(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_spans_the_ids_seconds() {
        let ids = vec![
            "1-65000010-000000000000000000000001".to_string(),
            "1-65000000-000000000000000000000002".to_string(),
            "not an id".to_string(),
        ];
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let now = at(0x6500_0000 + 10_000);
        let (from, to) = window_of(&ids, now).unwrap();
        assert_eq!(from, at(0x6500_0000 - 60));
        assert_eq!(to, at(0x6500_0010 + 900));
        // Never later than now.
        let (_, to) = window_of(&ids, at(0x6500_0020)).unwrap();
        assert_eq!(to, at(0x6500_0020));
        assert_eq!(window_of(&["x".to_string()], now), None);
    }
}

//! The exchange's marks: where a probe's `send`, `ttfb` and `body` begin
//! and end, read from the connection's I/O marks ([`IoMarks`]) in integer
//! nanoseconds after their base, and the record's connection facts at the
//! send's start: the exchange's phases and the record's connection facts,
//! both from the connection's clock. The prober ([`super::prober`])
//! decides when each is called.

use std::time::Instant;

use super::conn::ConnFacts;
use super::io::IoMarks;
use super::record::{ConnInfo, Phase};
use super::timing::{ms_ns, Marks};

/// The record's connection facts at the send's start, given as ns after
/// the connection's establishment (the base of its I/O marks, so that no
/// `Instant` arithmetic is needed: issue 20): reused or new, idle and age,
/// and whether a stale pooled connection was replaced (and how long it had
/// been idle, in ms).
pub(super) fn conn_info(
    facts: &ConnFacts,
    send: u64,
    reconnected: bool,
    stale_idle_ms: Option<f64>,
) -> ConnInfo {
    let reused = facts.requests > 0;
    ConnInfo {
        id: facts.id,
        reused,
        idle_ms: reused.then(|| ms_ns(send.saturating_sub(facts.last_used_ns))),
        age_ms: ms_ns(send),
        requests: facts.requests + 1,
        reconnected,
        stale_idle_ms,
    }
}

/// Once any request byte is out, the wait is for the server: `send` ends
/// and `ttfb` begins at the last write. Nothing changes if none went out.
pub(super) fn waiting_if_sent(marks: &mut Marks, io: &IoMarks, send_start: Instant) {
    if let Some(sent) = io.request_sent().filter(|w| *w >= send_start) {
        marks.end(Phase::Send, sent);
        marks.begin(Phase::Ttfb, sent);
    }
}

/// Where the response's head came in, on the connection's clock: `at`
/// is ns after its I/O marks' base, and `base` is that base as ns after
/// the probe's `scheduled` (see [`Marks::offset`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct HeadersIn {
    base: i64,
    at: u64,
}

/// The response's head is in: `send` ends at the last write, `ttfb` at the
/// last read before now, and `body` begins there.
///
/// A read's mark is never later than the instant it was noted (see
/// [`IoMarks`]), so the clock is read here only when no read of this
/// exchange was noted (issue 20: a clock reading per mark is not free).
/// The connection's marks are nanoseconds after its base, and `send` (the
/// send's start) is too: placing that base among the probe's marks is the
/// only conversion of an instant; the rest is integer arithmetic, the
/// same nanoseconds as before (issue 20).
pub(super) fn mark_headers(marks: &mut Marks, io: &IoMarks, send: u64) -> HeadersIn {
    let base = marks.offset(io.base());
    let headers_at = io
        .last_read_ns()
        .filter(|r| *r >= send)
        .unwrap_or_else(|| io.since_base(Instant::now()));
    let sent = io
        .request_sent_ns()
        .filter(|w| *w >= send)
        .unwrap_or(send)
        .min(headers_at);
    let at = |ns: u64| base + ns as i64;
    // The same instant `send` began at, as nanoseconds.
    marks.begin_ns(Phase::Send, at(send));
    marks.end_ns(Phase::Send, at(sent));
    marks.begin_ns(Phase::Ttfb, at(sent));
    marks.end_ns(Phase::Ttfb, at(headers_at));
    marks.begin_ns(Phase::Body, at(headers_at));
    HeadersIn { base, at: headers_at }
}

/// The body is in: `body` ends at the last read (never later than now, as
/// in [`mark_headers`]). Returns that time, as ns after the marks' base.
pub(super) fn mark_body_end(marks: &mut Marks, io: &IoMarks, headers: HeadersIn) -> u64 {
    let body_end = io.last_read_ns().unwrap_or(headers.at).max(headers.at);
    marks.end_ns(Phase::Body, headers.base + body_end as i64);
    body_end
}

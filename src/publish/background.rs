//! What the two background senders share: CloudWatch's flusher
//! ([`super::flush`]) and X-Ray's segment thread
//! (`xray_segments::sender`). Each retries a failed call after a
//! [`Backoff`] that doubles up to a cap, writes its failures through a
//! [`RateLimitedLog`] so that an endpoint down for hours is a few lines,
//! not thousands (an [`OutageLog`] when its recoveries are said too, as
//! CloudWatch's flusher and the keep-warm heartbeats do), and gives what
//! is still queued at most [`STOP_DEADLINE`] at the stop. Their numbers
//! differ (each sender's own constants); the rules are these.

use std::time::Duration;

use tokio::time::Instant;

/// At the stop (the end of `run`, a daemon's SIGTERM), how long what is
/// still queued may take to go out; what is left then is dropped and
/// counted. Short: a stop must not wait on an endpoint that hangs.
pub const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// How often an [`OutageLog`] says anything (CloudWatch's flusher, the
/// keep-warm heartbeats): an endpoint down for an hour is a dozen lines,
/// not a line a round.
pub const OUTAGE_LOG_EVERY: Duration = Duration::from_secs(300);

/// The wait before the next try after failures in a row: `first`, then
/// doubling, never more than `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            failures: 0,
        }
    }

    /// One more failure in a row: how long to wait before trying again.
    pub fn failed(&mut self) -> Duration {
        // Past 2^16 × first the cap has long been reached; the bound keeps
        // the multiplication from overflowing.
        let doublings = self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }

    /// A success: the next failure waits `first` again. The failures in a
    /// row it ends (0: there were none).
    pub fn succeeded(&mut self) -> u32 {
        std::mem::take(&mut self.failures)
    }
}

/// At most one line per `every`; the lines held back are counted in the
/// next one that goes out.
#[derive(Debug, Clone)]
pub struct RateLimitedLog {
    every: Duration,
    last: Option<Instant>,
    held: u64,
}

impl RateLimitedLog {
    pub fn new(every: Duration) -> RateLimitedLog {
        RateLimitedLog {
            every,
            last: None,
            held: 0,
        }
    }

    /// `line` as it is to be logged now, followed by how many were held
    /// back since the last; `None` when a line went out less than `every`
    /// ago (this one is then held back, and counted).
    pub fn admit(&mut self, line: &str) -> Option<String> {
        let now = Instant::now();
        if self.last.is_some_and(|at| now.duration_since(at) < self.every) {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        Some(match std::mem::take(&mut self.held) {
            0 => line.to_string(),
            1 => format!("{line} (1 more failure since the last line)"),
            n => format!("{line} ({n} more failures since the last line)"),
        })
    }

    /// Whether a line would go out now.
    fn open(&self) -> bool {
        let now = Instant::now();
        self.last.is_none_or(|at| now.duration_since(at) >= self.every)
    }

    /// `line` goes out now, limit or not, and counts as the period's line;
    /// the lines held back are forgotten (the caller's line counts them).
    fn force(&mut self, line: String) -> String {
        self.last = Some(Instant::now());
        self.held = 0;
        line
    }

    /// After a recovery said at once: the next failure is logged at once,
    /// and nothing is held.
    fn reset(&mut self) {
        self.last = None;
        self.held = 0;
    }
}

/// A call that fails and recovers, said through one [`RateLimitedLog`]:
/// its failures, and its recoveries with the count of failures since the
/// last one said. A recovery after an outage of at least the period is said
/// at once (and the next failure is then said at once too); one after a
/// shorter outage waits for the period like a failure would, said at the
/// first success once the period is over. So a target that flaps, failing
/// and answering in turn, is at most one line per period, and a single
/// outage still says both its failure and its recovery.
#[derive(Debug, Clone)]
pub struct OutageLog {
    log: RateLimitedLog,
    /// Failures since the last recovery said (or the start).
    failed: u64,
    /// When the current run of failures in a row began.
    down_since: Option<Instant>,
}

impl OutageLog {
    pub fn new(every: Duration) -> OutageLog {
        OutageLog {
            log: RateLimitedLog::new(every),
            failed: 0,
            down_since: None,
        }
    }

    /// One call's outcome — `Err` its failure line — and what to say now,
    /// if anything; `recovered(n)` words a recovery after `n` failures.
    pub fn outcome(
        &mut self,
        outcome: Result<(), &str>,
        recovered: impl FnOnce(u64) -> String,
    ) -> Option<String> {
        match outcome {
            Err(line) => self.failed(line),
            Ok(()) => self.succeeded(recovered),
        }
    }

    /// A failed call, `line` its words: what to say now, if anything.
    pub fn failed(&mut self, line: &str) -> Option<String> {
        self.failed += 1;
        self.down_since.get_or_insert_with(Instant::now);
        self.log.admit(line)
    }

    /// A call that went through: the recovery to say now, if any.
    pub fn succeeded(&mut self, recovered: impl FnOnce(u64) -> String) -> Option<String> {
        let down_for = self.down_since.take().map(|at| at.elapsed());
        if self.failed == 0 {
            return None;
        }
        if down_for.is_some_and(|d| d >= self.log.every) {
            self.log.reset();
            return Some(recovered(std::mem::take(&mut self.failed)));
        }
        if !self.log.open() {
            return None;
        }
        let line = recovered(std::mem::take(&mut self.failed));
        Some(self.log.force(line))
    }

    /// A line of another kind that shares the limit (and is counted among
    /// the held-back ones when it is held).
    pub fn limited(&mut self, line: &str) -> Option<String> {
        self.log.admit(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_backoff_doubles_from_its_first_wait_up_to_its_cap() {
        let mut b = Backoff::new(secs(5), secs(120));
        let waits: Vec<u64> = (0..8).map(|_| b.failed().as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 120, 120, 120]);
        // Far past the cap: no overflow, still the cap.
        for _ in 0..1000 {
            assert_eq!(b.failed(), secs(120));
        }
        assert_eq!(b.succeeded(), 1008, "the failures in a row");
        assert_eq!(b.succeeded(), 0, "none since");
        assert_eq!(b.failed(), secs(5), "a success starts over");
    }

    /// X-Ray's numbers: a cap that is not a doubling of the first wait.
    #[test]
    fn a_cap_between_two_doublings_is_kept() {
        let mut b = Backoff::new(secs(1), secs(30));
        let waits: Vec<u64> = (0..7).map(|_| b.failed().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_log_says_one_line_a_period_and_counts_the_others_in_it() {
        let mut log = RateLimitedLog::new(secs(300));
        assert_eq!(log.admit("a").as_deref(), Some("a"), "the first at once");
        tokio::time::advance(secs(1)).await;
        assert_eq!(log.admit("b"), None);
        tokio::time::advance(secs(298)).await;
        assert_eq!(log.admit("c"), None, "299 s after the last: still held");
        tokio::time::advance(secs(1)).await;
        assert_eq!(
            log.admit("d").as_deref(),
            Some("d (2 more failures since the last line)"),
            "300 s after it"
        );
        // The period runs from the line that went out, not from the first.
        tokio::time::advance(secs(299)).await;
        assert_eq!(log.admit("e"), None);
        tokio::time::advance(secs(1)).await;
        assert_eq!(
            log.admit("f").as_deref(),
            Some("f (1 more failure since the last line)")
        );
    }

    fn said(log: &mut OutageLog, ok: bool) -> Option<String> {
        let outcome = if ok { Ok(()) } else { Err("down") };
        log.outcome(outcome, |n| format!("up again after {n} failed"))
    }

    /// The reviewer's case: failing and answering in turn each minute was a
    /// line a minute (each recovery reset the limit).
    #[tokio::test(start_paused = true)]
    async fn a_target_that_flaps_is_at_most_a_line_a_period() {
        let mut log = OutageLog::new(OUTAGE_LOG_EVERY);
        let mut lines = Vec::new();
        for minute in 0..10 {
            if let Some(line) = said(&mut log, minute % 2 == 1) {
                lines.push((minute, line));
            }
            tokio::time::advance(secs(60)).await;
        }
        assert_eq!(
            lines,
            [
                (0, "down".to_string()),
                (5, "up again after 3 failed".to_string())
            ]
        );
    }

    /// A short outage: its failure at once, its recovery once the period
    /// since that line is over; the next failure then waits its period.
    #[tokio::test(start_paused = true)]
    async fn a_short_outage_says_its_recovery_when_the_period_is_over() {
        let mut log = OutageLog::new(secs(300));
        assert_eq!(said(&mut log, false).as_deref(), Some("down"));
        tokio::time::advance(secs(60)).await;
        assert_eq!(said(&mut log, true), None, "60 s after the last line");
        tokio::time::advance(secs(240)).await;
        assert_eq!(said(&mut log, true).as_deref(), Some("up again after 1 failed"));
        assert_eq!(said(&mut log, true), None, "said once");
        tokio::time::advance(secs(1)).await;
        assert_eq!(said(&mut log, false), None, "1 s after the recovery's line");
    }

    /// An outage of a period or more: its recovery at once, and the next
    /// failure at once too, with nothing held.
    #[tokio::test(start_paused = true)]
    async fn a_long_outage_says_its_recovery_at_once() {
        let mut log = OutageLog::new(secs(300));
        let mut lines = Vec::new();
        for _ in 0..7 {
            lines.extend(said(&mut log, false));
            tokio::time::advance(secs(60)).await;
        }
        assert_eq!(lines, ["down", "down (4 more failures since the last line)"]);
        assert_eq!(said(&mut log, true).as_deref(), Some("up again after 7 failed"));
        tokio::time::advance(secs(1)).await;
        assert_eq!(said(&mut log, false).as_deref(), Some("down"));
    }
}

//! What the two background senders share: CloudWatch's flusher
//! ([`super::flush`]) and X-Ray's segment thread
//! (`xray_segments::sender`). Each retries a failed call after a
//! [`Backoff`] that doubles up to a cap, writes its failures through a
//! [`RateLimitedLog`] so that an endpoint down for hours is a few lines,
//! not thousands, and gives what is still queued at most [`STOP_DEADLINE`]
//! at the stop. Their numbers differ (each sender's own constants); the
//! rules are these.

use std::time::Duration;

use tokio::time::Instant;

/// At the stop (the end of `run`, a daemon's SIGTERM), how long what is
/// still queued may take to go out; what is left then is dropped and
/// counted. Short: a stop must not wait on an endpoint that hangs.
pub const STOP_DEADLINE: Duration = Duration::from_secs(5);

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

    /// After a recovery (said in a line of its own, which counts the
    /// failures): the next failure is logged at once, and nothing is held.
    pub fn reset(&mut self) {
        self.last = None;
        self.held = 0;
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

    #[tokio::test(start_paused = true)]
    async fn after_a_reset_the_next_failure_is_said_at_once_with_nothing_held() {
        let mut log = RateLimitedLog::new(secs(60));
        assert!(log.admit("a").is_some());
        assert_eq!(log.admit("b"), None);
        log.reset();
        tokio::time::advance(secs(1)).await;
        assert_eq!(log.admit("c").as_deref(), Some("c"));
    }
}

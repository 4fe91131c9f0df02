//! The background task: once a minute it takes the interval from the tap
//! and publishes it (EMF lines written at once; `PutMetricData` batches
//! queued and sent, a failed call retried with backoff while newer
//! intervals queue behind it, data older than a limit dropped and
//! counted); on stop, the last interval within a short deadline. It never
//! holds the tap's lock across an await, so probes never wait on it. The
//! backoff, the failure log's limit and the stop's deadline are
//! `publish::background`'s, shared with X-Ray's sender.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::MetricDatum;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::aggregate::Tap;
use super::background::{Backoff, OutageLog, OUTAGE_LOG_EVERY, STOP_DEADLINE};
use super::cloudwatch::{self, Sink};
use super::namespace::Namespace;
use super::{emf, Hooks};

/// When and how hard to try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// One interval: CloudWatch's standard resolution.
    pub period: Duration,
    /// The first retry's wait; it doubles up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Queued data older than this is dropped (and counted).
    pub max_age: Duration,
    /// At stop, how long the last interval may take to go out.
    pub stop_deadline: Duration,
    /// At most one failure or recovery line in this long (the failures held
    /// back are counted in the next).
    pub log_every: Duration,
    /// Align intervals to the wall clock's minutes (off in paused-clock tests).
    pub align: bool,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            period: Duration::from_secs(60),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(120),
            max_age: Duration::from_secs(15 * 60),
            stop_deadline: STOP_DEADLINE,
            log_every: OUTAGE_LOG_EVERY,
            align: true,
        }
    }
}

/// What publishing did so far; read at any time.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls_ok: AtomicU64,
    pub calls_failed: AtomicU64,
    pub datums_sent: AtomicU64,
    /// Datums given up on: too old to retry, or left at the stop deadline.
    pub datums_dropped: AtomicU64,
    pub emf_lines: AtomicU64,
    pub emf_failed: AtomicU64,
    /// Records of series beyond `aggregate::MAX_SERIES`.
    pub records_dropped: AtomicU64,
}

impl Stats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

struct Pending {
    made: Instant,
    batch: Vec<MetricDatum>,
}

pub(super) struct Flusher<S: Sink> {
    pub tap: Tap,
    pub namespace: Namespace,
    pub sink: Option<S>,
    pub emf: Option<Box<dyn Write + Send>>,
    pub timing: Timing,
    pub stats: Arc<Stats>,
    pub hooks: Hooks,
    pending: VecDeque<Pending>,
    backoff: Backoff,
    interval_started: SystemTime,
    log: OutageLog,
}

impl<S: Sink> Flusher<S> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tap: Tap,
        namespace: Namespace,
        sink: Option<S>,
        emf: Option<Box<dyn Write + Send>>,
        timing: Timing,
        stats: Arc<Stats>,
        hooks: Hooks,
    ) -> Flusher<S> {
        Flusher {
            tap,
            namespace,
            sink,
            emf,
            timing,
            stats,
            hooks,
            pending: VecDeque::new(),
            backoff: Backoff::new(timing.retry_base, timing.retry_max),
            interval_started: SystemTime::now(),
            log: OutageLog::new(timing.log_every),
        }
    }

    pub async fn run(mut self, stop: CancellationToken) {
        let mut next = Instant::now() + self.first_wait();
        let mut retry_at: Option<Instant> = None;
        loop {
            let wake = retry_at.map_or(next, |r| r.min(next));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = stop.cancelled() => break,
            }
            let now = Instant::now();
            if now >= next {
                self.close_interval();
                while next <= now {
                    next += self.timing.period;
                }
            }
            if retry_at.is_none_or(|r| now >= r) {
                tokio::select! {
                    r = self.send_pending() => retry_at = r,
                    () = stop.cancelled() => break,
                }
            }
        }
        // The last interval, and whatever is queued, within the deadline.
        self.close_interval();
        let deadline = self.timing.stop_deadline;
        if tokio::time::timeout(deadline, self.send_all()).await.is_err() {
            self.say(&format!(
                "CloudWatch did not take the last metrics within {}",
                humantime::format_duration(deadline)
            ));
        }
        let left: usize = self.pending.iter().map(|p| p.batch.len()).sum();
        add(&self.stats.datums_dropped, left as u64);
        for _ in &self.pending {
            self.hooks.failed("cloudwatch");
        }
        if let Some(w) = self.emf.as_mut() {
            let _ = w.flush();
        }
    }

    /// To the next minute of the wall clock, so that an interval is a
    /// CloudWatch minute and hosts' intervals line up.
    fn first_wait(&self) -> Duration {
        if !self.timing.align {
            return self.timing.period;
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let into = Duration::from_nanos((now.as_nanos() % self.timing.period.as_nanos().max(1)) as u64);
        self.timing.period - into
    }

    /// The interval's stamp: the minute it began in, or, when it began
    /// late in a minute (the first, partial one), the minute most of it
    /// ran in; a clock that wakes a little early or late moves no
    /// interval into its neighbour's minute.
    fn stamp(&self, closed: SystemTime) -> SystemTime {
        let minute = |t: SystemTime| {
            let s = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
            UNIX_EPOCH + Duration::from_secs(s - s % 60)
        };
        let half = closed.checked_sub(Duration::from_secs(30)).unwrap_or(closed);
        minute(self.interval_started).max(minute(half))
    }

    fn close_interval(&mut self) {
        let interval = self.tap.take();
        let closed = SystemTime::now();
        let at = self.stamp(closed);
        self.interval_started = closed;
        add(&self.stats.records_dropped, interval.dropped_records);
        if interval.is_empty() {
            return;
        }
        if self.emf.is_some() {
            let lines = emf::lines(&self.namespace, &interval, at);
            let result = self.emf.as_mut().map(|w| write_lines(w, &lines)).transpose();
            match result {
                Ok(_) => add(&self.stats.emf_lines, lines.len() as u64),
                Err(e) => {
                    add(&self.stats.emf_failed, 1);
                    self.hooks.failed("emf");
                    self.say(&format!("--emf: cannot write: {e}"));
                }
            }
        }
        if self.sink.is_some() {
            let now = Instant::now();
            self.pending.extend(
                cloudwatch::batches(cloudwatch::datums(&interval, at))
                    .into_iter()
                    .map(|batch| Pending { made: now, batch }),
            );
        }
    }

    /// Send what is queued, oldest first; on a failure, when to retry.
    async fn send_pending(&mut self) -> Option<Instant> {
        self.drop_old();
        let sink = self.sink.as_ref()?;
        while let Some(p) = self.pending.front() {
            let n = p.batch.len() as u64;
            match sink.put(&self.namespace, p.batch.clone()).await {
                Ok(()) => {
                    self.pending.pop_front();
                    add(&self.stats.calls_ok, 1);
                    add(&self.stats.datums_sent, n);
                    self.backoff.succeeded();
                    let said = self.log.succeeded(|failed| {
                        format!("CloudWatch takes metrics again, after {failed} failed calls")
                    });
                    if let Some(line) = said {
                        self.say(&line);
                    }
                }
                Err(message) => {
                    add(&self.stats.calls_failed, 1);
                    let wait = self.backoff.failed();
                    let line = format!(
                        "{message}; retrying in {}, metrics kept up to {}",
                        humantime::format_duration(wait),
                        humantime::format_duration(self.timing.max_age)
                    );
                    if let Some(line) = self.log.failed(&line) {
                        self.say(&line);
                    }
                    return Some(Instant::now() + wait);
                }
            }
        }
        None
    }

    /// At stop: every queued batch once, backoff or not.
    async fn send_all(&mut self) {
        let mut tries = self.pending.len();
        while !self.pending.is_empty() && tries > 0 {
            tries -= 1;
            if self.send_pending().await.is_some() {
                break;
            }
        }
    }

    fn drop_old(&mut self) {
        let now = Instant::now();
        let mut dropped = 0;
        while let Some(p) = self.pending.front() {
            if now.duration_since(p.made) <= self.timing.max_age {
                break;
            }
            dropped += p.batch.len() as u64;
            self.pending.pop_front();
            self.hooks.failed("cloudwatch");
        }
        if dropped > 0 {
            add(&self.stats.datums_dropped, dropped);
            self.say_limited(&format!(
                "{dropped} CloudWatch datums older than {} dropped unsent",
                humantime::format_duration(self.timing.max_age)
            ));
        }
    }

    fn say(&self, line: &str) {
        (self.hooks.log)(line);
    }

    /// Said unless a line was said less than `log_every` ago.
    fn say_limited(&mut self, line: &str) {
        if let Some(line) = self.log.limited(line) {
            self.say(&line);
        }
    }
}

fn write_lines(w: &mut Box<dyn Write + Send>, lines: &[String]) -> std::io::Result<()> {
    let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    // One write per interval: lines never interleave with another writer's.
    w.write_all(text.as_bytes())?;
    w.flush()
}

//! Plans: which probe to send next, and when. One runner executes any plan;
//! plans differ only in the jobs they hand out.

use std::time::Duration;

use tokio::time::Instant;

/// A probe the plan wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Index into the run's targets.
    pub target: usize,
    /// Run-wide sequence number, from 1.
    pub seq: u64,
    /// When it should be sent; `None` means as soon as a worker is free
    /// (a closed-loop burst), so nothing can be late.
    pub at: Option<Instant>,
}

/// A source of jobs. `next_job` is called by whichever worker is free.
pub trait Plan: Send {
    fn next_job(&mut self) -> Option<Job>;

    /// True when jobs have times (`Job::at`): the runner then starts each
    /// at its time in a task of its own, so a slow probe never holds back
    /// another target's schedule.
    fn paced(&self) -> bool;

    /// When the plan ends if nothing stops it first: the runner waits for
    /// this even when no job falls in the last stretch, so that
    /// `run --duration 30s` on an hourly schedule lasts 30 s.
    fn ends_at(&self) -> Option<Instant> {
        None
    }

    /// The engine is ready to send (its probers built, CA certificates
    /// loaded): a plan that has handed out nothing yet moves its start to
    /// `now`, so the tool's own set-up is neither counted in the first
    /// probes' `queue` nor crowds them together (probes due during set-up
    /// would all leave at once, on connections of their own).
    fn begin_at(&mut self, _now: Instant) {}
}

/// How a count of probes is spread over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Back to back: each probe is due when a slot frees up.
    None,
    /// Round `r` (every target once) starts at `start + r × interval`; the
    /// targets of a round are spread evenly across it.
    Interval(Duration),
    /// Probe `k` (across all targets) is due at `start + k / rate`.
    Rate(f64),
}

/// `-n N` probes per target, or a burst: interleaved across targets so that
/// every target is probed under the same conditions.
#[derive(Debug, Clone)]
pub struct CountPlan {
    targets: usize,
    per_target: u64,
    pacing: Pacing,
    start: Instant,
    issued: u64,
}

impl CountPlan {
    pub fn new(targets: usize, per_target: u64, pacing: Pacing, start: Instant) -> Self {
        CountPlan {
            targets,
            per_target,
            pacing,
            start,
            issued: 0,
        }
    }

    pub fn total(&self) -> u64 {
        self.targets as u64 * self.per_target
    }
}

impl Plan for CountPlan {
    fn begin_at(&mut self, now: Instant) {
        if self.issued == 0 {
            self.start = self.start.max(now);
        }
    }

    fn paced(&self) -> bool {
        self.pacing != Pacing::None
    }

    fn next_job(&mut self) -> Option<Job> {
        if self.targets == 0 || self.issued >= self.total() {
            return None;
        }
        let k = self.issued;
        self.issued += 1;
        let n = self.targets as u64;
        let (round, slot) = (k / n, k % n);
        let at = match self.pacing {
            Pacing::None => None,
            Pacing::Interval(iv) => Some(self.start + iv.mul_f64(round as f64 + slot as f64 / n as f64)),
            Pacing::Rate(rate) => Some(self.start + Duration::from_secs_f64(k as f64 / rate)),
        };
        Some(Job {
            target: slot as usize,
            seq: k + 1,
            at,
        })
    }
}

/// Background probing: every `interval` each target is probed once, the
/// targets spread evenly across the interval, each probe moved later by a
/// random amount below `jitter` (so that probes do not lock step with a
/// timer on the path). Runs until `until`, or forever.
#[derive(Debug)]
pub struct SchedulePlan {
    targets: usize,
    interval: Duration,
    jitter: Duration,
    start: Instant,
    until: Option<Instant>,
    round: u64,
    seq: u64,
    /// The current round's jobs, latest first, so `pop` yields them in time order.
    pending: Vec<Job>,
    rng: rand::rngs::StdRng,
}

impl SchedulePlan {
    pub fn new(
        targets: usize,
        interval: Duration,
        jitter: Duration,
        start: Instant,
        until: Option<Instant>,
        seed: u64,
    ) -> Self {
        use rand::SeedableRng;
        SchedulePlan {
            targets,
            interval,
            jitter,
            start,
            until,
            round: 0,
            seq: 0,
            pending: Vec::new(),
            rng: rand::rngs::StdRng::seed_from_u64(seed),
        }
    }

    fn fill_round(&mut self) {
        use rand::Rng;
        let n = self.targets as u64;
        let round_start = self.start + self.interval.mul_f64(self.round as f64);
        self.round += 1;
        let mut jobs: Vec<Job> = (0..n)
            .map(|slot| {
                let spread = self.interval.mul_f64(slot as f64 / n as f64);
                let jitter = if self.jitter.is_zero() {
                    Duration::ZERO
                } else {
                    self.jitter.mul_f64(self.rng.random::<f64>())
                };
                Job {
                    target: slot as usize,
                    seq: 0,
                    at: Some(round_start + spread + jitter),
                }
            })
            .collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.at));
        self.pending = jobs;
    }
}

/// Probes a schedule may have in flight: enough for every target to answer
/// only at its timeout without holding up anyone's schedule.
pub fn schedule_in_flight(targets: usize, interval: Duration, timeout: Duration) -> usize {
    let per_target = (timeout.as_secs_f64() / interval.as_secs_f64().max(1e-3)).ceil() as usize + 1;
    (targets * per_target).clamp(8, 4096)
}

impl Plan for SchedulePlan {
    fn begin_at(&mut self, now: Instant) {
        // `until` stays: `run --duration` counts from the command's start.
        if self.round == 0 {
            self.start = self.start.max(now);
        }
    }

    fn paced(&self) -> bool {
        true
    }

    fn ends_at(&self) -> Option<Instant> {
        self.until
    }

    fn next_job(&mut self) -> Option<Job> {
        if self.targets == 0 {
            return None;
        }
        if self.pending.is_empty() {
            self.fill_round();
        }
        let mut job = self.pending.pop()?;
        if let (Some(until), Some(at)) = (self.until, job.at) {
            if at >= until {
                return None;
            }
        }
        self.seq += 1;
        job.seq = self.seq;
        Some(job)
    }
}

/// A schedule's shape: every target once every `interval`, each probe
/// later by up to `jitter`, on connections of this policy (real time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub interval: Duration,
    pub jitter: Duration,
    pub connections: super::ConnectionPolicy,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            interval: Duration::from_secs(30),
            jitter: Duration::from_secs(3),
            connections: super::ConnectionPolicy::Fresh,
        }
    }
}

/// A burst's shape: `requests` per target, `concurrency` at once, paced at
/// `rate` per second across all targets when set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    pub requests: u64,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub connections: super::ConnectionPolicy,
}

impl Default for Burst {
    fn default() -> Self {
        Burst {
            requests: 50,
            concurrency: 5,
            rate: None,
            connections: super::ConnectionPolicy::Reuse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaves_targets_and_spreads_them_over_the_interval() {
        let start = Instant::now();
        let mut plan = CountPlan::new(2, 2, Pacing::Interval(Duration::from_secs(10)), start);
        let jobs: Vec<Job> = std::iter::from_fn(|| plan.next_job()).collect();
        let at = |s: u64| Some(start + Duration::from_secs(s));
        assert_eq!(
            jobs,
            vec![
                Job {
                    target: 0,
                    seq: 1,
                    at: at(0)
                },
                Job {
                    target: 1,
                    seq: 2,
                    at: at(5)
                },
                Job {
                    target: 0,
                    seq: 3,
                    at: at(10)
                },
                Job {
                    target: 1,
                    seq: 4,
                    at: at(15)
                },
            ]
        );
    }

    #[test]
    fn unpaced_jobs_have_no_time() {
        let mut plan = CountPlan::new(1, 3, Pacing::None, Instant::now());
        assert!(std::iter::from_fn(|| plan.next_job()).all(|j| j.at.is_none()));
    }

    #[test]
    fn a_rate_spaces_probes_evenly() {
        let start = Instant::now();
        let mut plan = CountPlan::new(1, 3, Pacing::Rate(4.0), start);
        let ats: Vec<_> = std::iter::from_fn(|| plan.next_job())
            .map(|j| j.at.unwrap() - start)
            .collect();
        assert_eq!(
            ats,
            vec![
                Duration::ZERO,
                Duration::from_millis(250),
                Duration::from_millis(500)
            ]
        );
    }

    #[test]
    fn a_schedule_interleaves_targets_within_the_jitter_and_stops_at_until() {
        let start = Instant::now();
        let (interval, jitter) = (Duration::from_secs(30), Duration::from_secs(3));
        let until = start + Duration::from_secs(300);
        let mut plan = SchedulePlan::new(2, interval, jitter, start, Some(until), 7);
        let jobs: Vec<Job> = std::iter::from_fn(|| plan.next_job()).collect();
        assert_eq!(jobs.len(), 20, "10 rounds of 2 targets");
        for (i, job) in jobs.iter().enumerate() {
            assert_eq!(job.seq, i as u64 + 1);
            let round = (i / 2) as u32;
            let nominal = start + interval * round + (interval / 2) * job.target as u32;
            let at = job.at.unwrap();
            assert!(
                at >= nominal && at < nominal + jitter,
                "job {i} at {:?}",
                at - start
            );
        }
        assert!(jobs.windows(2).all(|w| w[0].at <= w[1].at), "time order");
        let per_target = |t| jobs.iter().filter(|j| j.target == t).count();
        assert_eq!((per_target(0), per_target(1)), (10, 10));
    }

    #[test]
    fn the_clock_starts_when_the_engine_is_ready_not_before_and_only_once() {
        let created = Instant::now();
        let ready = created + Duration::from_millis(150);
        let mut count = CountPlan::new(1, 3, Pacing::Rate(10.0), created);
        count.begin_at(ready);
        assert_eq!(count.next_job().unwrap().at, Some(ready));
        // Once a job is out, the schedule stays where it is.
        count.begin_at(ready + Duration::from_secs(1));
        assert_eq!(
            count.next_job().unwrap().at,
            Some(ready + Duration::from_millis(100))
        );

        let mut schedule = SchedulePlan::new(1, Duration::from_secs(1), Duration::ZERO, created, None, 7);
        schedule.begin_at(ready);
        assert_eq!(schedule.next_job().unwrap().at, Some(ready));
        schedule.begin_at(ready + Duration::from_secs(5));
        assert_eq!(
            schedule.next_job().unwrap().at,
            Some(ready + Duration::from_secs(1))
        );
    }
}

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
}

/// `-n N` probes per target, interleaved across targets so that every
/// target is probed under the same conditions; optionally paced: round `r`
/// starts at `start + r × interval`, and the targets of a round are spread
/// evenly across it.
#[derive(Debug, Clone)]
pub struct CountPlan {
    targets: usize,
    per_target: u64,
    interval: Option<Duration>,
    start: Instant,
    issued: u64,
}

impl CountPlan {
    pub fn new(targets: usize, per_target: u64, interval: Option<Duration>, start: Instant) -> Self {
        CountPlan {
            targets,
            per_target,
            interval,
            start,
            issued: 0,
        }
    }

    pub fn total(&self) -> u64 {
        self.targets as u64 * self.per_target
    }
}

impl Plan for CountPlan {
    fn next_job(&mut self) -> Option<Job> {
        if self.targets == 0 || self.issued >= self.total() {
            return None;
        }
        let k = self.issued;
        self.issued += 1;
        let n = self.targets as u64;
        let (round, slot) = (k / n, k % n);
        let at = self.interval.map(|iv| {
            let offset = iv.mul_f64(round as f64 + slot as f64 / n as f64);
            self.start + offset
        });
        Some(Job {
            target: slot as usize,
            seq: k + 1,
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaves_targets_and_spreads_them_over_the_interval() {
        let start = Instant::now();
        let mut plan = CountPlan::new(2, 2, Some(Duration::from_secs(10)), start);
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
        let mut plan = CountPlan::new(1, 3, None, Instant::now());
        assert!(std::iter::from_fn(|| plan.next_job()).all(|j| j.at.is_none()));
    }
}

//! Raw instants taken at named points of a probe, and the one function that
//! turns them into disjoint phases.
//!
//! Everything the tool does between network phases (pool bookkeeping, task
//! scheduling, timer lateness) is *not* attributed to a network phase: it is
//! what remains of the total once the network phases are taken out, and it
//! is reported as `queue`. That keeps the engine from distorting what it
//! measures (coordinated omission included: the total starts at the time the
//! plan intended, not the time the tool got round to it).

use std::time::{Duration, Instant};

use super::record::{Phase, Phases};

/// A network phase's place in `Marks::spans`: its place in [`Phase::ALL`]
/// less `queue`, which is derived, never marked.
fn slot(phase: Phase) -> usize {
    debug_assert!(phase != Phase::Queue, "queue is derived, never marked");
    phase.index() - 1
}

/// Instants of one probe. `begin`/`end` pairs per network phase; a phase
/// left open when the probe fails is closed at the failure instant.
#[derive(Debug, Clone)]
pub struct Marks {
    scheduled: Instant,
    spans: [(Option<Instant>, Option<Instant>); 6],
    open: Option<Phase>,
}

impl Marks {
    pub fn new(scheduled: Instant) -> Self {
        Marks {
            scheduled,
            spans: [(None, None); 6],
            open: None,
        }
    }

    pub fn begin(&mut self, phase: Phase, at: Instant) {
        self.spans[slot(phase)] = (Some(at), None);
        self.open = Some(phase);
    }

    pub fn end(&mut self, phase: Phase, at: Instant) {
        let span = &mut self.spans[slot(phase)];
        debug_assert!(span.0.is_some(), "{phase} ended before it began");
        span.1 = Some(at);
        if self.open == Some(phase) {
            self.open = None;
        }
    }

    /// The phase that has begun and not ended, if any.
    pub fn open_phase(&self) -> Option<Phase> {
        self.open
    }

    /// Close the open phase at `at` (the instant of a failure).
    pub fn close_open(&mut self, at: Instant) {
        if let Some(phase) = self.open {
            self.end(phase, at);
        }
    }

    /// The last instant recorded: where the probe's total ends.
    fn last(&self) -> Instant {
        self.spans
            .iter()
            .filter_map(|(s, e)| e.or(*s))
            .max()
            .unwrap_or(self.scheduled)
            .max(self.scheduled)
    }
}

/// Disjoint phases and the total, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub phases: Phases,
    pub total_ms: f64,
}

/// Turn marks into disjoint phases. Network phases are end − start of their
/// own span; `queue` is the remainder of the total, so the phases always sum
/// to the total (up to rounding to the microsecond).
pub fn phases(marks: &Marks) -> Timing {
    let mut phases = Phases::default();
    let mut network = Duration::ZERO;
    for &phase in Phase::NETWORK {
        let (start, end) = marks.spans[slot(phase)];
        if let (Some(start), Some(end)) = (start, end) {
            let d = end.saturating_duration_since(start);
            network += d;
            phases.set(phase, Some(ms(d)));
        }
    }
    let total = marks.last().saturating_duration_since(marks.scheduled);
    phases.queue = Some(ms(total.saturating_sub(network)));
    Timing {
        phases,
        total_ms: ms(total),
    }
}

/// Milliseconds, rounded to the microsecond.
pub fn ms(d: Duration) -> f64 {
    // Through u64, not u128: the same f64 (both conversions round the same
    // integer to nearest; u64 holds 584 years of nanoseconds) without a
    // 128-bit conversion routine per phase.
    let ns = d
        .as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()));
    // Below 2^53 ns (104 days: every probe) the microseconds rounded half
    // up in integers are what `f64::round` gives, without its call into
    // the maths library, seven times a record (issue 20); beyond, as before.
    if ns < 1 << 53 {
        ((ns + 500) / 1_000) as f64 / 1_000.0
    } else {
        (ns as f64 / 1_000.0).round() / 1_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_disjoint_and_sum_to_total() {
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        let mut m = Marks::new(t0);
        m.begin(Phase::Dns, at(100));
        m.end(Phase::Dns, at(1_100));
        m.begin(Phase::Connect, at(1_150));
        m.end(Phase::Connect, at(2_150));
        m.begin(Phase::Send, at(2_200));
        m.end(Phase::Send, at(2_300));
        m.begin(Phase::Ttfb, at(2_300));
        m.end(Phase::Ttfb, at(12_300));
        m.begin(Phase::Body, at(12_300));
        m.end(Phase::Body, at(12_800));
        let t = phases(&m);
        assert_eq!(t.phases.dns, Some(1.0));
        assert_eq!(t.phases.connect, Some(1.0));
        assert_eq!(t.phases.tls, None, "a phase that did not happen is null");
        assert_eq!(t.phases.ttfb, Some(10.0));
        assert_eq!(t.total_ms, 12.8);
        // 100 µs before DNS, 50 µs between DNS and connect, 50 µs before send.
        assert_eq!(t.phases.queue, Some(0.2));
        assert!((t.phases.sum() - t.total_ms).abs() < 1e-9);
    }

    /// Issue 20: milliseconds through u64 are the ones through u128.
    #[test]
    fn ms_rounds_as_it_did() {
        let old = |d: Duration| (d.as_nanos() as f64 / 1_000.0).round() / 1_000.0;
        for d in [
            Duration::ZERO,
            Duration::from_nanos(499),
            Duration::from_nanos(500),
            Duration::from_nanos(1_234_567),
            Duration::from_nanos(1_234_499),
            Duration::from_nanos(1_234_500),
            Duration::from_nanos((1 << 53) - 1),
            Duration::from_nanos(1 << 53),
            Duration::from_micros(999_999_999),
            Duration::new(86_400 * 365, 999_999_999),
            // 34 years: past 2^53 ns, where the conversion rounds.
            Duration::new(1 << 30, 123_456_789),
        ] {
            assert_eq!(ms(d).to_bits(), old(d).to_bits(), "{d:?}");
        }
        // And over a sweep of a probe's range, halves included.
        let mut ns: u64 = 1;
        while ns < 200_000_000_000 {
            for d in [ns, ns + 499, ns + 500, ns + 501] {
                let d = Duration::from_nanos(d);
                assert_eq!(ms(d).to_bits(), old(d).to_bits(), "{d:?}");
            }
            ns = ns * 3 + 7;
        }
    }

    /// Issue 19 §5: `connect` and `ttfb` end at the kernel's times (the
    /// SYN-ACK, the response's arrival), before the task woke to them; the
    /// next phase begins at the wake-up. The lag between is the tool's own
    /// time and falls into `queue`, never into a network phase.
    #[test]
    fn the_wake_up_after_a_kernel_timed_end_is_queue() {
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        let mut m = Marks::new(t0);
        m.begin(Phase::Connect, at(0));
        m.end(Phase::Connect, at(24)); // SYN-ACK, from TCP_INFO's RTT
        m.begin(Phase::Send, at(150)); // woken at 125, the request built by 150
        m.end(Phase::Send, at(200));
        m.begin(Phase::Ttfb, at(200));
        m.end(Phase::Ttfb, at(50_200)); // the response's receive time
        m.begin(Phase::Body, at(50_200));
        m.end(Phase::Body, at(50_260)); // the last segment's receive time
        let t = phases(&m);
        assert_eq!(t.phases.connect, Some(0.024));
        assert_eq!(t.phases.send, Some(0.05));
        assert_eq!(t.phases.ttfb, Some(50.0));
        assert_eq!(t.phases.body, Some(0.06));
        assert_eq!(t.total_ms, 50.26);
        assert_eq!(t.phases.queue, Some(0.126), "the wake-up after the SYN-ACK");
        assert!((t.phases.sum() - t.total_ms).abs() < 1e-9);
    }

    #[test]
    fn a_failure_closes_the_open_phase() {
        let t0 = Instant::now();
        let mut m = Marks::new(t0);
        m.begin(Phase::Connect, t0);
        assert_eq!(m.open_phase(), Some(Phase::Connect));
        m.close_open(t0 + Duration::from_millis(3));
        let t = phases(&m);
        assert_eq!(t.phases.connect, Some(3.0));
        assert_eq!(t.phases.ttfb, None);
        assert_eq!(t.total_ms, 3.0);
    }
}

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

/// A mark's time: an instant, placed among the others only when the
/// phases are computed (a mark overwritten before then costs no
/// conversion), or already nanoseconds after `scheduled` (negative:
/// before it), as the exchange's marks are (see [`Marks::offset`]).
#[derive(Debug, Clone, Copy)]
enum At {
    Instant(Instant),
    Ns(i64),
}

/// Instants of one probe. `begin`/`end` pairs per network phase; a phase
/// left open when the probe fails is closed at the failure instant.
///
/// Issue 20: every mark is turned into nanoseconds after `scheduled` and
/// the phases are computed in integers. An `Instant` subtraction costs
/// about 55 instructions (std's `Timespec` arithmetic, a `Duration` made
/// and normalised), and a keep-alive probe did four here and three
/// `Instant` additions to read the connection's I/O marks; its exchange
/// now gives its marks as nanoseconds (the connection's marks already are,
/// after one base, and so is the send's start: see `exchange_marks::mark_headers`).
#[derive(Debug, Clone)]
pub struct Marks {
    scheduled: Instant,
    spans: [(Option<At>, Option<At>); 6],
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

    /// `at` as nanoseconds after `scheduled` (negative: before it), the
    /// unit of [`Marks::begin_ns`] and [`Marks::end_ns`].
    pub fn offset(&self, at: Instant) -> i64 {
        signed_ns(at, self.scheduled)
    }

    pub fn begin(&mut self, phase: Phase, at: Instant) {
        self.begin_at(phase, At::Instant(at));
    }

    /// [`Marks::begin`] at `ns` after `scheduled` (see [`Marks::offset`]).
    pub fn begin_ns(&mut self, phase: Phase, ns: i64) {
        self.begin_at(phase, At::Ns(ns));
    }

    fn begin_at(&mut self, phase: Phase, at: At) {
        self.spans[slot(phase)] = (Some(at), None);
        self.open = Some(phase);
    }

    pub fn end(&mut self, phase: Phase, at: Instant) {
        self.end_at(phase, At::Instant(at));
    }

    /// [`Marks::end`] at `ns` after `scheduled` (see [`Marks::offset`]).
    pub fn end_ns(&mut self, phase: Phase, ns: i64) {
        self.end_at(phase, At::Ns(ns));
    }

    fn end_at(&mut self, phase: Phase, at: At) {
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

    /// A mark as nanoseconds after `scheduled`.
    fn ns(&self, at: At) -> i64 {
        match at {
            At::Ns(ns) => ns,
            At::Instant(at) => self.offset(at),
        }
    }
}

/// `at` − `base` in nanoseconds, negative when `at` is earlier (i64 holds
/// 292 years of them).
fn signed_ns(at: Instant, base: Instant) -> i64 {
    match at.checked_duration_since(base) {
        Some(after) => nanos(after) as i64,
        None => -(nanos(base.duration_since(at)) as i64),
    }
}

/// A duration's nanoseconds, through u64 (584 years of them), not u128:
/// the one conversion of the probe's clocks to integer nanoseconds.
pub(crate) fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// Disjoint phases and the total, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub phases: Phases,
    pub total_ms: f64,
}

/// Turn marks into disjoint phases. Network phases are end − start of their
/// own span (none shorter than zero); `queue` is the remainder of the
/// total, so the phases always sum to the total (up to rounding to the
/// microsecond). The total ends at the last mark, never before `scheduled`.
pub fn phases(marks: &Marks) -> Timing {
    let mut phases = Phases::default();
    let mut network: u64 = 0;
    let mut last: i64 = 0;
    for &phase in Phase::NETWORK {
        let (start, end) = marks.spans[slot(phase)];
        let Some(start) = start.map(|at| marks.ns(at)) else {
            continue;
        };
        match end.map(|at| marks.ns(at)) {
            // An open phase's start is where the total ends, if last.
            None => last = last.max(start),
            Some(end) => {
                last = last.max(end);
                let d = end.saturating_sub(start).max(0) as u64;
                network += d;
                phases.set(phase, Some(ms_ns(d)));
            }
        }
    }
    let total = last as u64;
    phases.queue = Some(ms_ns(total.saturating_sub(network)));
    Timing {
        phases,
        total_ms: ms_ns(total),
    }
}

/// Milliseconds, rounded to the microsecond.
pub fn ms(d: Duration) -> f64 {
    ms_ns(nanos(d))
}

/// [`ms`] of a number of nanoseconds.
pub fn ms_ns(ns: u64) -> f64 {
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

    /// Issue 20: marks given as nanoseconds after `scheduled` give the
    /// phases the same marks as instants give, bit for bit, and an instant
    /// before `scheduled` is a negative offset.
    #[test]
    fn nanosecond_marks_are_the_instants_they_stand_for() {
        let t0 = Instant::now() + Duration::from_secs(5);
        let at = |ns: u64| t0 + Duration::from_nanos(ns);
        let times = [1_234, 501_499, 501_500, 10_000_999, 10_123_457];
        let mut by_instant = Marks::new(t0);
        let mut by_ns = Marks::new(t0);
        // Begun at an instant, begun again at the same time as ns: as the
        // exchange does with `send`.
        by_ns.begin(Phase::Send, at(times[0]));
        for (m, ns) in [(&mut by_instant, false), (&mut by_ns, true)] {
            let mut mark = |begin: bool, phase: Phase, t: u64| match (ns, begin) {
                (false, true) => m.begin(phase, at(t)),
                (false, false) => m.end(phase, at(t)),
                (true, true) => m.begin_ns(phase, m.offset(at(t))),
                (true, false) => m.end_ns(phase, m.offset(at(t))),
            };
            mark(true, Phase::Send, times[0]);
            mark(false, Phase::Send, times[1]);
            mark(true, Phase::Ttfb, times[2]);
            mark(false, Phase::Ttfb, times[3]);
            mark(true, Phase::Body, times[3]);
            mark(false, Phase::Body, times[4]);
        }
        let (a, b) = (phases(&by_instant), phases(&by_ns));
        assert_eq!(a, b);
        assert_eq!(a.phases.send, Some(0.5));
        assert_eq!(a.phases.ttfb, Some(9.499));
        assert_eq!(a.total_ms, 10.123);
        assert_eq!(by_ns.offset(t0 - Duration::from_nanos(7)), -7);
        assert_eq!(by_ns.offset(at(7)), 7);
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

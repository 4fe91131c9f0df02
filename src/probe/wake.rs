//! Waking a paced probe on time (issue #20).
//!
//! tokio's timer wheel has 1 ms slots and rounds a deadline up to the next
//! one, and `epoll_wait` takes its timeout in whole milliseconds, so a
//! `sleep_until` ends 1–2 ms late: the `queue` of every scheduled probe.
//! [`Alarm::sleep_until`] instead arms a timerfd (`CLOCK_MONOTONIC`, an
//! absolute deadline: the clock of `std::time::Instant`) that tokio's
//! reactor watches like any socket, so the runtime's `epoll_wait` returns
//! when the kernel's high-resolution timer fires, with no polling.
//!
//! A vCPU that sat idle takes 100–200 µs to run again on the VMs measured
//! (docs/performance.md). So the timerfd fires a little before the
//! deadline, by a *lead* learnt from the recent wake-ups (the median of how
//! late they ran, at most [`MAX_LEAD`]), and the rest is
//! spent yielding to the runtime: each turn lets other tasks run and polls
//! the reactor without blocking, so an in-flight probe's response is still
//! read at once and no network phase absorbs the wait. The yielding is the
//! cost: at most `MAX_LEAD` of CPU a probe, less when wake-ups are
//! regular.
//!
//! tokio's own timer runs alongside and the first to fire wins: on a paused
//! clock (tests) tokio's, which keeps the mocked time, on a real one the
//! timerfd. Where there is no timerfd (other systems, or it could not be
//! made) the wait is tokio's `sleep_until`, as before.

use std::time::Duration;

use tokio::time::Instant;

/// The most a wait ends early to allow for the wake-up; the yielding after
/// it is bounded by this.
pub const MAX_LEAD: Duration = Duration::from_micros(300);

/// The lead before any wake-up has been measured.
const FIRST_LEAD: Duration = Duration::from_micros(150);

/// Wake-ups remembered for the lead.
const RECENT: usize = 32;

/// A precise sleep for one task's sequence of deadlines (the paced
/// runner's). Needs a tokio runtime with IO and time enabled, as probing
/// does anyway.
pub struct Alarm {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    timer: Option<timerfd::Timer>,
    lead: Lead,
}

impl Default for Alarm {
    fn default() -> Self {
        Self::new()
    }
}

impl Alarm {
    /// An alarm on a timerfd registered with the current runtime's reactor,
    /// or on tokio's timer alone where that cannot be had.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or in one without IO enabled (tokio's
    /// `AsyncFd`).
    pub fn new() -> Self {
        Alarm {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            timer: timerfd::Timer::new().ok(),
            lead: Lead::new(),
        }
    }

    /// Whether waits use a timerfd (false: tokio's timer alone).
    pub fn precise(&self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.timer.is_some();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        return false;
    }

    /// The current lead: how long before a deadline the timerfd fires.
    pub fn lead(&self) -> Duration {
        self.lead.get()
    }

    /// Returns once `at` has passed on tokio's clock, and on a real clock
    /// within a few µs of it when the thread got the CPU in time. Never
    /// before `at`. Cancel-safe: dropping the future leaves the alarm
    /// usable.
    pub async fn sleep_until(&mut self, at: Instant) {
        if Instant::now() >= at {
            return;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        self.precise_until(at).await;
        // Whatever is left on tokio's clock: all of it without a timerfd,
        // or on a paused clock whose time runs apart from the real one. A
        // sleep on a deadline already passed could still wait for the next
        // tick, so only when it has not.
        if Instant::now() < at {
            tokio::time::sleep_until(at).await;
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    async fn precise_until(&mut self, at: Instant) {
        let Some(timer) = self.timer.as_mut() else {
            return;
        };
        let due = at.into_std();
        let lead = self.lead.get();
        let wake = due.checked_sub(lead).unwrap_or(due);
        if wake > std::time::Instant::now() {
            let fired = tokio::select! {
                biased;
                fired = timer.wait_until(wake) => fired,
                () = tokio::time::sleep_until(at) => Ok(false),
            };
            match fired {
                Ok(true) => self
                    .lead
                    .note(std::time::Instant::now().saturating_duration_since(wake)),
                Ok(false) => timer.disarm(),
                Err(_) => self.timer = None,
            }
        }
        // The last stretch: other tasks run and the reactor is polled at
        // every turn. Bounded by the lead on a real clock; ends at once when
        // tokio's (perhaps paused) clock has reached `at`.
        while std::time::Instant::now() < due && Instant::now() < at {
            tokio::task::yield_now().await;
        }
    }
}

/// The lead, from how late recent timerfd wake-ups ran.
struct Lead {
    recent: [u32; RECENT],
    seen: usize,
    lead: Duration,
}

impl Lead {
    fn new() -> Self {
        Lead {
            recent: [0; RECENT],
            seen: 0,
            lead: FIRST_LEAD,
        }
    }

    fn get(&self) -> Duration {
        self.lead
    }

    /// A wake-up ran `late` after the timerfd fired.
    fn note(&mut self, late: Duration) {
        let micros = u32::try_from(late.as_micros()).unwrap_or(u32::MAX);
        self.recent[self.seen % RECENT] = micros;
        self.seen += 1;
        let n = self.seen.min(RECENT);
        let mut sorted = self.recent;
        let sorted = &mut sorted[..n];
        // The median: half the wake-ups then start the probe on time, the
        // other half late by the spread of the wake-up (tens of µs on an
        // idle machine), and the slow ones of a loaded machine do not set
        // the lead. A larger lead spins longer, and a thread that spins on
        // a busy machine is the one the scheduler preempts.
        let (_, median, _) = sorted.select_nth_unstable(n / 2);
        self.lead = Duration::from_micros(u64::from(*median)).min(MAX_LEAD);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod timerfd {
    use std::io;
    use std::os::fd::OwnedFd;

    use rustix::time::{
        clock_gettime, timerfd_create, timerfd_settime, ClockId, Itimerspec, TimerfdClockId, TimerfdFlags,
        TimerfdTimerFlags, Timespec,
    };
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    /// A one-shot `CLOCK_MONOTONIC` timerfd in tokio's reactor.
    pub(super) struct Timer {
        fd: AsyncFd<OwnedFd>,
    }

    impl Timer {
        pub(super) fn new() -> io::Result<Self> {
            let fd = timerfd_create(
                TimerfdClockId::Monotonic,
                TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
            )?;
            // SAFETY: the `OwnedFd` moves into the `AsyncFd` and is never
            // replaced (only borrowed through `get_ref`), so the descriptor
            // stays open and the same until the `AsyncFd` is dropped.
            let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
            Ok(Timer { fd })
        }

        /// Arms the timer for `at` and waits until it fires: `Ok(true)`.
        /// Setting the time clears an earlier expiry not yet read, and a
        /// readiness left from one reads as `WouldBlock` and is cleared.
        pub(super) async fn wait_until(&mut self, at: std::time::Instant) -> io::Result<bool> {
            let spec = Itimerspec {
                it_interval: Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: monotonic(at),
            };
            timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::ABSTIME, &spec)?;
            loop {
                let mut ready = self.fd.readable().await?;
                let mut expirations = [0u8; 8];
                match ready.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut expirations)?)) {
                    Ok(read) => return read.map(|_| true),
                    Err(_would_block) => continue,
                }
            }
        }

        /// Stops a timer that did not fire (tokio's fired first), so that
        /// it does not wake the runtime later for nothing.
        pub(super) fn disarm(&mut self) {
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let spec = Itimerspec {
                it_interval: zero,
                it_value: zero,
            };
            let _ = timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::empty(), &spec);
        }
    }

    /// `at` on `CLOCK_MONOTONIC`, the clock `std::time::Instant` reads on
    /// Linux: the two are read together and `at` placed from there (a few
    /// tens of ns apart). Never zero, which would disarm the timer.
    fn monotonic(at: std::time::Instant) -> Timespec {
        let now_ts = clock_gettime(ClockId::Monotonic);
        let ahead = at.saturating_duration_since(std::time::Instant::now());
        let nanos = now_ts.tv_nsec as u64 + u64::from(ahead.subsec_nanos());
        Timespec {
            tv_sec: now_ts.tv_sec + ahead.as_secs() as i64 + (nanos / 1_000_000_000) as i64,
            tv_nsec: (nanos % 1_000_000_000) as _,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lead_follows_the_median_and_stays_bounded() {
        let mut lead = Lead::new();
        assert_eq!(lead.get(), FIRST_LEAD);
        for late in [100, 120, 140, 5_000, 160] {
            lead.note(Duration::from_micros(late));
        }
        assert_eq!(lead.get(), Duration::from_micros(140));
        for _ in 0..RECENT {
            lead.note(Duration::from_millis(5));
        }
        assert_eq!(
            lead.get(),
            MAX_LEAD,
            "a loaded machine does not make it spin longer"
        );
        for _ in 0..RECENT {
            lead.note(Duration::from_micros(20));
        }
        assert_eq!(
            lead.get(),
            Duration::from_micros(20),
            "old wake-ups are forgotten"
        );
    }

    /// On a real clock: never before the deadline, and closer to it than
    /// tokio's timer. The two are interleaved, so that a loaded machine's
    /// scheduling delays fall on both; tokio's ends up to 2 ms late (it
    /// rounds the deadline up to its next 1 ms tick, and `epoll_wait` its
    /// timeout to whole ms), the alarm's only by the wake-up.
    #[tokio::test]
    async fn never_early_and_closer_than_tokios_timer() {
        let mut alarm = Alarm::new();
        assert!(alarm.precise(), "a timerfd on Linux");
        let (mut tokio_late, mut alarm_late) = (Vec::new(), Vec::new());
        for i in 0..60u64 {
            // Deadlines 2–3 ms ahead, off the millisecond grid.
            let ahead = Duration::from_micros(2_000 + (i * 337) % 1_000);
            let at = Instant::now() + ahead;
            tokio::time::sleep_until(at).await;
            tokio_late.push(Instant::now() - at);
            let at = Instant::now() + ahead;
            alarm.sleep_until(at).await;
            let now = Instant::now();
            assert!(now >= at, "woke {:?} early", at - now);
            alarm_late.push(now - at);
        }
        tokio_late.sort();
        alarm_late.sort();
        let (tokio_median, alarm_median) = (tokio_late[30], alarm_late[30]);
        assert!(
            alarm_median + Duration::from_micros(250) < tokio_median,
            "median lateness: the alarm's {alarm_median:?}, tokio's timer's {tokio_median:?}"
        );
    }

    /// On a paused clock the wait is tokio's, as before: it ends on tokio's
    /// tick at or just after the deadline in mocked time, without waiting
    /// for it in real time.
    #[tokio::test(start_paused = true)]
    async fn on_a_paused_clock_as_before() {
        let mut alarm = Alarm::new();
        let real = std::time::Instant::now();
        for step in [
            Duration::from_secs(60),
            Duration::from_micros(1_500),
            Duration::from_millis(7),
            Duration::from_micros(10),
        ] {
            let at = Instant::now() + step;
            alarm.sleep_until(at).await;
            let now = Instant::now();
            assert!(now >= at, "woke {:?} early", at - now);
            assert!(now - at < Duration::from_millis(1), "{:?} late", now - at);
        }
        assert!(
            real.elapsed() < Duration::from_secs(5),
            "a minute of mocked time took {:?} of real time",
            real.elapsed()
        );
        // A deadline already passed returns at once, in mocked time too.
        let before = Instant::now();
        alarm.sleep_until(before - Duration::from_millis(1)).await;
        alarm.sleep_until(before).await;
        assert_eq!(Instant::now(), before);
    }
}

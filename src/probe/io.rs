//! A transparent stream wrapper that notes when bytes last moved.
//!
//! It sits between TLS and HTTP (or directly on TCP for plain http), so it
//! sees application bytes only: TLS session tickets and alerts are consumed
//! below it and never mistaken for the first byte of a response. The HTTP
//! exchange reads these marks to place the end of `send` (last write) and
//! the arrival of the response headers and body (last read).
//!
//! A read is placed at the kernel's receive time of the bytes it returned
//! when the transport knows it ([`Arrival`]; TCP with `SO_TIMESTAMPNS`,
//! [`super::kernel_time`]), not at the wake-up after them; otherwise at
//! the instant the read returned. A sending write is placed at the start of
//! the call (the segment leaves inside it), where the transport says when
//! that was.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::kernel_time::RealStamp;

/// A transport that can say when the bytes of its last read arrived and
/// when its last sending write began.
pub trait Arrival {
    /// The kernel's receive time of the last read's bytes, if known.
    fn last_arrival(&self) -> Option<RealStamp>;
    /// When the last write call that put bytes on the socket began.
    fn last_send(&self) -> Option<Instant>;
}

/// When bytes last came in and when the request went out, as offsets from `base`
/// (0 means "never"; atomics because hyper drives the stream from its own task).
#[derive(Debug)]
pub struct IoMarks {
    base: Instant,
    last_read: AtomicU64,
    /// The end of the request: the last write after `arm` and before the
    /// first read that follows it. Writes after a read (an HTTP/2 SETTINGS
    /// ACK, a WINDOW_UPDATE) answer the server; they are not the request.
    request_sent: AtomicU64,
    armed: AtomicBool,
    read_since_arm: AtomicBool,
}

impl IoMarks {
    pub fn new(base: Instant) -> Arc<Self> {
        Arc::new(IoMarks {
            base,
            last_read: AtomicU64::new(0),
            request_sent: AtomicU64::new(0),
            armed: AtomicBool::new(false),
            read_since_arm: AtomicBool::new(false),
        })
    }

    /// Start watching for the end of a request that is about to be sent.
    pub fn arm(&self) {
        self.request_sent.store(0, Ordering::Release);
        self.read_since_arm.store(false, Ordering::Release);
        self.armed.store(true, Ordering::Release);
    }

    /// When the last request byte went out, if any did since `arm`.
    pub fn request_sent(&self) -> Option<Instant> {
        self.get(&self.request_sent)
    }

    /// Request bytes went out, by a socket write that began at `began`
    /// (else now). A send noted before the last read is stale (TLS held
    /// the bytes back; a later flush sends them) and does not count.
    fn wrote(&self, began: Option<Instant>) {
        if self.armed.load(Ordering::Acquire) && !self.read_since_arm.load(Ordering::Acquire) {
            let at = self.offset(began.unwrap_or_else(Instant::now));
            if at >= self.last_read.load(Ordering::Acquire) {
                self.request_sent.store(at, Ordering::Release);
            }
        }
    }

    /// Bytes came in: at `arrival` (the kernel's receive time) when known,
    /// converted to the monotonic clock now and kept within [the latest
    /// mark so far, now]; else now.
    fn read(&self, arrival: Option<RealStamp>) {
        // The stamp's age on the realtime clock first, then the monotonic
        // now: read the other way round, the gap between the two readings
        // would place the arrival that much early.
        let age = arrival.map(|stamp| stamp.age());
        let now = self.offset(Instant::now());
        let at = match age {
            None => now,
            Some(age) => {
                let floor = self
                    .last_read
                    .load(Ordering::Acquire)
                    .max(self.request_sent.load(Ordering::Acquire));
                place(now, age, floor)
            }
        };
        self.last_read.store(at, Ordering::Release);
        if self.armed.load(Ordering::Acquire) {
            self.read_since_arm.store(true, Ordering::Release);
        }
    }

    /// `at` as stored: ns after `base`, +1 so that an event at the base
    /// instant is not mistaken for "never".
    fn offset(&self, at: Instant) -> u64 {
        super::timing::nanos(at.saturating_duration_since(self.base)) + 1
    }

    fn get(&self, slot: &AtomicU64) -> Option<Instant> {
        match slot.load(Ordering::Acquire) {
            0 => None,
            ns => Some(self.base + Duration::from_nanos(ns - 1)),
        }
    }

    /// The last read, as an instant (the tests' view; the probe's phases
    /// use [`IoMarks::last_read_ns`]).
    #[cfg(test)]
    pub fn last_read(&self) -> Option<Instant> {
        self.get(&self.last_read)
    }

    /// The instant the marks count from (the connection's establishment).
    pub fn base(&self) -> Instant {
        self.base
    }

    /// `at` as ns after [`IoMarks::base`] (0 if earlier): the unit of
    /// [`IoMarks::last_read_ns`] and [`IoMarks::request_sent_ns`].
    pub fn since_base(&self, at: Instant) -> u64 {
        self.offset(at) - 1
    }

    /// The instant `ns` after [`IoMarks::base`].
    pub fn at(&self, ns: u64) -> Instant {
        self.base + Duration::from_nanos(ns)
    }

    /// The last read as ns after the base, without making an `Instant`
    /// of it (issue 20: the probe's phases are integers).
    pub fn last_read_ns(&self) -> Option<u64> {
        Self::raw(&self.last_read)
    }

    /// [`IoMarks::request_sent`] as ns after the base.
    pub fn request_sent_ns(&self) -> Option<u64> {
        Self::raw(&self.request_sent)
    }

    fn raw(slot: &AtomicU64) -> Option<u64> {
        slot.load(Ordering::Acquire).checked_sub(1)
    }
}

/// How far before `floor` a receive time may fall and still be taken (at
/// the floor): the jitter between the clock readings. Further is no
/// arrival of these bytes after the phase began (the realtime clock
/// stepped, or the server answered before the request was all written).
const BEFORE_FLOOR_NS: u64 = 50_000;

/// A read that returned at `now` of bytes that arrived `age` earlier, as
/// stored offsets: `now - age`, kept within [`floor` (the mark before it:
/// the phase it ends began there), `now`]; `now` itself when the arrival
/// lies more than [`BEFORE_FLOOR_NS`] before the floor, so that a phase
/// never reads shorter than the wire on a stamp that cannot be its own.
fn place(now: u64, age: Duration, floor: u64) -> u64 {
    let age = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
    let at = now.saturating_sub(age);
    if at.saturating_add(BEFORE_FLOOR_NS) < floor {
        return now;
    }
    at.max(floor).max(1).min(now)
}

/// `S` with every completed read and write stamped into shared [`IoMarks`].
#[derive(Debug)]
pub struct TimedIo<S> {
    inner: S,
    marks: Arc<IoMarks>,
    /// Bytes were written since the last completed flush.
    unflushed: bool,
}

impl<S> TimedIo<S> {
    pub fn new(inner: S, marks: Arc<IoMarks>) -> Self {
        TimedIo {
            inner,
            marks,
            unflushed: false,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Arrival + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            if buf.filled().len() > before {
                self.marks.read(self.inner.last_arrival());
            }
        }
        poll
    }
}

impl<S: AsyncWrite + Arrival + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            if *n > 0 {
                self.marks.wrote(self.inner.last_send());
                self.unflushed = true;
            }
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &poll {
            if *n > 0 {
                self.marks.wrote(self.inner.last_send());
                self.unflushed = true;
            }
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // For TLS the bytes reach the socket on flush: that is when they were
        // sent. A flush with nothing written since is not a send (hyper
        // flushes on every turn of its loop), so it moves no mark.
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        if self.unflushed && matches!(poll, Poll::Ready(Ok(()))) {
            self.unflushed = false;
            self.marks.wrote(self.inner.last_send());
        }
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// A receive time `ago` before now, as the kernel gives it.
    fn stamp_ago(ago: Duration) -> RealStamp {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() - ago;
        RealStamp(real.as_nanos() as u64)
    }

    fn diff(a: Instant, b: Instant) -> Duration {
        a.max(b) - a.min(b)
    }

    #[test]
    fn a_read_is_placed_at_its_arrival_within_floor_and_now() {
        let ms = |n: u64| Duration::from_millis(n);
        let at = |n: u64| n * 1_000_000 + 1;
        assert_eq!(place(at(10), ms(3), at(2)), at(7), "now − age");
        let us = |n: u64| Duration::from_micros(n);
        assert_eq!(
            place(at(10), ms(2) + us(20), at(8)),
            at(8),
            "a few µs before the floor: the clocks' jitter, at the floor"
        );
        assert_eq!(
            place(at(10), ms(3), at(8)),
            at(10),
            "well before the floor: not these bytes' arrival in this phase, now"
        );
        assert_eq!(place(at(10), ms(30), 0), 1, "not before the base");
        assert_eq!(place(at(10), Duration::ZERO, 0), at(10));
        assert_eq!(place(at(10), Duration::MAX, 0), 1);
    }

    /// Issue 19 §5: reads are marked at the kernel's receive time, not at
    /// the wake-up; the request's end at the start of the sending write.
    #[test]
    fn marks_follow_the_kernels_times() {
        let base = Instant::now() - Duration::from_secs(1);
        let marks = IoMarks::new(base);
        marks.arm();
        let write_began = Instant::now() - Duration::from_millis(500);
        marks.wrote(Some(write_began));
        let sent = marks.request_sent().unwrap();
        assert!(
            diff(sent, write_began) < Duration::from_micros(1),
            "{sent:?} {write_began:?}"
        );

        // Bytes that came in 200 ms ago, read now.
        let before = Instant::now();
        marks.read(Some(stamp_ago(Duration::from_millis(200))));
        let read = marks.last_read().unwrap();
        let expected = before - Duration::from_millis(200);
        assert!(
            diff(read, expected) < Duration::from_millis(20),
            "read at {:?} before now, expected ≈ 200 ms",
            before - read
        );

        // A receive time well before the request went out (a clock step,
        // bytes that waited in the socket, an answer before the request was
        // all written) cannot end this phase: the read is placed when it
        // returned, never at a phase of about 0 ms.
        marks.arm();
        let write_began = Instant::now() - Duration::from_millis(100);
        marks.wrote(Some(write_began));
        let before = Instant::now();
        marks.read(Some(stamp_ago(Duration::from_millis(300))));
        let read = marks.last_read().unwrap();
        assert!(read >= before && read <= Instant::now(), "{:?}", before - read);

        // No receive time: the read is placed when it returned.
        let before = Instant::now();
        marks.read(None);
        let read = marks.last_read().unwrap();
        assert!(read >= before && read <= Instant::now());

        // A sending write noted before the last read belongs to an earlier
        // exchange: it is not this request's end.
        marks.arm();
        marks.wrote(Some(write_began));
        assert_eq!(marks.request_sent(), None);
        marks.wrote(None);
        assert!(marks.request_sent().unwrap() >= read);
    }
}

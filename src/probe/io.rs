//! A transparent stream wrapper that notes when bytes last moved.
//!
//! It sits between TLS and HTTP (or directly on TCP for plain http), so it
//! sees application bytes only: TLS session tickets and alerts are consumed
//! below it and never mistaken for the first byte of a response. The HTTP
//! exchange reads these marks to place the end of `send` (last write) and
//! the arrival of the response headers and body (last read).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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

    fn wrote(&self) {
        if self.armed.load(Ordering::Acquire) && !self.read_since_arm.load(Ordering::Acquire) {
            self.stamp(&self.request_sent);
        }
    }

    fn read(&self) {
        self.stamp(&self.last_read);
        if self.armed.load(Ordering::Acquire) {
            self.read_since_arm.store(true, Ordering::Release);
        }
    }

    fn stamp(&self, slot: &AtomicU64) {
        // +1 so that an event at the base instant is not mistaken for "never".
        let ns = Instant::now().saturating_duration_since(self.base).as_nanos() as u64 + 1;
        slot.store(ns, Ordering::Release);
    }

    fn get(&self, slot: &AtomicU64) -> Option<Instant> {
        match slot.load(Ordering::Acquire) {
            0 => None,
            ns => Some(self.base + Duration::from_nanos(ns - 1)),
        }
    }

    pub fn last_read(&self) -> Option<Instant> {
        self.get(&self.last_read)
    }
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

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            if buf.filled().len() > before {
                self.marks.read();
            }
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            if *n > 0 {
                self.marks.wrote();
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
                self.marks.wrote();
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
            self.marks.wrote();
        }
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

//! Network events' times from the kernel instead of from the wake-up after
//! them (issue 19 §5).
//!
//! A user-space clock read once a `connect` or a read returns is late by
//! the wake-up: epoll, the runtime, the task (≈ 0.1 ms on a VM). Two kernel
//! facts give the events' own times instead:
//!
//! - **SYN-ACK**: when a handshake completes with no SYN retransmitted, the
//!   socket's smoothed RTT (`TCP_INFO`'s `tcpi_rtt`, µs) is its one sample,
//!   SYN sent → SYN-ACK received (the first sample sets it exactly). The
//!   connect phase, begun just before `connect()` sent the SYN, ends that
//!   long after its begin. After a retransmitted SYN the sample is not the
//!   whole wait, and the wake-up instant is kept.
//! - **Data arrival**: with `SO_TIMESTAMPNS`, each TCP read (`recvmsg`)
//!   carries the receive time of the last segment whose bytes it returned,
//!   on `CLOCK_REALTIME`. [`StampedTcp`] keeps the last one; the I/O marks
//!   place reads there ([`super::io`]) after converting it to the
//!   monotonic clock at the read.
//!
//! The wake-up lag then falls between a network phase's end and the next
//! phase's begin, which is `queue`. Anywhere these are unavailable
//! (another OS, a kernel refusing the option, a failing `getsockopt`) the
//! wake-up instant stays, as before: nothing here can fail a probe.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};

/// A receive time from the kernel: `CLOCK_REALTIME`, ns since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealStamp(pub u64);

impl RealStamp {
    /// How long before now (on the realtime clock, read here) it was.
    /// Zero when it lies after now (a clock step): then it is now.
    pub fn age(self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() * 1_000_000_000 + u64::from(d.subsec_nanos()));
        Duration::from_nanos(now.saturating_sub(self.0))
    }
}

/// A TCP socket made and configured (no delay; receive timestamps) before
/// its connect begins, so that none of that is timed as the network's.
pub fn socket_for(addr: SocketAddr) -> io::Result<(TcpSocket, bool)> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    let _ = socket.set_nodelay(true);
    sys::hold_timestamping();
    let stamps = sys::enable_rx_timestamps(&socket);
    Ok((socket, stamps))
}

/// Where a connect begun at `began` (just before `connect()`) ended: at
/// `began` + the handshake's RTT sample when no SYN was retransmitted,
/// else (or when the kernel does not say) at `woken`, the instant
/// `connect` returned to the task.
pub fn connect_end(tcp: &TcpStream, began: Instant, woken: Instant) -> Instant {
    match sys::handshake_rtt(tcp) {
        Some(rtt) => (began + rtt).min(woken),
        None => woken,
    }
}

/// A connected TCP stream whose reads note the kernel's receive time of
/// the bytes they return, and whose writes note when the call that sent
/// bytes began.
///
/// A segment leaves inside `write()`, near its start; on a veth pair (and
/// loopback) the same call then runs the peer's receive path, waking its
/// reader, which on a VM took ≈ 0.08 ms before the call returned. The
/// instant before the call is therefore the closer one to the departure.
#[derive(Debug)]
pub struct StampedTcp {
    tcp: TcpStream,
    /// `SO_TIMESTAMPNS` is on: reads go through `recvmsg`.
    stamps: bool,
    /// The receive time of the last read's bytes, if it carried one.
    arrival: Option<RealStamp>,
    /// When the last write that sent bytes was called.
    sent: Option<Instant>,
}

impl StampedTcp {
    pub fn new(tcp: TcpStream, stamps: bool) -> Self {
        StampedTcp {
            tcp,
            stamps,
            arrival: None,
            sent: None,
        }
    }

    pub fn get_ref(&self) -> &TcpStream {
        &self.tcp
    }

    /// The kernel's receive time of the bytes the last read returned.
    pub fn last_arrival(&self) -> Option<RealStamp> {
        self.arrival
    }

    /// When the last write that sent bytes was called.
    pub fn last_send(&self) -> Option<Instant> {
        self.sent
    }

    /// Note the start of a write call that sent bytes.
    fn note_send(&mut self, began: Instant, poll: &Poll<io::Result<usize>>) {
        if matches!(poll, Poll::Ready(Ok(n)) if *n > 0) {
            self.sent = Some(began);
        }
    }
}

impl AsyncRead for StampedTcp {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.stamps {
            return Pin::new(&mut this.tcp).poll_read(cx, buf);
        }
        sys::poll_read_stamped(&this.tcp, &mut this.arrival, cx, buf)
    }
}

impl AsyncWrite for StampedTcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let began = Instant::now();
        let poll = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.note_send(began, &poll);
        poll
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let began = Instant::now();
        let poll = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.note_send(began, &poll);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::mem::{size_of, MaybeUninit};
    use std::os::fd::{AsFd, AsRawFd, RawFd};
    use std::task::{ready, Context, Poll};
    use std::time::Duration;

    use tokio::io::{Interest, ReadBuf};
    use tokio::net::TcpStream;

    use super::RealStamp;

    /// Keep receive timestamping on in the kernel for the process's life:
    /// one idle UDP socket with `SO_TIMESTAMPNS`, made on first use. The
    /// kernel stamps packets while any socket asks for it, and turns that on
    /// and off by patching its code (a static key, IPIs to every CPU) from a
    /// work queue. Without this socket, each new connection with
    /// `--connections fresh` turned it on and its close turned it off again:
    /// the patching ran alongside the next probe and delayed its
    /// `write()` by up to 0.2 ms on a 2-vCPU VM (measured against packet
    /// timestamps, issue 19 §5).
    pub fn hold_timestamping() {
        // Unbound: it holds no port another process could send to.
        static HELD: std::sync::OnceLock<Option<socket2::Socket>> = std::sync::OnceLock::new();
        HELD.get_or_init(|| {
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).ok()?;
            enable_rx_timestamps(&socket).then_some(socket)
        });
    }

    /// Turn on `SO_TIMESTAMPNS`; false when the kernel refuses it.
    pub fn enable_rx_timestamps(socket: &impl AsFd) -> bool {
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor (borrowed for the call), and a pointer
        // and length of a live `c_int`, as SO_TIMESTAMPNS takes.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_fd().as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
    }

    /// The handshake's RTT sample, when no SYN was retransmitted and the
    /// kernel has one.
    pub fn handshake_rtt(tcp: &TcpStream) -> Option<Duration> {
        let mut info = MaybeUninit::<libc::tcp_info>::zeroed();
        let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: a valid descriptor, and a buffer of `len` bytes that the
        // kernel fills (up to `len`) and that was zeroed beforehand.
        let rc = unsafe {
            libc::getsockopt(
                tcp.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return None;
        }
        // SAFETY: zeroed, then (partly) written by the kernel: every byte
        // is initialised, and `tcp_info` is plain integers.
        let info = unsafe { info.assume_init() };
        let covered = len as usize >= std::mem::offset_of!(libc::tcp_info, tcpi_total_retrans) + 4;
        if !covered || info.tcpi_total_retrans != 0 || info.tcpi_retransmits != 0 || info.tcpi_rtt == 0 {
            return None;
        }
        Some(Duration::from_micros(u64::from(info.tcpi_rtt)))
    }

    /// `TcpStream::poll_read` through `recvmsg`, noting the receive time.
    pub fn poll_read_stamped(
        tcp: &TcpStream,
        arrival: &mut Option<RealStamp>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(tcp.poll_read_ready(cx))?;
            // SAFETY (of `unfilled_mut`): `recvmsg` only writes into it, and
            // only the `n` bytes it reports are marked initialised below.
            let unfilled = unsafe { buf.unfilled_mut() };
            let len = unfilled.len();
            // A short read drained the socket: like tokio's own reads, say
            // so (`WouldBlock` after keeping what was read), so that its
            // readiness is cleared and the next poll does not spend a
            // `recvmsg` on EAGAIN. tokio clears only the readiness seen
            // before this read: data arriving after it is not missed.
            let mut drained = None;
            let read = tcp.try_io(Interest::READABLE, || {
                let (n, stamp) = recvmsg(tcp.as_raw_fd(), unfilled)?;
                if n > 0 && n < len {
                    drained = Some((n, stamp));
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok((n, stamp))
            });
            let (n, stamp) = match (read, drained) {
                (_, Some(got)) => got,
                (Ok(got), None) => got,
                (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => continue,
                (Err(e), None) => return Poll::Ready(Err(e)),
            };
            // SAFETY: the kernel wrote these `n` bytes.
            unsafe { buf.assume_init(n) };
            buf.advance(n);
            if n > 0 {
                *arrival = stamp;
            }
            return Poll::Ready(Ok(()));
        }
    }

    /// One `recvmsg` into `buf`, with room for the timestamp's control
    /// message (on the stack: no allocation per read).
    fn recvmsg(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<(usize, Option<RealStamp>)> {
        // 64 bytes, 8-aligned: a cmsghdr (16) and a timespec (16), twice over.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid empty header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 8]>() as _;
        // SAFETY: `msg` points at one iovec over `buf` (writable, its own
        // length) and at `control` (writable, its own length), all alive
        // for the call.
        let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut stamp = None;
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            // Control data cut short (another option's message, one day):
            // no stamp rather than a partial one.
            return Ok((n as usize, None));
        }
        // SAFETY: the CMSG_* walk stays within `msg_controllen` bytes of
        // `control`, which the kernel set; a timestamp is read (unaligned)
        // only from a message long enough to hold one.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET
                    && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                    && (*cmsg).cmsg_len as usize
                        >= libc::CMSG_LEN(size_of::<libc::timespec>() as u32) as usize
                {
                    let ts = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::timespec>());
                    if ts.tv_sec > 0 {
                        stamp = Some(RealStamp(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        Ok((n as usize, stamp))
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use tokio::io::ReadBuf;
    use tokio::net::{TcpSocket, TcpStream};

    use super::RealStamp;

    pub fn hold_timestamping() {}

    pub fn enable_rx_timestamps(_: &TcpSocket) -> bool {
        false
    }

    pub fn handshake_rtt(_: &TcpStream) -> Option<Duration> {
        None
    }

    pub fn poll_read_stamped(
        _: &TcpStream,
        _: &mut Option<RealStamp>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        unreachable!("receive timestamps are never enabled here")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn a_stamp_from_the_future_is_now() {
        let future = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
        assert_eq!(RealStamp(future.as_nanos() as u64).age(), Duration::ZERO);
        let past = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() - Duration::from_secs(60);
        let age = RealStamp(past.as_nanos() as u64).age();
        assert!(
            age >= Duration::from_secs(60) && age < Duration::from_secs(61),
            "{age:?}"
        );
    }

    /// On Linux the handshake's RTT is read and reads carry the kernel's
    /// receive time: before the read returned, after the peer wrote.
    #[tokio::test]
    async fn reads_carry_the_kernels_receive_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (socket, stamps) = socket_for(addr).unwrap();
        let began = Instant::now();
        let (tcp, accepted) = tokio::join!(socket.connect(addr), listener.accept());
        let woken = Instant::now();
        let (tcp, (mut peer, _)) = (tcp.unwrap(), accepted.unwrap());
        let end = connect_end(&tcp, began, woken);
        assert!(end >= began && end <= woken);
        let mut tcp = StampedTcp::new(tcp, stamps);
        assert_eq!(tcp.last_arrival(), None);

        // The kernel turns stamping on from a work queue when the first
        // socket asks: the first reads of a process may come unstamped
        // (they fall back to the wake-up). Round trips until one is
        // stamped; that one must lie between the peer's write and the read.
        let now_ns = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        let mut got = [0u8; 16];
        for round in 0.. {
            let before_write = now_ns();
            peer.write_all(b"hello").await.unwrap();
            let n = tcp.read(&mut got).await.unwrap();
            let after_read = now_ns();
            assert_eq!(&got[..n], b"hello");
            if !cfg!(target_os = "linux") {
                assert_eq!(tcp.last_arrival(), None);
                break;
            }
            if !stamps {
                // A kernel (or sandbox) that refuses the option: the probe
                // falls back to the wake-up, and there is nothing to check.
                crate::say!("kernel time: skipped: SO_TIMESTAMPNS refused by this kernel");
                return;
            }
            let Some(RealStamp(at)) = tcp.last_arrival() else {
                assert!(round < 10_000, "no receive timestamp in {round} reads");
                continue;
            };
            assert!(
                at >= before_write && at <= after_read,
                "{at} outside [{before_write}, {after_read}]"
            );
            break;
        }
        #[cfg(target_os = "linux")]
        assert!(sys::handshake_rtt(tcp.get_ref()).is_some(), "no RTT sample");
        // Writes go through, noting when the sending call began; EOF reads
        // 0 and keeps the last stamp.
        assert_eq!(tcp.last_send(), None);
        let before = Instant::now();
        tcp.write_all(b"back").await.unwrap();
        let sent = tcp.last_send().expect("a write that sent bytes is noted");
        assert!(sent >= before && sent <= Instant::now());
        let mut back = [0u8; 4];
        peer.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
        let kept = tcp.last_arrival();
        drop(peer);
        assert_eq!(tcp.read(&mut got).await.unwrap(), 0);
        assert_eq!(tcp.last_arrival(), kept);
    }
}

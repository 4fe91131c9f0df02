//! A probe connection: the hyper sender plus the facts a record needs
//! (identity, age, idleness, TLS, the I/O marks that time the exchange).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::client::TlsStream;

use super::io::{Arrival, IoMarks, TimedIo};
use super::kernel_time::{RealStamp, StampedTcp};
use super::record::TlsInfo;

/// Plain TCP or TLS over TCP. TLS sits on the timestamped TCP stream, so
/// that a TLS record's bytes are timed by the segments that carried them.
#[derive(Debug)]
pub enum Transport {
    Plain(StampedTcp),
    Tls(Box<TlsStream<StampedTcp>>),
}

impl Arrival for Transport {
    fn last_arrival(&self) -> Option<RealStamp> {
        match self {
            Transport::Plain(s) => s.last_arrival(),
            Transport::Tls(s) => s.get_ref().0.last_arrival(),
        }
    }

    fn last_send(&self) -> Option<Instant> {
        match self {
            Transport::Plain(s) => s.last_send(),
            Transport::Tls(s) => s.get_ref().0.last_send(),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(s) => s.is_write_vectored(),
            Transport::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// Which HTTP version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    H1,
    H2,
}

impl HttpVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::H1 => "1.1",
            HttpVersion::H2 => "2",
        }
    }
}

/// Identity and history of an established connection.
#[derive(Debug, Clone)]
pub struct ConnFacts {
    pub id: u64,
    /// When the connection was ready to carry requests (after TLS); also
    /// its I/O marks' base ([`super::io::IoMarks::base`]).
    pub established: Instant,
    /// When it last finished carrying a response (0 before its first), as
    /// ns after `established`: the one copy of that fact, in the I/O marks'
    /// unit, so the record's idle time needs no `Instant` arithmetic
    /// (issue 20). [`ConnFacts::last_used`] gives it as an instant.
    pub last_used_ns: u64,
    /// Requests carried so far.
    pub requests: u64,
    pub remote: SocketAddr,
    pub local: Option<SocketAddr>,
    pub tls: Option<TlsInfo>,
    pub http: HttpVersion,
}

impl ConnFacts {
    /// [`ConnFacts::last_used_ns`] as an instant, for the rare paths that
    /// need one (a pooled connection found closed).
    pub fn last_used(&self) -> Instant {
        self.established + std::time::Duration::from_nanos(self.last_used_ns)
    }
}

pub struct Connection {
    pub facts: ConnFacts,
    pub marks: Arc<IoMarks>,
    sender: Sender,
}

impl Connection {
    /// Run the HTTP handshake over an established transport and start the
    /// task that drives the connection.
    pub async fn handshake(
        transport: Transport,
        marks: Arc<IoMarks>,
        facts: ConnFacts,
    ) -> Result<Connection, hyper::Error> {
        let io = TokioIo::new(TimedIo::new(transport, marks.clone()));
        let sender = match facts.http {
            HttpVersion::H1 => {
                let (sender, conn) = http1::Builder::new().handshake(io).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Sender::H1(sender)
            }
            HttpVersion::H2 => {
                let (sender, conn) = http2::Builder::new(TokioExecutor::new()).handshake(io).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Sender::H2(sender)
            }
        };
        Ok(Connection { facts, marks, sender })
    }

    /// True when the peer (or an error) has closed the connection.
    pub fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    /// Wait until the connection can take a request.
    pub async fn ready(&mut self) -> Result<(), hyper::Error> {
        match &mut self.sender {
            Sender::H1(s) => s.ready().await,
            Sender::H2(s) => s.ready().await,
        }
    }

    /// Send a request; resolves when the response headers have arrived.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, hyper::Error> {
        match &mut self.sender {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
        }
    }
}

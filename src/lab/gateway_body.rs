//! The lab gateway's response bodies: a whole buffered body, or (response
//! transfer mode STREAM) the integration's chunks passed on as they
//! arrive, cut when the stream stays silent past its idle timeout.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use tokio::sync::mpsc;

pub enum GatewayBody {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Result<Bytes, io::Error>>),
}

impl GatewayBody {
    pub fn full(b: Bytes) -> Self {
        GatewayBody::Full(Some(b))
    }

    /// Forward `incoming`'s chunks as they come; a silence longer than
    /// `idle` ends the stream with an error (the client sees it cut).
    /// `done` runs once the integration body is over (to pool its
    /// connection again), whether whole or cut.
    pub fn stream(mut incoming: Incoming, idle: Duration, done: impl FnOnce(bool) + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let whole = loop {
                match tokio::time::timeout(idle, incoming.frame()).await {
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            if tx.send(Ok(data)).await.is_err() {
                                break false;
                            }
                        }
                    }
                    Ok(None) => break true,
                    Ok(Some(Err(e))) => {
                        let _ = tx.send(Err(io::Error::other(e))).await;
                        break false;
                    }
                    Err(_) => {
                        let cut = io::Error::new(io::ErrorKind::TimedOut, "stream idle timeout");
                        let _ = tx.send(Err(cut)).await;
                        break false;
                    }
                }
            };
            done(whole);
        });
        GatewayBody::Stream(rx)
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            GatewayBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            GatewayBody::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, GatewayBody::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            GatewayBody::Full(Some(b)) => hyper::body::SizeHint::with_exact(b.len() as u64),
            GatewayBody::Full(None) => hyper::body::SizeHint::with_exact(0),
            GatewayBody::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

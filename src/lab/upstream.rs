//! Pooled HTTP/1.1 connections from a lab proxy to the next hop (the
//! gateway's integration connections to the NLB, the edge's origin
//! connections to the gateway).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How a proxy treats connections to its next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Keep connections alive and reuse the most recent one.
    Pool,
    /// A new connection for every request.
    Fresh,
}

pub enum Connector {
    Plain(SocketAddr),
    Tls {
        addr: SocketAddr,
        tls: TlsConnector,
        name: ServerName<'static>,
    },
}

pub struct Upstream {
    connector: Connector,
    policy: Policy,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// Idle connections kept at most.
const MAX_IDLE: usize = 64;

impl Upstream {
    pub fn new(connector: Connector, policy: Policy) -> Arc<Upstream> {
        Arc::new(Upstream {
            connector,
            policy,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// A pooled connection the peer has not closed, if any.
    pub fn checkout(&self) -> Option<SendRequest<Full<Bytes>>> {
        if self.policy == Policy::Fresh {
            return None;
        }
        let mut idle = self.idle.lock().expect("pool lock");
        while let Some(conn) = idle.pop() {
            if !conn.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    pub fn checkin(&self, conn: SendRequest<Full<Bytes>>) {
        if self.policy == Policy::Pool && !conn.is_closed() {
            let mut idle = self.idle.lock().expect("pool lock");
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }

    pub async fn connect(&self) -> io::Result<SendRequest<Full<Bytes>>> {
        let (sender, conn) = match &self.connector {
            Connector::Plain(addr) => {
                let tcp = TcpStream::connect(addr).await?;
                let _ = tcp.set_nodelay(true);
                let (sender, conn) = http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(io::Error::other)?;
                (sender, tokio::spawn(async move { conn.await.map(|_| ()) }))
            }
            Connector::Tls { addr, tls, name } => {
                let tcp = TcpStream::connect(addr).await?;
                let _ = tcp.set_nodelay(true);
                let stream = tls.connect(name.clone(), tcp).await?;
                let (sender, conn) = http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(io::Error::other)?;
                (sender, tokio::spawn(async move { conn.await.map(|_| ()) }))
            }
        };
        drop(conn);
        Ok(sender)
    }
}

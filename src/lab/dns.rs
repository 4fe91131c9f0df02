//! A UDP DNS server for the lab's names (`*.lab.test` → A 127.0.0.1 and
//! AAAA ::1, as a dual-stack API's names are) that can answer late or not
//! at all, for `--dns-server`.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DnsConfig {
    /// Every answer waits this long.
    pub delay: Duration,
    /// Fraction of queries never answered (the resolver retries after its timeout).
    pub drop: f64,
    /// Leave the first query of every question unanswered and answer the
    /// retry: the client waits out its own retransmission timer, a real
    /// client-side timer that `--speed` cannot compress (glibc: 5 s;
    /// coldlink follows /etc/resolv.conf as glibc does).
    pub drop_first: bool,
    /// Answer AAAA ::1 (off: the names have A records only, as an
    /// IPv4-only API's, or the machine has no IPv6 on loopback).
    pub aaaa: bool,
}

pub async fn start(config: DnsConfig, cancel: CancellationToken) -> io::Result<SocketAddr> {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let addr = socket.local_addr()?;
    tokio::spawn(async move {
        // Questions whose last query went unanswered: the next is a retry.
        let mut dropped: HashSet<Vec<u8>> = HashSet::new();
        let mut buf = [0u8; 512];
        loop {
            let (n, from) = tokio::select! {
                r = socket.recv_from(&mut buf) => match r { Ok(x) => x, Err(_) => continue },
                _ = cancel.cancelled() => return,
            };
            if config.drop > 0.0 && rand::rng().random::<f64>() < config.drop {
                continue;
            }
            if config.drop_first {
                let question = buf.get(12..n).unwrap_or_default().to_vec();
                if dropped.len() > 10_000 {
                    dropped.clear();
                }
                if dropped.insert(question.clone()) {
                    continue;
                }
                dropped.remove(&question);
            }
            let Some(answer) = answer(&buf[..n], config.aaaa) else {
                continue;
            };
            let socket = socket.clone();
            tokio::spawn(async move {
                if !config.delay.is_zero() {
                    tokio::time::sleep(config.delay).await;
                }
                let _ = socket.send_to(&answer, from).await;
            });
        }
    });
    Ok(addr)
}

/// The answer to one query: A 127.0.0.1 (and AAAA ::1 when `aaaa`) for
/// names under `lab.test`, an empty answer for other types there, NXDOMAIN
/// elsewhere.
fn answer(query: &[u8], aaaa: bool) -> Option<Vec<u8>> {
    let mut end = 12;
    let mut labels = Vec::new();
    while *query.get(end)? != 0 {
        let len = query[end] as usize;
        labels.push(String::from_utf8_lossy(query.get(end + 1..end + 1 + len)?).to_ascii_lowercase());
        end += 1 + len;
    }
    let qtype = u16::from_be_bytes([*query.get(end + 1)?, *query.get(end + 2)?]);
    end += 5;
    let question = query.get(12..end)?;
    let ours = labels.len() >= 2 && labels[labels.len() - 2..] == ["lab".to_string(), "test".to_string()];
    const A: u16 = 1;
    const AAAA: u16 = 28;
    let answers = ours && (qtype == A || (aaaa && qtype == AAAA));
    let mut out = Vec::with_capacity(80);
    out.extend_from_slice(&query[0..2]);
    out.extend_from_slice(&[0x81, if ours { 0x80 } else { 0x83 }]);
    out.extend_from_slice(&[0, 1, 0, answers as u8, 0, 0, 0, 0]);
    out.extend_from_slice(question);
    if answers {
        // The name (a pointer to the question's), type, class IN, TTL 5 s,
        // then the address.
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&[0, 1, 0, 0, 0, 5]);
        if qtype == A {
            out.extend_from_slice(&[0, 4, 127, 0, 0, 1]);
        } else {
            out.extend_from_slice(&[0, 16]);
            out.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        }
    }
    Some(out)
}

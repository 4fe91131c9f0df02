//! A DNS server on loopback for `--dns-server`: NXDOMAIN for every name, or
//! 127.0.0.1 after a delay; it counts the queries it gets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

/// How the loopback DNS server answers.
#[derive(Clone, Copy, Debug)]
pub enum Dns {
    /// NXDOMAIN for every name.
    NxDomain,
    /// 127.0.0.1 for every A query (no AAAA), after `delay`.
    Loopback { delay: Duration },
}

/// A UDP DNS server on 127.0.0.1:0, for --dns-server. Returns its address
/// and the number of queries it has received.
pub async fn start_dns(mode: Dns) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let count = queries.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let query = buf[..n].to_vec();
            let socket = socket.clone();
            tokio::spawn(async move {
                if let Some(answer) = dns_answer(&query, mode) {
                    if let Dns::Loopback { delay } = mode {
                        tokio::time::sleep(delay).await;
                    }
                    let _ = socket.send_to(&answer, from).await;
                }
            });
        }
    });
    (addr, queries)
}

/// The answer to `query` in `mode`: its question echoed, recursion
/// available, and 127.0.0.1 (TTL 60 s) for an A question in `Loopback`.
fn dns_answer(query: &[u8], mode: Dns) -> Option<Vec<u8>> {
    use hickory_proto::op::{Message, ResponseCode};
    use hickory_proto::rr::{rdata::A, RData, Record, RecordType};

    let query = Message::from_vec(query).ok()?;
    let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
    answer.metadata.recursion_desired = true;
    answer.metadata.recursion_available = true;
    let question = query.queries.first()?.clone();
    match mode {
        Dns::NxDomain => answer.metadata.response_code = ResponseCode::NXDomain,
        Dns::Loopback { .. } if question.query_type() == RecordType::A => {
            let loopback = RData::A(A::new(127, 0, 0, 1));
            answer.add_answer(Record::from_rdata(question.name().clone(), 60, loopback));
        }
        Dns::Loopback { .. } => {}
    }
    answer.add_query(question);
    answer.to_vec().ok()
}

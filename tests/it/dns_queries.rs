//! Every new connection sends its own DNS query, checked against a real
//! resolver: Debian's dnsmasq on a free loopback port, logging every query
//! it gets. Lookups that run at the same time must not be merged into one
//! query (hickory's resolver does that on its own), or one lost query
//! stalls every probe that joined it and the stalled share is wrong.
//!
//! No root needed. Without dnsmasq (`scripts/test.sh` installs it as root)
//! the tests print a line saying they skipped.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::common::server_process::start_on_free_port;
use crate::common::{coldlink, start, text, Behavior};

/// dnsmasq answering `api.test` with 127.0.0.1 (and no AAAA), nothing else,
/// no cache, every query logged to a file. Stopped (SIGTERM, so that its
/// log is complete) when dropped.
struct Dnsmasq {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// `None` (after printing why) when dnsmasq is not installed.
    fn start(test: &str) -> Option<Dnsmasq> {
        let Some(bin) = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
        else {
            println!(
                "skipped {test}: dnsmasq is not installed (scripts/test.sh installs dnsmasq-base as root)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("queries.log");
        let spawn = |port: u16| {
            Command::new(bin)
                .args([
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--no-resolv",
                    "--no-hosts",
                    "--pid-file=",
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                    "--cache-size=0",
                    "--log-queries",
                    // Authoritative for test.: AAAA api.test is NODATA,
                    // not REFUSED (which a resolver asks again over TCP).
                    "--local=/test/",
                    "--host-record=api.test,127.0.0.1",
                ])
                .arg(format!("--port={port}"))
                .arg(format!("--log-facility={}", log.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start dnsmasq")
        };
        // dnsmasq logs "started" once its sockets are bound.
        let ready = |_port: u16| std::fs::read_to_string(&log).is_ok_and(|l| l.contains("started, version"));
        let (child, port) =
            start_on_free_port(spawn, ready, Duration::from_secs(10)).expect("dnsmasq started");
        Some(Dnsmasq {
            child,
            port,
            log,
            _dir: dir,
        })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Stop dnsmasq and count the A and the AAAA queries for api.test it
    /// logged.
    fn stop_and_count(mut self) -> (usize, usize) {
        self.terminate();
        let log = std::fs::read_to_string(&self.log).unwrap();
        let count = |kind: &str| {
            let needle = format!("query[{kind}] api.test ");
            log.lines().filter(|l| l.contains(&needle)).count()
        };
        (count("A"), count("AAAA"))
    }

    fn terminate(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Run `coldlink probe` with these arguments on a blocking thread; the
/// records (NDJSON on stdout).
async fn probe(args: Vec<String>) -> Vec<serde_json::Value> {
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        coldlink(&args)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record per line"))
        .collect()
}

fn dns_ms(r: &serde_json::Value) -> f64 {
    r["phases_ms"]["dns"]
        .as_f64()
        .unwrap_or_else(|| panic!("no dns phase: {r}"))
}

/// 15 new connections, 5 at a time: 15 lookups, each its own A and AAAA
/// query, where one shared resolver sent 6 queries in all.
#[tokio::test]
async fn every_new_connection_sends_its_own_query() {
    let Some(dnsmasq) = Dnsmasq::start("every_new_connection_sends_its_own_query") else {
        return;
    };
    let server = start(Behavior::Ok).await;
    let records = probe(vec![
        "probe".into(),
        "-n".into(),
        "15".into(),
        "-c".into(),
        "5".into(),
        "--connections".into(),
        "fresh".into(),
        "--format".into(),
        "ndjson".into(),
        "--dns-server".into(),
        dnsmasq.addr().to_string(),
        format!("http://api.test:{}/", server.addr.port()),
    ])
    .await;
    assert_eq!(records.len(), 15);
    assert!(records.iter().all(|r| r["error"].is_null()), "{records:?}");
    assert_eq!(
        dnsmasq.stop_and_count(),
        (15, 15),
        "dnsmasq's (A, AAAA) queries for 15 lookups"
    );
}

/// A UDP forwarder in front of `upstream` that loses the first send of
/// every third query (by DNS id) and passes everything else, retransmits
/// included. Returns its address and the number of queries it lost.
async fn lossy_forwarder(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    let lost = Arc::new(AtomicUsize::new(0));
    let lost_count = lost.clone();
    let seen: Arc<Mutex<HashSet<u16>>> = Arc::default();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, client)) = socket.recv_from(&mut buf).await else {
                return;
            };
            if n < 2 {
                continue;
            }
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            let drop_it = {
                let mut seen = seen.lock().unwrap();
                // A retransmission repeats the id: always passed on.
                seen.insert(id) && seen.len() % 3 == 0
            };
            if drop_it {
                lost_count.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            let query = buf[..n].to_vec();
            let socket = socket.clone();
            tokio::spawn(async move {
                let up = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                up.send_to(&query, upstream).await.unwrap();
                let mut answer = [0u8; 1500];
                if let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(30), up.recv(&mut answer)).await {
                    let _ = socket.send_to(&answer[..m], client).await;
                }
            });
        }
    });
    (addr, lost)
}

/// With a third of the queries lost on the way, exactly the probes whose
/// own query was lost wait for the resolver's retransmission: the stalled
/// share is the loss rate, per probe. Merged lookups made it near 100 %.
#[tokio::test]
async fn a_lost_query_stalls_only_its_own_probe() {
    let Some(dnsmasq) = Dnsmasq::start("a_lost_query_stalls_only_its_own_probe") else {
        return;
    };
    let server = start(Behavior::Ok).await;
    let (forwarder, lost) = lossy_forwarder(dnsmasq.addr()).await;
    let records = probe(vec![
        "probe".into(),
        "-4".into(),
        "-n".into(),
        "15".into(),
        "-c".into(),
        "5".into(),
        "--connections".into(),
        "fresh".into(),
        "--format".into(),
        "ndjson".into(),
        "--dns-server".into(),
        forwarder.to_string(),
        format!("http://api.test:{}/", server.addr.port()),
    ])
    .await;
    assert_eq!(records.len(), 15);
    assert!(records.iter().all(|r| r["error"].is_null()), "{records:?}");
    let lost = lost.load(Ordering::SeqCst);
    let times: Vec<f64> = records.iter().map(dns_ms).collect();
    // A lost query costs the resolver's retransmission interval (resolv.conf
    // `timeout`, at least 1 s); a loopback answer takes milliseconds.
    let stalled = times.iter().filter(|&&t| t >= 900.0).count();
    let fast = times.iter().filter(|&&t| t < 500.0).count();
    assert!(lost >= 4, "every third of 15 queries is lost: {lost}");
    assert_eq!(stalled, lost, "one stalled probe per lost query: {times:?}");
    assert_eq!(fast, 15 - lost, "{times:?}");
    // Each lookup sent its own query; a lost one's retransmission reached
    // dnsmasq, the lost first send did not.
    assert_eq!(dnsmasq.stop_and_count(), (15, 0), "(A, AAAA) queries");
}

//! Issue 20: the keep-alive path made cheaper still records every phase of
//! every probe, and its one timer per worker still bounds every probe.

use std::sync::Arc;
use std::time::Duration;

use coldlink::config::targets_from;
use coldlink::probe::{
    engine, ConnectionPolicy, CountPlan, ErrorKind, Pacing, Phase, ProbeRecord, ProbeSettings, RequestSpec,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::common::{start, Behavior};

/// A burst (no pacing: long-lived workers) of `n` probes, `workers` at once.
async fn burst(settings: ProbeSettings, url: String, n: u64, workers: usize) -> Vec<ProbeRecord> {
    let urls = [url.parse().unwrap()];
    let plan = CountPlan::new(1, n, Pacing::None, tokio::time::Instant::now());
    let mut out = crate::common::runner::collect(settings, &urls, plan, workers, 4).await;
    out.sort_by_key(|r| r.seq);
    out
}

#[tokio::test]
async fn every_keep_alive_probe_keeps_its_phases_headers_and_connection() {
    let server = start(Behavior::Ok).await;
    let settings = ProbeSettings {
        connections: ConnectionPolicy::Reuse,
        ..ProbeSettings::default()
    };
    // More records than the channel holds: workers wait for room.
    let records = burst(settings, server.url("/"), 12, 1).await;
    assert_eq!(records.len(), 12);
    let first_conn = records[0].conn.as_ref().unwrap().id;
    let received = server.requests();
    for (i, r) in records.iter().enumerate() {
        assert!(r.error.is_none(), "{r:?}");
        for phase in [Phase::Send, Phase::Ttfb, Phase::Body, Phase::Queue] {
            assert!(r.phases_ms.get(phase).is_some(), "{phase} missing: {r:?}");
        }
        let sum = r.phases_ms.sum();
        assert!((sum - r.total_ms).abs() < 0.01, "{sum} vs {}", r.total_ms);
        assert!(r.body_bytes.unwrap() > 0, "{r:?}");
        let conn = r.conn.as_ref().unwrap();
        // The body was read to its end without a last poll, and the
        // connection still went back to the pool: one connection for all.
        assert_eq!(conn.id, first_conn, "probe {i}");
        assert_eq!(conn.reused, i > 0, "probe {i}");
        assert_eq!(conn.requests, i as u64 + 1);
        let sent = received[i].header("x-amzn-trace-id").unwrap();
        assert_eq!(
            Some(sent.to_string()),
            r.trace_id.as_ref().map(|id| format!("Root={id};Sampled=1"))
        );
    }
    let ids: std::collections::BTreeSet<_> = records.iter().map(|r| r.trace_id.clone()).collect();
    assert_eq!(ids.len(), records.len(), "a trace id per probe");
}

#[tokio::test]
async fn a_burst_workers_one_timer_bounds_each_of_its_probes() {
    let server = start(Behavior::NeverAnswer).await;
    let mut settings = ProbeSettings {
        connections: ConnectionPolicy::Reuse,
        ..ProbeSettings::default()
    };
    settings.timeouts.total = Duration::from_millis(200);
    let records = burst(settings, server.url("/"), 3, 1).await;
    assert_eq!(records.len(), 3);
    for r in &records {
        let e = r.error.as_ref().expect("timed out");
        assert_eq!((e.kind, e.phase), (ErrorKind::Timeout, Phase::Ttfb), "{e:?}");
        // Each probe waited its own full limit, not what was left of an
        // earlier probe's.
        assert!(r.total_ms >= 200.0 && r.total_ms < 1_000.0, "{}", r.total_ms);
    }
}

/// A burst through the engine: its workers put records in the shard's
/// pending vector, a forwarder passes them on in batches.
fn engine_burst(
    url: String,
    n: u64,
    workers: usize,
) -> (
    impl std::future::Future<Output = ()>,
    mpsc::Receiver<coldlink::probe::RecordBatch>,
) {
    let urls = [url.parse().unwrap()];
    let targets = targets_from(&urls, &Arc::new(RequestSpec::default()));
    let settings = ProbeSettings {
        connections: ConnectionPolicy::Reuse,
        ..ProbeSettings::default()
    };
    let plan = CountPlan::new(1, n, Pacing::None, tokio::time::Instant::now());
    // A single batch in flight: the workers fill the pending vector and
    // wait for room while the consumer is slow.
    let (tx, rx) = mpsc::channel(1);
    let run = async move {
        engine::run(
            settings,
            targets,
            Box::new(plan),
            workers,
            tx,
            CancellationToken::new(),
        )
        .await
        .unwrap()
    };
    (run, rx)
}

#[tokio::test]
async fn an_engine_burst_hands_on_every_record_once_in_batches() {
    let server = start(Behavior::Ok).await;
    // More records than a shard keeps pending (1 024), a slow consumer.
    let n = 3_000;
    let (run, mut rx) = engine_burst(server.url("/"), n, 20);
    let collect = async {
        let mut seqs = Vec::new();
        let mut batches = 0;
        while let Some(batch) = rx.recv().await {
            assert!(!batch.is_empty(), "an empty batch");
            batches += 1;
            seqs.extend(batch.iter().map(|r| {
                assert!(r.error.is_none(), "{r:?}");
                r.seq
            }));
            tokio::task::yield_now().await;
        }
        (seqs, batches)
    };
    let ((), (mut seqs, batches)) = tokio::join!(run, collect);
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "every record once");
    assert!(batches > 1, "records come in several batches, not one at the end");
    assert_eq!(server.requests().len() as u64, n);
}

#[tokio::test]
async fn an_engine_burst_ends_when_nobody_takes_its_records() {
    let server = start(Behavior::Ok).await;
    let n = 100_000;
    let (run, mut rx) = engine_burst(server.url("/"), n, 8);
    let first = async {
        let batch = rx.recv().await.expect("a first batch");
        drop(rx);
        batch.len()
    };
    let ((), first) = tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(run, first) })
        .await
        .expect("the burst stops once its consumer is gone");
    assert!(first > 0);
    assert!(
        (server.requests().len() as u64) < n,
        "workers stopped probing after the consumer went away"
    );
}

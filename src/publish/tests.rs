//! The publisher on tokio's paused clock, with a stand-in sink: once a
//! minute, backoff, old data dropped, a hanging sink never holding the
//! probes or the stop.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatch::types::MetricDatum;
use tokio::time::Instant;

use super::*;
use crate::probe::ProbeRecord;

/// (when, datums) of every call, failed ones too.
type Calls = Arc<Mutex<Vec<(Instant, Vec<MetricDatum>)>>>;

#[derive(Clone, Default)]
struct StandIn {
    calls: Calls,
    fail_next: Arc<AtomicU32>,
    hang: bool,
}

impl cloudwatch::Sink for StandIn {
    async fn put(&self, _: &Namespace, batch: Vec<MetricDatum>) -> Result<(), String> {
        self.calls.lock().unwrap().push((Instant::now(), batch));
        if self.hang {
            std::future::pending::<()>().await;
        }
        if self.fail_next.load(Ordering::SeqCst) > 0 {
            self.fail_next.fetch_sub(1, Ordering::SeqCst);
            return Err("cloudwatch:PutMetricData: HTTP 500".into());
        }
        Ok(())
    }
}

impl StandIn {
    fn times(&self, start: Instant) -> Vec<u64> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.duration_since(start).as_secs())
            .collect()
    }
}

struct Heard {
    lines: Arc<Mutex<Vec<String>>>,
    failures: Arc<AtomicU32>,
}

fn hooks() -> (Hooks, Heard) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicU32::new(0));
    let (l, f) = (lines.clone(), failures.clone());
    let hooks = Hooks {
        log: Arc::new(move |line| l.lock().unwrap().push(line.to_string())),
        on_failure: Arc::new(move |_| {
            f.fetch_add(1, Ordering::SeqCst);
        }),
    };
    (hooks, Heard { lines, failures })
}

fn timing() -> Timing {
    Timing {
        align: false,
        ..Timing::default()
    }
}

fn record(total: f64) -> ProbeRecord {
    serde_json::from_value(serde_json::json!({
        "v": 1, "target": "api", "url": "http://127.0.0.1/", "seq": 1,
        "at": "2026-12-07T14:00:00Z", "scheduled_at": "2026-12-07T14:00:00Z",
        "remote": null, "conn": null,
        "phases_ms": {"queue": 0.1, "dns": 1.0, "connect": 2.0, "tls": null, "send": 0.1, "ttfb": total - 4.0, "body": 0.2},
        "total_ms": total, "status": 200, "http": "1.1", "tls": null, "trace_id": null, "error": null
    }))
    .unwrap()
}

fn publisher(sink: &StandIn, timing: Timing, hooks: Hooks) -> Publisher {
    Publisher::with(
        Namespace::parse("Test").unwrap(),
        Some(sink.clone()),
        None,
        timing,
        hooks,
    )
}

/// Feed a record every second for `secs` seconds.
async fn feed(tap: &Tap, secs: u64) {
    for i in 0..secs {
        tap.observe(&record(10.0 + (i % 50) as f64));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn sample_count(calls: &[(Instant, Vec<MetricDatum>)], phase: &str) -> f64 {
    calls
        .iter()
        .flat_map(|(_, b)| b)
        .filter(|d| d.metric_name() == Some("ProbeLatency"))
        .filter(|d| d.dimensions().iter().any(|x| x.value() == Some(phase)))
        .flat_map(|d| d.counts())
        .sum()
}

#[tokio::test(start_paused = true)]
async fn one_call_a_minute_and_the_last_interval_at_stop() {
    let sink = StandIn::default();
    let (hooks, _) = hooks();
    let start = Instant::now();
    let p = publisher(&sink, timing(), hooks);
    feed(p.tap(), 290).await;
    let stats = p.finish().await;
    // Minutes 1 to 4, then the stop's partial fifth.
    assert_eq!(sink.times(start), vec![60, 120, 180, 240, 290]);
    let calls = sink.calls.lock().unwrap();
    assert_eq!(sample_count(&calls, "total"), 290.0, "every probe, once");
    assert_eq!(Stats::get(&stats.calls_ok), 5);
    assert_eq!(Stats::get(&stats.datums_dropped), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_is_retried_with_backoff_logged_once_and_counted() {
    let sink = StandIn::default();
    sink.fail_next.store(3, Ordering::SeqCst);
    let (hooks, heard) = hooks();
    let start = Instant::now();
    let p = publisher(&sink, timing(), hooks);
    feed(p.tap(), 370).await;
    let stats = p.finish().await;
    // Fails at 60, then 5, 10 and 20 s later; at 95 it goes through; the
    // next minutes at 120… as usual; the stop's at 370. The recovery of an
    // outage shorter than the log's period is said with the first success
    // once the period since the failure's line is over (at 360).
    assert_eq!(
        sink.times(start),
        vec![60, 65, 75, 95, 120, 180, 240, 300, 360, 370]
    );
    assert_eq!(Stats::get(&stats.calls_failed), 3);
    assert_eq!(heard.failures.load(Ordering::SeqCst), 0, "retried, not given up");
    let lines = heard.lines.lock().unwrap();
    assert_eq!(lines.len(), 2, "one failure line, one recovery: {lines:?}");
    assert!(lines[0].contains("HTTP 500; retrying in 5s"), "{lines:?}");
    assert!(lines[1].contains("again, after 3 failed calls"), "{lines:?}");
    let calls = sink.calls.lock().unwrap();
    let delivered: Vec<_> = calls[3..].to_vec();
    assert_eq!(sample_count(&delivered, "total"), 370.0, "nothing lost");
}

#[tokio::test(start_paused = true)]
async fn data_older_than_the_limit_is_dropped_and_counted() {
    let sink = StandIn::default();
    sink.fail_next.store(u32::MAX, Ordering::SeqCst);
    let (hooks, heard) = hooks();
    let start = Instant::now();
    let p = publisher(&sink, timing(), hooks);
    feed(p.tap(), 30 * 60).await;
    let stats = p.finish().await;
    // The wait doubles up to two minutes and stays there.
    let times = sink.times(start);
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(&gaps[..5], [5, 10, 20, 40, 80]);
    assert!(gaps[5..gaps.len() - 1].iter().all(|g| *g == 120), "{gaps:?}");
    // Intervals older than 15 minutes are gone: at most 16 were queued at once.
    assert!(Stats::get(&stats.datums_dropped) >= 14 * 10, "{stats:?}");
    assert!(calls_max_queue(&sink) <= 16);
    // Each interval given up on is heard once (one batch each here).
    assert!(
        heard.failures.load(Ordering::SeqCst) >= 14,
        "{}",
        heard.failures.load(Ordering::SeqCst)
    );
    // A line per five minutes at most, the others counted in it.
    let lines = heard.lines.lock().unwrap();
    assert!(lines.len() <= 7, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("more failures since the last line")),
        "{lines:?}"
    );
}

/// Calls are one batch each here; a batch is one interval: the oldest
/// interval a call carried, relative to the newest, bounds the queue.
fn calls_max_queue(sink: &StandIn) -> usize {
    let calls = sink.calls.lock().unwrap();
    let stamps: std::collections::BTreeSet<_> = calls
        .iter()
        .rev()
        .take(1)
        .flat_map(|(_, b)| b.iter().filter_map(|d| d.timestamp().map(|t| t.secs())))
        .collect();
    stamps.len().max(1)
}

#[tokio::test(start_paused = true)]
async fn a_hanging_endpoint_holds_neither_the_probes_nor_the_stop() {
    let sink = StandIn {
        hang: true,
        ..StandIn::default()
    };
    let (hooks, _) = hooks();
    let p = publisher(&sink, timing(), hooks);
    let tap = p.tap().clone();
    // The probes' side goes on at its pace while the call hangs.
    let fed = Instant::now();
    feed(&tap, 600).await;
    assert_eq!(fed.elapsed(), Duration::from_secs(600), "no probe waited");
    let stopping = Instant::now();
    let stats = p.finish().await;
    assert_eq!(
        stopping.elapsed(),
        Timing::default().stop_deadline,
        "stop within its deadline"
    );
    // The call that hung, and the stop's own last try, cut at the deadline.
    assert_eq!(sink.calls.lock().unwrap().len(), 2);
    assert!(Stats::get(&stats.datums_dropped) > 0);
}

#[tokio::test(start_paused = true)]
async fn emf_lines_are_written_once_an_interval() {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let (hooks, _) = hooks();
    let p = Publisher::with::<StandIn>(
        Namespace::parse("Test").unwrap(),
        None,
        Some(Box::new(buf.clone())),
        timing(),
        hooks,
    );
    feed(p.tap(), 120).await;
    let stats = p.finish().await;
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    // Per interval: the counts' line and one per phase measured (queue,
    // dns, connect, send, ttfb, body, total): 8; two intervals.
    assert_eq!(text.lines().count(), 16, "{text}");
    assert_eq!(Stats::get(&stats.emf_lines), 16);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Test");
    }
}

/// A publisher stuck in a write (an EMF line into a pipe nobody reads)
/// does not hold the stop: it is left after the deadline and a second,
/// said and counted.
#[tokio::test(start_paused = true)]
async fn a_stop_does_not_wait_on_a_write_that_never_returns() {
    let (hooks, heard) = hooks();
    let p = Publisher {
        tap: Tap::new(),
        stop: CancellationToken::new(),
        task: tokio::spawn(std::future::pending()),
        stats: Arc::new(Stats::default()),
        sink: "emf",
        hooks,
    };
    let start = Instant::now();
    p.finish().await;
    assert_eq!(start.elapsed(), Duration::from_secs(6));
    assert_eq!(heard.failures.load(Ordering::SeqCst), 1);
    let lines = heard.lines.lock().unwrap();
    assert!(
        lines[0].starts_with("emf: the last interval was not published"),
        "{lines:?}"
    );
}

//! The runner on tokio's paused clock with a fake prober: paced probes
//! start at their scheduled times, and a slow target does not delay another
//! (issue #3).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::record::probe_record;
use coldlink::probe::runner::{self, Probe};
use coldlink::probe::{ProbeRecord, RequestSpec, SchedulePlan, Target};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Notes when each probe started (and the scheduled time it was given) and
/// takes `delay[target]` to answer.
struct FakeProbe {
    delays: Vec<Duration>,
    started: Mutex<Vec<(String, u64, Instant)>>,
    scheduled: Mutex<Vec<std::time::Instant>>,
}

impl Probe for FakeProbe {
    fn probe(
        &self,
        target: &Target,
        seq: u64,
        scheduled: std::time::Instant,
    ) -> impl std::future::Future<Output = ProbeRecord> + Send {
        self.scheduled.lock().unwrap().push(scheduled);
        let idx: usize = target.name.parse().unwrap();
        let delay = self.delays[idx];
        self.started
            .lock()
            .unwrap()
            .push((target.name.to_string(), seq, Instant::now()));
        let name = target.name.clone();
        async move {
            tokio::time::sleep(delay).await;
            ProbeRecord {
                target: name,
                url: "http://fake/".into(),
                seq,
                total_ms: delay.as_secs_f64() * 1000.0,
                status: Some(200),
                ..probe_record()
            }
        }
    }
}

fn targets(n: usize) -> Arc<Vec<Target>> {
    Arc::new(
        (0..n)
            .map(|i| {
                Target::new(
                    i.to_string(),
                    "http://fake/".parse().unwrap(),
                    None,
                    Arc::new(RequestSpec::default()),
                )
            })
            .collect(),
    )
}

#[tokio::test(start_paused = true)]
async fn probes_start_on_schedule_and_a_slow_target_does_not_delay_the_other() {
    // A 2 s interval; target 0 answers only at a 60 s timeout, target 1 at
    // once. The slots are sized as `run` sizes them.
    let interval = Duration::from_secs(2);
    let jitter = Duration::from_millis(300);
    let timeout = Duration::from_secs(60);
    let fake = Arc::new(FakeProbe {
        delays: vec![timeout, Duration::from_millis(20)],
        started: Mutex::new(Vec::new()),
        scheduled: Mutex::new(Vec::new()),
    });
    let start = Instant::now();
    let until = start + Duration::from_secs(300);
    let plan = SchedulePlan::new(2, interval, jitter, start, Some(until), 42);
    let slots = coldlink::probe::schedule_in_flight(2, interval, timeout);
    let (tx, mut rx) = mpsc::channel(1024);
    let run = tokio::spawn(runner::run(
        fake.clone(),
        targets(2),
        Box::new(plan),
        slots,
        tx,
        CancellationToken::new(),
    ));
    let mut records = 0;
    while rx.recv().await.is_some() {
        records += 1;
    }
    run.await.unwrap();
    assert_eq!(records, 300, "150 rounds × 2 targets");

    let started = fake.started.lock().unwrap().clone();
    for (name, seq, at) in &started {
        let round = (seq - 1) / 2;
        let slot: u32 = name.parse().unwrap();
        let nominal = start + interval * round as u32 + (interval / 2) * slot;
        let late = at.saturating_duration_since(nominal);
        assert!(*at >= nominal, "target {name} probe {seq} started early");
        assert!(
            late < jitter + Duration::from_millis(5),
            "target {name} probe {seq} started {late:?} after its nominal time (jitter {jitter:?})"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn when_every_slot_is_busy_probes_wait_and_keep_their_scheduled_time() {
    // One slot, a 10 s probe and a 1 s interval: probes queue behind it.
    let fake = Arc::new(FakeProbe {
        delays: vec![Duration::from_secs(10)],
        started: Mutex::new(Vec::new()),
        scheduled: Mutex::new(Vec::new()),
    });
    let start = Instant::now();
    let plan = SchedulePlan::new(
        1,
        Duration::from_secs(1),
        Duration::ZERO,
        start,
        Some(start + Duration::from_secs(3)),
        1,
    );
    let (tx, mut rx) = mpsc::channel(16);
    let run = tokio::spawn(runner::run(
        fake.clone(),
        targets(1),
        Box::new(plan),
        1,
        tx,
        CancellationToken::new(),
    ));
    while rx.recv().await.is_some() {}
    run.await.unwrap();
    let started = fake.started.lock().unwrap().clone();
    let offsets: Vec<u64> = started.iter().map(|(_, _, at)| (*at - start).as_secs()).collect();
    assert_eq!(offsets, vec![0, 10, 20], "each waited for the one slot");
    // …and each kept the time it was due, so the wait shows as queue.
    let scheduled: Vec<Duration> = fake
        .scheduled
        .lock()
        .unwrap()
        .iter()
        .map(|s| *s - start.into_std())
        .collect();
    assert_eq!(
        scheduled,
        vec![Duration::ZERO, Duration::from_secs(1), Duration::from_secs(2)]
    );
}

/// `run --duration 30s` on an hourly schedule lasts 30 s: the plan has no
/// job left after the first round, and the runner still waits for its end.
#[tokio::test(start_paused = true)]
async fn a_schedule_lasts_until_its_end_with_no_probe_left_in_it() {
    let fake = Arc::new(FakeProbe {
        delays: vec![Duration::from_millis(5); 2],
        started: Mutex::new(Vec::new()),
        scheduled: Mutex::new(Vec::new()),
    });
    let start = Instant::now();
    let until = start + Duration::from_secs(30);
    let plan = SchedulePlan::new(
        2,
        Duration::from_secs(3600),
        Duration::ZERO,
        start,
        Some(until),
        1,
    );
    let (tx, mut rx) = mpsc::channel(16);
    let run = runner::run(
        fake.clone(),
        targets(2),
        Box::new(plan),
        4,
        tx,
        CancellationToken::new(),
    );
    let collect = async { while rx.recv().await.is_some() {} };
    tokio::join!(run, collect);
    assert_eq!(Instant::now() - start, Duration::from_secs(30));
    assert_eq!(
        fake.started.lock().unwrap().len(),
        1,
        "only target 0's first probe fell before the end"
    );
}

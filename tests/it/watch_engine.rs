//! The dashboard's probing side on its own, against a loopback server: what
//! each key's command makes the engine do, as the notes and the records
//! that reach the dashboard's channel show it.

use crate::common;

use std::time::Duration;

use clap::Parser;
use coldlink::cli::{Cli, Command as CliCommand};
use coldlink::config::{Burst, FromArgs, WatchConfig};
use coldlink::probe::ConnectionPolicy;
use coldlink::tui::live::{Command, Live, Note, Source};
use coldlink::tui::Event;
use common::{start, Behavior};
use tokio::sync::mpsc;

fn config(url: &str) -> WatchConfig {
    let cli =
        Cli::try_parse_from(["coldlink", "watch", url, "--interval", "50ms", "--jitter", "0s"]).unwrap();
    let CliCommand::Watch(args) = cli.command else {
        unreachable!()
    };
    let mut cfg = WatchConfig::from_args(&args, None).unwrap();
    cfg.burst = Burst {
        requests: 10,
        concurrency: 2,
        rate: None,
        connections: ConnectionPolicy::Reuse,
    };
    cfg.sweep = vec![Duration::ZERO, Duration::from_millis(100)];
    cfg.keep_warm = Duration::from_millis(40);
    cfg
}

/// The next note, passing over records (counted by source).
async fn next_note(events: &mut mpsc::Receiver<Event>, records: &mut Vec<(Source, bool)>) -> Note {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an event within 20 s")
            .expect("the engine is running");
        match ev {
            Event::Engine(note) => return note,
            Event::Records(source, batch) => records.extend(
                batch
                    .iter()
                    .map(|r| (source, r.conn.as_ref().is_some_and(|c| c.reused))),
            ),
            other => panic!("the engine sent {other:?}"),
        }
    }
}

async fn wait_for(events: &mut mpsc::Receiver<Event>, records: &mut Vec<(Source, bool)>, want: Note) {
    loop {
        let note = next_note(events, records).await;
        if note == want {
            return;
        }
    }
}

#[tokio::test]
async fn each_command_does_what_its_key_says() {
    let server = start(Behavior::Ok).await;
    let (tx, mut events) = mpsc::channel(1024);
    let live = Live::start(config(&server.url("/")), tx).unwrap();
    let mut seen = Vec::new();

    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::Schedule { running: true }
    );
    // The schedule's probes arrive by themselves.
    while !seen.iter().any(|(s, _)| *s == Source::Schedule) {
        next_note_or_records(&mut events, &mut seen).await;
    }

    // b: exactly the burst's probes, then done.
    live.send(Command::Burst);
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::BurstStarted { probes: 10 }
    );
    seen.clear();
    wait_for(&mut events, &mut seen, Note::BurstDone).await;
    assert_eq!(seen.iter().filter(|(s, _)| *s == Source::Burst).count(), 10);

    // s: the schedule pauses, every gap is a step, nothing else may start,
    // and the schedule resumes after.
    live.send(Command::ToggleSweep);
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::Schedule { running: false }
    );
    live.send(Command::Burst);
    live.send(Command::ToggleSchedule);
    live.send(Command::ToggleKeepWarm);
    let mut refused = 0;
    let mut steps = Vec::new();
    seen.clear();
    loop {
        match next_note(&mut events, &mut seen).await {
            Note::Refused(why) => {
                assert!(why.contains("sweep"), "{why}");
                refused += 1;
            }
            Note::SweepStep { step, of, .. } => steps.push((step, of)),
            Note::SweepDone { completed } => {
                assert!(completed);
                break;
            }
            other => panic!("during the sweep: {other:?}"),
        }
    }
    assert_eq!(refused, 3, "b, p and k wait for the sweep");
    assert_eq!(steps, [(1, 2), (2, 2)]);
    assert_eq!(
        seen.iter().filter(|(s, _)| *s == Source::Sweep).count(),
        2,
        "one probe per target per gap"
    );
    assert!(
        seen.iter().all(|(s, _)| *s != Source::Burst),
        "the refused burst did not run"
    );
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::Schedule { running: true }
    );

    // p: paused, then resumed.
    live.send(Command::ToggleSchedule);
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::Schedule { running: false }
    );
    live.send(Command::ToggleSchedule);
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::Schedule { running: true }
    );

    // k: keep-warm pings on kept-alive connections.
    live.send(Command::ToggleKeepWarm);
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::KeepWarm { on: true }
    );
    seen.clear();
    while seen.iter().filter(|(s, _)| *s == Source::KeepWarm).count() < 5 {
        next_note_or_records(&mut events, &mut seen).await;
    }
    let pings: Vec<bool> = seen
        .iter()
        .filter(|(s, _)| *s == Source::KeepWarm)
        .map(|(_, reused)| *reused)
        .collect();
    // Rounds may overlap (40 ms is shorter than setting up the prober in a
    // debug build, or than a ping on a busy machine) and then open a second
    // connection; fresh pings would reuse none.
    let reused = pings.iter().filter(|r| **r).count();
    assert!(reused * 2 >= pings.len(), "most pings reuse: {pings:?}");
    live.send(Command::ToggleKeepWarm);
    wait_for(&mut events, &mut seen, Note::KeepWarm { on: false }).await;

    live.stop(Duration::from_secs(5));
}

/// One event of either kind (records or a note), for loops that wait on records.
async fn next_note_or_records(events: &mut mpsc::Receiver<Event>, records: &mut Vec<(Source, bool)>) {
    let ev = tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .expect("an event within 20 s")
        .expect("the engine is running");
    if let Event::Records(source, batch) = ev {
        records.extend(
            batch
                .iter()
                .map(|r| (source, r.conn.as_ref().is_some_and(|c| c.reused))),
        );
    }
}

/// `s` while the sweep's probe is in flight: the sweep says it is stopping,
/// refuses another `s` and a burst until that probe lands, then ends as
/// stopped and gives the schedule back (it used to forget what it had
/// paused, and a second sweep ran beside the first).
#[tokio::test]
async fn stopping_the_sweep_mid_probe_refuses_until_it_ends_then_resumes() {
    let server = start(Behavior::DelayHeaders(Duration::from_millis(1500))).await;
    let (tx, mut events) = mpsc::channel(1024);
    let mut cfg = config(&server.url("/"));
    cfg.sweep = vec![Duration::from_millis(200), Duration::from_secs(30)];
    let live = Live::start(cfg, tx).unwrap();
    let mut seen = Vec::new();
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::Schedule { running: true }
    );

    live.send(Command::ToggleSweep);
    wait_for(&mut events, &mut seen, Note::Schedule { running: false }).await;
    let first = next_note(&mut events, &mut seen).await;
    assert!(
        matches!(first, Note::SweepStep { step: 1, of: 2, .. }),
        "{first:?}"
    );
    // The schedule's probes have landed (the sweep waits for them); after
    // the 200 ms gap the sweep's own probe reaches the server, which holds
    // it for 1.5 s.
    let before = server.requests().len();
    while server.requests().len() == before {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    live.send(Command::ToggleSweep);
    live.send(Command::ToggleSweep);
    live.send(Command::Burst);
    assert_eq!(next_note(&mut events, &mut seen).await, Note::SweepStopping);
    let again = next_note(&mut events, &mut seen).await;
    assert!(
        matches!(&again, Note::Refused(why) if why.contains("stopping")),
        "{again:?}"
    );
    let burst = next_note(&mut events, &mut seen).await;
    assert!(
        matches!(&burst, Note::Refused(why) if why.contains("sweep")),
        "{burst:?}"
    );
    seen.clear();
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::SweepDone { completed: false }
    );
    assert_eq!(
        seen.iter().filter(|(s, _)| *s == Source::Sweep).count(),
        1,
        "the probe in flight was kept; no second step"
    );
    assert_eq!(
        next_note(&mut events, &mut seen).await,
        Note::Schedule { running: true }
    );
    live.stop(Duration::from_secs(5));
}

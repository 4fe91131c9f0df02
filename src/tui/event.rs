//! One channel into the dashboard's loop: key presses and resizes, the
//! clock's ticks, probe records, the engine's notes, and signals all arrive
//! here as one `Event`, and one loop consumes them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event as term;
use tokio::sync::mpsc;

use crate::probe::RecordBatch;

/// Which activity sent a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Schedule,
    Burst,
    Sweep,
    KeepWarm,
}

/// What the engine did, for the header and the status line.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    Schedule {
        running: bool,
    },
    BurstStarted {
        probes: u64,
    },
    BurstDone,
    /// Quiet for `gap` (real time), then one probe per target.
    SweepStep {
        step: usize,
        of: usize,
        gap: Duration,
    },
    /// `s` during the sweep: it stops after the probe in flight.
    SweepStopping,
    SweepDone {
        completed: bool,
    },
    KeepWarm {
        on: bool,
    },
    /// A command that cannot run now, and why.
    Refused(String),
    /// An activity could not start (a bad --cacert).
    Failed(String),
}

#[derive(Debug)]
pub enum Event {
    /// A key, a resize, or anything else the terminal reports.
    Input(term::Event),
    /// The clock: elapsed time moves, the detectors look again.
    Tick,
    /// Records as the engine publishes them, and which activity sent them.
    Records(Source, RecordBatch),
    /// What the engine did (a burst started, a sweep step, …).
    Engine(Note),
    /// SIGTERM or SIGINT from outside (Ctrl-C in the dashboard is a key).
    Signal,
}

/// How often the clock ticks: the header's elapsed time is in seconds.
pub const TICK: Duration = Duration::from_secs(1);

/// How long the input thread waits for a key before it checks whether it
/// should stop: the bound on how long quitting waits for it.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// Terminal input read on a thread of its own (crossterm's reads block),
/// passed on as events. Dropping it stops the thread within `INPUT_POLL`.
pub struct InputThread {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InputThread {
    pub fn spawn(events: mpsc::Sender<Event>) -> std::io::Result<InputThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("coldlink-input".into())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    match term::poll(INPUT_POLL) {
                        Ok(true) => match term::read() {
                            Ok(ev) => {
                                if events.blocking_send(Event::Input(ev)).is_err() {
                                    break;
                                }
                            }
                            Err(_) => break,
                        },
                        Ok(false) => {}
                        Err(_) => break,
                    }
                }
            })?;
        Ok(InputThread {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Ticks into the channel until it closes.
pub async fn tick(events: mpsc::Sender<Event>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        if events.send(Event::Tick).await.is_err() {
            break;
        }
    }
}

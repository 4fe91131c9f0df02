//! The probing side of the dashboard: the schedule, bursts, idle sweeps and
//! keep-warm, on a thread and runtime of their own. The engine publishes
//! records; the dashboard samples them. Nothing the screen does (drawing,
//! a slow terminal, a key held down) can wait inside a measured phase,
//! because none of it runs on this thread.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::event::Event;
// What the engine sends back, kept where the dashboard's one channel is defined.
pub use super::event::{Note, Source};
use super::WatchConfig;
use crate::probe::{
    engine, pinger, round, CountPlan, Pacing, Plan, ProbeSettings, Prober, RecordBatch, SchedulePlan,
};

/// What the dashboard asks of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Pause the schedule, or resume it.
    ToggleSchedule,
    /// The profile's burst, once.
    Burst,
    /// Start the idle sweep, or stop the one running.
    ToggleSweep,
    /// Keep-warm on or off.
    ToggleKeepWarm,
}

/// The engine's thread. Dropping it (or [`Live::stop`]) stops every
/// activity.
pub struct Live {
    commands: mpsc::UnboundedSender<Command>,
    cancel: CancellationToken,
    done: std::sync::mpsc::Receiver<()>,
}

impl Live {
    pub fn start(cfg: WatchConfig, events: mpsc::Sender<Event>) -> std::io::Result<Live> {
        let (commands, rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let (finished, done) = std::sync::mpsc::channel();
        let stop = cancel.clone();
        std::thread::Builder::new()
            .name("coldlink-watch-probes".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread runtime builds");
                runtime.block_on(Conductor::new(cfg, events).run(rx, stop));
                let _ = finished.send(());
            })?;
        Ok(Live {
            commands,
            cancel,
            done,
        })
    }

    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Stop probing and wait up to `grace` for the probes in flight to be
    /// published (a probe may wait on a 60 s timeout; quitting must not).
    pub fn stop(self, grace: Duration) {
        self.cancel.cancel();
        let _ = self.done.recv_timeout(grace);
    }
}

/// A running activity: its stop switch, and word of when its last probe
/// has landed.
struct Running {
    stop: CancellationToken,
    done: oneshot::Receiver<()>,
}

impl Running {
    /// Stop starting probes; the receiver fires once those in flight land.
    fn stop(self) -> oneshot::Receiver<()> {
        self.stop.cancel();
        self.done
    }

    fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// Reports an activity's end when dropped: when its task returns, and also
/// if it panics, so that the conductor never waits on an activity that is
/// gone.
struct EndGuard {
    source: Source,
    ended: mpsc::UnboundedSender<Source>,
    done: Option<oneshot::Sender<()>>,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
        let _ = self.ended.send(self.source);
    }
}

/// Owns the activities and obeys the dashboard's commands.
struct Conductor {
    cfg: Arc<WatchConfig>,
    events: mpsc::Sender<Event>,
    tasks: TaskTracker,
    schedule: Option<Running>,
    keep_warm: Option<Running>,
    burst: Option<Running>,
    sweep: Option<Running>,
    /// What the sweep paused, to restore when it ends.
    paused_by_sweep: (bool, bool),
    /// Activities report here when they end by themselves.
    ended: (mpsc::UnboundedSender<Source>, mpsc::UnboundedReceiver<Source>),
}

impl Conductor {
    fn new(cfg: WatchConfig, events: mpsc::Sender<Event>) -> Conductor {
        Conductor {
            cfg: Arc::new(cfg),
            events,
            tasks: TaskTracker::new(),
            schedule: None,
            keep_warm: None,
            burst: None,
            sweep: None,
            paused_by_sweep: (false, false),
            ended: mpsc::unbounded_channel(),
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>, cancel: CancellationToken) {
        self.start_schedule().await;
        if self.cfg.keep_warm_on {
            self.start_keep_warm().await;
        }
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(c) => self.obey(c).await,
                    None => break,
                },
                Some(source) = self.ended.1.recv() => self.on_end(source).await,
                _ = cancel.cancelled() => break,
            }
        }
        for running in [
            self.schedule.take(),
            self.keep_warm.take(),
            self.burst.take(),
            self.sweep.take(),
        ]
        .into_iter()
        .flatten()
        {
            drop(running.stop());
        }
        self.tasks.close();
        self.tasks.wait().await;
    }

    async fn note(&self, note: Note) {
        let _ = self.events.send(Event::Engine(note)).await;
    }

    async fn obey(&mut self, command: Command) {
        match command {
            Command::ToggleSchedule if self.sweep.is_some() => {
                self.note(Note::Refused(
                    "the idle sweep holds the schedule paused; s stops the sweep".into(),
                ))
                .await
            }
            Command::ToggleSchedule => match self.schedule.take() {
                Some(running) => {
                    drop(running.stop());
                    self.note(Note::Schedule { running: false }).await;
                }
                None => self.start_schedule().await,
            },
            Command::ToggleKeepWarm if self.sweep.is_some() => {
                self.note(Note::Refused(
                    "keep-warm would spoil the idle sweep's quiet gaps; s stops the sweep".into(),
                ))
                .await
            }
            Command::ToggleKeepWarm => match self.keep_warm.take() {
                Some(running) => {
                    drop(running.stop());
                    self.note(Note::KeepWarm { on: false }).await;
                }
                None => self.start_keep_warm().await,
            },
            Command::Burst if self.sweep.is_some() => {
                self.note(Note::Refused(
                    "a burst would spoil the idle sweep's quiet gaps; s stops the sweep".into(),
                ))
                .await
            }
            Command::Burst if self.burst.is_some() => {
                self.note(Note::Refused("a burst is running already".into()))
                    .await
            }
            Command::Burst => self.start_burst().await,
            // A stopping sweep stays until its task reports the end (after
            // the probe in flight): only then is what it paused restored, and
            // only then may another start.
            Command::ToggleSweep => match &self.sweep {
                Some(running) if running.stopping() => {
                    self.note(Note::Refused(
                        "the idle sweep is stopping after the probe in flight".into(),
                    ))
                    .await
                }
                Some(running) => {
                    running.stop.cancel();
                    self.note(Note::SweepStopping).await;
                }
                None if self.burst.is_some() => {
                    self.note(Note::Refused(
                        "the idle sweep needs the API quiet: wait for the burst to end".into(),
                    ))
                    .await
                }
                None => self.start_sweep().await,
            },
        }
    }

    async fn on_end(&mut self, source: Source) {
        match source {
            Source::Burst => {
                self.burst = None;
                self.note(Note::BurstDone).await;
            }
            Source::Sweep => {
                self.sweep = None;
                let (schedule, keep_warm) = std::mem::take(&mut self.paused_by_sweep);
                if schedule && self.schedule.is_none() {
                    self.start_schedule().await;
                }
                if keep_warm && self.keep_warm.is_none() {
                    self.start_keep_warm().await;
                }
            }
            Source::Schedule | Source::KeepWarm => {}
        }
    }

    /// Run `plan` through the engine until it ends or is stopped; records
    /// go to the dashboard tagged with `source`.
    fn spawn_plan(
        &self,
        source: Source,
        settings: ProbeSettings,
        plan: Box<dyn Plan>,
        max_in_flight: usize,
    ) -> Running {
        let stop = CancellationToken::new();
        let (batches, mut from_engine) = mpsc::channel::<RecordBatch>(64);
        let (done_tx, done) = oneshot::channel();
        let guard = EndGuard {
            source,
            ended: self.ended.0.clone(),
            done: Some(done_tx),
        };
        let (events, token) = (self.events.clone(), stop.clone());
        let targets = self.cfg.targets.clone();
        self.tasks.spawn(async move {
            let _guard = guard;
            let forward = async {
                while let Some(batch) = from_engine.recv().await {
                    if events.send(Event::Records(source, batch)).await.is_err() {
                        break;
                    }
                }
            };
            let run = engine::run(settings, targets, plan, max_in_flight, batches, token);
            let (result, ()) = tokio::join!(run, forward);
            if let Err(e) = result {
                let _ = events.send(Event::Engine(Note::Failed(e.to_string()))).await;
            }
        });
        Running { stop, done }
    }

    async fn start_schedule(&mut self) {
        let s = self.cfg.schedule;
        let plan = SchedulePlan::new(
            self.cfg.targets.len(),
            s.interval,
            s.jitter,
            Instant::now(),
            None,
            rand::random(),
        );
        let settings = self.cfg.settings.clone();
        self.schedule =
            Some(self.spawn_plan(Source::Schedule, settings, Box::new(plan), self.cfg.max_in_flight));
        self.note(Note::Schedule { running: true }).await;
    }

    /// The keep-warm daemon's own loop (`probe::pinger`), beside the
    /// dashboard's schedule.
    async fn start_keep_warm(&mut self) {
        let p = pinger::pings(
            self.cfg.targets.len(),
            self.cfg.keep_warm,
            Duration::ZERO,
            &self.cfg.settings,
        );
        self.keep_warm = Some(self.spawn_plan(Source::KeepWarm, p.settings, Box::new(p.plan), p.in_flight));
        self.note(Note::KeepWarm { on: true }).await;
    }

    async fn start_burst(&mut self) {
        let b = self.cfg.burst;
        let pacing = b.rate.map_or(Pacing::None, Pacing::Rate);
        let plan = CountPlan::new(self.cfg.targets.len(), b.requests, pacing, Instant::now());
        let probes = plan.total();
        let mut settings = self.cfg.settings.clone();
        settings.connections = b.connections;
        settings.max_idle_per_origin = b.concurrency.max(1);
        self.burst = Some(self.spawn_plan(Source::Burst, settings, Box::new(plan), b.concurrency));
        self.note(Note::BurstStarted { probes }).await;
    }

    /// The sweep needs the whole API quiet: the schedule and keep-warm
    /// pause while it runs and resume after.
    async fn start_sweep(&mut self) {
        let gaps = self.cfg.sweep.clone();
        if gaps.is_empty() {
            self.note(Note::Refused(
                "no idle sweep: the profile's diagnose.idle_sweep is empty".into(),
            ))
            .await;
            return;
        }
        let mut settings = self.cfg.keep_warm_settings();
        settings.max_idle_per_origin = 1;
        let prober = match Prober::new(settings) {
            Ok(p) => Arc::new(p),
            Err(e) => return self.note(Note::Failed(e.to_string())).await,
        };
        self.paused_by_sweep = (self.schedule.is_some(), self.keep_warm.is_some());
        // Their probes in flight must land before the first quiet gap starts.
        let mut in_flight = Vec::new();
        if let Some(r) = self.schedule.take() {
            in_flight.push(r.stop());
            self.note(Note::Schedule { running: false }).await;
        }
        if let Some(r) = self.keep_warm.take() {
            in_flight.push(r.stop());
            self.note(Note::KeepWarm { on: false }).await;
        }
        let stop = CancellationToken::new();
        let (done_tx, done) = oneshot::channel();
        let guard = EndGuard {
            source: Source::Sweep,
            ended: self.ended.0.clone(),
            done: Some(done_tx),
        };
        let (events, token) = (self.events.clone(), stop.clone());
        let targets = self.cfg.targets.clone();
        self.tasks.spawn(async move {
            let _guard = guard;
            for landed in in_flight {
                tokio::select! {
                    _ = landed => {}
                    _ = token.cancelled() => {}
                }
            }
            let of = gaps.len();
            let mut seq = 1;
            for (k, gap) in gaps.into_iter().enumerate() {
                if token.is_cancelled() {
                    break;
                }
                let step = Note::SweepStep { step: k + 1, of, gap };
                if events.send(Event::Engine(step)).await.is_err() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(gap) => {}
                    _ = token.cancelled() => break,
                }
                // A probe once started is finished and kept, as the
                // schedule's are when it pauses.
                let batch = round::one_each(&prober, &targets, k, seq).await;
                seq += batch.len() as u64;
                if events.send(Event::Records(Source::Sweep, batch)).await.is_err() {
                    break;
                }
            }
            let completed = !token.is_cancelled();
            let _ = events.send(Event::Engine(Note::SweepDone { completed })).await;
        });
        self.sweep = Some(Running { stop, done });
    }
}

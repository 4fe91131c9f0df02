//! `coldlink watch`: the live dashboard.
//!
//! State, intent, update and view are apart: keys become an [`Action`] by
//! a pure function, [`update()`] changes the [`State`] and says what the
//! loop must do outside it, and one view module per region draws it.
//! Input, ticks, records, engine notes and signals arrive as one [`Event`]
//! on one channel, consumed by one loop. The probes run on a thread of
//! their own ([`live`]): the loop samples what they publish and never
//! awaits the network while drawing.

pub mod action;
pub mod error;
pub mod event;
pub mod live;
pub mod settings;
pub mod state;
pub mod theme;
pub mod update;
pub mod view;

pub use action::{action_for, Action};
pub use error::Error;
pub use event::Event;
pub use settings::WatchConfig;
pub use state::State;
pub use update::{update, Effect};

use crate::exit::Exit;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use ratatui::crossterm::event::Event as TermEvent;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::probe::{ConnectionPolicy, ProbeRecord};
use crate::records::NdjsonWriter;
use live::Live;
use state::{Meta, TargetMeta};
use theme::Theme;

/// At most this many frames a second while records pour in (a burst);
/// a key press is drawn at once.
const FRAME: Duration = Duration::from_millis(100);

/// Events the loop may fall behind by (see where the channel is made).
const EVENTS_QUEUED: usize = 64;

/// How long quitting waits for probes in flight to land in `--out`.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// What the header and the detectors need to know about the run.
pub fn meta(cfg: &WatchConfig) -> Meta {
    let s = cfg.schedule;
    let policy = match s.connections {
        ConnectionPolicy::Fresh => "new connections",
        ConnectionPolicy::Reuse => "kept-alive connections",
    };
    Meta {
        name: cfg.name.clone(),
        // One panel per name: `--ip-family both` probes a target on each
        // family under its one name, and its panel shows both.
        targets: cfg
            .targets
            .iter()
            .enumerate()
            .filter(|(i, t)| !cfg.targets[..*i].iter().any(|o| o.name == t.name))
            .map(|(_, t)| TargetMeta {
                name: t.name.to_string(),
                url: t.url_text.to_string(),
                kind: t.kind,
            })
            .collect(),
        plan: format!(
            "every {} ±{}, {policy}",
            crate::format::gap(s.interval),
            crate::format::gap(s.jitter)
        ),
        scale: cfg.scale,
        lab: cfg.lab.clone(),
        slow_ms: cfg.slow_ms,
        keep_warm_every: cfg.keep_warm,
        out: cfg.out.clone(),
    }
}

/// Run the dashboard until `q`, Ctrl-C or a signal (`cancel`). Exit code 0.
pub async fn run(cfg: WatchConfig, cancel: CancellationToken) -> anyhow::Result<Exit> {
    if !std::io::stdout().is_terminal() {
        return Err(Error::NotATerminal.into());
    }
    let out = match &cfg.out {
        Some(path) => Some(NdjsonWriter::append(path).map_err(|source| Error::Out {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let mut dashboard = Dashboard {
        state: State::new(meta(&cfg), SystemTime::now()),
        out,
        failure: None,
    };
    let theme = Theme::from_env();
    // Small on purpose: when a burst outruns the screen, records wait in the
    // engine (their probes' slots held, so the wait shows as `queue`)
    // rather than piling up here; 64 batches are at most 16 384 records.
    let (tx, mut events) = mpsc::channel::<Event>(EVENTS_QUEUED);

    let mut terminal = Screen::enter()?;
    let feeds = Feeds::start(&tx, &cancel)?;
    let live = Live::start(cfg, tx.clone())?;
    drop(tx);
    // After the probe thread is started, so that it keeps its priority.
    yield_cpu_to_probes();

    dashboard.show(&mut terminal, theme, &mut events, &live).await?;
    live.stop(QUIT_GRACE);
    dashboard.drain(&mut events);
    feeds.stop();
    drop(terminal);
    dashboard.finish()
}

/// What feeds the loop besides the probes: keys, the clock and signals.
struct Feeds {
    input: event::InputThread,
    ticks: tokio::task::JoinHandle<()>,
    signals: tokio::task::JoinHandle<()>,
}

impl Feeds {
    fn start(tx: &mpsc::Sender<Event>, cancel: &CancellationToken) -> std::io::Result<Feeds> {
        let input = event::InputThread::spawn(tx.clone())?;
        let ticks = tokio::spawn(event::tick(tx.clone()));
        let signals = {
            let (tx, cancel) = (tx.clone(), cancel.clone());
            tokio::spawn(async move {
                cancel.cancelled().await;
                let _ = tx.send(Event::Signal).await;
            })
        };
        Ok(Feeds {
            input,
            ticks,
            signals,
        })
    }

    fn stop(self) {
        self.ticks.abort();
        self.signals.abort();
        drop(self.input);
    }
}

/// What one event asks of the loop.
enum Flow {
    /// The state changed: draw it within the frame budget.
    Changed,
    /// A key or a resize: draw at once, whatever the frame budget.
    AtOnce,
    /// Nothing to draw.
    Ignored,
    Quit,
}

/// The loop's own state: the screen's, the records file, and why the loop
/// ended early, if it did.
struct Dashboard {
    state: State,
    out: Option<NdjsonWriter<std::fs::File>>,
    failure: Option<anyhow::Error>,
}

impl Dashboard {
    /// Draw and take events until quit, a signal, or a failure.
    async fn show(
        &mut self,
        terminal: &mut Screen,
        theme: Theme,
        events: &mut mpsc::Receiver<Event>,
        live: &Live,
    ) -> std::io::Result<()> {
        let started = Instant::now();
        let mut dirty = true;
        let mut next_frame = Instant::now();
        loop {
            if dirty && Instant::now() >= next_frame {
                terminal.draw(&self.state, theme)?;
                dirty = false;
                next_frame = Instant::now() + FRAME;
            }
            let ev = if dirty {
                tokio::select! {
                    ev = events.recv() => ev,
                    _ = tokio::time::sleep_until(next_frame) => continue,
                }
            } else {
                events.recv().await
            };
            let Some(ev) = ev else { break };
            if let Some(panic) = OFF_THREAD_PANIC.get() {
                self.failure = Some(anyhow::anyhow!("internal error, please report it: {panic}"));
                break;
            }
            match self.handle(ev, live, started) {
                Flow::Quit => break,
                Flow::Ignored => continue,
                Flow::AtOnce => next_frame = Instant::now(),
                Flow::Changed => {}
            }
            dirty = true;
        }
        Ok(())
    }

    fn handle(&mut self, ev: Event, live: &Live, started: Instant) -> Flow {
        match ev {
            Event::Input(TermEvent::Key(key)) => self.on_key(key, live),
            Event::Input(TermEvent::Resize(..)) => Flow::AtOnce,
            Event::Input(_) => Flow::Ignored,
            Event::Tick => {
                self.on_tick(started.elapsed());
                Flow::Changed
            }
            Event::Records(source, mut batch) => {
                self.state.number(&mut batch);
                if !self.write(&batch) {
                    return Flow::Quit;
                }
                self.state.ingest(source, batch);
                Flow::Changed
            }
            Event::Engine(note) => {
                self.state.on_note(note);
                Flow::Changed
            }
            Event::Signal => Flow::Quit,
        }
    }

    fn on_key(&mut self, key: ratatui::crossterm::event::KeyEvent, live: &Live) -> Flow {
        let Some(action) = action_for(key, self.state.mode) else {
            return Flow::Ignored;
        };
        match update(&mut self.state, action) {
            Some(Effect::Quit) => return Flow::Quit,
            Some(Effect::Engine(command)) => live.send(command),
            Some(Effect::Export) => {
                let said = export(&self.state.window);
                self.state.say(said);
            }
            None => {}
        }
        // A key is answered at once, whatever the frame budget.
        Flow::AtOnce
    }

    fn on_tick(&mut self, elapsed: Duration) {
        let state = &mut self.state;
        state.tick(elapsed);
        let (logged, first) = crate::logs::held();
        // The first one is said in full; then the footer counts them.
        if state.logs_held == 0 && logged > 0 {
            let first = first.unwrap_or_default();
            state.say(format!("log lines are held until you quit; the first: {first}"));
        }
        state.logs_held = logged;
        if state.stale {
            state.analyse();
        }
    }

    /// The batch to `--out`, unless writing failed before; false when it
    /// fails now.
    fn write(&mut self, batch: &[ProbeRecord]) -> bool {
        if let Some(w) = self.out.as_mut().filter(|_| self.failure.is_none()) {
            if let Err(e) = write_all(w, batch) {
                self.failure = Some(Error::Write { source: e }.into());
                return false;
            }
        }
        true
    }

    /// Probes that finished while stopping still reach the records file.
    fn drain(&mut self, events: &mut mpsc::Receiver<Event>) {
        while let Ok(ev) = events.try_recv() {
            if let Event::Records(source, mut batch) = ev {
                self.state.number(&mut batch);
                self.write(&batch);
                self.state.ingest(source, batch);
            }
        }
    }

    /// The loop's failure, or the closing line.
    fn finish(self) -> anyhow::Result<Exit> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        let kept = match &self.state.meta.out {
            Some(path) => format!("; records in {}", path.display()),
            None => String::new(),
        };
        crate::say!(
            "coldlink watch: {}, {} failed{kept}",
            crate::format::count(self.state.total_probes, "probe"),
            self.state.total_failed
        );
        Ok(Exit::Ok)
    }
}

/// Lower this thread's (the screen's) scheduling priority: where cores are
/// few, a frame being drawn could otherwise hold up the probe thread, or the
/// local server a lab or benchmark runs, in the middle of a measured phase
/// (docs/performance.md). On Linux the nice value is per thread; the probe
/// thread, started before, keeps its own.
fn yield_cpu_to_probes() {
    // Failure only leaves the priority as it was.
    #[cfg(target_os = "linux")]
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
}

fn write_all(w: &mut NdjsonWriter<std::fs::File>, batch: &[ProbeRecord]) -> std::io::Result<()> {
    batch.iter().try_for_each(|r| w.write(r))
}

/// Key `e`: the records held, to a new file in the working directory.
fn export(window: &std::collections::VecDeque<ProbeRecord>) -> String {
    let stamp = crate::probe::clock::format_rfc3339(SystemTime::now())
        .replace([':', '-'], "")
        .chars()
        .take(15)
        .collect::<String>();
    // Never overwrite: a second export within the same second gets a suffix.
    let mut path = PathBuf::from(format!("coldlink-watch-{stamp}Z.ndjson"));
    for n in 2.. {
        match export_to(&path, window) {
            Ok(()) => return format!("exported {} records to {}", window.len(), path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                path = PathBuf::from(format!("coldlink-watch-{stamp}Z-{n}.ndjson"));
            }
            Err(e) => return format!("export to {} failed: {e}", path.display()),
        }
    }
    unreachable!("the loop returns by its hundredth try")
}

pub fn export_to(path: &Path, records: &std::collections::VecDeque<ProbeRecord>) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let mut w = NdjsonWriter::new(std::io::BufWriter::new(file));
    records.iter().try_for_each(|r| w.write(r))
}

/// A panic on another thread than the screen's (a probe task, the lab).
static OFF_THREAD_PANIC: OnceLock<String> = OnceLock::new();

/// The panic another thread had while the screen was up, if any.
pub fn off_thread_panic() -> Option<&'static str> {
    OFF_THREAD_PANIC.get().map(String::as_str)
}

/// ratatui's hook restores the terminal on any panic, but tokio catches a
/// task's panic and the dashboard would go on drawing over a restored
/// terminal. So a panic on the screen's thread restores and reports as
/// before; one elsewhere is kept, and the loop ends the dashboard with it
/// as its error (within a tick), restoring the terminal on the way out.
fn route_panics(screen: std::thread::ThreadId) {
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == screen {
            restore_and_report(info);
        } else {
            let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
            let _ = OFF_THREAD_PANIC.set(format!("a panic on thread {thread}: {info}"));
        }
    }));
}

/// The terminal in raw mode on the alternate screen, restored when dropped
/// (an error return included), by ratatui's panic hook on a panic, and
/// before a forced exit (a second signal).
pub struct Screen {
    terminal: ratatui::DefaultTerminal,
}

impl Screen {
    pub fn enter() -> std::io::Result<Screen> {
        // A log line written to a stderr that is the terminal would be
        // drawn over the screen: held until the terminal is given back.
        // (A stderr sent elsewhere, `2>watch.log`, gets its lines live.)
        if std::io::stderr().is_terminal() {
            crate::logs::hold();
        }
        let terminal = ratatui::try_init().inspect_err(|_| crate::logs::release())?;
        crate::shutdown::before_forced_exit(give_back_terminal);
        route_panics(std::thread::current().id());
        Ok(Screen { terminal })
    }

    pub fn draw(&mut self, state: &State, theme: Theme) -> std::io::Result<()> {
        self.terminal.draw(|frame| view::draw(frame, state, theme))?;
        Ok(())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        give_back_terminal();
    }
}

/// The terminal as it was, then the log lines held while it was not.
fn give_back_terminal() {
    ratatui::restore();
    crate::logs::release();
}

//! What the dashboard shows, in bounded memory: per-target histograms and
//! ring buffers, the most recent slow probes, the live findings, and where
//! the user is (mode, focus, selection). The engine never touches it; the
//! loop folds records in and the view modules only read it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::live::{Note, Source};
use crate::diagnose::{run_all, AwsEvidence, Cause, Dataset, Finding};
use crate::probe::{ProbeRecord, TargetKind};
use crate::records::{ByReuse, Reuse};
use crate::stats::TargetStats;

/// Records the detectors and `e` (export) see: the most recent ones. At a
/// probe every few seconds that is days; a burst of a thousand leaves
/// plenty of the schedule's probes around it.
pub const WINDOW: usize = 10_000;
/// Points of each target's latency-over-time chart and idle-age plot.
pub const POINTS: usize = 2_000;
/// Slow or failed probes kept for the list and its detail view.
pub const SLOW_KEPT: usize = 200;
/// How long a status line stays before the keys come back.
pub const STATUS_SHOWN: Duration = Duration::from_secs(10);

/// Latency buckets of the histogram (ms, upper edges): half decades, so the
/// fast mode and a 5 s stall are a few rows apart, not a screen.
pub const BUCKET_EDGES_MS: [f64; 10] = [
    1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1_000.0, 3_000.0, 10_000.0, 30_000.0,
];
pub const BUCKETS: usize = BUCKET_EDGES_MS.len() + 1;

/// What does not change while the dashboard runs.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The profile's name, `lab SCENARIO`, or `urls`.
    pub name: String,
    pub targets: Vec<TargetMeta>,
    /// The schedule in words: `every 10s ±1s, fresh connections`.
    pub plan: String,
    /// Scenario time ÷ real time (the lab's speed; 1 outside it).
    pub scale: f64,
    pub lab: Option<String>,
    /// `--slow`, scenario ms.
    pub slow_ms: Option<f64>,
    pub keep_warm_every: Duration,
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TargetMeta {
    pub name: String,
    pub url: String,
    pub kind: TargetKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// One slow probe's full record (index into `State::slow`).
    ProbeDetail(usize),
    /// One finding's evidence and fixes (index into `State::findings`).
    FindingDetail(usize),
}

/// Which list the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Slow,
    Findings,
}

/// What the engine is doing, as its notes said.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Activity {
    pub schedule: bool,
    pub keep_warm: bool,
    /// Probes received of the burst running, and its size.
    pub burst: Option<(u64, u64)>,
    /// Step, steps, and the quiet gap of the sweep running (real time).
    pub sweep: Option<(usize, usize, Duration)>,
}

/// One probe on the latency-over-time chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Seconds since the dashboard started.
    pub t_s: f64,
    pub total_ms: f64,
    pub reused: bool,
    /// Any error, a status outside `--expect-status` included.
    pub failed: bool,
}

/// One probe on the latency-vs-idle-age plot: how long its connection sat
/// idle (reused), or how long the whole path had been quiet (new).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdlePoint {
    pub idle_ms: f64,
    pub total_ms: f64,
    pub reused: bool,
}

/// One target's panel.
#[derive(Debug, Clone)]
pub struct TargetView {
    pub stats: TargetStats,
    pub points: VecDeque<Point>,
    pub idle: VecDeque<IdlePoint>,
    pub buckets: [u64; BUCKETS],
    /// A probe slower than this (real ms) counts as slow, per connection
    /// kind: `--slow`, else the detectors' baseline.
    pub slow_ms: ByReuse<Option<f64>>,
}

impl TargetView {
    fn new(t: &TargetMeta) -> TargetView {
        TargetView {
            stats: TargetStats::new(&t.name, &t.url),
            points: VecDeque::new(),
            idle: VecDeque::new(),
            buckets: [0; BUCKETS],
            slow_ms: [None; 2],
        }
    }

    /// Failed, or slower than its connection kind's threshold. Like the
    /// detectors, on network time: the tool's own `queue` is left out.
    pub fn is_slow(&self, r: &ProbeRecord) -> bool {
        let kind = Reuse::of(r.conn.as_ref().is_some_and(|c| c.reused));
        let limit = self.slow_ms[kind].or(self.threshold_ms());
        r.error.is_some() || limit.is_some_and(|l| r.network_ms() > l)
    }

    /// The line drawn on the chart: new connections' threshold, else reused.
    pub fn threshold_ms(&self) -> Option<f64> {
        self.slow_ms[Reuse::Fresh].or(self.slow_ms[Reuse::Reused])
    }
}

pub fn bucket_of(ms: f64) -> usize {
    BUCKET_EDGES_MS
        .iter()
        .position(|edge| ms < *edge)
        .unwrap_or(BUCKETS - 1)
}

#[derive(Debug, Clone)]
pub struct State {
    pub meta: Meta,
    /// Wall time the dashboard started: the time axis's zero.
    pub started: SystemTime,
    pub elapsed: Duration,
    /// Since the start or the last reset (`r`).
    pub probes: u64,
    pub failed: u64,
    /// Since the start, whatever `r` forgot: what `--out` holds.
    pub total_probes: u64,
    pub total_failed: u64,
    pub targets: Vec<TargetView>,
    /// The most recent records, oldest first.
    pub window: VecDeque<ProbeRecord>,
    /// The most recent slow or failed probes, newest first.
    pub slow: VecDeque<ProbeRecord>,
    pub findings: Vec<Finding>,
    /// Causes the window could not test yet (no long quiet period, one
    /// entry point, ...): the findings panel says so, not "healthy".
    pub untested: Vec<crate::diagnose::coverage::Gap>,
    /// Probes the findings were computed from.
    pub analysed: usize,
    pub mode: Mode,
    pub focus: Focus,
    pub slow_selected: usize,
    pub finding_selected: usize,
    /// First line shown of an open detail (PgUp/PgDn).
    pub detail_scroll: u16,
    pub activity: Activity,
    /// The last thing worth saying (a refusal, an export's path), and when
    /// it was said (elapsed); it gives way to the keys after a while.
    pub status: Option<String>,
    pub status_at: Duration,
    /// Records arrived since the detectors last looked.
    pub stale: bool,
    /// Log lines held until the terminal is given back (`crate::logs`).
    pub logs_held: u64,
    /// End of the latest probe, for the quiet time before the next.
    last_end: Option<SystemTime>,
    next_seq: u64,
}

impl State {
    pub fn new(meta: Meta, started: SystemTime) -> State {
        let targets = meta.targets.iter().map(TargetView::new).collect();
        let mut state = State {
            meta,
            started,
            elapsed: Duration::ZERO,
            probes: 0,
            failed: 0,
            total_probes: 0,
            total_failed: 0,
            targets,
            window: VecDeque::new(),
            slow: VecDeque::new(),
            findings: Vec::new(),
            untested: Vec::new(),
            analysed: 0,
            mode: Mode::Normal,
            focus: Focus::Slow,
            slow_selected: 0,
            finding_selected: 0,
            detail_scroll: 0,
            activity: Activity::default(),
            status: None,
            status_at: Duration::ZERO,
            stale: false,
            logs_held: 0,
            last_end: None,
            next_seq: 1,
        };
        state.apply_slow_override();
        state
    }

    /// Forget every probe (key `r`); what runs keeps running.
    pub fn reset(&mut self) {
        let mut fresh = State::new(self.meta.clone(), self.started);
        fresh.elapsed = self.elapsed;
        fresh.activity = self.activity.clone();
        fresh.focus = self.focus;
        fresh.next_seq = self.next_seq;
        fresh.total_probes = self.total_probes;
        fresh.total_failed = self.total_failed;
        *self = fresh;
    }

    /// Give a batch the dashboard's own sequence numbers (every activity
    /// counts from 1; the records file needs one sequence).
    pub fn number(&mut self, batch: &mut [ProbeRecord]) {
        for r in batch {
            r.seq = self.next_seq;
            self.next_seq += 1;
        }
    }

    /// Fold a batch in.
    pub fn ingest(&mut self, source: Source, batch: Vec<ProbeRecord>) {
        if source == Source::Burst {
            if let Some((got, _)) = &mut self.activity.burst {
                *got += batch.len() as u64;
            }
        }
        let mut new_slow = 0;
        for r in batch {
            self.probes += 1;
            self.total_probes += 1;
            if r.error.is_some() {
                self.failed += 1;
                self.total_failed += 1;
            }
            let Some(t) = self.meta.targets.iter().position(|m| m.name == *r.target) else {
                continue;
            };
            let start = r.at.0;
            let end = start + Duration::from_secs_f64(r.total_ms.max(0.0) / 1000.0);
            let quiet_ms = self
                .last_end
                .and_then(|last| start.duration_since(last).ok())
                .map(|d| d.as_secs_f64() * 1000.0);
            if self.last_end.is_none_or(|last| end > last) {
                self.last_end = Some(end);
            }
            let view = &mut self.targets[t];
            view.stats.record(&r);
            let reused = r.conn.as_ref().is_some_and(|c| c.reused);
            // A bad status is a failure on the chart, as in the header's
            // count; its total is still a real round trip, so the histogram
            // and the idle plot take it.
            let failed = r.error.is_some();
            let t_s = start
                .duration_since(self.started)
                .map_or(0.0, |d| d.as_secs_f64());
            push_capped(
                &mut view.points,
                Point {
                    t_s,
                    total_ms: r.total_ms,
                    reused,
                    failed,
                },
                POINTS,
            );
            if r.got_response() {
                view.buckets[bucket_of(r.total_ms)] += 1;
                let idle_ms = if reused {
                    r.conn.as_ref().and_then(|c| c.idle_ms)
                } else {
                    quiet_ms
                };
                if let Some(idle_ms) = idle_ms {
                    push_capped(
                        &mut view.idle,
                        IdlePoint {
                            idle_ms,
                            total_ms: r.total_ms,
                            reused,
                        },
                        POINTS,
                    );
                }
            }
            if view.is_slow(&r) {
                self.slow.push_front(r.clone());
                self.slow.truncate(SLOW_KEPT);
                new_slow += 1;
            }
            push_capped(&mut self.window, r, WINDOW);
            self.stale = true;
        }
        // Keep the selection on the probe the user chose.
        let following_newest = self.slow_selected == 0 && self.mode == Mode::Normal;
        if new_slow > 0 && !following_newest {
            self.slow_selected = (self.slow_selected + new_slow).min(self.slow.len().saturating_sub(1));
            if let Mode::ProbeDetail(i) = self.mode {
                if i + new_slow < self.slow.len() {
                    self.mode = Mode::ProbeDetail(i + new_slow);
                } else {
                    self.mode = Mode::Normal;
                }
            }
        }
    }

    /// Take the engine's word on what runs.
    pub fn on_note(&mut self, note: Note) {
        let a = &mut self.activity;
        match note {
            Note::Schedule { running } => a.schedule = running,
            Note::KeepWarm { on } => a.keep_warm = on,
            Note::BurstStarted { probes } => {
                a.burst = Some((0, probes));
                self.say(format!("burst: {probes} probes"));
            }
            Note::BurstDone => {
                if let Some((got, of)) = a.burst.take() {
                    self.say(format!("burst done: {got} of {of} probes"));
                }
            }
            Note::SweepStep { step, of, gap } => a.sweep = Some((step, of, gap)),
            Note::SweepStopping => self.say("stopping the idle sweep…"),
            Note::SweepDone { completed } => {
                a.sweep = None;
                self.say(if completed {
                    "idle sweep done"
                } else {
                    "idle sweep stopped"
                });
            }
            Note::Refused(why) => self.say(why),
            Note::Failed(why) => self.say(format!("error: {why}")),
        }
    }

    /// Run the detectors over the window, as `diagnose --from` would over
    /// the same records, and take their slow thresholds for the list.
    pub fn analyse(&mut self) {
        self.stale = false;
        let kinds: Vec<(String, TargetKind)> = self
            .meta
            .targets
            .iter()
            .map(|t| (t.name.clone(), t.kind))
            .collect();
        let records = self.window.make_contiguous();
        let mut ds = Dataset::from_records_with(records, &kinds, self.meta.scale, self.meta.slow_ms);
        // The dashboard has no profile's [aws] at hand: an ALB's own pages
        // in the responses are what says the path.
        ds.paths = crate::diagnose::paths::resolve(&ds, &Default::default(), None).paths;
        // Findings are re-ranked each time: the selection and an open detail
        // follow their cause (one finding per cause), not their position.
        let selected = self.findings.get(self.finding_selected).map(|f| f.cause);
        let shown = match self.mode {
            Mode::FindingDetail(i) => self.findings.get(i).map(|f| f.cause),
            _ => None,
        };
        self.findings = run_all(&ds, &AwsEvidence::default());
        self.untested = crate::diagnose::coverage::gaps(&ds);
        // As the report: a cause found is not "not tested yet".
        let findings = &self.findings;
        self.untested
            .retain(|g| !crate::diagnose::coverage::found(g.cause, findings));
        self.analysed = records.len();
        let find = |cause: Option<Cause>| cause.and_then(|c| self.findings.iter().position(|f| f.cause == c));
        self.finding_selected = find(selected).unwrap_or(0);
        if shown.is_some() {
            self.mode = find(shown).map_or(Mode::Normal, Mode::FindingDetail);
        }
        if self.meta.slow_ms.is_none() {
            for (d, info) in ds.targets.iter().enumerate() {
                let Some(t) = self.meta.targets.iter().position(|m| m.name == info.name) else {
                    continue;
                };
                let b = ds.baselines.get(d).copied().unwrap_or_default();
                self.targets[t].slow_ms = b.map(|b| b.map(|b| ds.real_ms(b.slow_ms)));
            }
            self.relist_slow();
        }
    }

    /// The slow list again from the window, by the thresholds just learnt:
    /// probes that landed before there was a baseline are judged too. The
    /// selection stays on the probe it was on.
    fn relist_slow(&mut self) {
        // The newest stays selected if it was; otherwise the selected and
        // the open probe stay in the list, slow by the new thresholds or not.
        let following_newest = self.slow_selected == 0 && self.mode == Mode::Normal;
        let selected = self.selected_probe().map(|r| r.seq);
        let shown = match self.mode {
            Mode::ProbeDetail(i) => self.slow.get(i).map(|r| r.seq),
            _ => None,
        };
        let kept = |r: &ProbeRecord| Some(r.seq) == selected || Some(r.seq) == shown;
        self.slow = self
            .window
            .iter()
            .rev()
            .filter(|r| {
                kept(r)
                    || self
                        .meta
                        .targets
                        .iter()
                        .position(|m| m.name == *r.target)
                        .is_some_and(|t| self.targets[t].is_slow(r))
            })
            .take(SLOW_KEPT)
            .cloned()
            .collect();
        let find = |seq: Option<u64>| seq.and_then(|seq| self.slow.iter().position(|r| r.seq == seq));
        self.slow_selected = if following_newest {
            0
        } else {
            find(selected).unwrap_or(0)
        };
        if shown.is_some() {
            self.mode = find(shown).map_or(Mode::Normal, Mode::ProbeDetail);
        }
    }

    /// Say something in the footer (it gives way to the keys after a while).
    pub fn say(&mut self, what: impl Into<String>) {
        self.status = Some(what.into());
        self.status_at = self.elapsed;
    }

    /// On the clock: time moves, an old status goes.
    pub fn tick(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
        if self.status.is_some() && elapsed.saturating_sub(self.status_at) >= STATUS_SHOWN {
            self.status = None;
        }
    }

    fn apply_slow_override(&mut self) {
        if let Some(ms) = self.meta.slow_ms {
            let real = ms / self.meta.scale;
            for view in &mut self.targets {
                view.slow_ms = [Some(real), Some(real)];
            }
        }
    }

    /// The selected slow probe, if any.
    pub fn selected_probe(&self) -> Option<&ProbeRecord> {
        self.slow.get(self.slow_selected)
    }
}

fn push_capped<T>(q: &mut VecDeque<T>, item: T, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(item);
}

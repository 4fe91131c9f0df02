//! The live plan, stage by stage on this thread's runtime: a burst on fresh
//! connections, a burst on reused ones, then quiet gaps, each followed by
//! one probe per target in turn. A gap is quiet for the whole API (nothing
//! else is in flight), because the gateway pools its integration
//! connections across all routes: only a quiet API lets them sit idle. A
//! burst ends early once its records settle a cause, and the plan with it
//! unless `--idle-sweep` asked for the sweep; a target that takes no
//! connection is dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::progress::Progress;
use crate::commands::CommandError;
use crate::config::DiagnoseConfig;
use crate::diagnose::Dataset;
use crate::format::human_ms;
use crate::probe::{
    round, runner, ConnectionPolicy, CountPlan, Pacing, ProbeRecord, ProbeSettings, Prober, Target,
};
use crate::records::NdjsonWriter;

/// How long the burst on new connections is spread over (real time).
const FRESH_SPREAD: Duration = Duration::from_secs(4);

/// A quiet gap as the user planned it (scenario time) and, in the lab, as
/// it is waited (real time): `65 s of scenario time (1.3 s real)`.
fn quiet_for(real: Duration, scale: f64) -> String {
    let real_ms = real.as_secs_f64() * 1000.0;
    if scale == 1.0 {
        human_ms(real_ms)
    } else {
        format!(
            "{} of scenario time ({} real)",
            human_ms(real_ms * scale),
            human_ms(real_ms)
        )
    }
}

/// What the plan did besides probing, for the report's notes.
#[derive(Debug, Default)]
pub struct PlanOutcome {
    pub records: Vec<ProbeRecord>,
    pub notes: Vec<String>,
    /// A burst settled a cause and the rest of the plan was skipped.
    pub stopped_early: bool,
    /// At least one quiet gap of the idle sweep was waited.
    pub swept: bool,
}

/// The records so far, and where they also go (`--records`).
struct Collected<'a> {
    records: Vec<ProbeRecord>,
    writer: Option<NdjsonWriter<std::fs::File>>,
    cfg: &'a DiagnoseConfig,
    /// Checked for a conclusive finding once the records reach this count.
    next_check: usize,
    /// Whether a conclusive finding may still end a burst: not with
    /// `--full`, nor once the plan has settled on running to its end.
    checking: bool,
}

impl Collected<'_> {
    fn keep(&mut self, mut r: ProbeRecord) -> anyhow::Result<()> {
        r.seq = self.records.len() as u64 + 1;
        if let Some(w) = self.writer.as_mut() {
            w.write(&r)?;
        }
        self.records.push(r);
        Ok(())
    }

    /// A finding the records already settle, looked for at 6 records and
    /// then each time their number has grown by a quarter (so that a long
    /// burst costs O(n log n), not O(n²)).
    fn conclusive(&mut self) -> Option<crate::diagnose::Finding> {
        if !self.checking || self.records.len() < self.next_check {
            return None;
        }
        self.next_check = (self.records.len() + self.records.len() / 4).max(self.records.len() + 1);
        let ds = self.dataset_of(&self.records);
        // A target that has made no connection settles nothing about the
        // others: its refusals would read as conclusive errors and stop the
        // plan for targets that answer (the plan goes on without it). When
        // no target has connected, they are all there is.
        let unreachable = ds.unreachable_targets();
        if unreachable.is_empty() || unreachable.len() == ds.targets.len() {
            return crate::diagnose::conclusive(&ds);
        }
        let reached: Vec<ProbeRecord> = self
            .records
            .iter()
            .filter(|r| !unreachable.iter().any(|u| **u == *r.target))
            .cloned()
            .collect();
        crate::diagnose::conclusive(&self.dataset_of(&reached))
    }

    fn dataset_of(&self, records: &[ProbeRecord]) -> Dataset {
        Dataset::from_records_with(records, &self.cfg.kinds(), self.cfg.scale, self.cfg.slow_ms)
    }
}

/// Records before this many are too few to call anything conclusive.
const FIRST_CHECK: usize = 6;

pub async fn probe_plan(
    cfg: &DiagnoseConfig,
    targets: Vec<Target>,
    settings: &ProbeSettings,
    concurrency: usize,
    cancel: &CancellationToken,
) -> anyhow::Result<PlanOutcome> {
    let progress = Progress::new(cfg.quiet);
    let outcome = run_stages(cfg, targets, settings, concurrency, cancel, &progress).await;
    progress.done();
    outcome
}

async fn run_stages(
    cfg: &DiagnoseConfig,
    targets: Vec<Target>,
    settings: &ProbeSettings,
    concurrency: usize,
    cancel: &CancellationToken,
    progress: &Progress,
) -> anyhow::Result<PlanOutcome> {
    let writer = match &cfg.records_out {
        Some(path) => Some(NdjsonWriter::append(path).map_err(|source| CommandError::Open {
            flag: "--records",
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let mut got = Collected {
        records: Vec::new(),
        writer,
        cfg,
        next_check: FIRST_CHECK,
        checking: !cfg.full,
    };
    let mut notes = Vec::new();
    let mut targets = Arc::new(targets);
    let gaps: Vec<(Duration, bool)> = cfg
        .quick_gaps
        .iter()
        .map(|g| (*g, false))
        .chain(cfg.sweep.iter().map(|g| (*g, true)))
        .collect();
    let quiet_total: Duration = gaps.iter().map(|(g, _)| *g).sum();
    let n = targets.len() as u64 * cfg.probes;

    let mut fresh = settings.clone();
    fresh.connections = ConnectionPolicy::Fresh;
    progress.say(format!(
        "{n} probes on new connections, {concurrency} at once, to {} target(s)",
        targets.len()
    ));
    // Spread over a few seconds: a loss that comes and goes (a full listen
    // queue, a conntrack table at its limit) must be sampled, not missed.
    let rate = Pacing::Rate(n as f64 / FRESH_SPREAD.as_secs_f64());
    let stage = Stage {
        what: "probes on new connections",
        per_target: cfg.probes,
        concurrency,
        pacing: rate,
        after: quiet_total,
    };
    let settled = burst(
        Arc::new(Prober::new(fresh)?),
        &targets,
        &stage,
        cancel,
        progress,
        &mut got,
    )
    .await?;

    // A target that took no connection at all has nothing more to show:
    // its quiet gaps would only repeat the refusal.
    let unreachable =
        Dataset::from_records_with(&got.records, &cfg.kinds(), cfg.scale, cfg.slow_ms).unreachable_targets();
    if !unreachable.is_empty() {
        let left: Vec<Target> = targets
            .iter()
            .filter(|t| !unreachable.iter().any(|u| **u == *t.name))
            .cloned()
            .collect();
        let line = if left.is_empty() {
            format!(
                "{}: no connection was made; nothing is left to probe, the plan stops here",
                unreachable.join(", ")
            )
        } else {
            format!(
                "{}: no connection was made; the plan goes on without it",
                unreachable.join(", ")
            )
        };
        progress.say(&line);
        notes.push(line);
        targets = Arc::new(left);
    }
    if let Some(f) = settled.as_ref().filter(|_| !targets.is_empty()) {
        let line = match cfg.sweep_asked {
            true => burst_stopped_early(f, got.records.len()),
            false => stopped_early(f, got.records.len(), "the burst on new connections"),
        };
        progress.say(&line);
        notes.push(line);
    }
    // A sweep the user asked for runs whatever the bursts settled: an idle
    // timer is a cause of its own, which no finding of the bursts rules
    // in or out. It needs the burst on reused connections whole (it opens
    // the connections the gaps leave idle, and is the warm baseline their
    // probes are judged by) and the short gaps (the curve's first points),
    // so only the rest of this burst is skipped.
    // The same holds for a cause settled during the burst on reused
    // connections: with a sweep asked for, that burst is not checked.
    let sweep_anyway = cfg.sweep_asked && settled.is_some();
    if cfg.sweep_asked {
        got.checking = false;
    }
    if (settled.is_some() && !sweep_anyway) || targets.is_empty() || cancel.is_cancelled() {
        return Ok(PlanOutcome {
            records: got.records,
            notes,
            stopped_early: settled.is_some(),
            swept: false,
        });
    }

    let mut reuse = settings.clone();
    reuse.connections = ConnectionPolicy::Reuse;
    let warm = Arc::new(Prober::new(reuse)?);
    progress.say(format!(
        "{} probes on reused connections, {concurrency} at once",
        targets.len() as u64 * cfg.probes
    ));
    let stage = Stage {
        what: "probes on reused connections",
        per_target: cfg.probes,
        concurrency,
        pacing: Pacing::None,
        after: quiet_total,
    };
    if let Some(f) = burst(warm.clone(), &targets, &stage, cancel, progress, &mut got).await? {
        let line = stopped_early(&f, got.records.len(), "the burst on reused connections");
        progress.say(&line);
        notes.push(line);
        return Ok(PlanOutcome {
            records: got.records,
            notes,
            stopped_early: true,
            swept: false,
        });
    }

    let total_sweep = cfg.sweep.len();
    let mut swept = 0;
    for (k, (gap, is_sweep)) in gaps.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        let left: Duration = gaps[k..].iter().map(|(g, _)| *g).sum();
        if *is_sweep {
            swept += 1;
            let quiet = match gap.is_zero() {
                true => "no quiet period, one round back to back".to_string(),
                false => format!(
                    "quiet for {}, then one probe per target",
                    quiet_for(*gap, cfg.scale)
                ),
            };
            progress.say(format!(
                "idle sweep {swept}/{total_sweep}: {quiet} (about {} left)",
                crate::format::time_left(left)
            ));
        } else if k == 0 {
            progress.say("short quiet gaps, then one probe per target after each");
        }
        progress.status(|| format!("quiet for {}", quiet_for(*gap, cfg.scale)), left);
        tokio::select! {
            _ = tokio::time::sleep(*gap) => {}
            _ = cancel.cancelled() => break,
        }
        for r in round::one_each(&warm, &targets, k, got.records.len() as u64 + 1).await {
            got.keep(r)?;
        }
    }
    if cancel.is_cancelled() {
        progress.say(format!(
            "interrupted: diagnosing the {} probes sent so far",
            got.records.len()
        ));
    }
    Ok(PlanOutcome {
        records: got.records,
        notes,
        stopped_early: sweep_anyway,
        swept: swept > 0,
    })
}

/// The note for a plan that stopped once a finding was settled.
fn stopped_early(f: &crate::diagnose::Finding, probes: usize, stage: &str) -> String {
    format!(
        "the plan stopped early, during {stage}: after {probes} probes the evidence for {} was conclusive (confidence {:.2}); the rest of the plan was not run",
        f.cause, f.confidence
    )
}

/// The note for a burst on new connections that stopped once a finding was
/// settled, in a plan that goes on for the idle sweep asked for.
fn burst_stopped_early(f: &crate::diagnose::Finding, probes: usize) -> String {
    format!(
        "the burst on new connections stopped early: after {probes} probes the evidence for {} was conclusive (confidence {:.2}); the rest of that burst was not run, the rest of the plan was, for the idle sweep asked for",
        f.cause, f.confidence
    )
}

/// One burst of the plan.
struct Stage {
    what: &'static str,
    per_target: u64,
    concurrency: usize,
    pacing: Pacing,
    /// The plan's quiet time still to come after this burst (real).
    after: Duration,
}

/// A burst: `per_target` probes to every target, interleaved, back to back
/// or at a rate. It ends early, with the finding, when the records so far
/// settle one.
async fn burst(
    prober: Arc<Prober>,
    targets: &Arc<Vec<Target>>,
    stage: &Stage,
    cancel: &CancellationToken,
    progress: &Progress,
    got: &mut Collected<'_>,
) -> anyhow::Result<Option<crate::diagnose::Finding>> {
    let (tx, mut rx) = mpsc::channel(256);
    let total = targets.len() as u64 * stage.per_target;
    let plan = Box::new(CountPlan::new(
        targets.len(),
        stage.per_target,
        stage.pacing,
        Instant::now(),
    ));
    // Its own token: settling the burst stops it, not the command.
    let stop = cancel.child_token();
    let run = runner::run(prober, targets.clone(), plan, stage.concurrency, tx, stop.clone());
    let started = Instant::now();
    let mut done = 0u64;
    let mut settled = None;
    let mut failed = Ok(());
    let collect = async {
        while let Some(r) = rx.recv().await {
            done += 1;
            if failed.is_ok() {
                failed = got.keep(r);
            }
            // Completions so far give the burst's pace, concurrency included.
            let per = started.elapsed().div_f64(done as f64);
            let left = per.mul_f64(total.saturating_sub(done) as f64) + stage.after;
            progress.status(|| format!("{done}/{total} {}", stage.what), left);
            if settled.is_none() {
                if let Some(f) = got.conclusive() {
                    settled = Some(f);
                    stop.cancel();
                }
            }
        }
    };
    tokio::join!(run, collect);
    failed?;
    Ok(settled)
}

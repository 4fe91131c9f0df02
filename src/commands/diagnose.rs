//! `coldlink diagnose`: run the plan (or read stored records), detect, and
//! write the report.
//!
//! The plan runs stage by stage on this thread's runtime: a burst on fresh
//! connections, a burst on reused ones, then quiet gaps, each followed by
//! one probe per target in turn. A gap is quiet for the whole API (nothing
//! else is in flight), because the gateway pools its integration connections
//! across all routes: only a quiet API lets them sit idle.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::aws::cloudwatch as aws_cw;
use crate::config::{CloudWatchLookup, XrayLookup};
use crate::config::{ConfigError, DiagnoseConfig, DiagnoseSource};
use crate::diagnose::cloudwatch::{self, CloudWatchEvidence};
use crate::diagnose::read::read_files;
use crate::diagnose::report::{diagnose, Context};
use crate::diagnose::xray::{self, XrayEvidence};
use crate::diagnose::{render, Builder, Dataset};
use crate::lab::cloudwatch::MetricsFlush;
use crate::probe::{
    round, runner, ConnectionPolicy, CountPlan, Pacing, Phase, ProbeRecord, ProbeSettings, Prober, Target,
};
use crate::store::NdjsonWriter;

/// The lookup's line when Ctrl-C or SIGTERM ends it.
const STOPPED: &str = "stopped (Ctrl-C or SIGTERM) before AWS answered";

/// How long the burst on new connections is spread over (real time).
const FRESH_SPREAD: Duration = Duration::from_secs(4);

/// `lab_metrics`: the lab's metrics publisher, flushed before CloudWatch
/// is read so that the run's last counts are there.
pub async fn run(
    cfg: DiagnoseConfig,
    stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
    lab_metrics: Option<MetricsFlush>,
) -> anyhow::Result<u8> {
    let (ds, ctx) = match &cfg.source {
        DiagnoseSource::Records(paths) => {
            let paths = paths.clone();
            let (scale, slow) = (cfg.scale, cfg.slow_ms);
            let (ds, report, files) = tokio::task::spawn_blocking(move || {
                let (builder, report) = read_files(&paths, Builder::new())?;
                let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                Ok::<_, std::io::Error>((builder.build(scale, slow), report, files))
            })
            .await?
            .map_err(|e| ConfigError(format!("--from {e}")))?;
            for bad in &report.bad_samples {
                eprintln!(
                    "coldlink: {}:{}: skipped: {}",
                    bad.path.display(),
                    bad.line,
                    bad.reason
                );
            }
            if report.bad_lines > report.bad_samples.len() as u64 {
                eprintln!("coldlink: … {} unreadable lines in all", report.bad_lines);
            }
            // Every file must yield a record: one that does not is a wrong
            // path or a broken file, not a quiet run.
            let empty = &report.files_without_records;
            if !empty.is_empty() || ds.samples.is_empty() {
                let named: Vec<String> = if empty.is_empty() {
                    files.clone()
                } else {
                    empty.iter().map(|p| p.display().to_string()).collect()
                };
                return Err(ConfigError(format!(
                    "--from {}: no probe records in it (expected the NDJSON records of run, keepwarm, watch or probe --out; .gz too)",
                    named.join(", ")
                ))
                .into());
            }
            let ctx = Context {
                mode: "records".into(),
                lab: None,
                files,
                unreadable_lines: report.bad_lines,
                sweep_gaps_ms: Vec::new(),
                interrupted: false,
                xray: None,
                cloudwatch: None,
                rerun: None,
                plan_notes: Vec::new(),
            };
            (ds, ctx)
        }
        DiagnoseSource::Live {
            targets,
            settings,
            concurrency,
        } => {
            let plan = probe_plan(&cfg, targets.clone(), settings, *concurrency, &cancel).await?;
            let records = plan.records;
            let ds = Dataset::from_records_with(&records, &cfg.kinds(), cfg.scale, cfg.slow_ms);
            let ctx = Context {
                mode: if cfg.sweep.is_empty() {
                    "quick"
                } else {
                    "idle-sweep"
                }
                .into(),
                lab: cfg.lab.clone(),
                files: Vec::new(),
                unreadable_lines: 0,
                sweep_gaps_ms: cfg.gaps_nominal_ms(),
                interrupted: cancel.is_cancelled(),
                xray: None,
                cloudwatch: None,
                rerun: cfg.rerun.clone(),
                plan_notes: plan.notes,
            };
            (ds, ctx)
        }
    };
    let mut ctx = ctx;
    // A stop during the lookups ends them with what they have. After a
    // stop during the plan, they still run: each call has its time limit.
    let stop = cancel.clone();
    let stopped = || async {
        if stop.is_cancelled() {
            std::future::pending::<()>().await;
        }
        stop.cancelled().await
    };
    if let Some(lookup) = &cfg.xray {
        ctx.xray = Some(tokio::select! {
            ev = xray_evidence(&ds, lookup, cfg.quiet) => ev,
            _ = stopped() => XrayEvidence {
                error: Some(STOPPED.into()),
                ..XrayEvidence::default()
            },
        });
    }
    if let Some(lookup) = &cfg.cloudwatch {
        Progress::new(cfg.quiet).say("CloudWatch: reading the metrics of the run's minutes");
        let read = async {
            if let Some(flush) = &lab_metrics {
                // The lab's publisher calls the same endpoint: bounded too.
                let _ = tokio::time::timeout(crate::aws::CALL_TIMEOUT, flush.flush()).await;
            }
            cloudwatch_evidence(&ds, lookup, cfg.quiet).await
        };
        ctx.cloudwatch = Some(tokio::select! {
            ev = read => ev,
            _ = stopped() => CloudWatchEvidence::failed(STOPPED.into()),
        });
    }
    let (report, plots) = diagnose(&ds, &ctx);
    let code = report.exit_code();
    let format = cfg.format;
    match &cfg.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| ConfigError(format!("--out {}: cannot write there: {e}", path.display())))?;
            let mut w = std::io::BufWriter::new(file);
            render::write(&report, &plots, format, false, &mut w)?;
            w.flush()?;
            if !cfg.quiet {
                eprintln!(
                    "coldlink: verdict {} — report written to {}",
                    report.verdict,
                    path.display()
                );
            }
        }
        None => {
            let color = format == render::DiagnoseFormat::Text
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let mut out = stdout;
            render::write(&report, &plots, format, color, &mut out)?;
            out.flush()?;
        }
    }
    Ok(code)
}

/// Look up the traces of the slow probes and of a baseline sample.
async fn xray_evidence(ds: &Dataset, lookup: &XrayLookup, quiet: bool) -> XrayEvidence {
    let progress = Progress::new(quiet);
    let client = xray_client(lookup).await;
    let how = xray::Lookup {
        wait: lookup.wait,
        search_filter: lookup.search_filter.clone(),
    };
    xray::look_up(&client, ds, &how, &|line| progress.say(line)).await
}

/// Read the run's minutes of the NLB's and the API's metrics.
async fn cloudwatch_evidence(ds: &Dataset, lookup: &CloudWatchLookup, quiet: bool) -> CloudWatchEvidence {
    let progress = Progress::new(quiet);
    let Some((from, to)) = ds.wall_span() else {
        return CloudWatchEvidence::failed("no probe has a time to read metrics for".into());
    };
    let client = cloudwatch_client(lookup).await;
    let mut notes = Vec::new();
    let mut specs = aws_cw::specs(&lookup.resources);
    match aws_cw::health_series(&client, &lookup.resources).await {
        Ok(health) => {
            let mut seen: std::collections::BTreeSet<_> = specs.iter().cloned().collect();
            specs.extend(health.into_iter().filter(|s| seen.insert(s.clone())));
        }
        Err(e) if lookup.resources.nlb.is_none() => notes.push(e),
        Err(e) if lookup.resources.target_groups.is_empty() => notes.push(format!(
            "{e}; no target health was read: name the target groups in [aws] target_groups"
        )),
        Err(e) => notes.push(format!(
            "{e}; target health is read for the target groups in [aws] target_groups, not per zone"
        )),
    }
    let window = aws_cw::window(from, to);
    progress.say(format!(
        "CloudWatch: reading {} series over {} minute(s)",
        specs.len(),
        (window.1 - window.0) / aws_cw::PERIOD_SECS
    ));
    let mut metrics = aws_cw::fetch(&client, &specs, window).await;
    notes.append(&mut metrics.notes);
    metrics.notes = notes;
    CloudWatchEvidence::new(metrics, cloudwatch::slow_minutes(ds))
}

/// Point the lab's AWS side where the lookups will read: its gateway and
/// app send X-Ray segments for `--xray`, its NLB and gateway publish
/// metrics for `--cloudwatch` (returned: the publisher to flush before
/// reading).
pub async fn publish_lab_evidence(lab: &crate::lab::Lab, cfg: &DiagnoseConfig) -> Option<MetricsFlush> {
    if let Some(lookup) = &cfg.xray {
        lab.publish_traces(xray_client(lookup).await);
    }
    match &cfg.cloudwatch {
        Some(lookup) => Some(lab.publish_metrics(cloudwatch_client(lookup).await)),
        None => None,
    }
}

/// A CloudWatch client for `lookup`.
async fn cloudwatch_client(lookup: &CloudWatchLookup) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&crate::aws::sdk_config(&lookup.aws, lookup.lab).await)
}

/// An X-Ray client for `lookup`.
async fn xray_client(lookup: &XrayLookup) -> aws_sdk_xray::Client {
    aws_sdk_xray::Client::new(&crate::aws::sdk_config(&lookup.aws, lookup.lab).await)
}

/// Progress on stderr (stdout is for the report): a line per stage, and on
/// a terminal a status line with the probes done and the time left.
struct Progress {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template("coldlink diagnose: {msg}")
                    .expect("a fixed template"),
            );
            bar
        });
        Progress { quiet, bar }
    }

    fn say(&self, line: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        let line = format!("coldlink diagnose: {}", line.as_ref());
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// The status line (a terminal only): what is running, and the time
    /// left, real seconds.
    fn status(&self, what: &str, left: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{what} · about {} left", human(left)));
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `12 s`, `3 min`: a time left, no finer than a second.
fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs_f64().ceil() as u64)).to_string()
}

/// A quiet gap as the user planned it (scenario time) and, in the lab, as
/// it is waited (real time).
fn quiet_for(real: Duration, scale: f64) -> String {
    let scenario = real.mul_f64(scale);
    if scale == 1.0 {
        humantime::format_duration(round(scenario)).to_string()
    } else {
        format!(
            "{} of scenario time ({} real)",
            humantime::format_duration(round(scenario)),
            humantime::format_duration(round(real))
        )
    }
}

/// What the plan did besides probing, for the report's notes.
#[derive(Debug, Default)]
struct PlanOutcome {
    records: Vec<ProbeRecord>,
    notes: Vec<String>,
}

/// The records so far, and where they also go (`--records`).
struct Collected<'a> {
    records: Vec<ProbeRecord>,
    writer: Option<NdjsonWriter<std::fs::File>>,
    cfg: &'a DiagnoseConfig,
    /// Checked for a conclusive finding once the records reach this count.
    next_check: usize,
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
        if self.records.len() < self.next_check {
            return None;
        }
        self.next_check = (self.records.len() + self.records.len() / 4).max(self.records.len() + 1);
        let ds =
            Dataset::from_records_with(&self.records, &self.cfg.kinds(), self.cfg.scale, self.cfg.slow_ms);
        crate::diagnose::detect::conclusive(&ds)
    }
}

/// Records before this many are too few to call anything conclusive.
const FIRST_CHECK: usize = 6;

async fn probe_plan(
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
        Some(path) => Some(
            NdjsonWriter::append(path)
                .map_err(|e| ConfigError(format!("--records {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let mut got = Collected {
        records: Vec::new(),
        writer,
        cfg,
        next_check: FIRST_CHECK,
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
    let unreachable = unreachable(&got.records, &targets);
    if !unreachable.is_empty() {
        let names: Vec<&str> = unreachable.iter().map(|t| t.name.as_str()).collect();
        let left: Vec<Target> = targets
            .iter()
            .filter(|t| !names.contains(&t.name.as_str()))
            .cloned()
            .collect();
        let line = if left.is_empty() {
            format!(
                "{}: no connection was made; nothing is left to probe, the plan stops here",
                names.join(", ")
            )
        } else {
            format!(
                "{}: no connection was made; the plan goes on without it",
                names.join(", ")
            )
        };
        progress.say(&line);
        notes.push(line);
        targets = Arc::new(left);
    }
    if let Some(f) = settled.as_ref().filter(|_| !targets.is_empty()) {
        let line = stopped_early(f, got.records.len(), "the burst on new connections");
        progress.say(&line);
        notes.push(line);
    }
    if settled.is_some() || targets.is_empty() || cancel.is_cancelled() {
        return Ok(PlanOutcome {
            records: got.records,
            notes,
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
            progress.say(format!(
                "idle sweep {swept}/{total_sweep}: quiet for {}, then one probe per target (about {} left)",
                quiet_for(*gap, cfg.scale),
                human(left)
            ));
        } else if k == 0 {
            progress.say("short quiet gaps, then one probe per target after each");
        }
        progress.status(&format!("quiet for {}", quiet_for(*gap, cfg.scale)), left);
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
    })
}

/// The note for a plan that stopped once a finding was settled.
fn stopped_early(f: &crate::diagnose::Finding, probes: usize, stage: &str) -> String {
    format!(
        "the plan stopped early, during {stage}: after {probes} probes the evidence for {} was conclusive (confidence {:.2}); the rest of the plan was not run",
        f.cause, f.confidence
    )
}

/// Targets none of whose probes got past DNS and TCP connect.
fn unreachable<'a>(records: &[ProbeRecord], targets: &'a [Target]) -> Vec<&'a Target> {
    targets
        .iter()
        .filter(|t| {
            let mut of = records.iter().filter(|r| r.target == t.name).peekable();
            of.peek().is_some()
                && of.all(|r| {
                    r.error
                        .as_ref()
                        .is_some_and(|e| matches!(e.phase, Phase::Dns | Phase::Connect))
                })
        })
        .collect()
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
            let per = started.elapsed().div_f64(done as f64);
            let left = per.mul_f64(total.saturating_sub(done) as f64 / stage.concurrency.max(1) as f64);
            progress.status(&format!("{done}/{total} {}", stage.what), left + stage.after);
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

fn round(d: Duration) -> Duration {
    if d >= Duration::from_secs(10) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(d.as_millis() as u64)
    }
}

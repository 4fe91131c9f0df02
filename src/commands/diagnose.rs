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
    round, runner, ConnectionPolicy, CountPlan, Pacing, ProbeRecord, ProbeSettings, Prober, Target,
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
            };
            (ds, ctx)
        }
        DiagnoseSource::Live {
            targets,
            settings,
            concurrency,
        } => {
            let records = probe_plan(&cfg, targets.clone(), settings, *concurrency, &cancel).await?;
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
        Progress { quiet: cfg.quiet }.say("CloudWatch: reading the metrics of the run's minutes");
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
    let progress = Progress { quiet };
    let client = xray_client(lookup).await;
    let how = xray::Lookup {
        wait: lookup.wait,
        search_filter: lookup.search_filter.clone(),
    };
    xray::look_up(&client, ds, &how, &|line| progress.say(line)).await
}

/// Read the run's minutes of the NLB's and the API's metrics.
async fn cloudwatch_evidence(ds: &Dataset, lookup: &CloudWatchLookup, quiet: bool) -> CloudWatchEvidence {
    let progress = Progress { quiet };
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

/// Progress on stderr (stdout is for the report).
struct Progress {
    quiet: bool,
}

impl Progress {
    fn say(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("coldlink diagnose: {}", line.as_ref());
        }
    }
}

async fn probe_plan(
    cfg: &DiagnoseConfig,
    targets: Vec<Target>,
    settings: &ProbeSettings,
    concurrency: usize,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<ProbeRecord>> {
    let progress = Progress { quiet: cfg.quiet };
    let mut writer = match &cfg.records_out {
        Some(path) => Some(
            NdjsonWriter::append(path)
                .map_err(|e| ConfigError(format!("--records {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let targets = Arc::new(targets);
    let mut records: Vec<ProbeRecord> = Vec::new();
    let mut keep = |mut batch: Vec<ProbeRecord>, records: &mut Vec<ProbeRecord>| -> anyhow::Result<()> {
        for r in &mut batch {
            r.seq = records.len() as u64 + 1;
            if let Some(w) = writer.as_mut() {
                w.write(r)?;
            }
            records.push(r.clone());
        }
        Ok(())
    };
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
    let batch = burst(
        Arc::new(Prober::new(fresh)?),
        &targets,
        cfg.probes,
        concurrency,
        rate,
        cancel,
    )
    .await;
    keep(batch, &mut records)?;

    let mut reuse = settings.clone();
    reuse.connections = ConnectionPolicy::Reuse;
    let warm = Arc::new(Prober::new(reuse)?);
    if !cancel.is_cancelled() {
        progress.say(format!("{n} probes on reused connections, {concurrency} at once"));
        let batch = burst(
            warm.clone(),
            &targets,
            cfg.probes,
            concurrency,
            Pacing::None,
            cancel,
        )
        .await;
        keep(batch, &mut records)?;
    }

    let gaps: Vec<(Duration, bool)> = cfg
        .quick_gaps
        .iter()
        .map(|g| (*g, false))
        .chain(cfg.sweep.iter().map(|g| (*g, true)))
        .collect();
    let total_sweep = cfg.sweep.len();
    let mut swept = 0;
    for (k, (gap, is_sweep)) in gaps.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        if *is_sweep {
            swept += 1;
            let left: Duration = gaps[k..].iter().map(|(g, _)| *g).sum();
            progress.say(format!(
                "idle sweep {swept}/{total_sweep}: quiet for {}, then one probe per target (about {} left)",
                humantime::format_duration(round(*gap)),
                humantime::format_duration(round(left))
            ));
        } else if k == 0 {
            progress.say("short quiet gaps, then one probe per target after each");
        }
        tokio::select! {
            _ = tokio::time::sleep(*gap) => {}
            _ = cancel.cancelled() => break,
        }
        let batch = round::one_each(&warm, &targets, k, records.len() as u64 + 1).await;
        keep(batch, &mut records)?;
    }
    if cancel.is_cancelled() {
        progress.say(format!(
            "interrupted: diagnosing the {} probes sent so far",
            records.len()
        ));
    }
    Ok(records)
}

/// A burst: `per_target` probes to every target, interleaved, back to back
/// or at a rate.
async fn burst(
    prober: Arc<Prober>,
    targets: &Arc<Vec<Target>>,
    per_target: u64,
    concurrency: usize,
    pacing: Pacing,
    cancel: &CancellationToken,
) -> Vec<ProbeRecord> {
    let (tx, mut rx) = mpsc::channel(256);
    let plan = Box::new(CountPlan::new(targets.len(), per_target, pacing, Instant::now()));
    let run = runner::run(prober, targets.clone(), plan, concurrency, tx, cancel.clone());
    let mut out = Vec::new();
    let collect = async {
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
    };
    tokio::join!(run, collect);
    out
}

fn round(d: Duration) -> Duration {
    if d >= Duration::from_secs(10) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(d.as_millis() as u64)
    }
}

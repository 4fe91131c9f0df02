//! `coldlink diagnose`: run the plan (`plan.rs`) or read stored records,
//! gather AWS evidence, detect, and write the report.

use crate::exit::Exit;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::aws::cloudwatch as aws_cw;
use crate::commands::CommandError;
use crate::config::{CloudWatchLookup, XrayLookup};
use crate::config::{ConfigError, DiagnoseConfig, DiagnoseSource};
use crate::diagnose::cloudwatch::{self, CloudWatchEvidence};
use crate::diagnose::coverage::{Rerun, DEFAULT_PROBES};
use crate::diagnose::paths;
use crate::diagnose::report::{diagnose, Context};
use crate::diagnose::xray::{self, XrayEvidence};
use crate::diagnose::{read_files, render, Builder, Dataset, Plots, Report};
use crate::lab::cloudwatch::MetricsFlush;

mod aws_config;
mod plan;
mod progress;

use plan::probe_plan;
use progress::Progress;

/// The lookup's line when Ctrl-C or SIGTERM ends it.
const STOPPED: &str = "stopped (Ctrl-C or SIGTERM) before AWS answered";

/// `lab_metrics`: the lab's metrics publisher, flushed before CloudWatch
/// is read so that the run's last counts are there.
pub async fn run(
    cfg: DiagnoseConfig,
    stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
    lab_metrics: Option<MetricsFlush>,
) -> anyhow::Result<Exit> {
    let (mut ds, mut ctx) = match &cfg.source {
        DiagnoseSource::Records(paths) => from_records(&cfg, paths).await?,
        DiagnoseSource::Live {
            targets,
            settings,
            concurrency,
        } => {
            let plan = probe_plan(&cfg, targets.clone(), settings, *concurrency, &cancel).await?;
            live_context(&cfg, plan, &cancel)
        }
    };
    if let Some(lookup) = &cfg.aws_config {
        aws_config::check_start(lookup, &ds)?;
    }
    gather_evidence(&cfg, &ds, &mut ctx, &cancel, lab_metrics).await;
    // Which hop each target takes, from the strongest source that says.
    let resolved = paths::resolve(&ds, &cfg.path_hint, ctx.config.as_ref());
    ds.paths = resolved.paths;
    ctx.plan_notes.extend(resolved.notes);
    let (report, plots) = diagnose(&ds, &ctx);
    write_report(&cfg, &report, &plots, stdout)?;
    Ok(report.exit())
}

/// Stored records (`--from`): read off the runtime's threads, bad lines
/// told, a file without records refused.
async fn from_records(cfg: &DiagnoseConfig, paths: &[PathBuf]) -> anyhow::Result<(Dataset, Context)> {
    let paths = paths.to_vec();
    let (scale, slow) = (cfg.scale, cfg.slow_ms);
    let (ds, report, files, lab) = tokio::task::spawn_blocking(move || {
        let (builder, report) = read_files(&paths, Builder::new())?;
        // Records of a lab run read in its scenario time, as the
        // live run's report did.
        if let Some(what) = builder.mixed_scales() {
            return Ok(Err(CommandError::MixedRuns {
                flag: "--from ",
                command: "diagnose",
                what,
                paths,
            }));
        }
        let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let lab = builder.lab().cloned();
        let scale = lab.as_ref().map_or(scale, |l| l.speed);
        Ok::<_, std::io::Error>(Ok((builder.build(scale, slow), report, files, lab)))
    })
    .await?
    .map_err(|source| CommandError::From { source })??;
    tell_bad_lines(&report);
    // Every file must yield a record: one that does not is a wrong
    // path or a broken file, not a quiet run.
    let empty = &report.files_without_records;
    if !empty.is_empty() || ds.samples.is_empty() {
        let named: Vec<String> = if empty.is_empty() {
            files.clone()
        } else {
            empty.iter().map(|p| p.display().to_string()).collect()
        };
        return Err(CommandError::FromWithoutRecords { named }.into());
    }
    let rerun = lab.as_ref().map(|l| {
        Rerun::lab(
            &l.scenario,
            &[format!("--speed {}", l.speed)],
            l.speed,
            DEFAULT_PROBES,
        )
    });
    let ctx = Context {
        mode: "records".into(),
        lab: lab.map(|l| l.scenario),
        files,
        unreadable_lines: report.bad_lines,
        sweep_gaps_ms: Vec::new(),
        interrupted: false,
        xray: None,
        cloudwatch: None,
        config: None,
        rerun,
        plan_notes: Vec::new(),
    };
    Ok((ds, ctx))
}

/// The first unreadable lines, each with its reason, and how many in all.
fn tell_bad_lines(report: &crate::records::ReadReport) {
    for bad in &report.bad_samples {
        crate::say!(
            "coldlink: {}:{}: skipped: {}",
            bad.path.display(),
            bad.line,
            bad.reason
        );
    }
    if report.bad_lines > report.bad_samples.len() as u64 {
        crate::say!("coldlink: … {} unreadable lines in all", report.bad_lines);
    }
}

/// The records of the plan just run, and how it ran.
fn live_context(
    cfg: &DiagnoseConfig,
    plan: plan::PlanOutcome,
    cancel: &CancellationToken,
) -> (Dataset, Context) {
    let records = plan.records;
    let ds = Dataset::from_records_with(&records, &cfg.kinds(), cfg.scale, cfg.slow_ms);
    let ctx = Context {
        mode: if !plan.swept { "quick" } else { "idle-sweep" }.into(),
        lab: cfg.lab.clone(),
        files: Vec::new(),
        unreadable_lines: 0,
        sweep_gaps_ms: cfg.gaps_nominal_ms(),
        interrupted: cancel.is_cancelled(),
        xray: None,
        cloudwatch: None,
        config: None,
        // What an early stop left untested only the whole plan tests.
        rerun: cfg
            .rerun
            .clone()
            .map(|r| if plan.stopped_early { r.full() } else { r }),
        plan_notes: plan.notes,
    };
    (ds, ctx)
}

/// What X-Ray (`--xray`), CloudWatch (`--cloudwatch`) and the path's
/// configuration (`--aws-config`) say, into `ctx`.
async fn gather_evidence(
    cfg: &DiagnoseConfig,
    ds: &Dataset,
    ctx: &mut Context,
    cancel: &CancellationToken,
    lab_metrics: Option<MetricsFlush>,
) {
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
            ev = xray_evidence(ds, lookup, cfg.quiet) => ev,
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
            cloudwatch_evidence(ds, lookup, cfg.quiet).await
        };
        ctx.cloudwatch = Some(tokio::select! {
            ev = read => ev,
            _ = stopped() => CloudWatchEvidence::failed(STOPPED.into()),
        });
    }
    if let Some(lookup) = &cfg.aws_config {
        let query = aws_config::query(lookup, ds, &cfg.source);
        ctx.config = Some(tokio::select! {
            config = aws_config::read(lookup, &query, cfg.quiet) => config,
            _ = stopped() => aws_config::stopped(lookup, STOPPED),
        });
    }
}

/// The report to `--out`, or to stdout (coloured on a terminal).
fn write_report(
    cfg: &DiagnoseConfig,
    report: &Report,
    plots: &Plots,
    stdout: Box<dyn Write + Send>,
) -> anyhow::Result<()> {
    let format = cfg.format;
    match &cfg.out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|source| ConfigError::NotWritable {
                flag: "--out",
                path: path.clone(),
                source,
            })?;
            let mut w = std::io::BufWriter::new(file);
            render::write(report, plots, format, false, &mut w)?;
            w.flush()?;
            if !cfg.quiet {
                crate::say!(
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
            render::write(report, plots, format, color, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
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
/// reading), and its configuration is seeded into the emulator for
/// `--aws-config` (the lookup then starts from what the emulator made).
pub async fn publish_lab_evidence(
    lab: &crate::lab::Lab,
    cfg: &mut DiagnoseConfig,
    cancel: &CancellationToken,
) -> Option<MetricsFlush> {
    if let Some(lookup) = cfg.aws_config.as_mut() {
        aws_config::seed_lab(lab, lookup, cfg.quiet, cancel).await;
    }
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

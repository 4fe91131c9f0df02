//! `coldlink probe`: run a count plan and print a waterfall, lines and a
//! summary, JSON or NDJSON.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::exit;
use crate::cli::OutputFormat;
use crate::config::{ConfigError, ProbeConfig};
use crate::probe::{runner, CountPlan, ProbeRecord, Prober};
use crate::render;
use crate::stats::{RunStats, TargetSummary};
use crate::store::NdjsonWriter;

/// The `--format json` document.
#[derive(Serialize)]
struct JsonOutput<'a> {
    v: u32,
    targets: Vec<TargetSummary>,
    records: &'a [ProbeRecord],
}

/// Run the probes; returns the exit code. Errors are the tool's own (bad
/// input, an unwritable file, a closed stdout), never a failing target.
pub async fn run(cfg: ProbeConfig, stdout: &mut impl Write, cancel: CancellationToken) -> anyhow::Result<u8> {
    let prober = Arc::new(Prober::new(cfg.settings.clone()).map_err(|e| ConfigError(e.to_string()))?);
    let mut out_file = match &cfg.out {
        Some(path) => Some(
            NdjsonWriter::append(path).map_err(|e| ConfigError(format!("--out {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let targets = Arc::new(cfg.targets.clone());
    let plan = CountPlan::new(targets.len(), cfg.per_target, cfg.interval, Instant::now());
    let (tx, mut rx) = mpsc::channel(256);
    let runner = tokio::spawn(runner::run(
        prober,
        targets,
        Box::new(plan),
        cfg.concurrency,
        tx,
        cancel.clone(),
    ));

    let mut stats = RunStats::default();
    let mut kept: Vec<ProbeRecord> = Vec::new();
    let mut result: io::Result<()> = Ok(());
    while let Some(record) = rx.recv().await {
        stats.record(&record);
        if let Some(file) = out_file.as_mut() {
            if let Err(e) = file.write(&record) {
                cancel.cancel();
                return Err(ConfigError(format!("--out: writing a record failed: {e}")).into());
            }
        }
        result = emit(stdout, &cfg, &record);
        if result.is_err() {
            cancel.cancel();
            break;
        }
        if cfg.format == OutputFormat::Json {
            kept.push(record);
        }
    }
    runner.await?;
    result?;

    match cfg.format {
        OutputFormat::Text if !cfg.single || stats.probes() == 0 => {
            writeln!(stdout)?;
            render::summary::write(stdout, &stats)?;
        }
        OutputFormat::Json => {
            let doc = JsonOutput {
                v: 1,
                targets: stats.summaries(),
                records: &kept,
            };
            serde_json::to_writer_pretty(&mut *stdout, &doc)?;
            writeln!(stdout)?;
        }
        _ => {}
    }
    stdout.flush()?;
    Ok(if stats.failed() > 0 {
        exit::PROBLEM
    } else {
        exit::OK
    })
}

/// What a record becomes on stdout as it arrives.
fn emit(stdout: &mut impl Write, cfg: &ProbeConfig, record: &ProbeRecord) -> io::Result<()> {
    match cfg.format {
        OutputFormat::Text if cfg.single => {
            render::waterfall::write(stdout, record)?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => writeln!(stdout, "{}", render::line::probe_line(record))?,
        OutputFormat::Ndjson => {
            serde_json::to_writer(&mut *stdout, record)?;
            writeln!(stdout)?;
        }
        OutputFormat::Json => return Ok(()),
    }
    stdout.flush()
}

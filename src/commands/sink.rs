//! Where records go: run statistics, the NDJSON file, and stdout in the
//! chosen format. Shared by every command that sends probes.

use std::io::{self, Write};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::exit;
use crate::cli::OutputFormat;
use crate::config::{ConfigError, OutputConfig};
use crate::probe::{engine, Plan, ProbeRecord, ProbeSettings, RecordBatch, Target};
use crate::render;
use crate::stats::{RunStats, TargetSummary};
use crate::store::NdjsonWriter;

/// The `--format json` document (`records` only where they are kept:
/// `probe`, whose count is bounded; never `run`, which may last days).
#[derive(Serialize)]
struct JsonOutput<'a> {
    v: u32,
    targets: Vec<TargetSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<&'a [ProbeRecord]>,
}

/// Run `plan` through the engine into the output, and turn the outcome into
/// the exit code: 1 when a probe failed. Errors are the tool's own (bad
/// input, an unwritable file, a closed stdout), never a failing target.
pub async fn probe_into_output(
    settings: ProbeSettings,
    targets: Vec<Target>,
    plan: Box<dyn Plan>,
    max_in_flight: usize,
    output: OutputConfig,
    stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
) -> anyhow::Result<u8> {
    let (tx, rx) = mpsc::channel(64);
    let consumer = spawn(rx, output, stdout, cancel.clone());
    let engine = engine::run(settings, targets, plan, max_in_flight, tx, cancel).await;
    let stats = join(consumer).await;
    engine.map_err(|e| ConfigError(e.to_string()))?;
    Ok(if stats?.failed() > 0 {
        exit::PROBLEM
    } else {
        exit::OK
    })
}

/// The consumer runs on an OS thread of its own: a slow or blocked stdout
/// (a pipe nobody reads) or a slow disk must never stall the thread that
/// times the probes, where it would show up as network time.
pub fn spawn(
    records: mpsc::Receiver<RecordBatch>,
    output: OutputConfig,
    mut stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
) -> std::thread::JoinHandle<anyhow::Result<RunStats>> {
    std::thread::Builder::new()
        .name("coldlink-output".into())
        .spawn(move || consume(records, &output, &mut stdout, &cancel))
        .expect("spawning the output thread")
}

/// Wait for the consumer thread without blocking the caller's runtime.
pub async fn join(handle: std::thread::JoinHandle<anyhow::Result<RunStats>>) -> anyhow::Result<RunStats> {
    tokio::task::spawn_blocking(move || handle.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the output thread panicked"))?
}

/// Drain `records` until the runner is done, then print the summary.
/// A write failure on stdout (a closed pipe) cancels the run and is returned.
fn consume(
    mut records: mpsc::Receiver<RecordBatch>,
    output: &OutputConfig,
    stdout: &mut impl Write,
    cancel: &CancellationToken,
) -> anyhow::Result<RunStats> {
    let mut file = match &output.out {
        Some(path) => Some(
            NdjsonWriter::append(path).map_err(|e| ConfigError(format!("--out {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let mut stats = RunStats::default();
    let mut kept: Vec<ProbeRecord> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    while let Some(batch) = records.blocking_recv() {
        for record in batch {
            stats.record(&record);
            if failure.is_some() {
                // Keep draining so the probes in flight can finish; nothing more is written.
                continue;
            }
            if let Some(f) = file.as_mut() {
                if let Err(e) = f.write(&record) {
                    cancel.cancel();
                    failure = Some(ConfigError(format!("--out: writing a record failed: {e}")).into());
                    continue;
                }
            }
            if let Err(e) = emit(stdout, output, &record) {
                cancel.cancel();
                failure = Some(e.into());
                continue;
            }
            if output.format == OutputFormat::Json {
                kept.push(record);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    finish(stdout, output, &stats, &kept)?;
    Ok(stats)
}

/// What a record becomes on stdout as it arrives.
fn emit(stdout: &mut impl Write, output: &OutputConfig, record: &ProbeRecord) -> io::Result<()> {
    match output.format {
        OutputFormat::Text if output.quiet => return Ok(()),
        OutputFormat::Text if output.waterfall => {
            render::waterfall::write(stdout, record)?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => writeln!(stdout, "{}", render::line::probe_line(record))?,
        OutputFormat::Ndjson => {
            serde_json::to_writer(&mut *stdout, record).map_err(io::Error::from)?;
            writeln!(stdout)?;
        }
        OutputFormat::Json => return Ok(()),
    }
    stdout.flush()
}

fn finish(
    stdout: &mut impl Write,
    output: &OutputConfig,
    stats: &RunStats,
    kept: &[ProbeRecord],
) -> io::Result<()> {
    match output.format {
        OutputFormat::Text if !output.waterfall || stats.probes() == 0 => {
            if !output.quiet {
                writeln!(stdout)?;
            }
            render::summary::write(stdout, stats)?;
        }
        OutputFormat::Json => {
            let doc = JsonOutput {
                v: 1,
                targets: stats.summaries(),
                records: output.keep_records.then_some(kept),
            };
            serde_json::to_writer_pretty(&mut *stdout, &doc).map_err(io::Error::from)?;
            writeln!(stdout)?;
        }
        _ => {}
    }
    stdout.flush()
}

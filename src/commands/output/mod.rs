//! What `probe` and `run` print, and where their records go: run
//! statistics, the NDJSON file, and stdout in the chosen format (`line`
//! for one line per probe, `summary` for the per-target table, and
//! `probe::waterfall` for a single probe, which the dashboard shares).
//!
//! Statistics are folded on the probe thread (cheap, never blocks). Writing
//! — stdout, `--out` — happens on an OS thread of its own, because a blocked
//! pipe or a slow disk must never stall the thread that times the probes,
//! where the wait would show up as network time. Records cross to that
//! thread only when something is written: a quiet burst keeps them on the
//! probe thread, where they are cheapest to drop.

pub mod line;
pub mod summary;

use std::io::{self, Write};
use std::thread::JoinHandle;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::CommandError;
use crate::cli::OutputFormat;
use crate::config::OutputConfig;
use crate::exit::Exit;
use crate::probe::waterfall;
use crate::probe::{engine, Plan, ProbeRecord, ProbeSettings, RecordBatch, Target};
use crate::records::NdjsonWriter;
use crate::stats::{RunStats, TargetSummary};

/// The `--format json` document (`records` only where they are kept:
/// `probe`, whose count is bounded; never `run`, which may last days).
#[derive(Serialize)]
struct JsonOutput<'a> {
    v: u32,
    targets: Vec<TargetSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<&'a [ProbeRecord]>,
}

/// What the writer thread hands back: stdout (for the summary) and the
/// records kept for `--format json`.
type Written = (Box<dyn Write + Send>, Vec<ProbeRecord>);

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
) -> anyhow::Result<Exit> {
    let out_file = match &output.out {
        Some(path) => Some(NdjsonWriter::append(path).map_err(|source| CommandError::Open {
            flag: "--out",
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let writes_per_record = out_file.is_some() || !(output.format == OutputFormat::Text && output.quiet);
    let (writer, mut stdout) = if writes_per_record {
        let (tx, rx) = mpsc::channel::<RecordBatch>(64);
        let thread = spawn_writer(rx, output.clone(), out_file, stdout, cancel.clone());
        (Some((tx, thread)), None)
    } else {
        (None, Some(stdout))
    };
    let (to_writer, thread) = match writer {
        Some((tx, thread)) => (Some(tx), Some(thread)),
        None => (None, None),
    };

    let (batches, mut from_engine) = mpsc::channel::<RecordBatch>(64);
    let engine = engine::run(settings, targets, plan, max_in_flight, batches, cancel.clone());
    let fold = async {
        let mut stats = RunStats::default();
        while let Some(batch) = from_engine.recv().await {
            for record in &batch {
                stats.record(record);
                if let Some(s) = &output.segments {
                    s.offer(record);
                }
                if let Some(tap) = &output.publish {
                    tap.observe(record);
                }
            }
            if let Some(tx) = &to_writer {
                if tx.send(batch).await.is_err() {
                    // The writer stopped (a closed stdout): stop probing too.
                    cancel.cancel();
                }
            }
        }
        drop(to_writer);
        stats
    };
    let (engine, stats) = tokio::join!(engine, fold);

    let kept = match thread {
        Some(thread) => {
            let (out, kept) = join(thread).await?;
            stdout = Some(out);
            kept
        }
        None => Vec::new(),
    };
    engine.map_err(CommandError::Tls)?;
    let mut stdout = stdout.expect("stdout comes back from the writer");
    finish(&mut stdout, &output, &stats, &kept)?;
    Ok(if stats.failed() > 0 {
        Exit::Problem
    } else {
        Exit::Ok
    })
}

fn spawn_writer(
    records: mpsc::Receiver<RecordBatch>,
    output: OutputConfig,
    out_file: Option<NdjsonWriter<std::fs::File>>,
    stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
) -> JoinHandle<anyhow::Result<Written>> {
    std::thread::Builder::new()
        .name("coldlink-output".into())
        .spawn(move || write_records(records, &output, out_file, stdout, &cancel))
        .expect("spawning the output thread")
}

/// Wait for the writer thread without blocking the caller's runtime.
async fn join(handle: JoinHandle<anyhow::Result<Written>>) -> anyhow::Result<Written> {
    tokio::task::spawn_blocking(move || handle.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the output thread panicked"))?
}

/// Write every record as it comes. A write failure (a closed stdout, a full
/// disk) cancels the run and is returned once the records in flight are
/// drained.
fn write_records(
    mut records: mpsc::Receiver<RecordBatch>,
    output: &OutputConfig,
    mut file: Option<NdjsonWriter<std::fs::File>>,
    mut stdout: Box<dyn Write + Send>,
    cancel: &CancellationToken,
) -> anyhow::Result<Written> {
    let mut kept: Vec<ProbeRecord> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    while let Some(batch) = records.blocking_recv() {
        for record in batch {
            if failure.is_some() {
                continue;
            }
            if let Some(f) = file.as_mut() {
                if let Err(e) = f.write(&record) {
                    cancel.cancel();
                    failure = Some(CommandError::Write { source: e }.into());
                    continue;
                }
            }
            if let Err(e) = emit(&mut stdout, output, &record) {
                cancel.cancel();
                failure = Some(e.into());
                continue;
            }
            if output.format == OutputFormat::Json && output.keep_records {
                kept.push(record);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((stdout, kept)),
    }
}

/// What a record becomes on stdout as it arrives.
fn emit(stdout: &mut dyn Write, output: &OutputConfig, record: &ProbeRecord) -> io::Result<()> {
    match output.format {
        OutputFormat::Text if output.quiet => return Ok(()),
        OutputFormat::Text if output.waterfall => {
            waterfall::write(stdout, record, &line::target_label(record, output.families))?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => writeln!(stdout, "{}", line::probe_line(record, output.families))?,
        OutputFormat::Ndjson => {
            serde_json::to_writer(&mut *stdout, record).map_err(io::Error::from)?;
            writeln!(stdout)?;
        }
        OutputFormat::Json => return Ok(()),
    }
    stdout.flush()
}

fn finish(
    stdout: &mut dyn Write,
    output: &OutputConfig,
    stats: &RunStats,
    kept: &[ProbeRecord],
) -> io::Result<()> {
    match output.format {
        OutputFormat::Text if !output.waterfall || stats.probes() == 0 => {
            if !output.quiet {
                writeln!(stdout)?;
            }
            summary::write(stdout, stats)?;
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

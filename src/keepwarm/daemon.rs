//! `keepwarm --interval`: ping every target on a schedule, on kept-alive
//! connections, until SIGTERM or Ctrl-C; records to `--out`, outages to the
//! log, metrics on `--metrics-listen`. Memory is flat: nothing accumulates
//! but fixed histograms and counters.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::heartbeat::Heartbeat;
use super::lock::{Lock, LockError};
use super::metrics::{outcome, Metrics};
use super::outage::OutageLog;
use super::{pings, serve, warmness};
use crate::commands::exit;
use crate::config::{ConfigError, KeepwarmConfig};
use crate::probe::{engine, RecordBatch};
use crate::render::fmt_span;
use crate::store::NdjsonWriter;

pub async fn run(
    cfg: KeepwarmConfig,
    interval: Duration,
    jitter: Duration,
    stderr: &mut dyn Write,
    cancel: CancellationToken,
) -> anyhow::Result<u8> {
    let _lock = match Lock::take(&cfg.lock) {
        Ok(lock) => lock,
        Err(held @ LockError::Held { .. }) => {
            writeln!(stderr, "coldlink keepwarm: {held}; not starting a second run")?;
            return Ok(exit::PROBLEM);
        }
        Err(e) => return Err(ConfigError(e.to_string()).into()),
    };
    let metrics = Arc::new(Metrics::new(cfg.slow));
    let listener = match cfg.metrics_listen {
        Some(addr) => Some(
            serve::bind(addr)
                .await
                .map_err(|e| ConfigError(format!("--metrics-listen {addr}: cannot listen there: {e}")))?,
        ),
        None => None,
    };
    let mut out = match &cfg.out {
        Some(path) => Some(
            NdjsonWriter::append(path).map_err(|e| ConfigError(format!("--out {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let served = match listener {
        Some(l) => {
            let addr = l.local_addr()?;
            tokio::spawn(serve::serve(l, metrics.clone(), cancel.clone()));
            format!("; metrics on http://{addr}/metrics")
        }
        None => String::new(),
    };
    writeln!(
        stderr,
        "coldlink keepwarm: {} — {} target(s) every {} (jitter {}), on kept-alive connections{served}",
        cfg.name,
        cfg.targets.len(),
        humantime::format_duration(interval),
        humantime::format_duration(jitter),
    )?;
    if let Some(warning) = warmness::warning(interval, cfg.idle_timer) {
        writeln!(stderr, "coldlink keepwarm: {warning}")?;
    }
    let p = pings::pings(cfg.targets.len(), interval, jitter, &cfg.settings);
    let (batches, mut from_engine) = mpsc::channel::<RecordBatch>(64);
    let engine = engine::run(
        p.settings,
        cfg.targets.clone(),
        Box::new(p.plan),
        p.in_flight,
        batches,
        cancel,
    );
    let mut outages = OutageLog::default();
    let (mut probes, mut warm, mut failure) = (0u64, 0u64, None);
    // A round is as many pings as targets (each is pinged once per
    // interval); its heartbeat goes out on its own task, so a slow
    // monitoring service never holds up a record.
    let heartbeat = cfg.heartbeat.clone().map(|u| Arc::new(Heartbeat::new(u)));
    let (mut in_round, mut round_ok) = (0usize, true);
    let consume = async {
        while let Some(batch) = from_engine.recv().await {
            for r in &batch {
                probes += 1;
                in_round += 1;
                round_ok &= outcome(r, cfg.slow) == "ok";
                if in_round == cfg.targets.len() {
                    if let Some(h) = &heartbeat {
                        let (h, ok) = (h.clone(), round_ok);
                        tokio::spawn(async move {
                            if let Err(line) = h.send(ok).await {
                                eprintln!("coldlink keepwarm: {line}");
                            }
                        });
                    }
                    (in_round, round_ok) = (0, true);
                }
                if outcome(r, cfg.slow) == "ok" && r.conn.as_ref().is_some_and(|c| c.reused) {
                    warm += 1;
                }
                metrics.observe(r);
                if let Some(line) = outages.note(r) {
                    let _ = writeln!(stderr, "coldlink keepwarm: {line}");
                }
                if let (Some(w), None) = (out.as_mut(), &failure) {
                    if let Err(e) = w.write(r) {
                        failure = Some(e);
                    }
                }
            }
        }
    };
    let (result, ()) = tokio::join!(engine, consume);
    result.map_err(|e| ConfigError(e.to_string()))?;
    if let Some(e) = failure {
        return Err(ConfigError(format!("--out: writing a record failed: {e}")).into());
    }
    writeln!(
        stderr,
        "coldlink keepwarm: stopped after {probes} probes; {warm} ({:.0} %) found the path warm (a kept-alive connection, under {})",
        crate::diagnose::num::frac(warm as usize, probes as usize) * 100.0,
        fmt_span(cfg.slow.as_secs_f64() * 1000.0)
    )?;
    Ok(exit::OK)
}

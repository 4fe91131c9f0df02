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
use super::records::RecordWriter;
use super::{pings, serve, warmness};
use crate::commands::exit;
use crate::config::{ConfigError, KeepwarmConfig};
use crate::probe::{engine, RecordBatch};
use crate::render::fmt_span;

pub async fn run(
    cfg: KeepwarmConfig,
    interval: Duration,
    jitter: Duration,
    stderr: &mut dyn Write,
    cancel: CancellationToken,
) -> anyhow::Result<u8> {
    let _lock = match Lock::take(&cfg.lock) {
        Ok(lock) => lock,
        // A daemon that cannot run is an error (exit 2), for systemd to see.
        Err(held @ LockError::Held { .. }) => {
            return Err(ConfigError(format!("{held}; not starting a second daemon")).into());
        }
        Err(e) => return Err(ConfigError(e.to_string()).into()),
    };
    let metrics = Arc::new(Metrics::new(cfg.slow));
    metrics.preset(&cfg.targets.iter().map(|t| t.name.clone()).collect::<Vec<_>>());
    let listener = match cfg.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| ConfigError(format!("--metrics-listen {addr}: cannot listen there: {e}")))?,
        ),
        None => None,
    };
    let mut out = match &cfg.out {
        Some(path) => Some(
            RecordWriter::open(path).map_err(|e| ConfigError(format!("--out {}: {e}", path.display())))?,
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
    if let Some(warning) = warmness::warning(interval + jitter, cfg.idle_timer) {
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
    let (mut probes, mut warm) = (0u64, 0u64);
    let n = cfg.targets.len().max(1) as u64;
    // Heartbeats go out one at a time, in order, from a task of their own
    // (a slow monitoring service never holds up a record).
    let (beats, beat_rx) = mpsc::unbounded_channel::<bool>();
    let beating = cfg
        .heartbeat
        .clone()
        .map(|url| tokio::spawn(send_heartbeats(Heartbeat::new(url), beat_rx)));
    let mut rounds = Rounds::default();
    let consume = async {
        while let Some(batch) = from_engine.recv().await {
            for r in &batch {
                probes += 1;
                let ok = outcome(r, cfg.slow) == "ok";
                if let Some(round_ok) = rounds.note(r.seq, n, ok) {
                    let _ = beats.send(round_ok);
                }
                if ok && r.conn.as_ref().is_some_and(|c| c.reused) {
                    warm += 1;
                }
                metrics.observe(r);
                if let Some(line) = outages.note(r) {
                    let _ = writeln!(stderr, "coldlink keepwarm: {line}");
                }
                if let Some(w) = out.as_mut() {
                    w.write(r);
                }
            }
        }
        drop(beats);
    };
    let (result, ()) = tokio::join!(engine, consume);
    result.map_err(|e| ConfigError(e.to_string()))?;
    if let Some(task) = beating {
        // The last round's heartbeat, if it is quick about it.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let lost = out.map_or(0, RecordWriter::finish);
    if lost > 0 {
        writeln!(
            stderr,
            "coldlink keepwarm: {lost} records could not be written to --out"
        )?;
    }
    writeln!(
        stderr,
        "coldlink keepwarm: stopped after {probes} probes; {warm} ({:.0} %) found the path warm (a kept-alive connection, under {})",
        crate::diagnose::num::frac(warm as usize, probes as usize) * 100.0,
        fmt_span(cfg.slow.as_secs_f64() * 1000.0)
    )?;
    Ok(exit::OK)
}

/// Which rounds of pings are complete. The plan numbers its jobs round by
/// round, so a probe's round is `(seq - 1) / targets`; a round is complete
/// when all its targets have answered (or failed), whatever the order they
/// finish in. A round that completes after a later one (its slow target
/// timed out) is dropped: the monitoring service hears the newest news.
#[derive(Debug, Default)]
struct Rounds {
    open: std::collections::BTreeMap<u64, (u64, bool)>,
    last_sent: Option<u64>,
}

impl Rounds {
    /// `Some(all ok)` when this probe completes its round, and it is news.
    fn note(&mut self, seq: u64, targets: u64, ok: bool) -> Option<bool> {
        let round = seq.saturating_sub(1) / targets;
        let entry = self.open.entry(round).or_insert((0, true));
        entry.0 += 1;
        entry.1 &= ok;
        if entry.0 < targets {
            return None;
        }
        let (_, all_ok) = self.open.remove(&round)?;
        if self.last_sent.is_some_and(|last| round < last) {
            return None;
        }
        self.last_sent = Some(round);
        Some(all_ok)
    }
}

async fn send_heartbeats(heartbeat: Heartbeat, mut rounds: mpsc::UnboundedReceiver<bool>) {
    while let Some(ok) = rounds.recv().await {
        if let Err(line) = heartbeat.send(ok).await {
            eprintln!("coldlink keepwarm: {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rounds;

    #[test]
    fn a_round_is_its_targets_whatever_order_they_finish_in() {
        let mut r = Rounds::default();
        // Two targets; round 0's second target hangs until round 2.
        assert_eq!(r.note(1, 2, true), None);
        assert_eq!(r.note(3, 2, true), None, "round 1's first");
        assert_eq!(r.note(4, 2, true), Some(true), "round 1 complete");
        assert_eq!(r.note(2, 2, false), None, "round 0 completes late: old news");
        assert_eq!(r.note(5, 2, true), None);
        assert_eq!(r.note(6, 2, false), Some(false));
    }
}

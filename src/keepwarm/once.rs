//! `keepwarm --once`: one probe per target, a line each, an exit code.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::heartbeat::Heartbeat;
use super::lock::{Lock, LockError};
use super::{Error, KeepwarmConfig};
use crate::exit::Exit;
use crate::format;
use crate::probe::{runner, CountPlan, Pacing, ProbeRecord, Prober};
use crate::publish::xray_segments;
use crate::publish::Hooks;
use crate::records::NdjsonWriter;

/// Probe every target once, at the same time; print a line per target (in
/// the profile's order); 0 when all answered under `slow`, else 1.
pub async fn run(
    cfg: KeepwarmConfig,
    stdout: &mut dyn Write,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    let _lock = match Lock::take(&cfg.lock) {
        Ok(lock) => lock,
        // The run that holds it will report; this one checked nothing, so
        // it is no alarm (exit 0), only a line for cron's mail.
        Err(held @ LockError::Held { .. }) => {
            crate::say!("coldlink keepwarm: {held}; not starting a second run");
            return Ok(Exit::Ok);
        }
        Err(e) => return Err(Error::Lock(e).into()),
    };
    let mut out = match &cfg.out {
        Some(path) => Some(NdjsonWriter::append(path).map_err(|source| Error::Out {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let prober = Arc::new(Prober::new(cfg.settings.clone()).map_err(Error::Tls)?);
    let segments = xray_segments::start(cfg.xray_segments.as_ref(), &cfg.targets);
    let n = cfg.targets.len();
    let plan = CountPlan::new(n, 1, Pacing::None, Instant::now());
    let (tx, mut rx) = mpsc::channel(n.max(1));
    let targets = Arc::new(cfg.targets.clone());
    let run = runner::run(prober, targets, Box::new(plan), n, tx, cancel);
    let mut records: Vec<ProbeRecord> = Vec::with_capacity(n);
    let collect = async {
        while let Some(r) = rx.recv().await {
            records.push(r);
        }
    };
    tokio::join!(run, collect);
    if let Some(p) = crate::publish::Publisher::start_if(cfg.publish.as_ref(), Hooks::log_warnings()).await? {
        records.iter().for_each(|r| p.tap().observe(r));
        p.finish().await;
    }
    records.sort_by_key(|r| (cfg.targets.iter().position(|t| *t.name == *r.target), r.family));
    if let Some(w) = out.as_mut() {
        for r in &records {
            w.write(r).map_err(|source| Error::Write { source })?;
        }
    }
    if let Some(sink) = segments.as_ref().map(|p| p.sink()) {
        records.iter().for_each(|r| sink.offer(r));
    }
    // `--ip-family both`: one line per target and family, the family named.
    let by_family = cfg.targets.iter().any(|t| t.family.is_some());
    let name = |r: &ProbeRecord| match r.family.filter(|_| by_family) {
        Some(f) => format!("{} {}", r.target, f.label()),
        None => r.target.to_string(),
    };
    let width = records.iter().map(|r| name(r).chars().count()).max().unwrap_or(0);
    let mut healthy = records.len() == n;
    for r in &records {
        let (ok, line) = line(r, &name(r), cfg.slow, width);
        healthy &= ok;
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    xray_segments::finish(segments, &mut crate::logs::stderr()).await;
    if let Some(url) = &cfg.heartbeat {
        if let Err(line) = Heartbeat::new(url.clone()).send(healthy).await {
            crate::say!("coldlink keepwarm: {line}");
        }
    }
    Ok(if healthy { Exit::Ok } else { Exit::Problem })
}

/// `execute-api    ok    200  total 23.4 ms  ttfb 20.1 ms  new connection`,
/// and whether the target counts as healthy; `name` is the target as shown
/// (its family after it under `--ip-family both`).
pub fn line(r: &ProbeRecord, name: &str, slow: Duration, width: usize) -> (bool, String) {
    let conn = match &r.conn {
        Some(c) if c.reused => "reused connection",
        Some(_) => "new connection",
        None => "no connection",
    };
    let ttfb = r.phases_ms.ttfb.map(format::ms).unwrap_or_else(|| "-".into());
    let slow_ms = slow.as_secs_f64() * 1000.0;
    let (ok, verdict) = match (&r.error, r.status) {
        (Some(e), _) => (false, format!("FAILED {} in {}: {}", e.kind, e.phase, e.message)),
        // Network time: the tool's own `queue` is not the path's.
        (None, _) if r.network_ms() >= slow_ms => (false, format!("SLOW (over {})", format::ms(slow_ms))),
        (None, _) => (true, "ok".to_string()),
    };
    let status = r.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    (
        ok,
        format!(
            "{:<width$}  {status:>3}  total {:>10}  ttfb {:>10}  {conn}  {verdict}",
            name,
            format::ms(r.total_ms),
            ttfb
        ),
    )
}

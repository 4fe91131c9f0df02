//! `keepwarm --interval`: ping every target on a schedule, on kept-alive
//! connections, until SIGTERM or Ctrl-C; records to `--out`, outages to the
//! log, metrics on `--metrics-listen`. Memory is flat: nothing accumulates
//! but fixed histograms and counters.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::heartbeat::{Heartbeat, HeartbeatLog};
use super::lock::{Lock, LockError};
use super::metrics::{outcome, vantage_label, Metrics};
use super::outage::OutageLog;
use super::{serve, warmness};
use super::{Error, KeepwarmConfig};
use crate::diagnose::{percent, ratio};
use crate::exit::Exit;
use crate::format;
use crate::probe::{engine, pinger, RecordBatch};
use crate::publish::xray_segments::{self, SegmentSink};
use crate::publish::{Hooks, Publisher, Tap};
use crate::records::QueuedWriter;

pub async fn run(
    cfg: KeepwarmConfig,
    interval: Duration,
    jitter: Duration,
    stderr: &mut dyn Write,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    let _lock = take_lock(&cfg)?;
    // The daemon's vantage labels every series, build info included, so
    // that a daemon gone quiet is still attributable.
    let vantage = vantage_label(cfg.settings.vantage.as_deref());
    let metrics = Arc::new(Metrics::new(cfg.slow, std::time::SystemTime::now(), vantage));
    metrics.preset(&names(&cfg));
    let listener = bind_metrics(&cfg).await?;
    let out = open_out(&cfg)?;
    let served = match listener {
        Some(l) => {
            let addr = l.local_addr()?;
            tokio::spawn(serve::serve(l, metrics.clone(), cancel.clone()));
            format!("; metrics on http://{addr}/metrics")
        }
        None => String::new(),
    };
    // Publishing trouble is logged (rate-limited); what it gives up on is
    // counted in the metrics, whose series starts at 0.
    if let Some(p) = &cfg.publish {
        let _ = metrics.publish_failures(p.route.sink());
    }
    if cfg.xray_segments.is_some() {
        let _ = metrics.publish_failures("xray");
    }
    let counted = metrics.clone();
    let hooks = Hooks::log_warnings().counting(move |sink| counted.count_publish_failure(sink));
    let publisher = Publisher::start_if(cfg.publish.as_ref(), hooks).await?;
    announce(stderr, &cfg, interval, jitter, &served)?;
    let p = pinger::pings(cfg.targets.len(), interval, jitter, &cfg.settings);
    let (batches, from_engine) = mpsc::channel::<RecordBatch>(64);
    let engine = engine::run(
        p.settings,
        cfg.targets.clone(),
        Box::new(p.plan),
        p.in_flight,
        batches,
        cancel,
    );
    // Heartbeats go out one at a time, in order, from a task of their own
    // (a slow monitoring service never holds up a record).
    let (beats, beat_rx) = mpsc::unbounded_channel::<bool>();
    let beating = cfg
        .heartbeat
        .clone()
        .map(|url| tokio::spawn(send_heartbeats(Heartbeat::new(url), beat_rx)));
    let counted = metrics.clone();
    let segments = xray_segments::start_counting(
        cfg.xray_segments.as_ref(),
        &cfg.targets,
        Arc::new(move || counted.count_publish_failure("xray")),
    );
    let mut tally = Tally::new(&cfg, metrics, out);
    tally.segments = segments.as_ref().map(|p| p.sink());
    tally.publish = publisher.as_ref().map(|p| p.tap().clone());
    let (result, ()) = tokio::join!(engine, tally.consume(from_engine, beats, stderr));
    result.map_err(Error::Tls)?;
    if let Some(task) = beating {
        // The last round's heartbeat, if it is quick about it.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    if let Some(p) = publisher {
        // The last interval, within a short deadline.
        p.finish().await;
    }
    xray_segments::finish(segments, stderr).await;
    tally.finish(stderr)?;
    Ok(Exit::Ok)
}

/// One daemon per lock file: a second is refused.
fn take_lock(cfg: &KeepwarmConfig) -> anyhow::Result<Lock> {
    match Lock::take(&cfg.lock) {
        Ok(lock) => Ok(lock),
        // A daemon that cannot run is an error (exit 2), for systemd to see.
        Err(held @ LockError::Held { .. }) => Err(Error::Held { source: held }.into()),
        Err(e) => Err(Error::Lock(e).into()),
    }
}

/// The `--metrics-listen` socket, bound before anything starts.
async fn bind_metrics(cfg: &KeepwarmConfig) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    Ok(match cfg.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Listen { addr, source })?,
        ),
        None => None,
    })
}

/// The `--out` records file.
fn open_out(cfg: &KeepwarmConfig) -> anyhow::Result<Option<QueuedWriter>> {
    Ok(match &cfg.out {
        Some(path) => Some(QueuedWriter::open(path, "keepwarm").map_err(|source| Error::Out {
            path: path.clone(),
            source,
        })?),
        None => None,
    })
}

/// The start line, and the warning when the interval may not keep the
/// path warm.
fn announce(
    stderr: &mut dyn Write,
    cfg: &KeepwarmConfig,
    interval: Duration,
    jitter: Duration,
    served: &str,
) -> std::io::Result<()> {
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
    Ok(())
}

/// Where every ping's record goes: the metrics, the outage log, the
/// warmth count, the heartbeat's rounds and `--out`.
struct Tally {
    slow: Duration,
    /// Targets per round (at least 1).
    targets: u64,
    metrics: Arc<Metrics>,
    outages: OutageLog,
    warmth: Warmth,
    rounds: Rounds,
    out: Option<QueuedWriter>,
    /// `--cloudwatch-namespace` / `--emf`: records in, no waiting.
    publish: Option<Tap>,
    /// `--xray-segments`: each ping's client segment, queued.
    segments: Option<SegmentSink>,
}

impl Tally {
    fn new(cfg: &KeepwarmConfig, metrics: Arc<Metrics>, out: Option<QueuedWriter>) -> Tally {
        Tally {
            slow: cfg.slow,
            targets: cfg.targets.len().max(1) as u64,
            metrics,
            outages: OutageLog::default(),
            warmth: Warmth::new(names(cfg).into_iter()),
            rounds: Rounds::default(),
            out,
            publish: None,
            segments: None,
        }
    }

    /// Until the engine stops; then the heartbeat channel closes with
    /// `beats`, so that its task ends after the last round's.
    async fn consume(
        &mut self,
        mut from_engine: mpsc::Receiver<RecordBatch>,
        beats: mpsc::UnboundedSender<bool>,
        stderr: &mut dyn Write,
    ) {
        while let Some(batch) = from_engine.recv().await {
            for r in &batch {
                let ok = outcome(r, self.slow) == "ok";
                if let Some(round_ok) = self.rounds.note(r.seq, self.targets, ok) {
                    let _ = beats.send(round_ok);
                }
                self.warmth
                    .note(&r.target, ok && r.conn.as_ref().is_some_and(|c| c.reused));
                self.metrics.observe(r);
                if let Some(tap) = &self.publish {
                    tap.observe(r);
                }
                if let Some(line) = self.outages.note(r) {
                    let _ = writeln!(stderr, "coldlink keepwarm: {line}");
                }
                if let Some(w) = self.out.as_mut() {
                    w.write(r);
                }
                if let Some(s) = &self.segments {
                    s.offer(r);
                }
            }
        }
    }

    /// `--out` closed, and the closing lines: records lost, and how many
    /// pings found the path warm.
    fn finish(self, stderr: &mut dyn Write) -> std::io::Result<()> {
        let lost = self.out.map_or(0, QueuedWriter::finish);
        if lost > 0 {
            writeln!(
                stderr,
                "coldlink keepwarm: {lost} records could not be written to --out"
            )?;
        }
        let (probes, warm) = self.warmth.total();
        writeln!(
            stderr,
            "coldlink keepwarm: stopped after {probes} probes; {warm} ({}) found the path warm (a kept-alive connection, under {})",
            percent(warm as usize, probes as usize),
            format::span(self.slow.as_secs_f64() * 1000.0)
        )?;
        if let Some(line) = self.warmth.by_target() {
            writeln!(stderr, "coldlink keepwarm: warm by target: {line}")?;
        }
        Ok(())
    }
}

/// Each target name once: `--ip-family both` pings a target on each family
/// under its one name, and its counts and metrics take both.
fn names(cfg: &KeepwarmConfig) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(cfg.targets.len());
    for t in &cfg.targets {
        if !names.iter().any(|n| **n == *t.name) {
            names.push(t.name.to_string());
        }
    }
    names
}

/// Of each target's pings, how many found the path warm: the targets may
/// differ (a custom domain's path going cold while the execute-api URL's
/// stays warm is what the run is for).
struct Warmth {
    /// (target, pings, warm), in the profile's order.
    targets: Vec<(String, u64, u64)>,
}

impl Warmth {
    fn new(names: impl Iterator<Item = String>) -> Warmth {
        Warmth {
            targets: names.map(|n| (n, 0, 0)).collect(),
        }
    }

    fn note(&mut self, target: &str, warm: bool) {
        if let Some(t) = self.targets.iter_mut().find(|t| t.0 == target) {
            t.1 += 1;
            t.2 += u64::from(warm);
        }
    }

    /// (pings, warm) over every target.
    fn total(&self) -> (u64, u64) {
        self.targets.iter().fold((0, 0), |(p, w), t| (p + t.1, w + t.2))
    }

    /// `name warm/pings (share)` per target; `None` for a single target,
    /// which the total already says.
    fn by_target(&self) -> Option<String> {
        (self.targets.len() > 1).then(|| {
            self.targets
                .iter()
                .map(|(name, pings, warm)| format!("{name} {}", ratio(*warm as usize, *pings as usize)))
                .collect::<Vec<_>>()
                .join(", ")
        })
    }
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
    let mut log = HeartbeatLog::new();
    while let Some(ok) = rounds.recv().await {
        if let Some(line) = log.outcome(heartbeat.send(ok).await) {
            crate::say!("coldlink keepwarm: {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Rounds, Warmth};

    #[test]
    fn warmth_is_told_per_target_when_there_are_several() {
        let mut w = Warmth::new(["execute-api".to_string(), "custom-domain".to_string()].into_iter());
        for warm in [true, true, true, false] {
            w.note("execute-api", warm);
        }
        for warm in [false, false, true, false] {
            w.note("custom-domain", warm);
        }
        w.note("not-a-target", true);
        assert_eq!(w.total(), (8, 4));
        assert_eq!(
            w.by_target().as_deref(),
            Some("execute-api 3/4 (75 %), custom-domain 1/4 (25 %)")
        );
        let single = Warmth::new(["a".to_string()].into_iter());
        assert_eq!(single.by_target(), None);
    }

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

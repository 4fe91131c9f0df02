//! `coldlink run`: a profile's schedule (until --duration or a signal) or
//! its burst, headless.

use crate::exit::Exit;
use std::io::Write;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::output;
use crate::config::{RunConfig, RunPlan};
use crate::probe::{CountPlan, Pacing, Plan, SchedulePlan};
use crate::publish::xray_segments;
use crate::publish::{Hooks, Publisher};

pub async fn run(
    mut cfg: RunConfig,
    stdout: Box<dyn Write + Send>,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    let targets = cfg.targets.clone();
    let start = Instant::now();
    let until = cfg.duration.map(|d| start + d);
    let plan: Box<dyn Plan> = match cfg.plan {
        RunPlan::Schedule(s) => Box::new(SchedulePlan::new(
            targets.len(),
            s.interval,
            s.jitter,
            start,
            until,
            rand::random(),
        )),
        RunPlan::Burst(b) => {
            let pacing = b.rate.map_or(Pacing::None, Pacing::Rate);
            Box::new(CountPlan::new(targets.len(), b.requests, pacing, start))
        }
    };
    announce(&cfg);
    if let Some(until) = until {
        // A burst stops at the deadline too; the schedule plan already ends there.
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(until).await;
            cancel.cancel();
        });
    }
    let publisher = Publisher::start_if(cfg.publish.as_ref(), Hooks::log_warnings()).await?;
    let segments = xray_segments::start(cfg.xray_segments.as_ref(), &targets);
    cfg.output.segments = segments.as_ref().map(|p| p.sink());
    cfg.output.publish = publisher.as_ref().map(|p| p.tap().clone());
    let exit = output::probe_into_output(
        cfg.settings,
        targets,
        plan,
        cfg.max_in_flight,
        cfg.output,
        stdout,
        cancel,
    )
    .await;
    if let Some(p) = publisher {
        // The last interval, within a short deadline, whatever the run's end.
        p.finish().await;
    }
    xray_segments::finish(segments, &mut crate::logs::stderr()).await;
    exit
}

/// One line on stderr saying what is about to happen (stdout is for data).
fn announce(cfg: &RunConfig) {
    let plan = match cfg.plan {
        RunPlan::Schedule(s) => format!(
            "every {} (jitter {}), {} connections",
            humantime::format_duration(s.interval),
            humantime::format_duration(s.jitter),
            cfg.settings.connections.as_str()
        ),
        RunPlan::Burst(b) => format!(
            "burst of {} per target, {} at once{}, {} connections",
            b.requests,
            b.concurrency,
            b.rate.map(|r| format!(", {r}/s")).unwrap_or_default(),
            cfg.settings.connections.as_str()
        ),
    };
    let until = match cfg.duration {
        Some(d) => format!("for {}", humantime::format_duration(d)),
        None if matches!(cfg.plan, RunPlan::Burst(_)) => "until done".to_string(),
        None => "until Ctrl-C".to_string(),
    };
    crate::say!(
        "coldlink run: profile {} — {} target(s), {plan}, {until}",
        cfg.profile.name,
        cfg.targets.len()
    );
}

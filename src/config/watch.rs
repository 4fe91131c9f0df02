//! `coldlink watch`, validated: the targets, the schedule it probes on, the
//! burst and sweep its keys start, and keep-warm, all in real time.

use std::time::Duration;

use super::error::ConfigError;
use super::layer::Connection;
use super::profile::DiagnoseSettings;
use super::source::{self, LabContext};
use super::FromArgs;
use crate::cli::WatchArgs;
use crate::probe::plan::{schedule_in_flight, Schedule};
pub use crate::tui::WatchConfig;

/// The schedule of `watch URL...` without a profile: often enough to see
/// a pattern within a minute, rarely enough not to keep the path warm.
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(10);

/// Keep-warm's interval when `k` is pressed without `--keep-warm`: under
/// every idle timer on the path (DOMAIN.md: 350 s at the NLB, less behind
/// some proxies), well over a schedule that would hide them.
pub const DEFAULT_KEEP_WARM: Duration = Duration::from_secs(60);

impl FromArgs<WatchArgs> for WatchConfig {
    fn from_args(args: &WatchArgs, lab: Option<LabContext<'_>>) -> Result<WatchConfig, ConfigError> {
        super::check_out(args.out.as_deref())?;
        let scale = lab.as_ref().map_or(1.0, |l| l.speed);
        let real = |d: Duration| d.div_f64(scale);
        let loaded = source::profile_file(args.profile.as_deref(), lab.as_ref())?;
        // The lab's profile is in real time already, like any profile.
        let profile = loaded.as_ref().or(lab.as_ref().map(|l| l.profile));
        let (targets, conn) = source::targets(
            profile,
            &args.urls,
            &Connection::from_args(&args.conn),
            "watch",
            "URLs, --profile FILE or --lab SCENARIO",
        )?;
        let base = profile.map(|p| p.schedule).unwrap_or(Schedule {
            interval: DEFAULT_WATCH_INTERVAL,
            jitter: DEFAULT_WATCH_INTERVAL / 10,
            ..Schedule::default()
        });
        let interval = args.interval.map(real).unwrap_or(base.interval);
        let jitter = match (args.jitter, args.interval) {
            (Some(j), _) => real(j),
            (None, Some(_)) => interval / 10,
            (None, None) => base.jitter,
        };
        if jitter >= interval {
            return Err(ConfigError::JitterTooLong {
                jitter: jitter.mul_f64(scale),
                interval: interval.mul_f64(scale),
                interval_named: "the interval",
            });
        }
        let schedule = Schedule {
            interval,
            jitter,
            connections: base.connections,
        };
        let mut settings = conn.settings(schedule.connections, targets.len())?;
        settings.lab = source::lab_of(profile, &args.urls);
        // --connections overrides the profile's schedule.connections.
        let schedule = Schedule {
            connections: settings.connections,
            ..schedule
        };
        // Key b's burst may keep more connections than the schedule.
        let burst = profile.map(|p| p.burst).unwrap_or_default();
        settings.max_idle_per_origin = settings.max_idle_per_origin.max(burst.concurrency);
        let sweep = profile
            .map(|p| p.diagnose.idle_sweep.clone())
            .unwrap_or_else(|| DiagnoseSettings::default().idle_sweep);
        // Like diagnose --lab: the lab's slow threshold is judged from the data.
        let slow = args.slow.or(if lab.is_some() {
            None
        } else {
            profile.and_then(|p| p.diagnose.slow)
        });
        let slow_ms = slow.map(|d| d.as_secs_f64() * 1000.0);
        let max_in_flight = schedule_in_flight(targets.len(), interval, settings.timeouts.total);
        Ok(WatchConfig {
            name: match (&lab, profile) {
                (Some(l), _) => format!("lab {}", l.name),
                (None, Some(p)) => p.name.clone(),
                (None, None) => "urls".into(),
            },
            targets,
            settings,
            schedule,
            max_in_flight,
            burst,
            sweep,
            keep_warm: real(args.keep_warm.unwrap_or(DEFAULT_KEEP_WARM)),
            keep_warm_on: args.keep_warm.is_some(),
            scale,
            lab: lab.as_ref().map(|l| l.name.to_string()),
            slow_ms,
            out: args.out.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::config::Profile;
    use crate::probe::ConnectionPolicy;
    use clap::Parser;

    fn args(a: &[&str]) -> WatchArgs {
        let mut all = vec!["coldlink", "watch"];
        all.extend_from_slice(a);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Watch(w) => *w,
            _ => unreachable!(),
        }
    }

    #[test]
    fn urls_are_watched_every_ten_seconds_by_default() {
        let c = WatchConfig::from_args(&args(&["http://127.0.0.1:9/"]), None).unwrap();
        assert_eq!(c.schedule.interval, DEFAULT_WATCH_INTERVAL);
        assert_eq!(c.schedule.jitter, Duration::from_secs(1));
        assert_eq!(c.schedule.connections, ConnectionPolicy::Fresh);
        assert_eq!((c.keep_warm, c.keep_warm_on), (DEFAULT_KEEP_WARM, false));
        assert_eq!(c.name, "urls");
        assert_eq!(c.sweep, DiagnoseSettings::default().idle_sweep);
    }

    #[test]
    fn flags_override_the_schedule_and_connections() {
        let a = args(&[
            "http://127.0.0.1:9/",
            "--interval",
            "2s",
            "--keep-warm",
            "45s",
            "--connections",
            "reuse",
            "--slow",
            "750ms",
        ]);
        let c = WatchConfig::from_args(&a, None).unwrap();
        assert_eq!(c.schedule.interval, Duration::from_secs(2));
        assert_eq!(
            c.schedule.jitter,
            Duration::from_millis(200),
            "a tenth of the interval"
        );
        assert_eq!(c.schedule.connections, ConnectionPolicy::Reuse);
        assert_eq!((c.keep_warm, c.keep_warm_on), (Duration::from_secs(45), true));
        assert_eq!(c.slow_ms, Some(750.0));
    }

    /// With --lab, durations on the command line are scenario time; the
    /// lab's profile is real time already.
    #[test]
    fn the_lab_speaks_scenario_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        std::fs::write(
            &path,
            "name = \"lab-x\"\n[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n[schedule]\ninterval = \"3s\"\njitter = \"300ms\"\n[diagnose]\nidle_sweep = [\"0s\", \"3s\"]\nslow = \"100ms\"\n",
        )
        .unwrap();
        let profile = Profile::load(&path).unwrap();
        let lab = || {
            Some(LabContext {
                profile: &profile,
                speed: 10.0,
                name: "x",
            })
        };
        let c = WatchConfig::from_args(&args(&["--lab", "x"]), lab()).unwrap();
        assert_eq!(c.schedule.interval, Duration::from_secs(3));
        assert_eq!(c.sweep, [Duration::ZERO, Duration::from_secs(3)]);
        assert_eq!(c.keep_warm, Duration::from_secs(6), "60 s of scenario time");
        assert_eq!(c.slow_ms, None, "judged from the data, like diagnose --lab");
        assert_eq!((c.scale, c.name.as_str()), (10.0, "lab x"));
        let c = WatchConfig::from_args(&args(&["--lab", "x", "--interval", "50s", "--slow", "2s"]), lab())
            .unwrap();
        assert_eq!(c.schedule.interval, Duration::from_secs(5));
        assert_eq!(c.slow_ms, Some(2000.0), "scenario ms, as the detectors read");
    }
}

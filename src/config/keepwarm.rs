//! `coldlink keepwarm`, validated. The `--from` files are only checked
//! here; reading the idle timer from them is the command's
//! (`commands::keepwarm`).

use super::error::ConfigError;
use super::layer::Connection;
use super::source::{self, LabContext};
use super::FromArgs;
use crate::cli::KeepwarmArgs;
use crate::keepwarm::settings::default_lock;
pub use crate::keepwarm::settings::{KeepwarmConfig, KeepwarmMode, DEFAULT_KEEPWARM_SLOW};
use crate::probe::ConnectionPolicy;

impl FromArgs<KeepwarmArgs> for KeepwarmConfig {
    /// `lab`: a lab started for this command.
    fn from_args(args: &KeepwarmArgs, lab: Option<LabContext<'_>>) -> Result<KeepwarmConfig, ConfigError> {
        super::check_out(args.out.as_deref())?;
        let loaded = source::profile_file(args.profile.as_deref(), lab.as_ref())?;
        let profile = loaded.as_ref().or(lab.map(|l| l.profile));
        let (targets, conn) = source::targets(
            profile,
            &args.urls,
            &Connection::from_args(&args.conn),
            "keepwarm",
            "URLs, --profile FILE or --lab SCENARIO",
        )?;
        let mode = match args.interval {
            None => KeepwarmMode::Once,
            Some(interval) => {
                let jitter = args.jitter.unwrap_or_default();
                if jitter >= interval {
                    return Err(ConfigError::JitterTooLong {
                        jitter,
                        interval,
                        interval_named: "--interval",
                    });
                }
                KeepwarmMode::Daemon { interval, jitter }
            }
        };
        // A cron run is a new process: its connections are new whatever the
        // policy. The daemon keeps its connections alive: a ping keeps warm
        // the connections it uses, the client's among them.
        let policy = match mode {
            KeepwarmMode::Once => ConnectionPolicy::Fresh,
            KeepwarmMode::Daemon { .. } => ConnectionPolicy::Reuse,
        };
        let mut settings = conn.settings(policy, targets.len())?;
        settings.lab = source::lab_of(profile, &args.urls);
        let xray_segments = super::xray_segments::xray_segments(
            args.xray_segments,
            &args.conn.aws,
            args.publish.publish_endpoint.as_ref(),
            profile,
            &mut settings,
        )?;
        let slow = args
            .slow
            .or(profile.and_then(|p| p.diagnose.slow))
            .unwrap_or(DEFAULT_KEEPWARM_SLOW);
        let lock = match &args.lock {
            Some(path) => path.clone(),
            None => default_lock(profile.map(|p| p.name.as_str()), &targets, mode),
        };
        for path in &args.from {
            std::fs::File::open(path).map_err(|source| ConfigError::Unreadable {
                flag: "--from",
                path: path.clone(),
                expected: None,
                source,
            })?;
        }
        let publish = super::publish::publish_settings(
            &args.publish,
            &args.conn.aws,
            profile,
            settings.lab.is_some(),
            None,
            xray_segments.is_some(),
        )?;
        Ok(KeepwarmConfig {
            mode,
            publish,
            metrics_listen: args.metrics_listen,
            heartbeat: args.heartbeat_url.clone(),
            // Read by the command: see `commands::keepwarm::read_idle_timer`.
            idle_timer: crate::keepwarm::warmness::Known::Nothing,
            name: profile.map_or_else(|| "urls".to_string(), |p| p.name.clone()),
            targets,
            settings,
            slow,
            lock,
            out: args.out.clone(),
            xray_segments,
        })
    }
}

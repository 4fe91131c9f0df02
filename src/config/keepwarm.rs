//! `coldlink keepwarm`, validated.

use std::path::PathBuf;
use std::time::Duration;

use super::{settings_from, targets_and_connection, ConfigError, LabContext, Profile};
use crate::cli::KeepwarmArgs;
use crate::probe::{ConnectionPolicy, ProbeSettings, Target};

/// A target answering slower than this is not healthy, unless the profile
/// or `--slow` says otherwise.
pub const DEFAULT_KEEPWARM_SLOW: Duration = Duration::from_secs(1);

/// Cron's one round, or the daemon's schedule (real time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeepwarmMode {
    Once,
    Daemon { interval: Duration, jitter: Duration },
}

#[derive(Debug, Clone)]
pub struct KeepwarmConfig {
    pub mode: KeepwarmMode,
    pub targets: Vec<Target>,
    pub settings: ProbeSettings,
    /// Real time.
    pub slow: Duration,
    pub lock: PathBuf,
    pub out: Option<PathBuf>,
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub heartbeat: Option<url::Url>,
    /// What `--from` says of the path's idle timer.
    pub idle_timer: crate::keepwarm::warmness::Known,
    /// The profile's name, or "urls": the label of what is kept warm.
    pub name: String,
}

impl KeepwarmConfig {
    /// `lab`: the profile of a lab started for this command.
    pub fn from_args(
        args: &KeepwarmArgs,
        lab: Option<LabContext<'_>>,
    ) -> Result<KeepwarmConfig, ConfigError> {
        let lab = lab.map(|l| l.profile);
        super::check_out(args.out.as_deref())?;
        let loaded = match (&args.profile, lab) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "--profile and --lab: give one (the lab comes with its own profile)".into(),
                ))
            }
            (Some(path), None) => Some(Profile::load(path)?),
            _ => None,
        };
        let profile = loaded.as_ref().or(lab);
        let (targets, conn) = targets_and_connection(profile, &args.urls, &args.conn, "keepwarm")?;
        let mode = match args.interval {
            None => KeepwarmMode::Once,
            Some(interval) => {
                let jitter = args.jitter.unwrap_or_default();
                if jitter >= interval {
                    return Err(ConfigError(format!(
                        "--jitter {} must be shorter than --interval ({})",
                        humantime::format_duration(jitter),
                        humantime::format_duration(interval)
                    )));
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
        let mut settings = settings_from(&conn, policy, targets.len())?;
        settings.lab = super::lab_of(profile, &args.urls);
        let slow = args
            .slow
            .or(profile.and_then(|p| p.diagnose.slow))
            .unwrap_or(DEFAULT_KEEPWARM_SLOW);
        let lock = match &args.lock {
            Some(path) => path.clone(),
            None => default_lock(profile.map(|p| p.name.as_str()), &targets, mode),
        };
        Ok(KeepwarmConfig {
            mode,
            metrics_listen: args.metrics_listen,
            heartbeat: args.heartbeat_url.clone(),
            idle_timer: if args.from.is_empty() {
                crate::keepwarm::warmness::Known::Nothing
            } else {
                crate::keepwarm::warmness::idle_timer_from(&args.from)
                    .map_err(|e| ConfigError(format!("--from {e}")))?
            },
            name: profile.map_or_else(|| "urls".to_string(), |p| p.name.clone()),
            targets,
            settings,
            slow,
            lock,
            out: args.out.clone(),
        })
    }
}

/// One lock per profile (or set of URLs), per user, and per mode: two
/// crontab lines for two APIs never block each other, the same line run
/// twice does, and a daemon never blocks cron. In the user's state folder,
/// which cron and a login shell agree on (`$HOME`; `XDG_RUNTIME_DIR` is
/// unset under cron), else the temporary folder.
fn default_lock(profile: Option<&str>, targets: &[Target], mode: KeepwarmMode) -> PathBuf {
    // FNV-1a: a name that stays the same across Rust releases.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in targets {
        for b in t.url.as_str().bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let name: String = profile
        .unwrap_or("urls")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = match mode {
        KeepwarmMode::Once => "once",
        KeepwarmMode::Daemon { .. } => "daemon",
    };
    let state = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".local/state/coldlink"))
        .filter(|dir| std::fs::create_dir_all(dir).is_ok());
    let dir = state.unwrap_or_else(std::env::temp_dir);
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    dir.join(format!("keepwarm-{kind}-{uid}-{name}-{:08x}.lock", h as u32))
}

//! What keep-warm runs with: cron's one round or the daemon's schedule,
//! the targets and their settings, what counts as healthy, and where the
//! lock, records, metrics and heartbeat go. Built by `config`.

use std::path::PathBuf;
use std::time::Duration;

use crate::probe::{ProbeSettings, Target};

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
    /// `--cloudwatch-namespace` / `--emf`.
    pub publish: Option<crate::publish::PublishSettings>,
    /// `--xray-segments`: where each ping's client segment goes.
    pub xray_segments: Option<crate::publish::xray_segments::XraySegments>,
}

/// One lock per profile (or set of URLs), per user, and per mode: two
/// crontab lines for two APIs never block each other, the same line run
/// twice does, and a daemon never blocks cron. In the user's state folder,
/// which cron and a login shell agree on (`$HOME`; `XDG_RUNTIME_DIR` is
/// unset under cron), else the temporary folder.
pub fn default_lock(profile: Option<&str>, targets: &[Target], mode: KeepwarmMode) -> PathBuf {
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
    let uid = rustix::process::getuid().as_raw();
    dir.join(format!("keepwarm-{kind}-{uid}-{name}-{:08x}.lock", h as u32))
}

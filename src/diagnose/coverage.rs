//! What a run tested and what it could not. A verdict of `healthy` is only
//! honest when every cause had a chance to show: an idle timer needs a quiet
//! period longer than itself, an `edge` comparison needs both entry points,
//! SYN loss needs new connections. This module reads that off the records;
//! the report turns each gap into the command that would close it, the
//! dashboard into the key that would.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::detect::gaps::is_head;
use super::finding::Cause;
use super::PathKind;
use crate::format::human_ms;
use crate::probe::{Phase, TargetKind};

/// The NLB's default idle timer (and a NAT gateway's, and Nitro's
/// conntrack): a quiet period this long reaches every common timer.
pub const LONGEST_COMMON_TIMER_MS: f64 = 350_000.0;

/// nginx's upstream (60 s) and client (75 s) keep-alive timers, and an ALB's
/// idle timeout (60 s): a race with them shows after quiet periods just
/// above, so at least one quiet period in this range must have been tried.
pub const KEEPALIVE_WINDOW_MS: (f64, f64) = (60_000.0, 90_000.0);

/// nginx's client keep-alive timer: the longest of the short ones.
const NGINX_CLIENT_KEEPALIVE_MS: f64 = 75_000.0;

/// The 350 s timers a sweep short of them did not reach, by the hop there.
fn long_timers(kind: PathKind) -> &'static str {
    match kind {
        PathKind::Nlb => "the NLB's 350 s idle timer (also a NAT gateway's) was not reached",
        PathKind::Alb | PathKind::CloudMap => {
            "the 350 s timers that drop silently (a NAT gateway's, conntrack's) were not reached"
        }
        PathKind::Unknown => "350 s idle timers (an NLB's, a NAT gateway's) were not reached",
    }
}

/// The timers past the short gaps, by the hop there.
fn short_timers(kind: PathKind) -> &'static str {
    match kind {
        PathKind::Nlb => "idle timers longer than that (nginx 60 s / 75 s, the NLB's 350 s) were not reached",
        PathKind::Alb => {
            "idle timers longer than that (nginx 60 s / 75 s, the ALB's 60 s, a NAT gateway's 350 s) were not reached"
        }
        PathKind::CloudMap => {
            "idle timers longer than that (nginx 60 s / 75 s, a NAT gateway's 350 s) were not reached"
        }
        PathKind::Unknown => {
            "idle timers longer than that (nginx 60 s / 75 s, an ALB's 60 s, the NLB's 350 s) were not reached"
        }
    }
}

/// The gaps that test nginx's keep-alive timers, for the suggested command.
pub const KEEPALIVE_SWEEP: [Duration; 2] = [Duration::from_secs(65), Duration::from_secs(80)];

/// `bad-path` needs a steady slow fraction; its detector wants this many
/// answered probes before it looks.
const BAD_PATH_MIN_PROBES: usize = 12;

/// SYN loss of a few percent needs this many new connections to show once.
const SYN_LOSS_MIN_NEW: usize = 10;

/// The quick plan's short quiet gaps (scenario time): a keep-alive timer of
/// a few seconds (Node.js's 5 s) shows after them.
pub const QUICK_GAPS: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(3),
    Duration::from_secs(8),
];

/// The idle sweep's gaps when none are given (scenario time): back to back,
/// then past the timers that matter (ALB and nginx 60 s, nginx 75 s, the
/// NLB's 350 s).
pub const DEFAULT_SWEEP: [Duration; 6] = [
    Duration::from_secs(0),
    Duration::from_secs(30),
    Duration::from_secs(65),
    Duration::from_secs(80),
    Duration::from_secs(120),
    Duration::from_secs(360),
];

/// Probes per target in each burst of the quick plan.
pub const DEFAULT_PROBES: u64 = 20;

/// A quiet period counts as reaching a timer within this margin (scheduling
/// noise: a 360 s sweep gap is measured as 359.98 s).
const REACH_MARGIN: f64 = 0.98;

/// A cause the records could not test, and what would test it.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub cause: Cause,
    /// Why it was not tested, with the numbers.
    pub why: String,
    pub needs: Need,
}

/// What would test a cause the records could not.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    /// Quiet periods of these lengths (scenario time); `None`: the idle
    /// sweep's default gaps.
    QuietPeriods(Option<Vec<Duration>>),
    /// Probes that open new connections (the quick plan's first burst).
    NewConnections,
    /// The execute-api URL and the custom domain, side by side.
    BothEntryPoints { missing: TargetKind },
    /// More probes per target.
    MoreProbes,
}

/// One untested cause as the JSON report carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Untested {
    pub cause: Cause,
    pub why: String,
    /// The command that tests it.
    pub run: String,
    /// About how long that command takes, in real seconds.
    pub takes_s: f64,
}

/// What was tested, in one line: probes, connections, quiet periods.
pub fn tested(ds: &Dataset) -> String {
    let new = ds.samples.iter().filter(|s| s.new_conn()).count();
    let reused = ds.samples.iter().filter(|s| s.reused).count();
    let longest = ds.longest_gap_ms();
    let quiet = if longest >= 1.0 {
        format!("quiet periods up to {}", human_ms(longest))
    } else {
        "no quiet period".to_string()
    };
    format!(
        "{} probes to {} target(s): {new} on new connections, {reused} on reused ones; {quiet}",
        ds.samples.len(),
        ds.targets.len()
    )
}

/// True when a finding at `warning` or above raised `cause`: found, by
/// whatever evidence (an ALB's own 502 pages for a race no quiet period
/// was timed for), so not to be listed as untested beside it.
pub fn found(cause: Cause, findings: &[super::Finding]) -> bool {
    findings
        .iter()
        .any(|f| f.cause == cause && f.severity >= super::Severity::Warning)
}

/// Every cause the records could not test, in the order the detectors run.
pub fn gaps(ds: &Dataset) -> Vec<Gap> {
    let mut out = Vec::new();
    // Nothing answered: no cause behind the first hop had a chance, and
    // the finding says why; a list of them all would bury it.
    if !ds.samples.iter().any(|s| s.responded()) {
        return out;
    }
    let new: Vec<_> = ds.samples.iter().filter(|s| s.new_conn()).collect();
    if new.is_empty() {
        let why = "no probe opened a new connection";
        out.push(Gap {
            cause: Cause::DnsTimeout,
            why: format!("{why}, so no DNS lookup was timed"),
            needs: Need::NewConnections,
        });
        out.push(Gap {
            cause: Cause::SynLoss,
            why: format!("{why}, so no TCP handshake was timed"),
            needs: Need::NewConnections,
        });
        if ds.targets.iter().any(|t| t.url.starts_with("https:")) {
            out.push(Gap {
                cause: Cause::SlowTls,
                why: format!("{why}, so no TLS handshake was timed"),
                needs: Need::NewConnections,
            });
        }
    } else if new.len() < SYN_LOSS_MIN_NEW && new.iter().all(|s| s.phase(Phase::Connect).is_some()) {
        out.push(Gap {
            cause: Cause::SynLoss,
            why: format!(
                "only {} new connection(s): a loss of a few SYNs in a hundred needs at least {SYN_LOSS_MIN_NEW}",
                new.len()
            ),
            needs: Need::NewConnections,
        });
    }
    let longest = ds.longest_gap_ms();
    if longest < LONGEST_COMMON_TIMER_MS * REACH_MARGIN {
        let kind = ds.path_kind(0..ds.targets.len() as u16);
        let reached = if longest >= NGINX_CLIENT_KEEPALIVE_MS * REACH_MARGIN {
            long_timers(kind)
        } else {
            short_timers(kind)
        };
        out.push(Gap {
            cause: Cause::IdleTimeout,
            why: format!("the longest quiet period was {}: {reached}", quiet(longest)),
            needs: Need::QuietPeriods(None),
        });
    }
    let (lo, hi) = KEEPALIVE_WINDOW_MS;
    // A sweep past the window with none inside it still misses the race.
    let in_window = ds
        .samples
        .iter()
        .any(|s| is_head(ds, s) && s.session_gap_ms >= lo * REACH_MARGIN && s.session_gap_ms <= hi);
    if !in_window {
        out.push(Gap {
            cause: Cause::KeepaliveRace,
            why: format!(
                "no quiet period between {} and {}, where keep-alive timers of 60 s and 75 s (nginx, an ALB) race the gateway's reuse",
                human_ms(lo),
                human_ms(hi)
            ),
            needs: Need::QuietPeriods(Some(KEEPALIVE_SWEEP.to_vec())),
        });
    }
    let answered = ds.samples.iter().filter(|s| s.responded()).count();
    if answered < BAD_PATH_MIN_PROBES {
        out.push(Gap {
            cause: Cause::BadPath,
            why: format!(
                "only {answered} probe(s) answered: a steady slow fraction (one path of N) needs at least {BAD_PATH_MIN_PROBES}"
            ),
            needs: Need::MoreProbes,
        });
    }
    let has = |k: TargetKind| ds.targets.iter().any(|t| t.kind == k);
    let missing = match (has(TargetKind::ExecuteApi), has(TargetKind::CustomDomain)) {
        (true, true) => None,
        (true, false) => Some((
            TargetKind::CustomDomain,
            "no custom domain was probed beside the execute-api URL",
        )),
        (false, true) => Some((
            TargetKind::ExecuteApi,
            "no execute-api URL was probed beside the custom domain",
        )),
        (false, false) => Some((
            TargetKind::ExecuteApi,
            "neither an execute-api URL nor a custom domain was probed",
        )),
    };
    if let Some((missing, which)) = missing {
        out.push(Gap {
            cause: Cause::Edge,
            why: format!("{which}: whether the edge in front of the custom domain costs time needs both"),
            needs: Need::BothEntryPoints { missing },
        });
    }
    out
}

fn quiet(ms: f64) -> String {
    if ms < 1.0 {
        "under 1 ms (no probe waited after a quiet API)".into()
    } else {
        human_ms(ms)
    }
}

/// How to run coldlink again on the same targets, to turn a [`Gap`] into a
/// command and a duration.
#[derive(Debug, Clone, PartialEq)]
pub struct Rerun {
    /// `coldlink diagnose --lab idle-timeout`, `coldlink diagnose --profile
    /// api.toml`, `coldlink diagnose URL...`.
    pub command: String,
    /// Scenario time ÷ real time (the lab's speed).
    pub scale: f64,
    /// The idle sweep's gaps without a value (scenario time).
    pub default_sweep: Vec<Duration>,
    /// Probes per target in each burst.
    pub probes: u64,
    /// `--profile`: an entry point is added to the file, not the command.
    pub profile: bool,
}

impl Rerun {
    /// The same, with `--full`: for a plan that stopped early, whose
    /// untested causes only the whole plan tests.
    pub fn full(mut self) -> Rerun {
        if !self.command.contains(" --full") {
            self.command.push_str(" --full");
        }
        self
    }

    /// The lab scenario again, with the flags that made this run of it
    /// (`--speed`, `--set`), at `scale`.
    pub fn lab(scenario: &str, flags: &[String], scale: f64, probes: u64) -> Rerun {
        let mut command = format!("coldlink diagnose --lab {scenario}");
        for f in flags {
            command.push(' ');
            command.push_str(f);
        }
        Rerun {
            command,
            scale,
            default_sweep: DEFAULT_SWEEP.to_vec(),
            probes,
            profile: false,
        }
    }

    /// About how long the quick plan takes, in real seconds: the fresh
    /// burst's spread, the reused burst, the short gaps.
    pub fn quick_s(&self) -> f64 {
        let gaps: f64 = QUICK_GAPS.iter().map(|g| g.as_secs_f64()).sum();
        4.0 + 1.0 + gaps / self.scale
    }

    pub fn untested(&self, gap: &Gap) -> Untested {
        let (run, takes_s) = match &gap.needs {
            Need::QuietPeriods(gaps) => {
                let (flag, gaps) = match gaps {
                    None => ("--idle-sweep".to_string(), self.default_sweep.clone()),
                    Some(g) => (format!("--idle-sweep {}", list(g)), g.clone()),
                };
                let quiet: f64 = gaps.iter().map(Duration::as_secs_f64).sum::<f64>() / self.scale;
                (format!("{} {flag}", self.command), self.quick_s() + quiet)
            }
            Need::NewConnections => (self.command.clone(), self.quick_s()),
            Need::MoreProbes => (
                format!("{} --probes {}", self.command, self.probes.max(10) * 2),
                self.quick_s(),
            ),
            Need::BothEntryPoints { missing } => {
                let url = match missing {
                    TargetKind::CustomDomain => "https://CUSTOM-DOMAIN/PATH",
                    _ => "https://API-ID.execute-api.REGION.amazonaws.com/STAGE/PATH",
                };
                let run = if self.profile {
                    format!(
                        "{} (after adding a [[target]] with url = \"{url}\")",
                        self.command
                    )
                } else {
                    format!("{} {url}", self.command)
                };
                (run, self.quick_s())
            }
        };
        Untested {
            cause: gap.cause,
            why: gap.why.clone(),
            run,
            takes_s: takes_s.ceil(),
        }
    }
}

/// `65s,80s,500ms`: as `--idle-sweep` reads it, no spaces.
fn list(gaps: &[Duration]) -> String {
    gaps.iter()
        .map(|g| match g.subsec_millis() {
            0 => format!("{}s", g.as_secs()),
            _ => format!("{}ms", g.as_millis()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timers_not_reached_are_the_hops_own() {
        assert!(long_timers(PathKind::Nlb).contains("the NLB's 350 s"));
        let alb = format!("{} {}", long_timers(PathKind::Alb), short_timers(PathKind::Alb));
        assert!(
            alb.contains("the ALB's 60 s") && alb.contains("NAT gateway") && !alb.contains("NLB"),
            "{alb}"
        );
        let nlb = short_timers(PathKind::Nlb);
        assert!(nlb.contains("the NLB's 350 s") && !nlb.contains("ALB"), "{nlb}");
        let unknown = format!(
            "{} {}",
            long_timers(PathKind::Unknown),
            short_timers(PathKind::Unknown)
        );
        assert!(
            unknown.contains("an NLB's") && unknown.contains("an ALB's 60 s"),
            "{unknown}"
        );
    }
}

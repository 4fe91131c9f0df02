//! Lab scenarios: one TOML file each (`src/lab/scenarios/`),
//! embedded in the binary, each a set of departures from the defaults
//! below; `--set key=value` overrides any key.
//!
//! Durations are the real-world values (an NLB idle timer of 350 s); the
//! lab divides them by the speed so that a test sees the same shape in
//! seconds.
//!
//! Over 500 lines with its tests: a scenario's whole shape (sections,
//! defaults, limits, `--set`) reads best in one place.

use std::time::Duration;

use serde::Deserialize;

use super::gateway::TransferMode;
use super::nlb::{Fault, IdleBehaviour};
use super::params;
use super::upstream::Policy;
use crate::duration::Dur;

/// A scenario that cannot be run as asked: an unknown name, a `--set`
/// that does not apply, or values that do not make a lab.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown lab scenario '{name}'; one of: {}", SCENARIOS.map(|(n, _)| n).join(", "))]
    Unknown { name: String },
    /// toml's message without its snippet (the table is not the user's
    /// text), so its error is kept but not as a `source()`.
    #[error("lab scenario {name}: {}", toml.message())]
    Unreadable {
        name: String,
        toml: Box<toml::de::Error>,
    },
    #[error("lab scenario {name}: {problem}")]
    Invalid { name: String, problem: Invalid },
    #[error("--set {assignment}: expected KEY=VALUE, e.g. nlb.idle_timeout=2s")]
    SetShape { assignment: String },
    #[error("--set {assignment}: '{key}' is not a lab parameter; one of: {}", params::names().join(", "))]
    SetUnknownKey { assignment: String, key: String },
    #[error("--set {assignment}: '{value}' is not a valid {key}; expected {takes}")]
    SetValue {
        assignment: String,
        key: String,
        value: String,
        takes: &'static str,
    },
    #[error("--set {key}: {part} is not a section")]
    NotASection { key: String, part: String },
}

/// What makes a scenario's values not a lab.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    #[error("speed {0} must be a positive number")]
    Speed(f64),
    #[error("backend.targets {0} is out of range (1–16)")]
    Targets(usize),
    #[error("{key} {rate} is not a fraction between 0 and 1")]
    NotAFraction { key: &'static str, rate: f64 },
    #[error("{key} {loss} is above {max}: a SYN would be dropped twice (3 s stalls)")]
    SynLoss { key: &'static str, loss: f64, max: f64 },
    #[error("nlb.faults: target {target} does not exist (targets are 0–{})", targets - 1)]
    NoSuchTarget { target: usize, targets: usize },
    #[error("nlb.faults: {kind} needs a delay")]
    FaultNeedsDelay { kind: String },
    #[error("nlb.faults: unknown kind '{kind}' (slow-connect, slow-answer, refuse)")]
    UnknownFault { kind: String },
    #[error("nlb.drain: target {target} does not exist (targets are 0–{})", targets - 1)]
    NoSuchDrainTarget { target: usize, targets: usize },
    #[error("nlb.drain: target = {value:?} is not valid (a target's index, e.g. 0, or \"in-use\")")]
    BadDrainTarget { value: String },
    #[error("nlb.drain: target {target} is the only target; draining it leaves none for new flows")]
    DrainOnlyTarget { target: usize },
    #[error("nlb.drain needs a path of nlb (path is alb)")]
    DrainOnAlb,
    #[error("alb.other_traffic {0} must be a number of requests per second, 0 or more")]
    OtherTraffic(f64),
    #[error("backend.stream_chunks {0} is out of range (1–1000)")]
    StreamChunks(usize),
    #[error("alb.idle_timeout {0} s is outside AWS's range (1–4000 s, scenario time)")]
    AlbIdleTimeout(f64),
    #[error("alb.client_keep_alive {0} s is outside AWS's range (60–604800 s, scenario time)")]
    AlbClientKeepAlive(f64),
    #[error("alb.{key} applies only with path = \"alb\" (path is nlb): set path=alb, or drop it")]
    AlbOnNlb { key: String },
    #[error("path = \"nlb\": this scenario is written for the ALB path (its file says path = \"alb\", its summary describes an ALB); run it as written, or pick a scenario for the NLB path")]
    AlbScenarioOnNlb,
}

/// A summary written for the NLB path, told on the ALB path (`--set
/// path=alb`): the banner names the ALB's timers, not the NLB's.
fn on_alb(summary: &str, alb: &AlbSpec) -> String {
    let timers = format!(
        "ALB idle timeout {} s, client keep-alive {} s",
        alb.idle_timeout.0.as_secs(),
        alb.client_keep_alive.0.as_secs()
    );
    if summary.contains("NLB idle timer 350 s") {
        summary.replace("NLB idle timer 350 s", &timers)
    } else {
        format!("{summary} (on the ALB path: {timers})")
    }
}

/// The scenario files, by name.
pub const SCENARIOS: [(&str, &str); 17] = [
    ("healthy", include_str!("scenarios/healthy.toml")),
    ("idle-timeout", include_str!("scenarios/idle-timeout.toml")),
    (
        "idle-timeout-blackhole",
        include_str!("scenarios/idle-timeout-blackhole.toml"),
    ),
    ("bad-path", include_str!("scenarios/bad-path.toml")),
    ("syn-loss", include_str!("scenarios/syn-loss.toml")),
    ("dns-timeout", include_str!("scenarios/dns-timeout.toml")),
    ("slow-tls", include_str!("scenarios/slow-tls.toml")),
    ("slow-backend", include_str!("scenarios/slow-backend.toml")),
    ("edge", include_str!("scenarios/edge.toml")),
    (
        "integration-timeout",
        include_str!("scenarios/integration-timeout.toml"),
    ),
    ("keepalive-race", include_str!("scenarios/keepalive-race.toml")),
    ("errors", include_str!("scenarios/errors.toml")),
    ("ipv6-path", include_str!("scenarios/ipv6-path.toml")),
    (
        "alb-keepalive-race",
        include_str!("scenarios/alb-keepalive-race.toml"),
    ),
    (
        "alb-idle-timeout",
        include_str!("scenarios/alb-idle-timeout.toml"),
    ),
    ("streaming", include_str!("scenarios/streaming.toml")),
    ("draining", include_str!("scenarios/draining.toml")),
];

/// A scenario with every value filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub name: String,
    /// The cause id a diagnosis of this scenario should name.
    pub cause: String,
    pub summary: String,
    /// Time compression: every duration below is divided by it.
    #[serde(default = "one")]
    pub speed: f64,
    /// What stands in the load balancer's place: an NLB (the default) or
    /// an ALB (VPC link V2).
    #[serde(default)]
    pub path: LabPath,
    #[serde(default)]
    pub backend: BackendSpec,
    #[serde(default)]
    pub nlb: NlbSpec,
    /// The ALB's timers, on an ALB path (`path = "alb"`).
    #[serde(default)]
    pub alb: AlbSpec,
    #[serde(default)]
    pub gateway: GatewaySpec,
    #[serde(default)]
    pub edge: EdgeSpec,
    #[serde(default)]
    pub dns: DnsSpec,
}

fn one() -> f64 {
    1.0
}

fn d(s: &str) -> Dur {
    Dur(humantime::parse_duration(s).expect("literal duration"))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendSpec {
    pub targets: usize,
    pub delay: Dur,
    pub jitter: Dur,
    pub error_rate: f64,
    /// `0s`: never closes idle connections.
    pub keepalive_timeout: Dur,
    pub close_race: Dur,
    /// The body is sent in this many chunks (1: whole, with a length)…
    pub stream_chunks: usize,
    /// …spread evenly over this long after the first one.
    pub stream_duration: Dur,
}

impl Default for BackendSpec {
    fn default() -> Self {
        BackendSpec {
            targets: 3,
            delay: d("2ms"),
            jitter: d("0ms"),
            error_rate: 0.0,
            keepalive_timeout: d("0s"),
            close_race: d("0s"),
            stream_chunks: 1,
            stream_duration: d("0s"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NlbSpec {
    /// `0s`: no idle timer.
    pub idle_timeout: Dur,
    pub idle_behaviour: IdleBehaviour,
    pub faults: Vec<FaultSpec>,
    /// One target deregistered during the run, then dead.
    pub drain: Option<DrainSpec>,
}

impl Default for NlbSpec {
    fn default() -> Self {
        NlbSpec {
            idle_timeout: d("350s"),
            idle_behaviour: IdleBehaviour::Reset,
            faults: Vec::new(),
            drain: None,
        }
    }
}

/// `nlb.drain`: at `at` (scenario time from the lab's start) `target` is
/// deregistered — no new flows, its existing flows go on — and
/// `dies_after` later it dies: its flows go silent (a blackhole), or with
/// `termination = true` are reset (the NLB's connection termination on
/// deregistration). Until it dies its flows answer `slow` late (an app
/// shutting down, or a target failing its health checks because it is
/// slow: `unhealthy.draining`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainSpec {
    pub target: DrainTarget,
    pub at: Dur,
    pub dies_after: Dur,
    #[serde(default)]
    pub termination: bool,
    #[serde(default = "no_delay")]
    pub slow: Dur,
}

fn no_delay() -> Dur {
    d("0s")
}

/// `nlb.drain.target`: a target's index, or `"in-use"`: the target that
/// carried the latest request when the deregistration comes (the one the
/// gateway's pooled connection reaches). A real gateway fleet holds pooled
/// connections to every target, so a deploy always drains one in use; the
/// lab's one client keeps few, and a drained target it holds none to
/// would show nothing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum DrainTarget {
    Index(usize),
    Named(String),
}

impl DrainTarget {
    /// The index, or `None` for the target in use.
    pub fn index(&self) -> Option<usize> {
        match self {
            DrainTarget::Index(i) => Some(*i),
            DrainTarget::Named(_) => None,
        }
    }
}

/// The load balancer a lab path has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabPath {
    #[default]
    Nlb,
    Alb,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlbSpec {
    /// `idle_timeout.timeout_seconds`: idle connections, to the gateway and
    /// to targets, are closed (FIN) after this; a target silent this long
    /// gets the ALB's 504.
    pub idle_timeout: Dur,
    /// `client_keep_alive.seconds`: a gateway connection older than this is
    /// closed gracefully after its next response.
    pub client_keep_alive: Dur,
    /// For this long after the idle timeout, a request on the idle gateway
    /// connection meets it closing (the race on the gateway → ALB leg).
    pub close_race: Dur,
    /// Other clients' requests per second of scenario time, spread over
    /// the targets: their connections' idle ages vary whatever the probe does.
    pub other_traffic: f64,
}

impl Default for AlbSpec {
    fn default() -> Self {
        AlbSpec {
            idle_timeout: d("60s"),
            client_keep_alive: d("3600s"),
            close_race: d("0s"),
            other_traffic: 0.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub target: usize,
    /// `slow-connect`, `refuse` or `slow-answer`.
    pub kind: String,
    pub delay: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySpec {
    pub stage: String,
    pub integration_timeout: Dur,
    pub upstream: Policy,
    pub retry_on_reset: bool,
    /// `0s`: wait for a silent pooled connection until the integration timeout.
    pub stall_retry: Dur,
    pub tls_delay: Dur,
    pub tls_resumption: bool,
    /// Fraction of the time SYNs to the gateway are dropped (real seconds).
    pub syn_loss: f64,
    /// The same on the gateway's ::1 listener only: a broken IPv6 path
    /// beside a clean IPv4 one.
    pub ipv6_syn_loss: f64,
    /// `buffered` or `stream` (`responseTransferMode`).
    pub response_transfer_mode: TransferMode,
}

impl Default for GatewaySpec {
    fn default() -> Self {
        GatewaySpec {
            stage: "test".into(),
            integration_timeout: d("29s"),
            upstream: Policy::Pool,
            retry_on_reset: true,
            stall_retry: d("6s"),
            tls_delay: d("0ms"),
            tls_resumption: true,
            syn_loss: 0.0,
            ipv6_syn_loss: 0.0,
            response_transfer_mode: TransferMode::Buffered,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeSpec {
    pub delay: Dur,
    pub origin: Policy,
    pub pop: String,
}

impl Default for EdgeSpec {
    fn default() -> Self {
        EdgeSpec {
            delay: d("5ms"),
            origin: Policy::Pool,
            pop: "FRA56-P1".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsSpec {
    pub delay: Dur,
    pub drop: f64,
    /// Drop the first query of every question; the resolver's own retry
    /// (after 5 s, real time) is answered.
    pub drop_first: bool,
    /// Answer AAAA (::1) as well as A (127.0.0.1).
    pub aaaa: bool,
}

impl Default for DnsSpec {
    fn default() -> Self {
        DnsSpec {
            delay: d("0ms"),
            drop: 0.0,
            drop_first: false,
            aaaa: true,
        }
    }
}

impl Scenario {
    /// Load the named scenario with `--set` overrides (`key=value`, keys
    /// dotted: `nlb.idle_timeout=2s`; `targets=N` is `backend.targets`).
    pub fn load(name: &str, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let text = SCENARIOS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| ScenarioError::Unknown {
                name: name.to_string(),
            })?;
        let mut table: toml::Table = toml::from_str(text).expect("embedded scenarios parse");
        let written_for_alb = table.get("path").and_then(|p| p.as_str()) == Some("alb");
        for o in overrides {
            set(&mut table, o)?;
        }
        let alb_key = table
            .get("alb")
            .and_then(|a| a.as_table())
            .and_then(|a| a.keys().next().cloned());
        let mut scenario: Scenario =
            table
                .try_into()
                .map_err(|e: toml::de::Error| ScenarioError::Unreadable {
                    name: name.to_string(),
                    toml: Box::new(e),
                })?;
        scenario.name = name.to_string();
        scenario.validate()?;
        if scenario.path == LabPath::Alb && !written_for_alb {
            scenario.summary = on_alb(&scenario.summary, &scenario.alb);
        }
        if scenario.path == LabPath::Nlb {
            let invalid = |problem| ScenarioError::Invalid {
                name: name.to_string(),
                problem,
            };
            // A scenario written for the ALB (its summary says so, its
            // timers are the ALB's) is not re-run as another path.
            if written_for_alb {
                return Err(invalid(Invalid::AlbScenarioOnNlb));
            }
            // The ALB's settings on an NLB path would be silently ignored.
            if let Some(key) = alb_key {
                return Err(invalid(Invalid::AlbOnNlb { key }));
            }
        }
        Ok(scenario)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let fail = |problem| {
            Err(ScenarioError::Invalid {
                name: self.name.clone(),
                problem,
            })
        };
        if !(self.speed > 0.0 && self.speed.is_finite()) {
            return fail(Invalid::Speed(self.speed));
        }
        if self.backend.targets == 0 || self.backend.targets > 16 {
            return fail(Invalid::Targets(self.backend.targets));
        }
        let rates = [
            ("backend.error_rate", self.backend.error_rate),
            ("dns.drop", self.dns.drop),
            ("gateway.syn_loss", self.gateway.syn_loss),
            ("gateway.ipv6_syn_loss", self.gateway.ipv6_syn_loss),
        ];
        for (key, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return fail(Invalid::NotAFraction { key, rate });
            }
        }
        for (key, loss) in [
            ("gateway.syn_loss", self.gateway.syn_loss),
            ("gateway.ipv6_syn_loss", self.gateway.ipv6_syn_loss),
        ] {
            if loss > super::listener::MAX_LOSS {
                return fail(Invalid::SynLoss {
                    key,
                    loss,
                    max: super::listener::MAX_LOSS,
                });
            }
        }
        for f in &self.nlb.faults {
            if f.target >= self.backend.targets {
                return fail(Invalid::NoSuchTarget {
                    target: f.target,
                    targets: self.backend.targets,
                });
            }
            self.fault(f)?;
        }
        if let Some(drain) = &self.nlb.drain {
            match &drain.target {
                DrainTarget::Named(n) if n != "in-use" => {
                    return fail(Invalid::BadDrainTarget { value: n.clone() });
                }
                DrainTarget::Index(t) if *t >= self.backend.targets => {
                    return fail(Invalid::NoSuchDrainTarget {
                        target: *t,
                        targets: self.backend.targets,
                    });
                }
                _ => {}
            }
            if self.backend.targets == 1 {
                return fail(Invalid::DrainOnlyTarget {
                    target: drain.target.index().unwrap_or(0),
                });
            }
            if self.path == LabPath::Alb {
                return fail(Invalid::DrainOnAlb);
            }
        }
        if !(self.alb.other_traffic >= 0.0 && self.alb.other_traffic.is_finite()) {
            return fail(Invalid::OtherTraffic(self.alb.other_traffic));
        }
        if !(1..=1000).contains(&self.backend.stream_chunks) {
            return fail(Invalid::StreamChunks(self.backend.stream_chunks));
        }
        // AWS's ranges, in scenario time (the lab scales them after).
        let idle = self.alb.idle_timeout.0.as_secs_f64();
        if !(1.0..=4000.0).contains(&idle) {
            return fail(Invalid::AlbIdleTimeout(idle));
        }
        let keep = self.alb.client_keep_alive.0.as_secs_f64();
        if !(60.0..=604_800.0).contains(&keep) {
            return fail(Invalid::AlbClientKeepAlive(keep));
        }
        Ok(())
    }

    /// A duration of the scenario, compressed by the speed.
    pub fn scaled(&self, d: Dur) -> Duration {
        d.0.div_f64(self.speed)
    }

    /// `0s` means "off".
    pub fn scaled_opt(&self, d: Dur) -> Option<Duration> {
        (!d.0.is_zero()).then(|| self.scaled(d))
    }

    pub fn fault(&self, f: &FaultSpec) -> Result<Fault, ScenarioError> {
        let invalid = |problem| ScenarioError::Invalid {
            name: self.name.clone(),
            problem,
        };
        let delay = || {
            f.delay
                .map(|d| self.scaled(d))
                .ok_or_else(|| invalid(Invalid::FaultNeedsDelay { kind: f.kind.clone() }))
        };
        match f.kind.as_str() {
            "slow-connect" => Ok(Fault::SlowConnect(delay()?)),
            "slow-answer" => Ok(Fault::SlowAnswer(delay()?)),
            "refuse" => Ok(Fault::Refuse),
            other => Err(invalid(Invalid::UnknownFault {
                kind: other.to_string(),
            })),
        }
    }
}

/// Apply one `key=value` to the scenario's table: `key` must be a
/// parameter, and the scenario must still read with `value` in it.
fn set(table: &mut toml::Table, assignment: &str) -> Result<(), ScenarioError> {
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| ScenarioError::SetShape {
            assignment: assignment.to_string(),
        })?;
    let key = match key.trim() {
        "targets" => "backend.targets",
        k => k,
    };
    let Some(takes) = params::takes(key) else {
        return Err(ScenarioError::SetUnknownKey {
            assignment: assignment.to_string(),
            key: key.to_string(),
        });
    };
    assign(table, key, value)?;
    // The scenario read before this change, so a failure now is this value's.
    if table.clone().try_into::<Scenario>().is_err() {
        return Err(ScenarioError::SetValue {
            assignment: assignment.to_string(),
            key: key.to_string(),
            value: value.trim().to_string(),
            takes,
        });
    }
    Ok(())
}

/// Put `value` at the dotted `key` of the table.
fn assign(table: &mut toml::Table, key: &str, value: &str) -> Result<(), ScenarioError> {
    // A TOML value if it is one (2, 0.5, true, [..]); a string otherwise (2s).
    let value = toml::from_str::<toml::Table>(&format!("v = {}", value.trim()))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.trim().to_string()));
    let parts: Vec<&str> = key.split('.').collect();
    let (last, path) = parts.split_last().expect("split yields at least one part");
    let mut here = table;
    for p in path {
        here = here
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ScenarioError::NotASection {
                key: key.to_string(),
                part: p.to_string(),
            })?;
    }
    here.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_loads_and_the_set_covers_every_cause() {
        let mut causes: Vec<String> = SCENARIOS
            .iter()
            .map(|(n, _)| Scenario::load(n, &[]).unwrap().cause)
            .collect();
        causes.sort();
        causes.dedup();
        let expected = [
            "bad-path",
            "dns-timeout",
            "edge",
            "errors",
            "healthy",
            "idle-timeout",
            "integration-timeout",
            "keepalive-race",
            "slow-backend",
            "slow-tls",
            "syn-loss",
        ];
        assert_eq!(causes, expected);
    }

    #[test]
    fn the_alb_and_later_scenarios_have_their_causes_and_shapes() {
        let cause = |n: &str| Scenario::load(n, &[]).unwrap().cause;
        assert_eq!(cause("alb-keepalive-race"), "keepalive-race");
        assert_eq!(cause("alb-idle-timeout"), "keepalive-race");
        assert_eq!(cause("streaming"), "healthy");
        assert_eq!(cause("draining"), "bad-path");
        let s = Scenario::load("alb-keepalive-race", &[]).unwrap();
        assert_eq!(s.path, LabPath::Alb);
        assert!(s.backend.keepalive_timeout.0 < s.alb.idle_timeout.0);
        assert!(s.alb.other_traffic > 0.0);
        assert!(
            !Scenario::load("alb-idle-timeout", &[])
                .unwrap()
                .gateway
                .retry_on_reset
        );
        let s = Scenario::load("streaming", &[]).unwrap();
        assert_eq!(s.gateway.response_transfer_mode, TransferMode::Stream);
        assert!(s.backend.stream_duration.0 > s.gateway.integration_timeout.0);
        let drain = Scenario::load("draining", &[]).unwrap().nlb.drain.unwrap();
        assert_eq!(drain.target, DrainTarget::Named("in-use".into()));
        assert!(drain.slow.0 > std::time::Duration::ZERO);
    }

    #[test]
    fn a_bad_drain_or_stream_is_refused_with_its_key() {
        let e = Scenario::load("draining", &["targets=1".into()]).unwrap_err();
        assert!(
            e.to_string().contains("nlb.drain: target 0 is the only target"),
            "{e}"
        );
        let e = Scenario::load(
            "healthy",
            &["nlb.drain={ target = 3, at = \"1s\", dies_after = \"1s\" }".into()],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("nlb.drain: target 3 does not exist (targets are 0–2)"),
            "{e}"
        );
        let e = Scenario::load(
            "draining",
            &["nlb.drain={ target = \"busy\", at = \"1s\", dies_after = \"1s\" }".into()],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains(
                "nlb.drain: target = \"busy\" is not valid (a target's index, e.g. 0, or \"in-use\")"
            ),
            "{e}"
        );
        let e = Scenario::load("draining", &["path=alb".into()]).unwrap_err();
        assert!(e.to_string().contains("nlb.drain needs a path of nlb"), "{e}");
        let e = Scenario::load("healthy", &["nlb.drain={ target = 0 }".into()]).unwrap_err();
        assert!(e.to_string().contains("--set nlb.drain="), "{e}");
        assert!(
            e.to_string().contains("expected a table like { target = 0"),
            "{e}"
        );
        let e = Scenario::load("healthy", &["backend.stream_chunks=0".into()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("backend.stream_chunks 0 is out of range (1–1000)"),
            "{e}"
        );
        let e = Scenario::load("healthy", &["alb.other_traffic=-1".into()]).unwrap_err();
        assert!(e.to_string().contains("alb.other_traffic -1"), "{e}");
        let alb = |set: &str| Scenario::load("healthy", &["path=alb".into(), set.into()]);
        let e = alb("alb.idle_timeout=4001s").unwrap_err();
        assert!(
            e.to_string()
                .contains("alb.idle_timeout 4001 s is outside AWS's range (1–4000 s"),
            "{e}"
        );
        assert!(alb("alb.idle_timeout=500ms").is_err());
        assert!(alb("alb.idle_timeout=4000s").is_ok());
        let e = alb("alb.client_keep_alive=59s").unwrap_err();
        assert!(
            e.to_string()
                .contains("alb.client_keep_alive 59 s is outside AWS's range (60–604800 s"),
            "{e}"
        );
        assert!(alb("alb.client_keep_alive=604801s").is_err());
        assert!(alb("alb.client_keep_alive=60s").is_ok());
        let e = Scenario::load("healthy", &["alb.idle_timeout=30s".into()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("alb.idle_timeout applies only with path = \"alb\" (path is nlb)"),
            "{e}"
        );
        let s = Scenario::load("healthy", &["path=alb".into()]).unwrap();
        assert_eq!(
            s.summary,
            "A well-behaved path: three targets, ALB idle timeout 60 s, client keep-alive 3600 s, a gateway that retries a reset integration connection"
        );
        let e = Scenario::load("alb-keepalive-race", &["path=nlb".into()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("this scenario is written for the ALB path"),
            "{e}"
        );
        let e = Scenario::load("healthy", &["gateway.response_transfer_mode=chunky".into()]).unwrap_err();
        assert!(e.to_string().contains("expected buffered or stream"), "{e}");
    }

    #[test]
    fn overrides_set_any_key_and_bad_ones_are_named() {
        let s = Scenario::load(
            "idle-timeout",
            &["nlb.idle_timeout=2s".into(), "targets=4".into(), "speed=1".into()],
        )
        .unwrap();
        assert_eq!(s.scaled(s.nlb.idle_timeout), Duration::from_secs(2));
        assert_eq!(s.backend.targets, 4);
        let e = Scenario::load("healthy", &["nlb.idle_timout=2s".into()]).unwrap_err();
        assert!(e.to_string().contains("idle_timout"), "{e}");
        let e = Scenario::load("healthy", &["nlb.idle_timeout=soon".into()]).unwrap_err();
        assert!(e.to_string().contains("soon"), "{e}");
        let e = Scenario::load("nope", &[]).unwrap_err();
        assert!(e.to_string().contains("bad-path"), "lists the scenarios: {e}");
        let e = Scenario::load("bad-path", &["targets=2".into()]).unwrap_err();
        assert!(e.to_string().contains("target 2 does not exist"), "{e}");
    }

    #[test]
    fn a_bad_value_names_the_key_the_value_and_what_is_valid() {
        let e = Scenario::load("healthy", &["backend.targets=abc".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--set backend.targets=abc: 'abc' is not a valid backend.targets; expected a whole number from 1 to 16"
        );
        let e = Scenario::load("healthy", &["nlb.idle_timeout=abc".into()]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "--set nlb.idle_timeout=abc: 'abc' is not a valid nlb.idle_timeout; expected a duration"
            ),
            "{e}"
        );
        let e = Scenario::load("healthy", &["dns.drop=2".into()]).unwrap_err();
        assert!(e.to_string().contains("dns.drop 2 is not a fraction"), "{e}");
    }

    #[test]
    fn keys_that_are_not_parameters_are_refused() {
        for key in ["name", "cause", "summary", "nlb", "backend.name"] {
            let e = Scenario::load("healthy", &[format!("{key}=foo")]).unwrap_err();
            assert!(
                e.to_string().contains(&format!(
                    "'{key}' is not a lab parameter; one of: speed, path, backend.targets"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn the_parameters_are_the_ones_docs_lab_md_lists() {
        let doc = include_str!("../../docs/lab.md");
        let table = doc
            .split("## Parameters")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("docs/lab.md has a Parameters section");
        let documented: Vec<&str> = table
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
            .collect();
        assert_eq!(documented, params::names());
    }
}

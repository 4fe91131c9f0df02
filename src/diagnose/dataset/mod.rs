//! Probe records reduced to what the detectors look at, in time order, with
//! the facts that need the whole run to compute: the quiet gap before each
//! probe, the session it belongs to, and per-target baselines.
//!
//! All durations are milliseconds of *scenario time*: real time multiplied
//! by `scale` (1 outside the lab; the lab's speed inside it, so that a 350 s
//! timer compressed to 7 s reads as 350 s again). Client-side kernel timers
//! (SYN retransmits, resolver timeouts) are never compressed; detectors
//! that match them use [`Dataset::real_ms`].

use std::num::NonZeroU32;
use std::time::SystemTime;

use super::num::quantiles;
use crate::probe::{ErrorKind, IpFamily, Phase, ProbeRecord, TargetKind};
pub use crate::records::Observation;
use crate::records::{ByReuse, RecordView, Reuse};

mod builder;
mod family;
mod fill;
pub use builder::{Builder, SESSION_JOIN_REAL_MS};
pub use family::slot;

/// A stall shorter than this (scenario ms) is never called one, whatever the
/// noise: a clean reconnect costs a round trip, a timer costs ≥ 0.5 s.
pub const STALL_FLOOR_MS: f64 = 200.0;

/// What kind of entry point a target is, and the route it reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetInfo {
    pub name: String,
    pub url: String,
    pub kind: TargetKind,
    /// The path behind the gateway: an execute-api URL without its stage.
    pub route: String,
}

/// CloudFront's marks on a response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EdgeCache {
    #[default]
    None,
    Hit,
    Miss,
    /// `Error from cloudfront`: the edge failed to reach the origin.
    Error,
}

/// One probe, compact.
#[derive(Debug, Clone)]
pub struct Sample {
    pub target: u16,
    /// Start (after queueing), seconds since the first probe, scenario time.
    pub start_s: f64,
    /// End of the response (or failure), seconds since the first probe.
    pub end_s: f64,
    /// Total time on the network: the record's total less `queue`.
    pub total_ms: f64,
    /// Phase durations in wire order (`Phase::ALL`); NaN when absent.
    pub phases: [f32; 7],
    pub status: u16,
    pub error: Option<(ErrorKind, Phase)>,
    pub reused: bool,
    /// How long the client connection sat idle before this probe (NaN if new).
    pub conn_idle_ms: f32,
    /// A pooled client connection was found closed and replaced.
    pub reconnected: bool,
    pub tls_resumed: Option<bool>,
    /// The remote address, in [`Dataset::remotes`].
    pub remote: Option<Ix>,
    /// The IP family the probe went over, when the record says or its
    /// address shows it.
    pub family: Option<IpFamily>,
    /// The client connection, numbered across runs (`run`, `conn.id`).
    pub conn: Option<Ix>,
    pub cloudfront: bool,
    pub edge_cache: EdgeCache,
    /// The CloudFront POP, in [`Dataset::pops`].
    pub pop: Option<Ix>,
    /// The gateway itself answered the error (`x-amzn-errortype`).
    pub gateway_error: bool,
    /// An ALB answered itself (its 502 or 504 page, `server: awselb/2.0`).
    pub alb_answered: bool,
    /// The server refused the request and said why (signature, clock,
    /// credentials, client certificate): not a fault of the path.
    pub refusal: Option<crate::probe::refusal::Reason>,
    /// Quiet time before this probe: since the latest end of any earlier
    /// probe, to any target (the gateway pools its integration connections
    /// across the whole API). NaN for the first probe.
    pub gap_ms: f64,
    /// The quiet gap before this probe's session (NaN for the first session).
    pub session_gap_ms: f64,
    /// Position within the session (0 = first probe after the quiet gap).
    pub session_pos: u32,
    /// The X-Ray root id the probe sent, to look its trace up.
    pub trace: Option<crate::probe::trace::TraceKey>,
}

/// An index into one of a dataset's tables (or a connection's number), kept
/// as index + 1 so that `Option<Ix>` takes the 4 bytes of a `u32`: a sample
/// holds three, and a dataset a million samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ix(NonZeroU32);

// What the comment above promises: no sentinel, and no byte more for it.
const _: () = assert!(std::mem::size_of::<Option<Ix>>() == std::mem::size_of::<u32>());

impl Ix {
    fn new(index: u32) -> Ix {
        Ix(NonZeroU32::MIN.saturating_add(index))
    }

    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

/// An index into [`Dataset::vantages`], as index + 1 in one byte. Vantage points beyond [`VantageIx::MAX`] are
/// folded into the last one (a fleet that large is compared by `report
/// --by vantage` and the metrics, not one diagnosis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VantageIx(std::num::NonZeroU8);

impl VantageIx {
    /// The most vantage points a dataset tells apart.
    pub const MAX: usize = u8::MAX as usize;

    pub(crate) fn new(index: usize) -> VantageIx {
        let byte = index.min(Self::MAX - 1) as u8;
        VantageIx(std::num::NonZeroU8::MIN.saturating_add(byte))
    }

    pub fn index(self) -> usize {
        usize::from(self.0.get() - 1)
    }
}

// A million samples in a stored-records diagnosis: the family rides in
// padding, the sample stays 120 bytes (the vantage, with no byte left, is
// kept beside it: `Dataset::sample_vantages`).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Sample>() <= 120);

impl Sample {
    pub fn phase(&self, p: Phase) -> Option<f64> {
        let v = self.phases[p as usize];
        (!v.is_nan()).then_some(v as f64)
    }

    /// A new connection was opened for this probe.
    pub fn new_conn(&self) -> bool {
        !self.phases[Phase::Connect as usize].is_nan()
    }

    /// The connection kind baselines are kept by: fresh when this probe
    /// measured a connect, whatever its record's `conn.reused` says.
    pub fn reuse(&self) -> Reuse {
        Reuse::of(!self.new_conn())
    }

    /// An HTTP answer came back (any status).
    pub fn responded(&self) -> bool {
        self.status != 0
    }

    /// Failed: a transport error or a server-side status (5xx), or any
    /// status the target did not accept.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.status >= 500
    }

    /// Failed the way a connection lost on the path fails: under the
    /// probe (reset, timeout, a broken exchange), or answered for by a
    /// proxy that lost its own (a 502 or 504: the gateway's, an ALB's,
    /// nginx's), or by the gateway itself (`x-amzn-errortype`). What an
    /// idle timer or a keep-alive race does; an application's own 500 or
    /// 503, a refusal or a failed lookup is not (`errors` names those).
    pub fn connection_failed(&self) -> bool {
        match self.error {
            Some((ErrorKind::Timeout | ErrorKind::Reset | ErrorKind::Protocol | ErrorKind::Io, _)) => true,
            _ => matches!(self.status, 502 | 504) || (self.status >= 500 && self.gateway_error),
        }
    }

    /// A successful answer: the timing is the path's, not a failure's.
    pub fn ok(&self) -> bool {
        !self.failed() && self.responded()
    }

    /// A body-dominated answer: the body phase holds most of the total and
    /// more than a stall's floor. A streamed response looks like this, and
    /// so does a buffered one with a stall in a large body: which it is
    /// shows over a target's probes, not in one ([`Dataset::streams`]).
    pub fn body_dominated(&self) -> bool {
        self.phase(Phase::Body)
            .is_some_and(|body| body >= STALL_FLOOR_MS && body >= 0.5 * self.total_ms)
    }

    /// The time the path is judged by when the target streams its
    /// responses: the total less the body of a [`Sample::body_dominated`]
    /// answer (its length says nothing of the path). Detectors judge by
    /// [`Dataset::judged_ms`], which applies this only to a target that
    /// streams ([`Dataset::streams`]).
    pub fn judged_ms(&self) -> f64 {
        match self.phase(Phase::Body) {
            Some(body) if self.body_dominated() => (self.total_ms - body).max(0.0),
            _ => self.total_ms,
        }
    }
}

/// The share of a target's successful probes that must be body-dominated
/// for the target to count as streaming its responses.
pub const STREAMING_SHARE: f64 = 0.8;

/// Per target and connection kind: where the fast mode sits and where slow begins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Lower quartile of successful totals: inside the fast mode even when
    /// half the probes are slow.
    pub base_ms: f64,
    /// Spread of the fast mode, from below (p25 − p5), immune to a slow tail.
    pub spread_ms: f64,
    /// A probe slower than this is slow.
    pub slow_ms: f64,
}

/// The records of a diagnosis, ready for the detectors.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub targets: Vec<TargetInfo>,
    pub samples: Vec<Sample>,
    pub remotes: Vec<String>,
    pub pops: Vec<String>,
    /// The vantage points the records name (`vantage`), in the order first
    /// seen: more than one when records from several machines are read
    /// together (`detect/vantage.rs` compares them).
    pub vantages: Vec<String>,
    /// Per sample (by index, as [`Dataset::samples`]), where it ran from;
    /// empty when the records name fewer than two vantage points, so that
    /// the common case costs nothing ([`Dataset::vantage`]).
    pub sample_vantages: Vec<Option<VantageIx>>,
    /// What the records of probes that began a TCP connect say of the
    /// kernel's SYN retransmissions where they ran (kept for the dataset,
    /// not per sample: a sample has no byte to spare, and records read
    /// together nearly always come from one machine).
    pub syn: SynSettings,
    /// Scenario time ÷ real time.
    pub scale: f64,
    /// Wall-clock time of the first probe.
    pub t0: Option<SystemTime>,
    /// Per target, by connection kind ([`Sample::reuse`]).
    pub baselines: Vec<ByReuse<Option<Baseline>>>,
    /// A slow threshold the user set (`--slow`), scenario ms.
    pub slow_override_ms: Option<f64>,
    /// Per target (by index, as [`Dataset::targets`]): what stands behind
    /// the gateway. Unknown until the command says (profile, configuration,
    /// responses).
    pub paths: Vec<crate::diagnose::TargetPath>,
    /// Per target (by index): it streams its responses, i.e. at least
    /// [`STREAMING_SHARE`] of its successful probes are body-dominated;
    /// only such a target's probes are judged by the time before the body.
    pub streams: Vec<bool>,
    /// Indices of each target's probes, in time order.
    by_target: Vec<Vec<u32>>,
}

/// The SYN retransmission settings a dataset's records carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SynSettings {
    /// Each distinct setting, in the order first seen.
    pub recorded: Vec<crate::probe::SynSysctls>,
    /// Records of probes that began a connect without the setting (written
    /// before it existed, or where /proc could not be read).
    pub unrecorded: usize,
}

impl SynSettings {
    /// Note one probe that began a TCP connect.
    pub fn note(&mut self, s: Option<crate::probe::SynSysctls>) {
        match s {
            Some(s) if !self.recorded.contains(&s) => self.recorded.push(s),
            Some(_) => {}
            None => self.unrecorded += 1,
        }
    }

    /// Take in another reader's.
    pub fn absorb(&mut self, other: SynSettings) {
        for s in other.recorded {
            self.note(Some(s));
        }
        self.unrecorded += other.unrecorded;
    }
}

impl Dataset {
    pub fn from_records(records: &[ProbeRecord], kinds: &[(String, TargetKind)], scale: f64) -> Dataset {
        Dataset::from_records_with(records, kinds, scale, None)
    }

    /// [`Dataset::from_records`] with a slow threshold set by the user.
    pub fn from_records_with(
        records: &[ProbeRecord],
        kinds: &[(String, TargetKind)],
        scale: f64,
        slow_override_ms: Option<f64>,
    ) -> Dataset {
        let mut b = Builder::new();
        for (name, kind) in kinds {
            b.kind(name, *kind);
        }
        for r in records {
            let view = RecordView::of(r);
            // A record in memory holds its times, not text: nothing to fail.
            if let Ok(o) = view.observation() {
                b.add(&o);
            }
        }
        b.build(scale, slow_override_ms)
    }

    /// Scenario milliseconds back to real ones.
    /// Wall-clock span of the run: the first probe's start to the last
    /// one's end (real time, whatever the lab's speed).
    pub fn wall_span(&self) -> Option<(SystemTime, SystemTime)> {
        let t0 = self.t0?;
        let last = self.samples.iter().map(|s| s.end_s).fold(0.0, f64::max);
        Some((
            t0,
            t0 + std::time::Duration::from_secs_f64((last / self.scale).max(0.0)),
        ))
    }

    /// Where sample `i` ran from, when the records name two vantage points
    /// or more and its record names one.
    pub fn vantage(&self, i: usize) -> Option<VantageIx> {
        self.sample_vantages.get(i).copied().flatten()
    }

    pub fn real_ms(&self, scenario_ms: f64) -> f64 {
        scenario_ms / self.scale
    }

    pub fn target_name(&self, t: u16) -> &str {
        &self.targets[t as usize].name
    }

    /// The time `s` is judged by: before the body when its target streams
    /// ([`Dataset::streams`]), else the whole total, so that a buffered
    /// API's stall in a large body stays slow.
    pub fn judged_ms(&self, s: &Sample) -> f64 {
        if self.streams.get(s.target as usize).copied().unwrap_or(false) {
            s.judged_ms()
        } else {
            s.total_ms
        }
    }

    /// The target `t` streams its responses ([`Dataset::streams`]).
    pub fn target_streams(&self, t: u16) -> bool {
        self.streams.get(t as usize).copied().unwrap_or(false)
    }

    pub fn baseline(&self, s: &Sample) -> Option<Baseline> {
        self.baselines
            .get(s.target as usize)
            .and_then(|b| b[s.reuse()].or(b[s.reuse().other()]))
    }

    /// How far above its fast mode this probe is (ms); 0 if no baseline.
    pub fn excess_ms(&self, s: &Sample) -> f64 {
        self.baseline(s)
            .map_or(0.0, |b| (self.judged_ms(s) - b.base_ms).max(0.0))
    }

    /// Slower than its target's fast mode by more than noise explains.
    pub fn is_slow(&self, s: &Sample) -> bool {
        match (self.slow_override_ms, self.baseline(s)) {
            (Some(limit), _) => self.judged_ms(s) > limit,
            (None, Some(b)) => self.judged_ms(s) > b.slow_ms,
            (None, None) => false,
        }
    }

    /// Failed, or slow.
    pub fn is_bad(&self, s: &Sample) -> bool {
        s.failed() || self.is_slow(s)
    }

    fn compute_baseline(&self, target: u16, kind: Reuse) -> Option<Baseline> {
        let totals: Vec<f64> = self
            .of_target(target)
            .filter(|(_, s)| s.reuse() == kind && s.ok())
            .map(|(_, s)| self.judged_ms(s))
            .collect();
        if totals.len() < 3 {
            return None;
        }
        let q = quantiles(totals, &[0.25, 0.05]);
        let base = q[0];
        let spread = (base - q[1]).max(0.0);
        let slow = base + (8.0 * spread).max(0.5 * base).max(STALL_FLOOR_MS);
        Some(Baseline {
            base_ms: base,
            spread_ms: spread,
            slow_ms: slow,
        })
    }

    /// Probes of one target, in time order.
    pub fn of_target(&self, t: u16) -> impl Iterator<Item = (usize, &Sample)> {
        self.by_target
            .get(t as usize)
            .into_iter()
            .flatten()
            .map(move |&i| (i as usize, &self.samples[i as usize]))
    }

    /// The kind of path the given targets share: unknown when they differ
    /// or none is known.
    pub fn path_kind(&self, targets: impl IntoIterator<Item = u16>) -> crate::diagnose::PathKind {
        let mut kinds = targets
            .into_iter()
            .map(|t| self.paths.get(t as usize).map(|p| p.kind).unwrap_or_default());
        let first = kinds.next().unwrap_or_default();
        if kinds.all(|k| k == first) {
            first
        } else {
            crate::diagnose::PathKind::Unknown
        }
    }

    /// The longest quiet gap any session started after (scenario ms).
    /// Targets every probe of which failed in DNS or TCP connect: nothing
    /// past the first hop was reached (the plan drops them, `errors` says
    /// so).
    pub fn unreachable_targets(&self) -> Vec<String> {
        (0..self.targets.len() as u16)
            .filter(|&t| {
                let mut of = self.of_target(t).peekable();
                of.peek().is_some()
                    && of.all(|(_, s)| matches!(s.error, Some((_, Phase::Dns | Phase::Connect))))
            })
            .map(|t| self.target_name(t).to_string())
            .collect()
    }

    pub fn longest_gap_ms(&self) -> f64 {
        self.samples
            .iter()
            .map(|s| s.session_gap_ms)
            .filter(|g| g.is_finite())
            .fold(0.0, f64::max)
    }
}

//! Probe records reduced to what the detectors look at, in time order, with
//! the facts that need the whole run to compute: the quiet gap before each
//! probe, the session it belongs to, and per-target baselines.
//!
//! All durations are milliseconds of *scenario time*: real time multiplied
//! by `scale` (1 outside the lab; the lab's speed inside it, so that a 350 s
//! timer compressed to 7 s reads as 350 s again). Client-side kernel timers
//! (SYN retransmits, resolver timeouts) are never compressed; detectors
//! that match them use [`Dataset::real_ms`].

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::SystemTime;

use super::num::quantiles;
use crate::probe::{ErrorKind, LabRun, Phase, ProbeRecord, TargetKind};
pub use crate::records::Observation;
use crate::records::{ByReuse, RecordView, Reuse};

/// A gap shorter than this (real time) joins a probe to the session of the
/// one before it: back-to-back probes leave well under a millisecond, so
/// 20 ms is noise-proof yet far below any timer worth finding.
const SESSION_JOIN_REAL_MS: f64 = 20.0;

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
    /// The client connection, numbered across runs (`run`, `conn.id`).
    pub conn: Option<Ix>,
    pub cloudfront: bool,
    pub edge_cache: EdgeCache,
    /// The CloudFront POP, in [`Dataset::pops`].
    pub pop: Option<Ix>,
    /// The gateway itself answered the error (`x-amzn-errortype`).
    pub gateway_error: bool,
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

impl Ix {
    fn new(index: u32) -> Ix {
        Ix(NonZeroU32::MIN.saturating_add(index))
    }

    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

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

    /// A successful answer: the timing is the path's, not a failure's.
    pub fn ok(&self) -> bool {
        !self.failed() && self.responded()
    }
}

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
    /// Scenario time ÷ real time.
    pub scale: f64,
    /// Wall-clock time of the first probe.
    pub t0: Option<SystemTime>,
    /// Per target, by connection kind ([`Sample::reuse`]).
    pub baselines: Vec<ByReuse<Option<Baseline>>>,
    /// A slow threshold the user set (`--slow`), scenario ms.
    pub slow_override_ms: Option<f64>,
    /// Indices of each target's probes, in time order.
    by_target: Vec<Vec<u32>>,
}

/// Collects observations (in any order, from any number of files) into a
/// [`Dataset`].
#[derive(Debug, Default)]
pub struct Builder {
    targets: Vec<TargetInfo>,
    target_ix: HashMap<String, u16>,
    remotes: Interner,
    pops: Interner,
    runs: Interner,
    conns: HashMap<(u32, u64), Ix>,
    kinds: HashMap<String, TargetKind>,
    /// Samples with absolute times (seconds since the epoch, real).
    raw: Vec<(f64, f64, Sample)>,
    /// The first lab run the records name.
    lab: Option<LabRun>,
}

#[derive(Debug, Default)]
struct Interner {
    names: Vec<String>,
    ix: HashMap<String, u32>,
}

impl Interner {
    fn get(&mut self, name: &str) -> Ix {
        Ix::new(self.get_u32(name))
    }

    fn get_u32(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.ix.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ix.insert(name.to_string(), i);
        i
    }
}

/// Target names beyond this many are folded into one: a dataset is about
/// one API, and the index type stays small.
const MAX_TARGETS: usize = 1000;

impl Builder {
    pub fn new() -> Self {
        Builder::default()
    }

    /// Say what kind a target is (from a profile); otherwise it is inferred
    /// from its URL.
    pub fn kind(&mut self, name: &str, kind: TargetKind) {
        self.kinds.insert(name.to_string(), kind);
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn add(&mut self, o: &Observation<'_>) {
        if let (None, Some((scenario, speed))) = (&self.lab, o.lab) {
            self.lab = Some(LabRun {
                scenario: scenario.to_string(),
                speed,
            });
        }
        let target = self.target(o.target, o.url);
        let secs = |t: Option<SystemTime>| {
            t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(f64::NAN, |d| d.as_secs_f64())
        };
        let scheduled = secs(o.scheduled_at);
        let at = secs(o.at);
        let start = if at.is_finite() { at } else { scheduled };
        let end = if scheduled.is_finite() {
            scheduled + o.total_ms / 1000.0
        } else {
            start + o.total_ms / 1000.0
        };
        let phases = {
            let mut p = [f32::NAN; 7];
            for (phase, v) in o.phases.iter() {
                if let Some(v) = v {
                    p[phase as usize] = v as f32;
                }
            }
            p
        };
        let conn = o.conn_id.map(|id| {
            let run = self.runs.get_u32(o.run.unwrap_or(""));
            let next = Ix::new(self.conns.len() as u32);
            *self.conns.entry((run, id)).or_insert(next)
        });
        let via_cf = o.via.is_some_and(|v| contains_ignore_case(v, "cloudfront"));
        let starts = |p: &str| {
            o.x_cache
                .is_some_and(|c| c.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
        };
        let edge_cache = if starts("error") {
            EdgeCache::Error
        } else if starts("miss") || starts("refreshhit") {
            EdgeCache::Miss
        } else if starts("hit") {
            EdgeCache::Hit
        } else {
            EdgeCache::None
        };
        // The tool's own queueing is not the path's latency.
        let network_ms = (o.total_ms - o.phases.queue.unwrap_or(0.0)).max(0.0);
        let sample = Sample {
            target,
            start_s: 0.0,
            end_s: 0.0,
            total_ms: network_ms,
            phases,
            status: o.status.unwrap_or(0),
            error: o.error,
            reused: o.reused,
            conn_idle_ms: o.conn_idle_ms.map_or(f32::NAN, |v| v as f32),
            reconnected: o.reconnected,
            tls_resumed: o.tls_resumed,
            remote: o.remote.map(|r| self.remotes.get(r)),
            conn,
            cloudfront: via_cf || o.cf_pop.is_some() || edge_cache != EdgeCache::None,
            edge_cache,
            pop: o.cf_pop.map(|p| self.pops.get(p)),
            gateway_error: o.errortype,
            gap_ms: f64::NAN,
            session_gap_ms: f64::NAN,
            session_pos: 0,
            trace: o.trace_id.and_then(crate::probe::trace::TraceKey::parse),
        };
        self.raw.push((start, end, sample));
    }

    fn target(&mut self, name: &str, url: &str) -> u16 {
        if let Some(&i) = self.target_ix.get(name) {
            return i;
        }
        if self.targets.len() >= MAX_TARGETS {
            return (MAX_TARGETS - 1) as u16;
        }
        let parsed = url::Url::parse(url).ok();
        let kind = self
            .kinds
            .get(name)
            .copied()
            .unwrap_or_else(|| infer_kind(parsed.as_ref()));
        let path = parsed
            .as_ref()
            .map_or_else(|| "/".to_string(), |u| u.path().to_string());
        let route = if kind == TargetKind::ExecuteApi {
            // /{stage}/rest → /rest
            match path.trim_start_matches('/').split_once('/') {
                Some((_, rest)) => format!("/{rest}"),
                None => "/".to_string(),
            }
        } else {
            path
        };
        let i = self.targets.len() as u16;
        self.targets.push(TargetInfo {
            name: name.to_string(),
            url: url.to_string(),
            kind,
            route,
        });
        self.target_ix.insert(name.to_string(), i);
        i
    }

    /// Take in another builder's observations (read on another thread),
    /// renumbering its targets, addresses, POPs and connections.
    /// The lab run the records came from, if they say so: their times are
    /// real, and the scenario's are `speed` times longer.
    pub fn lab(&self) -> Option<&LabRun> {
        self.lab.as_ref()
    }

    pub fn absorb(&mut self, other: Builder) {
        if self.lab.is_none() {
            self.lab = other.lab;
        }
        let targets: Vec<u16> = other
            .targets
            .iter()
            .map(|t| self.target(&t.name, &t.url))
            .collect();
        let remotes: Vec<Ix> = other.remotes.names.iter().map(|r| self.remotes.get(r)).collect();
        let pops: Vec<Ix> = other.pops.names.iter().map(|p| self.pops.get(p)).collect();
        let runs: Vec<u32> = other.runs.names.iter().map(|r| self.runs.get_u32(r)).collect();
        let mut conns = vec![Ix::new(0); other.conns.len()];
        for ((run, id), ix) in other.conns {
            let next = Ix::new(self.conns.len() as u32);
            conns[ix.index()] = *self.conns.entry((runs[run as usize], id)).or_insert(next);
        }
        let map = |v: Option<Ix>, table: &[Ix]| v.map(|v| table[v.index()]);
        self.raw.reserve(other.raw.len());
        for (start, end, mut s) in other.raw {
            s.target = targets[s.target as usize];
            s.remote = map(s.remote, &remotes);
            s.pop = map(s.pop, &pops);
            s.conn = map(s.conn, &conns);
            self.raw.push((start, end, s));
        }
    }

    /// Sort by time, compute gaps, sessions and baselines.
    pub fn build(self, scale: f64, slow_override_ms: Option<f64>) -> Dataset {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let mut raw = self.raw;
        raw.sort_by(|a, b| a.0.total_cmp(&b.0));
        let t0 = raw.iter().map(|r| r.0).find(|t| t.is_finite());
        let mut samples = Vec::with_capacity(raw.len());
        let mut latest_end = f64::NAN;
        let mut session_gap = f64::NAN;
        let mut pos = 0u32;
        let join_ms = SESSION_JOIN_REAL_MS * scale;
        for (start, end, mut s) in raw {
            let base = t0.unwrap_or(start);
            s.start_s = (start - base) * scale;
            s.end_s = (end - base) * scale;
            s.total_ms *= scale;
            for p in &mut s.phases {
                *p *= scale as f32;
            }
            s.conn_idle_ms *= scale as f32;
            let gap = if latest_end.is_nan() {
                f64::NAN
            } else {
                ((s.start_s - latest_end) * 1000.0).max(0.0)
            };
            s.gap_ms = gap;
            if gap.is_nan() || gap >= join_ms {
                session_gap = gap;
                pos = 0;
            } else {
                pos += 1;
            }
            s.session_gap_ms = session_gap;
            s.session_pos = pos;
            if latest_end.is_nan() || s.end_s > latest_end {
                latest_end = s.end_s;
            }
            samples.push(s);
        }
        let mut ds = Dataset {
            targets: self.targets,
            samples,
            remotes: self.remotes.names,
            pops: self.pops.names,
            scale,
            t0: t0.map(|t| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(t)),
            baselines: Vec::new(),
            slow_override_ms,
            by_target: Vec::new(),
        };
        let mut by_target = vec![Vec::new(); ds.targets.len()];
        for (i, s) in ds.samples.iter().enumerate() {
            by_target[s.target as usize].push(i as u32);
        }
        ds.by_target = by_target;
        ds.baselines = (0..ds.targets.len())
            .map(|t| Reuse::ALL.map(|kind| ds.compute_baseline(t as u16, kind)))
            .collect();
        ds
    }
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `*.execute-api.*` is the execute-api URL (the lab's too); other names
/// follow [`TargetKind::infer`].
///
/// Not yet one rule with [`TargetKind::infer`], which asks for
/// `.amazonaws.com` too: they differ on the lab's `*.execute-api.lab.test`,
/// and with the probe's rule `diagnose --from` on lab records reports the
/// execute-api target as a custom domain (and no `edge` finding). Which rule
/// is right is the coordinator's call (issue #15), not this module's.
pub fn infer_kind(url: Option<&url::Url>) -> TargetKind {
    match url {
        Some(u)
            if u.host_str()
                .is_some_and(|h| h.to_ascii_lowercase().contains(".execute-api.")) =>
        {
            TargetKind::ExecuteApi
        }
        Some(u) => TargetKind::infer(u),
        None => TargetKind::Other,
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

    pub fn real_ms(&self, scenario_ms: f64) -> f64 {
        scenario_ms / self.scale
    }

    pub fn target_name(&self, t: u16) -> &str {
        &self.targets[t as usize].name
    }

    pub fn baseline(&self, s: &Sample) -> Option<Baseline> {
        self.baselines
            .get(s.target as usize)
            .and_then(|b| b[s.reuse()].or(b[s.reuse().other()]))
    }

    /// How far above its fast mode this probe is (ms); 0 if no baseline.
    pub fn excess_ms(&self, s: &Sample) -> f64 {
        self.baseline(s)
            .map_or(0.0, |b| (s.total_ms - b.base_ms).max(0.0))
    }

    /// Slower than its target's fast mode by more than noise explains.
    pub fn is_slow(&self, s: &Sample) -> bool {
        match (self.slow_override_ms, self.baseline(s)) {
            (Some(limit), _) => s.total_ms > limit,
            (None, Some(b)) => s.total_ms > b.slow_ms,
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
            .map(|(_, s)| s.total_ms)
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

//! Observations into a [`Dataset`]: targets, addresses, POPs and
//! connections interned, builders from several reading threads merged, then
//! sorted by time with the gaps, sessions and baselines computed.
//! (About 730 lines with its tests, about 575 without: interning,
//! merging and building share the builder's tables.)

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::SystemTime;

use super::{Dataset, EdgeCache, Ix, Sample, SynSettings, TargetInfo, VantageIx};
use crate::probe::{IpFamily, LabRun, Phase, TargetKind};
use crate::records::{family_of_remote, Observation, Reuse, TimeScales};

/// A gap shorter than this (real time) joins a probe to the session of the
/// one before it: back-to-back probes leave well under a millisecond, so
/// 20 ms is noise-proof yet far below any timer worth finding.
pub const SESSION_JOIN_REAL_MS: f64 = 20.0;

/// rustc's FxHash: a multiply and a rotate per word. Every record looks up
/// its target, run, connection, address and POP; with the default SipHash
/// those lookups were a visible share of reading a million records, and the
/// keys here are a file's own names and numbers, nothing to defend a table
/// against.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// Collects observations (in any order, from any number of files) into a
/// [`Dataset`].
#[derive(Debug, Default)]
pub struct Builder {
    targets: Vec<TargetInfo>,
    target_ix: FxMap<String, u16>,
    remotes: Interner,
    /// The family each remote address shows, by its index in `remotes`:
    /// worked out once per address, not once per record.
    remote_families: Vec<Option<IpFamily>>,
    pops: Interner,
    vantages: Interner,
    runs: Interner,
    conns: FxMap<(u32, u64), Ix>,
    kinds: HashMap<String, TargetKind>,
    /// Samples with absolute times (seconds since the epoch, real), in
    /// parts that are never moved once allocated: a million samples grow
    /// no vector by copying, and another builder's are taken over whole.
    raw: Vec<Part>,
    /// The lab runs the records name, and whether some are real probes.
    scales: TimeScales,
    syn: SynSettings,
}

#[derive(Debug, Default)]
struct Interner {
    names: Vec<String>,
    ix: FxMap<String, u32>,
    /// The index last given: a file's records mostly repeat the run,
    /// address or POP of the one before, and comparing with it is cheaper
    /// than hashing the name.
    last: Option<u32>,
}

impl Interner {
    fn get(&mut self, name: &str) -> Ix {
        Ix::new(self.get_u32(name))
    }

    fn get_u32(&mut self, name: &str) -> u32 {
        if let Some(i) = self.last.filter(|&i| self.names[i as usize] == name) {
            return i;
        }
        let i = match self.ix.get(name) {
            Some(&i) => i,
            None => {
                let i = self.names.len() as u32;
                self.names.push(name.to_string());
                self.ix.insert(name.to_string(), i);
                i
            }
        };
        self.last = Some(i);
        i
    }
}

/// Up to [`PART`] samples as added. Until the build, a sample's `start_s`
/// and `end_s` hold its absolute start and end (seconds since the epoch,
/// real), so that a raw sample is no larger than the dataset's: the
/// kernel zeroes every fresh page these parts take (a million records:
/// 120 MB, 144 MB when the times and the vantage rode beside each sample;
/// docs/performance.md, "Diagnosing stored records").
#[derive(Debug)]
struct Part {
    samples: Vec<Sample>,
    /// Where each sample ran from (no byte is left in a [`Sample`] for
    /// it), by its index in `samples`; empty while no record of the part
    /// named a vantage point, as in most files.
    vantages: Vec<Option<VantageIx>>,
}

impl Part {
    fn with_capacity(n: usize) -> Part {
        Part {
            samples: Vec::with_capacity(n),
            vantages: Vec::new(),
        }
    }

    fn is_full(&self) -> bool {
        self.samples.len() == self.samples.capacity()
    }

    fn push(&mut self, sample: Sample, vantage: Option<VantageIx>) {
        if vantage.is_some() && self.vantages.len() < self.samples.len() {
            self.vantages.resize(self.samples.len(), None);
        }
        if vantage.is_some() || !self.vantages.is_empty() {
            self.vantages.push(vantage);
        }
        self.samples.push(sample);
    }

    fn vantage(&self, i: usize) -> Option<VantageIx> {
        self.vantages.get(i).copied().flatten()
    }
}

/// The most samples in one part of [`Builder`]'s raw samples (about 4 MB).
const PART: usize = 1 << 15;

/// Samples from which the dataset is filled on two threads (`fill`).
const PARALLEL_FILL: usize = 1 << 16;

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
        self.raw.iter().map(|p| p.samples.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.iter().all(|p| p.samples.is_empty())
    }

    pub fn add(&mut self, o: &Observation<'_>) {
        self.add_from(o, None);
    }

    /// [`Builder::add`], from `file` (named if its records mix runs).
    pub fn add_from(&mut self, o: &Observation<'_>, file: Option<&std::path::Path>) {
        self.scales.saw(o.lab, file);
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
        let remote = o.remote.map(|r| self.remote(r));
        let family = o
            .family
            .or_else(|| remote.and_then(|ix| self.remote_families[ix.index()]));
        // The tool's own queueing is not the path's latency.
        let network_ms = (o.total_ms - o.phases.queue.unwrap_or(0.0)).max(0.0);
        let sample = Sample {
            target,
            // Absolute until the build (`Part`).
            start_s: start,
            end_s: end,
            total_ms: network_ms,
            phases,
            status: o.status.unwrap_or(0),
            error: o.error,
            reused: o.reused,
            conn_idle_ms: o.conn_idle_ms.map_or(f32::NAN, |v| v as f32),
            reconnected: o.reconnected,
            tls_resumed: o.tls_resumed,
            remote,
            family,
            conn,
            cloudfront: via_cf || o.cf_pop.is_some() || edge_cache != EdgeCache::None,
            edge_cache,
            pop: o.cf_pop.map(|p| self.pops.get(p)),
            gateway_error: o.errortype,
            alb_answered: o.alb_answered,
            refusal: o.refusal,
            gap_ms: f64::NAN,
            session_gap_ms: f64::NAN,
            session_pos: 0,
            trace: o.trace_id.and_then(crate::probe::trace::TraceKey::parse),
        };
        let vantage = o.vantage.map(|v| self.vantage(v));
        if o.phases.connect.is_some() || matches!(o.error, Some((_, Phase::Connect))) {
            self.syn.note(o.syn_sysctls);
        }
        match self.raw.last_mut().filter(|part| !part.is_full()) {
            Some(part) => part.push(sample, vantage),
            None => {
                // Parts grow with the data, from small to `PART`.
                let mut part = Part::with_capacity(self.len().clamp(64, PART));
                part.push(sample, vantage);
                self.raw.push(part);
            }
        }
    }

    /// A remote address's index, its family worked out the first time.
    fn remote(&mut self, r: &str) -> Ix {
        let ix = self.remotes.get(r);
        if ix.index() == self.remote_families.len() {
            self.remote_families.push(family_of_remote(r));
        }
        ix
    }

    /// A vantage point's index; past [`VantageIx::MAX`] names, the last.
    fn vantage(&mut self, name: &str) -> VantageIx {
        match self.vantages.ix.get(name) {
            Some(&i) => VantageIx::new(i as usize),
            None if self.vantages.names.len() >= VantageIx::MAX => VantageIx::new(VantageIx::MAX - 1),
            None => VantageIx::new(self.vantages.get_u32(name) as usize),
        }
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
            .unwrap_or_else(|| parsed.as_ref().map_or(TargetKind::Other, TargetKind::infer));
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

    /// The lab run the records came from, if they say so: their times are
    /// real, and the scenario's are `speed` times longer.
    pub fn lab(&self) -> Option<&LabRun> {
        self.scales.lab()
    }

    /// Records that cannot be put on one time scale: lab runs at two
    /// speeds, or a lab run's records with real ones. Each run's own
    /// speed is its scale, so read together they would be scaled wrong.
    pub fn mixed_scales(&self) -> Option<String> {
        self.scales.mixed()
    }

    /// Take in another builder's observations (read on another thread),
    /// renumbering its targets, addresses, POPs and connections.
    pub fn absorb(&mut self, other: Builder) {
        if self.is_blank() {
            // Nothing to renumber against: the other's tables are what
            // renumbering would give, without copying its samples.
            *self = other;
            return;
        }
        self.scales.absorb(other.scales);
        let targets: Vec<u16> = other
            .targets
            .iter()
            .map(|t| self.target(&t.name, &t.url))
            .collect();
        let remotes: Vec<Ix> = other.remotes.names.iter().map(|r| self.remote(r)).collect();
        let pops: Vec<Ix> = other.pops.names.iter().map(|p| self.pops.get(p)).collect();
        let vantages: Vec<VantageIx> = other.vantages.names.iter().map(|v| self.vantage(v)).collect();
        let runs: Vec<u32> = other.runs.names.iter().map(|r| self.runs.get_u32(r)).collect();
        let mut conns = vec![Ix::new(0); other.conns.len()];
        for ((run, id), ix) in other.conns {
            let next = Ix::new(self.conns.len() as u32);
            conns[ix.index()] = *self.conns.entry((runs[run as usize], id)).or_insert(next);
        }
        self.syn.absorb(other.syn);
        let map = |v: Option<Ix>, table: &[Ix]| v.map(|v| table[v.index()]);
        let mut parts = other.raw;
        for v in parts.iter_mut().flat_map(|p| &mut p.vantages) {
            *v = v.map(|v| vantages[v.index()]);
        }
        for s in parts.iter_mut().flat_map(|p| &mut p.samples) {
            s.target = targets[s.target as usize];
            s.remote = map(s.remote, &remotes);
            s.pop = map(s.pop, &pops);
            s.conn = map(s.conn, &conns);
        }
        // Taken over after this builder's own, in place.
        self.raw.append(&mut parts);
    }

    /// Nothing added, nothing said: as [`Builder::new`] left it.
    fn is_blank(&self) -> bool {
        self.is_empty()
            && self.targets.is_empty()
            && self.kinds.is_empty()
            && self.remotes.names.is_empty()
            && self.pops.names.is_empty()
            && self.vantages.names.is_empty()
            && self.runs.names.is_empty()
            && self.conns.is_empty()
            && self.scales == TimeScales::default()
            && self.syn == SynSettings::default()
    }

    /// Sort by time, compute gaps, sessions and baselines.
    pub fn build(self, scale: f64, slow_override_ms: Option<f64>) -> Dataset {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let raw = self.raw;
        // In time order, the order added on a tie: the samples are sorted
        // by a small key and moved once, into place. The keys are made in
        // the order added, so a stable sort by time alone keeps that order
        // on a tie; and it is cheap here, because each part is already
        // almost in time order (records are written as probes end) and
        // the stable sort merges such runs instead of partitioning them.
        let mut order: Vec<(f64, u32, u32)> = Vec::with_capacity(raw.iter().map(|p| p.samples.len()).sum());
        for (p, part) in raw.iter().enumerate() {
            order.extend(
                part.samples
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.start_s, p as u32, i as u32)),
            );
        }
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let t0 = order.iter().map(|r| r.0).find(|t| t.is_finite());
        let (targets, renumber) = in_order_answered(self.targets, &raw);
        // Kept only when there are vantage points to compare.
        let compared = self.vantages.names.len() >= 2;
        let sample_vantages: Vec<_> = if compared {
            order
                .iter()
                .map(|&(_, p, i)| raw[p as usize].vantage(i as usize))
                .collect()
        } else {
            Vec::new()
        };
        // Each sample moved into place and scaled; two threads for a large
        // dataset (`fill`: the time is the fresh memory's first touch).
        let mut samples = super::fill::in_halves(order.len(), order.len() >= PARALLEL_FILL, |k| {
            let (_, p, i) = order[k];
            let mut s = raw[p as usize].samples[i as usize].clone();
            let (start, end) = (s.start_s, s.end_s);
            s.target = renumber[s.target as usize];
            let base = t0.unwrap_or(start);
            s.start_s = (start - base) * scale;
            s.end_s = (end - base) * scale;
            s.total_ms *= scale;
            for p in &mut s.phases {
                *p *= scale as f32;
            }
            s.conn_idle_ms *= scale as f32;
            s
        });
        // Gaps and sessions, in time order.
        let mut latest_end = f64::NAN;
        let mut session_gap = f64::NAN;
        let mut pos = 0u32;
        let join_ms = SESSION_JOIN_REAL_MS * scale;
        for s in &mut samples {
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
        }
        drop((raw, order));
        let mut ds = Dataset {
            targets,
            samples,
            remotes: self.remotes.names,
            pops: self.pops.names,
            vantages: self.vantages.names,
            sample_vantages,
            syn: self.syn,
            scale,
            t0: t0.map(|t| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(t)),
            baselines: Vec::new(),
            slow_override_ms,
            paths: Vec::new(),
            streams: Vec::new(),
            by_target: Vec::new(),
        };
        let mut by_target = vec![Vec::new(); ds.targets.len()];
        for (i, s) in ds.samples.iter().enumerate() {
            by_target[s.target as usize].push(i as u32);
        }
        ds.by_target = by_target;
        ds.paths = vec![Default::default(); ds.targets.len()];
        ds.streams = (0..ds.targets.len() as u16)
            .map(|t| {
                let (mut ok, mut body) = (0usize, 0usize);
                for (_, s) in ds.of_target(t).filter(|(_, s)| s.ok()) {
                    ok += 1;
                    body += usize::from(s.body_dominated());
                }
                ok > 0 && body as f64 >= super::STREAMING_SHARE * ok as f64
            })
            .collect();
        ds.baselines = (0..ds.targets.len())
            .map(|t| Reuse::ALL.map(|kind| ds.compute_baseline(t as u16, kind)))
            .collect();
        ds
    }
}

/// The targets in the order their first answer came (the earliest end of
/// any of their samples; by name on a tie), and each old index's new one.
/// Parsing threads meet targets in an order that depends on which thread
/// read which block first: without this a report's `targets` (and every
/// list in target order) could differ between two runs over one file.
/// Records are written as probes end, so this is also the order in which a
/// single run's file names them.
fn in_order_answered(targets: Vec<TargetInfo>, raw: &[Part]) -> (Vec<TargetInfo>, Vec<u16>) {
    let mut first_end = vec![f64::INFINITY; targets.len()];
    for s in raw.iter().flat_map(|p| &p.samples) {
        let first = &mut first_end[s.target as usize];
        if s.end_s.total_cmp(first).is_lt() {
            *first = s.end_s;
        }
    }
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| {
        first_end[a]
            .total_cmp(&first_end[b])
            .then_with(|| targets[a].name.cmp(&targets[b].name))
    });
    let mut renumber = vec![0u16; targets.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = new as u16;
    }
    let mut slots: Vec<Option<TargetInfo>> = targets.into_iter().map(Some).collect();
    let targets = order
        .iter()
        .map(|&old| slots[old].take().expect("each target once"))
        .collect();
    (targets, renumber)
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let Some(&first) = needle.as_bytes().first() else {
        return true;
    };
    // The first byte alone turns away most windows.
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w[0].eq_ignore_ascii_case(&first) && w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RecordView;

    fn add(b: &mut Builder, target: &str, at: &str, total_ms: f64) {
        let line = format!(
            r#"{{"v":1,"target":"{target}","url":"https://{target}.example/x","seq":1,"at":"{at}","scheduled_at":"{at}","conn":{{"id":1,"reused":false,"idle_ms":null,"age_ms":0.0,"requests":1}},"phases_ms":{{"queue":0.0,"dns":null,"connect":1.0,"tls":null,"send":0.1,"ttfb":{total_ms},"body":0.0}},"total_ms":{total_ms},"status":200,"http":"1.1","error":null}}"#
        );
        let view: RecordView = serde_json::from_str(&line).unwrap();
        b.add(&view.observation().unwrap());
    }

    /// Two parsing threads' builders merged in either order give the same
    /// dataset targets, in the order their first answer came: `b` answered
    /// first (started later, but quicker), then `a`, then `c`.
    #[test]
    fn targets_come_in_the_order_first_answered_whichever_thread_read_them() {
        let one = || {
            let mut b = Builder::new();
            add(&mut b, "c", "2026-12-07T10:00:05Z", 10.0);
            add(&mut b, "a", "2026-12-07T10:00:00Z", 900.0);
            b
        };
        let two = || {
            let mut b = Builder::new();
            add(&mut b, "b", "2026-12-07T10:00:00.1Z", 20.0);
            add(&mut b, "a", "2026-12-07T10:00:06Z", 10.0);
            b
        };
        for (first, second) in [(one(), two()), (two(), one())] {
            let mut merged = first;
            merged.absorb(second);
            let ds = merged.build(1.0, None);
            let names: Vec<&str> = ds.targets.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["b", "a", "c"]);
            for s in &ds.samples {
                let url = &ds.targets[s.target as usize].url;
                assert!(
                    url.contains(&format!("//{}.", ds.targets[s.target as usize].name)),
                    "{url}"
                );
            }
            assert_eq!(
                ds.samples
                    .iter()
                    .filter(|s| ds.targets[s.target as usize].name == "a")
                    .count(),
                2
            );
        }
    }

    /// Vantage points named by two reading threads' builders are one
    /// table, each sample still naming its own; with one point named,
    /// nothing is kept per sample.
    #[test]
    fn vantage_points_of_merged_builders_keep_their_samples() {
        let machine = |vantages: &[(&str, &str)]| {
            let mut b = Builder::new();
            for (at, v) in vantages {
                let o = Observation {
                    target: "api",
                    url: "https://api.example/x",
                    at: crate::records::parse_time(at),
                    total_ms: 10.0,
                    status: Some(200),
                    vantage: Some(v),
                    ..Observation::default()
                };
                b.add(&o);
            }
            b
        };
        let mut merged = machine(&[("2026-12-07T10:00:00Z", "b"), ("2026-12-07T10:00:02Z", "a")]);
        merged.absorb(machine(&[
            ("2026-12-07T10:00:01Z", "a"),
            ("2026-12-07T10:00:03Z", "c"),
        ]));
        let ds = merged.build(1.0, None);
        let named: Vec<&str> = (0..ds.samples.len())
            .map(|i| ds.vantages[ds.vantage(i).unwrap().index()].as_str())
            .collect();
        assert_eq!(named, ["b", "a", "a", "c"]);
        let one = machine(&[("2026-12-07T10:00:00Z", "a"), ("2026-12-07T10:00:01Z", "a")]).build(1.0, None);
        assert_eq!(one.vantages, ["a"]);
        assert!(one.sample_vantages.is_empty() && one.vantage(0).is_none());
    }

    /// Records that name a vantage point among records that name none, in
    /// several parts (the first holds 64) and two builders: each sample
    /// keeps its own, or none; and the times kept in the raw samples until
    /// the build come out relative to the first probe.
    #[test]
    fn vantage_points_named_by_some_records_stay_with_their_samples() {
        let at =
            |k: usize| crate::records::parse_time(&format!("2026-12-07T10:{:02}:{:02}Z", k / 60, k % 60));
        let named = |k: usize| match k {
            70..=89 => Some("a"),
            100 | 150 => Some("b"),
            _ => None,
        };
        let machine = |ks: &mut dyn Iterator<Item = usize>| {
            let mut b = Builder::new();
            for k in ks {
                b.add(&Observation {
                    target: "api",
                    url: "https://api.example/x",
                    at: at(k),
                    total_ms: 500.0,
                    status: Some(200),
                    vantage: named(k),
                    ..Observation::default()
                });
            }
            b
        };
        let mut merged = machine(&mut (0..200).filter(|k| k % 3 != 0));
        merged.absorb(machine(&mut (0..200).filter(|k| k % 3 == 0)));
        assert!(merged.raw.len() > 2, "several parts");
        let ds = merged.build(1.0, None);
        assert_eq!(ds.samples.len(), 200);
        for (k, s) in ds.samples.iter().enumerate() {
            assert_eq!((s.start_s, s.end_s), (k as f64, k as f64 + 0.5));
            let vantage = ds.vantage(k).map(|v| ds.vantages[v.index()].as_str());
            assert_eq!(vantage, named(k), "sample {k}");
        }
    }

    /// A name repeated, alternated or new gets the index of its first
    /// appearance, whatever the last one asked for was.
    #[test]
    fn interned_names_keep_their_first_index() {
        let mut names = Interner::default();
        let asked = ["r1", "r1", "r2", "r1", "r2", "r2", "r3", "r1"];
        let got: Vec<u32> = asked.iter().map(|n| names.get_u32(n)).collect();
        assert_eq!(got, [0, 0, 1, 0, 1, 1, 2, 0]);
        assert_eq!(names.names, ["r1", "r2", "r3"]);
    }

    #[test]
    fn cloudfront_is_found_in_any_case_anywhere() {
        assert!(contains_ignore_case(
            "1.1 abc.cloudfront.net (CloudFront)",
            "cloudfront"
        ));
        assert!(contains_ignore_case("CLOUDFRONT", "cloudfront"));
        assert!(contains_ignore_case("1.1 x (CloudFront)", "cloudfront"));
        assert!(!contains_ignore_case("1.1 cloudfron", "cloudfront"));
        assert!(!contains_ignore_case("cloud", "cloudfront"));
        assert!(!contains_ignore_case("1.1 varnish", "cloudfront"));
    }
}

//! The probing machine's own stalls. In the lab every duration is read in
//! scenario time, `speed` times what was measured, but a busy CPU or a
//! scheduler hiccup on the machine that probes passes in real time: 30 ms of
//! it at speed 10 reads as a 300 ms stall, at speed 100 as 3 s. Such a
//! stall is small in real time and holds up every probe in flight at that
//! moment, whatever its target, phase or connection; a bad path holds up
//! only the probes that cross it, while the others in flight go on.

use crate::diagnose::dataset::{Dataset, Sample};
use crate::diagnose::num::{median, sorted};
use crate::probe::Phase;

/// A probe's extra time up to this (real ms) can be the machine's own: a
/// loaded 2-core machine was seen to stall the in-process lab for 20–70 ms
/// at once; a fault the lab sets up is meant to be larger than that in
/// real time, or to spare the other probes in flight. It is also the real
/// floor of the phases that run on the machine in the lab whatever the
/// path (a lookup to `dns-timeout`, a handshake to `slow-tls`), where the
/// other probes in flight do not tell.
pub const MACHINE_STALL_REAL_MS: f64 = 100.0;

/// Another probe in flight says something of a stall only when it must
/// have lived through at least this much of it (real ms): less is within
/// its own noise.
const WITNESS_REAL_MS: f64 = 5.0;

/// A witness was held too when it lost this share of what it lived
/// through of the stall, above its own target's fast mode: each target's
/// baseline is noisy on a loaded machine (a witness held as long lost
/// 25 ms above its own where the stalled probe lost 65 ms above its own);
/// a probe on a path that went on lost next to nothing.
const HELD: f64 = 0.25;

/// The phases that run on the probing machine itself in the lab (a
/// resolver on loopback, the handshake's crypto, writing the request):
/// extra time there is no path's.
const LOCAL: [Phase; 4] = [Phase::Dns, Phase::Connect, Phase::Tls, Phase::Send];

/// `stalled[i]`: probe `i`'s extra time is the machine's, not the path's.
///
/// Probe `i` (slow, answered, at most [`MACHINE_STALL_REAL_MS`] of extra
/// time in real time) lost `e` of its `d`; another probe `j` in flight
/// beside it for `o` of that time must have lived through at least
/// `e + o − d` of the stall, wherever in `i`'s life it fell. Every such
/// witness (at least [`WITNESS_REAL_MS`] of it) must have lost a share
/// ([`HELD`]) of that itself, there must be one, and `i` or one of them must
/// have lost time in a phase of the machine's own ([`LOCAL`]): a stall
/// only in time to first byte, on every probe in flight, is as much a
/// target answering late to all of them (a draining one) as the machine.
pub fn stalled(ds: &Dataset, slow: impl Fn(usize) -> bool) -> Vec<bool> {
    let n = ds.samples.len();
    if n < 2 {
        return vec![false; n];
    }
    let typical = Typical::of(ds);
    let longest = ds.samples.iter().map(|s| s.end_s - s.start_s).fold(0.0, f64::max);
    (0..n)
        .map(|i| {
            let s = &ds.samples[i];
            s.responded()
                && slow(i)
                && ds.real_ms(ds.excess_ms(s)) <= MACHINE_STALL_REAL_MS
                && shared(ds, &typical, longest, i)
        })
        .collect()
}

/// The probes in flight beside probe `i` witness its stall, none was
/// spared, and the machine's own phases show it (see [`stalled`]).
fn shared(ds: &Dataset, typical: &Typical, longest: f64, i: usize) -> bool {
    let s = &ds.samples[i];
    let e = ds.excess_ms(s);
    let d = (s.end_s - s.start_s) * 1000.0;
    let mut witnesses = Vec::new();
    // Samples are in start order (the builder sorts them).
    let lo = ds.samples[..i].partition_point(|t| t.start_s < s.start_s - longest);
    for j in (lo..ds.samples.len()).filter(|&j| j != i) {
        let t = &ds.samples[j];
        if t.start_s >= s.end_s {
            break;
        }
        let o = (s.end_s.min(t.end_s) - s.start_s.max(t.start_s)) * 1000.0;
        let lived = e + o - d;
        if o <= 0.0 || ds.real_ms(lived) < WITNESS_REAL_MS || !t.responded() {
            continue;
        }
        if ds.excess_ms(t) < HELD * lived {
            return false;
        }
        witnesses.push(j);
    }
    let local = |k: usize| typical.local_extra(ds, &ds.samples[k]);
    !witnesses.is_empty() && (local(i) || witnesses.iter().any(|&j| local(j)))
}

/// Each local phase's median over the answered probes (ms, scenario).
struct Typical([f64; LOCAL.len()]);

impl Typical {
    fn of(ds: &Dataset) -> Typical {
        Typical(LOCAL.map(|p| {
            median(&sorted(
                ds.samples.iter().filter(|s| s.ok()).filter_map(|s| s.phase(p)),
            ))
        }))
    }

    /// `s` lost time in the machine's own phases: a quarter of its extra
    /// time or more, and at least [`WITNESS_REAL_MS`] real.
    fn local_extra(&self, ds: &Dataset, s: &Sample) -> bool {
        let extra: f64 = LOCAL
            .iter()
            .zip(self.0)
            .filter_map(|(&p, typical)| Some((s.phase(p)? - typical.max(0.0)).max(0.0)))
            .sum();
        extra >= 0.25 * ds.excess_ms(s) && ds.real_ms(extra) >= WITNESS_REAL_MS
    }
}

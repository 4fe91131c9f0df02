//! Latency against the quiet gap before a probe: the shared analysis behind
//! `idle-timeout` (bad after every gap longer than T: a step) and
//! `keepalive-race` (bad only just after T, fine again beyond: a window).
//!
//! Only the first probes after a quiet period (one per target: the session
//! "heads") meet connections that sat idle for the whole gap; probes inside a
//! burst tell how the path behaves when warm. The idle periods are measured
//! on the clock that explains the bad probes best (`clock.rs`): the API's
//! quiet time, the probe's own connection's idle time, or the time since the
//! API last answered.
//!
//! About 815 lines with its tests (about 730 without): the step and window
//! rules read each other's edges on every clock, so they stay in one file;
//! what a clock measures is `clock.rs`.

use super::clock::{self, Clock, Point};
use super::Input;
use crate::diagnose::dataset::{Dataset, Sample};
use crate::diagnose::num::{fisher_greater, frac, median, sorted};
use crate::diagnose::PathKind;

/// One gap level: idle periods of (nearly) the same length on the clock
/// followed, counted as bad when any of the first probes after them was. A
/// pool that replaces the stale connection it stalled on serves the next
/// probe fresh, so only the first may show it.
#[derive(Debug, Clone, Default)]
struct Bin {
    n: usize,
    bad: usize,
    min_gap: f64,
    max_gap: f64,
    /// The bad probes, each with its period's length on the clock.
    idx: Vec<(usize, f64)>,
    /// The lengths of the good periods.
    good: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Bad after every gap from `hi_ms` up.
    Step,
    /// Bad after gaps from `hi_ms` to `max_bad_ms`, good again after `beyond_ms`.
    Window { beyond_ms: f64 },
}

/// A gap dependence found in the data.
#[derive(Debug, Clone)]
pub struct GapPattern {
    pub shape: Shape,
    /// The clock the periods were measured by (`clock.rs`).
    pub clock: Clock,
    /// Longest gap below the bad range (scenario ms).
    pub lo_ms: f64,
    /// Shortest gap inside it.
    pub hi_ms: f64,
    pub max_bad_ms: f64,
    /// (bad, all) quiet periods inside, below and beyond the range.
    pub inside: (usize, usize),
    pub below: (usize, usize),
    pub beyond: (usize, usize),
    /// Probes inside the range that were bad.
    pub bad: Vec<usize>,
    /// Each bad probe with its period's length on the clock.
    pub bad_at: Vec<(usize, f64)>,
    /// Good periods inside the range longer than its longest bad one (a
    /// step's successes after its failures), by length.
    pub good_after: Vec<f64>,
    /// How many of those failed (rather than stalled).
    pub failed: usize,
    /// Median extra time of the slow ones (scenario ms; NaN if none).
    pub stall_ms: f64,
    /// (bad, probes) among probes inside bursts (not after a quiet gap).
    pub warm: (usize, usize),
    /// Bad first probes on new connections that were set aside: the quiet
    /// time shows this pattern only without them, and the plain reading
    /// of it showed none (`analyse`). Zero on every other reading.
    pub set_aside: usize,
}

impl GapPattern {
    /// A finding on a pattern read only after setting probes aside is
    /// never sure enough to end a plan early (`detect::CONCLUSIVE`).
    pub const SET_ASIDE_CONFIDENCE: f64 = 0.7;

    /// The evidence line saying which probes the pattern was read without,
    /// if any.
    pub fn set_aside_line(&self) -> Option<String> {
        (self.set_aside > 0).then(|| {
            format!(
                "read without {} bad first request(s) on new connections, which no idle clock places (a busy client's stall, or a second cause): with them, the quiet time shows no step",
                self.set_aside
            )
        })
    }
}

/// Gaps within 5 % of a level's shortest are one level (a sweep's repeated
/// gap, measured with a little scheduling noise).
const SAME_LEVEL: f64 = 1.05;

/// More levels than this (gaps from a schedule, all different) are merged
/// into log-spaced bins, a factor of 1.25 wide, to keep the search small.
const MAX_LEVELS: usize = 300;

/// A window needs this many periods beyond its bad range: a single success
/// after failures may be a pool that closed its stale connections itself
/// (nginx's upstream `keepalive_timeout`) and opened a fresh one, which
/// does not end a step.
const WINDOW_BEYOND: usize = 2;

/// Gap levels: idle periods sorted by length and grouped into bins.
fn levels(mut sessions: Vec<Point>) -> Vec<Bin> {
    sessions.sort_by(|a, b| a.gap.total_cmp(&b.gap));
    let mut bins: Vec<Bin> = Vec::new();
    let push = |bins: &mut Vec<Bin>, join: bool, s: &Point| {
        let g = s.gap;
        if !join || bins.is_empty() {
            bins.push(Bin {
                min_gap: g,
                max_gap: g,
                ..Bin::default()
            });
        }
        let b = bins.last_mut().expect("a bin");
        b.n += 1;
        b.bad += !s.bad.is_empty() as usize;
        b.max_gap = g;
        b.idx.extend(&s.bad);
        if s.bad.is_empty() {
            b.good.push(g);
        }
    };
    // Measured from the level's shortest gap, so that evenly spread gaps
    // do not chain into one level.
    let mut first = f64::NAN;
    for s in &sessions {
        let join = s.gap <= first * SAME_LEVEL || (s.gap < 10.0 && first < 10.0);
        if !join {
            first = s.gap;
        }
        push(&mut bins, join, s);
    }
    if bins.len() <= MAX_LEVELS {
        return bins;
    }
    let key = |g: f64| {
        if g < 10.0 {
            0
        } else {
            1 + ((g / 10.0).ln() / 1.25f64.ln()).floor() as i64
        }
    };
    let mut coarse: Vec<Bin> = Vec::new();
    let mut last_key = i64::MIN;
    for s in &sessions {
        let k = key(s.gap);
        push(&mut coarse, k == last_key, s);
        last_key = k;
    }
    coarse
}

/// Is this probe one of the first after a quiet gap?
pub fn is_head(ds: &Dataset, s: &Sample) -> bool {
    s.session_gap_ms.is_finite() && (s.session_pos as usize) < ds.targets.len().max(1)
}

/// What counts as a bad first request after a quiet gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// Failed, or stalled: more than twice the noise margin over the fast
    /// mode (a timer's stall, not a jitter spike).
    FailedOrStalled,
    /// Failed as a lost connection fails (a reset, a 502:
    /// `Sample::connection_failed`): what a keep-alive race produces.
    Failed,
}

impl Bad {
    fn of(self, ds: &Dataset, s: &Sample) -> bool {
        // The ALB's own 502 page is a target closing a connection the ALB
        // reused, on the ALB's shared pool: `keepalive-race` reads those
        // by themselves, whatever the client's gap.
        if s.alb_answered && s.status == 502 {
            return false;
        }
        // Only a failure a lost connection gives: an application's 500s
        // at random fell after the longer of a paced burst's gaps (90 ms
        // against 95 ms) and were read as an idle timer.
        match self {
            Bad::Failed => s.connection_failed(),
            Bad::FailedOrStalled => s.connection_failed() || stalled(ds, s),
        }
    }

    /// The clocks this kind of failure may follow, preferred first on a
    /// tie. A race leaves no stale connection behind (the pool saw the
    /// close), so the time since the last success is no clock of a race.
    fn clocks(self) -> &'static [Clock] {
        match self {
            Bad::FailedOrStalled => &[Clock::Quiet, Clock::ConnIdle, Clock::SinceSuccess],
            Bad::Failed => &[Clock::Quiet, Clock::ConnIdle],
        }
    }
}

/// More than twice the noise margin above the fast mode, and more than
/// client noise in real time: at the lab's speed 50 a busy machine's 11 ms
/// hiccup reads as 550 ms, and enough of them inside bursts used to hide an
/// idle timer (the "warm" share went over its limit).
fn stalled(ds: &Dataset, s: &Sample) -> bool {
    match (ds.slow_override_ms, ds.baseline(s)) {
        (Some(limit), _) => ds.judged_ms(s) > limit,
        (None, Some(b)) => super::slower_than(ds, ds.excess_ms(s), 2.0 * (b.slow_ms - b.base_ms)),
        (None, None) => false,
    }
}

/// The time since the API last answered is read from a model of the
/// gateway's pool (most recently used first), not measured: a step on it
/// needs at least this many runs of failures begun inside it, each after
/// a success, unless another clock found a step from the same gap (then
/// it only explains the failures below that step). One run alone is what
/// an outage looks like when it happens to begin after a long gap (its
/// failures since the last success grow with its length, and the
/// successes after it are left out); a second idle failure after the path
/// had answered again is what a timer does.
const SINCE_SUCCESS_RUNS: usize = 2;

/// A try's levels are kept while its score is within this of the best
/// score of a try surely judged (the judging's own margin is 1e-9: a try
/// that far below cannot be chosen; the rest is room for rounding).
const KEEP_MARGIN: f64 = 1e-6;

/// The gap dependence on the clock that explains the bad first probes
/// best: the API's quiet time unless another clock separates them more
/// cleanly (a higher contrast; on a tie the first clock of
/// [`Bad::clocks`] stays, so that where the clocks agree nothing changes).
/// The connection's own idle time must do so against the quiet time read
/// without the bad probes it cannot place (on new connections; the good
/// ones there stay: a timer behind the gateway spares no connection of
/// the client's, one on the client's side spares the new ones): leaving a
/// probe out is no reading of it. Where only that reading of the quiet
/// time shows a pattern, it is the one found, and the probes it set aside
/// are counted (`GapPattern::set_aside`).
///
/// On every clock the range's bounds (`lo_ms`, `hi_ms`) are the idle time
/// of a period: on the time since the last success too, because every
/// period below the step, and the shortest inside it, is measured by its
/// quiet time there (only runs begun inside the step are measured since
/// the last success, and those periods are at least as long as the run's
/// first, `clock::points`).
pub fn analyse(input: &Input<'_>, criterion: Bad) -> Option<GapPattern> {
    analyse_on(input, criterion, input.ds.samples.len() >= PARALLEL_FROM)
}

/// [`analyse`], its tries shared by two threads or not (the same answer).
fn analyse_on(input: &Input<'_>, criterion: Bad, parallel: bool) -> Option<GapPattern> {
    let ds = input.ds;
    let mut warm = (0, 0);
    // Of the bad ones, those that failed (rather than stalled).
    let mut warm_failed = 0;
    for (i, s) in ds.samples.iter().enumerate() {
        if input.explained[i] || is_head(ds, s) {
            continue;
        }
        if s.session_gap_ms.is_finite() || s.session_pos > 0 {
            let bad = criterion.of(ds, s);
            warm.1 += 1;
            warm.0 += bad as usize;
            warm_failed += (bad && s.failed()) as usize;
        }
    }
    // Inside bursts the path must be mostly fine, or the trouble is not idleness.
    if warm.1 >= 10 && frac(warm.0, warm.1) > 0.15 {
        return None;
    }
    // Once per probe, not once per probe and clock edge tried below: on a
    // million records the edges are many and `stalled` is not cheap.
    let heads: Vec<bool> = ds.samples.iter().map(|s| is_head(ds, s)).collect();
    let bads: Vec<bool> = ds.samples.iter().map(|s| criterion.of(ds, s)).collect();
    let head = |i: usize| heads[i];
    let bad = |i: usize| bads[i];
    // Every (clock, edge) tried: on the time since the last success, each
    // run of failures counts as a pool's stale connections only if it
    // began inside the step: every start is tried as the step's edge, and
    // a range is kept only where exactly the runs begun inside it were
    // read so.
    let mut tries: Vec<(Clock, f64)> = Vec::new();
    let mut starts = Vec::new();
    let mut edges = Vec::new();
    let mut since_success = None;
    for &clock in criterion.clocks() {
        if clock == Clock::SinceSuccess {
            starts = clock::run_starts(ds, input.explained, head, bad);
            edges = starts.clone();
            edges.dedup();
            since_success = Some(clock::SinceSuccess::new(ds, input.explained, head, bad));
            tries.extend(spread(&edges, MAX_EDGES).into_iter().map(|e| (clock, e)));
        } else {
            tries.push((clock, f64::INFINITY));
        }
    }
    // A step on the time since the last success whose edge `hi` leaves
    // no run begun between it and the try's own edge.
    let consistent =
        |hi: f64, chain_from: f64| hi <= chain_from && !edges.iter().any(|&e| e >= hi && e < chain_from);
    let bins_of = |clock: Clock, chain_from: f64| {
        let points = match (&since_success, clock) {
            (Some(chains), Clock::SinceSuccess) => chains.points(chain_from),
            _ => clock::points(ds, input.explained, clock, chain_from, head, bad),
        };
        levels(points)
    };
    // Whether the judging below takes a try whatever was found before it.
    // Not the connection's own idle time: it may lose to the quiet time
    // read without the probes it cannot place (`quiet_on_seen`).
    let surely_judged = |clock: Clock, chain_from: f64, hi: f64| match clock {
        Clock::Quiet => true,
        Clock::ConnIdle => false,
        Clock::SinceSuccess => {
            consistent(hi, chain_from) && starts.iter().filter(|&&e| e >= hi).count() >= SINCE_SUCCESS_RUNS
        }
    };
    // Each try reads every probe: on two cores for a large dataset
    // (`halves`). Fisher's test of a range against the warm probes is
    // remembered by (bad, periods) inside it, one memo per thread: the
    // same counts come back on every clock and edge. A try's levels hold
    // every period and failed probe: they are kept only while the try may
    // still be judged best, not for every try (on real data with many
    // sessions, many copies of them). A try scoring less than one surely
    // judged, by more than the judging's margin, cannot be the best.
    let tried = super::halves::map(
        &tries,
        parallel,
        || (Chance::default(), f64::NEG_INFINITY),
        |(chance, floor), &(clock, chain_from)| {
            let bins = bins_of(clock, chain_from);
            let range = best_range(ds, &bins, warm, warm_failed, chance)?;
            let hi = bins[range.i].min_gap;
            if surely_judged(clock, chain_from, hi) {
                *floor = floor.max(range.score);
            }
            let kept = (range.score >= *floor - KEEP_MARGIN).then_some(bins);
            Some(Found {
                range,
                hi,
                bins: kept,
                set_aside: 0,
            })
        },
    );
    // The best of them, judged in the order tried (an earlier clock stays
    // on a tie, and a step on the time since the last success may lean on
    // one found before it). `hi` is the step's edge: its shortest period.
    let mut best: Option<(Found, (Clock, f64))> = None;
    for (&(clock, chain_from), found) in tries.iter().zip(tried) {
        let Some(found) = found else {
            continue;
        };
        let hi = found.hi;
        if clock == Clock::ConnIdle {
            // Compared with the quiet time read without the bad probes the
            // connection's clock cannot place (on new connections): leaving
            // them out is no evidence for that clock, and must not make it
            // separate the periods "better". A busy machine's stall on a
            // new connection after a short gap did so, and blamed a NAT or
            // conntrack on the client side. Kept only where the plain
            // quiet time found nothing, with the set-aside probes counted.
            let seen = quiet_on_seen(input, &bads, warm, warm_failed, head, bad);
            if let Some(quiet) = seen.filter(|q| found.range.score <= q.range.score + 1e-9) {
                if best.is_none() {
                    best = Some((quiet, (Clock::Quiet, f64::INFINITY)));
                }
                continue;
            }
        }
        if clock == Clock::SinceSuccess {
            // Exactly the runs begun inside the step are read as the
            // pool's stale connections.
            let runs = starts.iter().filter(|&&e| e >= hi).count();
            let same_step = best.as_ref().is_some_and(|(b, _)| (b.hi - hi).abs() < 1e-6);
            if !consistent(hi, chain_from) || (runs < SINCE_SUCCESS_RUNS && !same_step) {
                continue;
            }
        }
        if best
            .as_ref()
            .is_none_or(|(b, _)| found.range.score > b.range.score + 1e-9)
        {
            best = Some((found, (clock, chain_from)));
        }
    }
    let (
        Found {
            range: Range { i, j, .. },
            bins,
            set_aside,
            ..
        },
        (clock, chain_from),
    ) = best?;
    // Never dropped by the argument above (the debug builds' tests hold
    // it to that); were it wrong, they are made again: the same answer.
    debug_assert!(bins.is_some(), "the best try's levels were dropped");
    let bins = bins.unwrap_or_else(|| bins_of(clock, chain_from));
    Some(GapPattern {
        set_aside,
        ..pattern(ds, &bins, i, j, clock, warm)
    })
}

/// The best range on the API's quiet time with the bad probes
/// [`Clock::ConnIdle`] cannot place left out ([`clock::conn_idle`]), its
/// step's edge, its levels and how many bad first probes it left out.
fn quiet_on_seen(
    input: &Input<'_>,
    bads: &[bool],
    warm: (usize, usize),
    warm_failed: usize,
    head: impl Fn(usize) -> bool,
    bad: impl Fn(usize) -> bool,
) -> Option<Found> {
    let ds = input.ds;
    let left_out: Vec<bool> = ds
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| input.explained[i] || (bads[i] && clock::conn_idle(ds, s).is_none()))
        .collect();
    let set_aside = (0..ds.samples.len())
        .filter(|&i| left_out[i] && !input.explained[i] && head(i))
        .count();
    let bins = levels(clock::points(
        ds,
        &left_out,
        Clock::Quiet,
        f64::INFINITY,
        head,
        bad,
    ));
    let range = best_range(ds, &bins, warm, warm_failed, &mut Chance::default())?;
    Some(Found {
        hi: bins[range.i].min_gap,
        range,
        bins: Some(bins),
        set_aside,
    })
}

/// A try's best range, its step's edge (the range's shortest period) and,
/// while the try may still be judged best, its levels.
struct Found {
    range: Range,
    hi: f64,
    /// Bad first probes left out of the reading (`quiet_on_seen`).
    set_aside: usize,
    bins: Option<Vec<Bin>>,
}

/// The largest chance (Fisher's exact test against the probes inside
/// bursts) at which bad periods inside a range are still read as a
/// pattern of the gap rather than errors that fall at any gap. Random
/// errors of 8–30 % under an idle sweep were read as a keep-alive race or
/// an idle timer in 4–9 of 100 set-ups without it, 0–4 with it; the
/// synthetic races and timers were named as often as before.
const CHANCE: f64 = 0.01;

/// At most this many run starts are tried as the step's edge on the time
/// since the last success: each try reads every probe again, and a
/// million stored records can hold thousands of runs of failures.
const MAX_EDGES: usize = 48;

/// Probes from which the tries of [`analyse`] are shared by two threads:
/// below, a thread costs more than it saves.
const PARALLEL_FROM: usize = 20_000;

/// `values` (sorted), or `max` of them spread evenly from the first to the
/// last when there are more.
fn spread(values: &[f64], max: usize) -> Vec<f64> {
    if values.len() <= max || max < 2 {
        return values.to_vec();
    }
    let last = values.len() - 1;
    let mut out: Vec<f64> = (0..max).map(|k| values[k * last / (max - 1)]).collect();
    out.dedup();
    out
}

/// [`fisher_greater`] of (bad, periods) inside a range against the warm
/// probes, remembered: one analysis asks for the same counts many times
/// (its cost grows with the number of periods).
#[derive(Default)]
struct Chance(std::collections::HashMap<(usize, usize), f64>);

impl Chance {
    fn of(&mut self, inside: (usize, usize), warm: (usize, usize)) -> f64 {
        *self
            .0
            .entry(inside)
            .or_insert_with(|| fisher_greater(inside.0, inside.1, warm.0, warm.1))
    }
}

/// The best bad range of levels: its bounds and contrast.
struct Range {
    score: f64,
    i: usize,
    j: usize,
    bad: usize,
}

/// Every contiguous range of levels tried as the bad one, with levels below
/// it and optionally beyond it; the one of the largest contrast that
/// qualifies (ties: more bad periods). `warm_failed` of the bad probes
/// inside bursts failed.
fn best_range(
    ds: &Dataset,
    bins: &[Bin],
    warm: (usize, usize),
    warm_failed: usize,
    chance: &mut Chance,
) -> Option<Range> {
    let sum = |r: std::ops::Range<usize>| bins[r].iter().fold((0, 0), |(b, n), x| (b + x.bad, n + x.n));
    let k = bins.len();
    let mut best: Option<Range> = None;
    for i in 1..k {
        for j in i..k {
            let inside = sum(i..j + 1);
            let below = sum(0..i);
            let beyond = sum(j + 1..k);
            let (fi, fb, fy) = (
                frac(inside.0, inside.1),
                frac(below.0, below.1),
                frac(beyond.0, beyond.1),
            );
            // One bad period followed by a good one is no pattern: not a
            // window (one period beyond is too few), and not a step.
            let enough = inside.0 >= 2
                || (inside.0 == 1
                    && bins[j].bad > 0
                    && lone_is_telling(ds, &bins[..i], &bins[i..=j], warm, warm_failed));
            let ok = enough
                && fi >= 0.5
                && below.1 >= 2
                && fb <= 0.15
                && (beyond.1 == 0 || (beyond.1 >= WINDOW_BEYOND && fy <= 0.2))
                && fi - fb.max(fy) >= 0.4;
            if !ok {
                continue;
            }
            let score = fi - fb.max(fy);
            // As many bad periods inside the range as the rate inside
            // bursts gives by chance (errors at any gap) are no pattern of
            // the gap. A lone bad period has its own test; under 10 warm
            // probes there is no rate to compare with. Tested last, only
            // for a range that would be the best so far: the test costs
            // time in the number of periods, and ranges are many.
            let mut by_chance = || inside.0 >= 2 && warm.1 >= 10 && chance.of(inside, warm) > CHANCE;
            if best
                .as_ref()
                .is_none_or(|b| score > b.score + 1e-9 || (score > b.score - 1e-9 && inside.0 > b.bad))
                && !by_chance()
            {
                best = Some(Range {
                    score,
                    i,
                    j,
                    bad: inside.0,
                });
            }
        }
    }
    best
}

/// The pattern of the bad range `i..=j` of `bins`.
fn pattern(ds: &Dataset, bins: &[Bin], i: usize, j: usize, clock: Clock, warm: (usize, usize)) -> GapPattern {
    let sum = |r: std::ops::Range<usize>| bins[r].iter().fold((0, 0), |(b, n), x| (b + x.bad, n + x.n));
    let k = bins.len();
    let bad_at: Vec<(usize, f64)> = bins[i..=j].iter().flat_map(|b| b.idx.iter().copied()).collect();
    let bad: Vec<usize> = bad_at.iter().map(|&(x, _)| x).collect();
    let failed = bad.iter().filter(|&&x| ds.samples[x].failed()).count();
    let stalls = sorted(
        bad.iter()
            .filter(|&&x| !ds.samples[x].failed())
            .map(|&x| ds.excess_ms(&ds.samples[x])),
    );
    let max_bad_ms = bad_at.iter().map(|&(_, g)| g).fold(0.0, f64::max);
    let good_after = bins[i..=j]
        .iter()
        .flat_map(|b| b.good.iter().copied())
        .filter(|&g| g > max_bad_ms)
        .collect();
    let shape = if j + 1 < k {
        Shape::Window {
            beyond_ms: bins[j + 1].min_gap,
        }
    } else {
        Shape::Step
    };
    GapPattern {
        shape,
        clock,
        lo_ms: bins[i - 1].max_gap,
        hi_ms: bins[i].min_gap,
        max_bad_ms,
        inside: sum(i..j + 1),
        below: sum(0..i),
        beyond: sum(j + 1..k),
        bad,
        bad_at,
        good_after,
        failed,
        set_aside: 0,
        stall_ms: if stalls.is_empty() {
            f64::NAN
        } else {
            median(&stalls)
        },
        warm,
    }
}

/// One bad quiet period is enough when several shorter ones were seen and
/// the path is fine when warm (a sweep often has a single gap above the
/// timer), and none of the shorter ones was bad; or, when the long one
/// failed, none of them failed and at most one in ten stalled, and at most
/// one in twenty probes inside bursts failed, whatever stalled there (up
/// to [`analyse`]'s limit): a busy client's stall does not make a reset
/// less telling (on a loaded machine the lab's speed 50 read 25–35 ms of
/// it on 4 of 43 probes inside bursts as stalls of 1–2 s).
fn lone_is_telling(
    ds: &Dataset,
    below: &[Bin],
    inside: &[Bin],
    warm: (usize, usize),
    warm_failed: usize,
) -> bool {
    let count = |bins: &[Bin]| bins.iter().fold((0, 0), |(b, n), x| (b + x.bad, n + x.n));
    let failed = |bins: &[Bin]| {
        bins.iter()
            .flat_map(|b| &b.idx)
            .filter(|&&(i, _)| ds.samples[i].failed())
            .count()
    };
    let (bad_below, seen_below) = count(below);
    let (quiet_below, warm_bad) = if failed(inside) > 0 {
        (
            failed(below) == 0 && frac(bad_below, seen_below) <= 0.1,
            warm_failed,
        )
    } else {
        (bad_below == 0, warm.0)
    };
    quiet_below && seen_below >= 4 && frac(warm_bad, warm.1) <= 0.05
}

/// Which paths a known timer stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// Any path (nginx, the host's conntrack, a NAT on the client side).
    Any,
    /// Only behind an NLB (or a path of unknown kind).
    Nlb,
    /// Only behind an ALB (or a path of unknown kind).
    Alb,
}

impl On {
    fn fits(self, kind: PathKind) -> bool {
        match self {
            On::Any => true,
            On::Nlb => matches!(kind, PathKind::Nlb | PathKind::Unknown),
            On::Alb => matches!(kind, PathKind::Alb | PathKind::Unknown),
        }
    }
}

/// The ALB's idle timer in the table below, at its default; with the
/// value read from the configuration it reads [`ALB_TIMER`].
pub const ALB_TIMER_DEFAULT: &str = "ALB idle timeout (`idle_timeout.timeout_seconds`, default)";
/// The ALB's idle timer when `--aws-config` read its value.
pub const ALB_TIMER: &str = "ALB idle timeout (`idle_timeout.timeout_seconds`)";

/// Known timers on the path (scenario ms), what they are, and on which
/// paths they stand: a finding names those of its path's kind
/// ([`matching_timers`]); all of them when the kind is unknown.
const TIMERS: [(f64, &str, On); 6] = [
    (60_000.0, "nginx upstream keepalive_timeout", On::Any),
    (super::words::ALB_IDLE_MS, ALB_TIMER_DEFAULT, On::Alb),
    (75_000.0, "nginx keepalive_timeout (default)", On::Any),
    (
        350_000.0,
        "NLB TCP idle timeout (`tcp.idle_timeout.seconds`, default)",
        On::Nlb,
    ),
    (350_000.0, "Nitro conntrack", On::Any),
    (350_000.0, "NAT gateway idle timeout (client side)", On::Any),
];

/// A timer of `timer_ms` fits a step between `lo` and `hi` (5 % either
/// side: the sweep's gaps are measured with some scheduling noise).
pub fn fits(lo_ms: f64, hi_ms: f64, timer_ms: f64) -> bool {
    lo_ms <= timer_ms * 1.05 && timer_ms * 0.95 <= hi_ms
}

/// The known timers that fit between `lo` and `hi` on a path of `kind`,
/// one line per value: `60 s: nginx upstream keepalive_timeout, ALB idle
/// timeout (…)`.
pub fn matching_timers(lo_ms: f64, hi_ms: f64, kind: PathKind) -> Vec<String> {
    let mut lines: Vec<(f64, Vec<&str>)> = Vec::new();
    for (t, name, on) in TIMERS {
        if !fits(lo_ms, hi_ms, t) || !on.fits(kind) {
            continue;
        }
        match lines.iter_mut().find(|(v, _)| *v == t) {
            Some((_, names)) => names.push(name),
            None => lines.push((t, vec![name])),
        }
    }
    lines
        .into_iter()
        .map(|(t, names)| format!("{:.0} s: {}", t / 1000.0, names.join(", ")))
        .collect()
}

#[cfg(test)]
mod load_tests;
#[cfg(test)]
mod parallel_tests;

#[cfg(test)]
mod range_tests {
    use super::*;
    use crate::diagnose::dataset::Builder;

    /// The bad range's bounds (as gaps, s) and shape, from (gap s, bad).
    fn shape(periods: &[(f64, bool)]) -> Option<(f64, f64, bool)> {
        // Probe i is period i's first probe: a 502 when the period was bad.
        let mut b = Builder::new();
        for &(_, bad) in periods {
            b.add(&crate::diagnose::dataset::Observation {
                target: "a",
                url: "http://a/",
                total_ms: 20.0,
                status: Some(if bad { 502 } else { 200 }),
                ..Default::default()
            });
        }
        let ds = b.build(1.0, None);
        let points = periods
            .iter()
            .enumerate()
            .map(|(i, &(gap, bad))| Point {
                gap: gap * 1000.0,
                bad: if bad { vec![(i, gap * 1000.0)] } else { Vec::new() },
            })
            .collect();
        let bins = levels(points);
        let r = best_range(&ds, &bins, (0, 0), 0, &mut Chance::default())?;
        Some((
            bins[r.i].min_gap / 1000.0,
            bins[r.j].max_gap / 1000.0,
            r.j + 1 < bins.len(),
        ))
    }

    #[test]
    fn many_edges_are_spread_from_the_first_to_the_last() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        let s = spread(&v, 48);
        assert_eq!((s.len(), s[0], s[47]), (48, 0.0, 999.0));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(spread(&v[..10], 48), v[..10].to_vec());
    }

    const BELOW: [(f64, bool); 4] = [(1.0, false), (3.0, false), (8.0, false), (30.0, false)];

    #[test]
    fn one_success_beyond_the_failures_does_not_make_a_window() {
        let lone = [&BELOW[..], &[(65.0, true), (80.0, true), (120.0, false)]].concat();
        assert_eq!(shape(&lone), Some((65.0, 120.0, false)), "a step through it");
        let single = [&BELOW[..], &[(65.0, true), (120.0, false)]].concat();
        assert_eq!(shape(&single), None, "one bad period, one good one beyond");
        let two = [&lone[..], &[(360.0, false)]].concat();
        assert_eq!(shape(&two), Some((65.0, 80.0, true)), "a window");
    }
}

#[cfg(test)]
mod timer_tests {
    use super::*;

    #[test]
    fn each_path_hears_of_its_own_timers_only() {
        let nlb = matching_timers(55_000.0, 65_000.0, PathKind::Nlb).join("; ");
        assert!(
            nlb.contains("nginx") && !nlb.contains("idle_timeout.timeout_seconds"),
            "{nlb}"
        );
        let alb = matching_timers(300_000.0, 400_000.0, PathKind::Alb).join("; ");
        assert!(
            alb.contains("NAT gateway") && !alb.contains("tcp.idle_timeout.seconds"),
            "{alb}"
        );
        let unknown = matching_timers(55_000.0, 400_000.0, PathKind::Unknown).join("; ");
        assert!(
            unknown.contains("idle_timeout.timeout_seconds") && unknown.contains("tcp.idle_timeout.seconds"),
            "{unknown}"
        );
        let map = matching_timers(300_000.0, 400_000.0, PathKind::CloudMap).join("; ");
        assert!(!map.contains("NLB") && map.contains("Nitro conntrack"), "{map}");
    }
}

//! The diagnosis as plain data: the JSON report (schema version 1,
//! `docs/report.schema.json`) and the series the HTML plots draw. Building
//! it is the only place that decides the verdict; renderers just write.
//!
//! Just over 500 lines: the report's types and the one function that
//! fills them read best together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::both::both;
use super::coverage::{self, Rerun, Untested};
use super::dataset::{Dataset, Sample};
use super::detect::{self, gaps::is_head};
pub use super::evidence::AwsEvidence;
use super::finding::{Cause, Finding, Severity};
use super::num::{quantile, quantiles, sorted};
use crate::probe::{IpFamily, Phase, TargetKind};

pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub v: u32,
    pub verdict: Cause,
    /// The verdict in one sentence.
    pub summary: String,
    /// What the run tested, in one line (absent from earlier reports).
    #[serde(default)]
    pub tested: String,
    /// The causes the run could not test, each with the command that would;
    /// empty when every cause was tested (absent from earlier reports).
    #[serde(default)]
    pub untested: Vec<Untested>,
    pub findings: Vec<Finding>,
    pub targets: Vec<TargetReport>,
    pub idle_sweep: Vec<SweepRow>,
    pub aws: AwsEvidence,
    pub source: SourceInfo,
    /// What could not be tested, and other caveats.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    pub name: String,
    pub url: String,
    pub kind: String,
    pub probes: usize,
    pub errors: usize,
    pub total_ms: Quantiles,
    /// dns, connect, tls, send, ttfb, body (phases that happened at least
    /// once), keyed by [`Phase`] so that every format lists them in the
    /// order a request goes through them, not alphabetically.
    pub phases_ms: BTreeMap<Phase, Quantiles>,
    /// A target probed over both IPv4 and IPv6: the same numbers per family.
    /// Absent when its probes went over one family (and from earlier reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<FamilyReport>,
    /// What stands behind the gateway for this target and how that was
    /// learned. Absent when unknown (and from earlier reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<crate::diagnose::TargetPath>,
}

/// A dual-stack target's probes over one IP family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyReport {
    pub family: IpFamily,
    pub probes: usize,
    pub errors: usize,
    pub total_ms: Quantiles,
    pub phases_ms: BTreeMap<Phase, Quantiles>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Quantiles {
    fn of(values: impl IntoIterator<Item = f64>) -> Option<Quantiles> {
        let r = round_us;
        let q = quantiles(values, &[0.5, 0.9, 0.99, 1.0]);
        (!q[0].is_nan()).then(|| Quantiles {
            p50: r(q[0]),
            p90: r(q[1]),
            p99: r(q[2]),
            max: r(q[3]),
        })
    }
}

/// The first probes after one quiet gap length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub gap_ms: f64,
    pub probes: usize,
    pub slow: usize,
    pub p50_ms: f64,
    /// Each probe's latency, ascending, when there are fewer than
    /// [`FEW_PROBES`]: the median of one fast and one slow probe is a time
    /// no request took, so renderers show these instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_ms: Option<Vec<f64>>,
}

/// Below this many probes a sweep row lists their latencies, not a median.
pub const FEW_PROBES: usize = 3;

/// Where the records came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `quick`, `idle-sweep` or `records`.
    pub mode: String,
    pub lab: Option<String>,
    /// Scenario time ÷ real time (the lab's speed; 1 elsewhere).
    pub time_scale: f64,
    pub probes: usize,
    pub started: Option<String>,
    pub duration_s: f64,
    pub files: Vec<String>,
    pub unreadable_lines: u64,
    /// Probes slower than this counted as slow (`--slow`), when set.
    pub slow_ms: Option<f64>,
}

/// A probe on the latency-over-time plot: (seconds since start, total ms, bad).
pub type TimePoint = (f64, f64, bool);

/// What the HTML plots draw, bounded in size whatever the number of probes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plots {
    /// Per target: its name and (seconds since start, total ms, bad).
    pub over_time: Vec<(String, Vec<TimePoint>)>,
    /// First probes after a quiet gap: (gap ms, total ms, bad, target index).
    pub vs_gap: Vec<(f64, f64, bool, u16)>,
    /// Per target and phase: counts in log-spaced bins of `PHASE_BINS`.
    pub phases: Vec<(String, Phase, Vec<u64>)>,
}

/// Bin edges (ms) of the phase distributions: 0.1 ms to ~100 s, ×2 a step.
pub fn phase_bin_edges() -> Vec<f64> {
    (0..21).map(|k| 0.1 * 2f64.powi(k)).collect()
}

/// Points kept per plotted series.
const MAX_POINTS: usize = 4000;

/// How a diagnosis was run, for the report's `source`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub mode: String,
    pub lab: Option<String>,
    pub files: Vec<String>,
    pub unreadable_lines: u64,
    /// The sweep's gaps (scenario ms), to group its rows by.
    pub sweep_gaps_ms: Vec<f64>,
    /// The plan was stopped (Ctrl-C, SIGTERM) before it finished.
    pub interrupted: bool,
    /// X-Ray's evidence (`--xray`): for the detectors, and `aws.xray`.
    pub xray: Option<super::xray::XrayEvidence>,
    /// CloudWatch's evidence (`--cloudwatch`): for the detectors, and `aws.cloudwatch`.
    pub cloudwatch: Option<super::cloudwatch::CloudWatchEvidence>,
    /// The path's configuration (`--aws-config`): for the findings, and `aws.config`.
    pub config: Option<crate::aws::path::PathConfig>,
    /// How to probe the same targets again: what the untested causes'
    /// commands are made of.
    pub rerun: Option<Rerun>,
    /// What the plan decided on its way (stopped early, dropped a target).
    pub plan_notes: Vec<String>,
}

/// Detect, decide, and lay out the report.
pub fn diagnose(ds: &Dataset, ctx: &Context) -> (Report, Plots) {
    let aws = AwsEvidence {
        xray: ctx.xray.clone(),
        cloudwatch: ctx.cloudwatch.clone(),
        config: ctx.config.clone(),
    };
    // The detectors (most of this work: 0.37 of 0.50 G instructions on
    // the synthetic 100 000) run on a second core while this thread lays
    // out everything that does not depend on their findings. All of it
    // reads the dataset only, so the report is the same either way.
    let (mut findings, (mut untested, tested, targets, idle_sweep, plots, ds_notes)) = both(
        || detect::run_all(ds, &aws),
        || {
            let rerun = ctx.rerun.clone().unwrap_or_else(|| rerun_from(ds));
            let untested: Vec<Untested> = coverage::gaps(ds).iter().map(|g| rerun.untested(g)).collect();
            (
                untested,
                coverage::tested(ds),
                target_reports(ds),
                sweep_rows(ds, &ctx.sweep_gaps_ms),
                plots(ds),
                notes(ds),
            )
        },
    );
    if let Some(config) = &aws.config {
        super::configured::join(&mut findings, config);
    }
    // A cause a finding raised was found: "not tested" beside it would
    // contradict the verdict.
    untested.retain(|u| !coverage::found(u.cause, &findings));
    let top = findings.iter().find(|f| f.severity >= Severity::Warning);
    // No probe at all (a run stopped before its first one) tested nothing,
    // whatever the coverage of an empty dataset says.
    let probed = !ds.samples.is_empty();
    let verdict = match top {
        Some(f) => f.cause,
        None if untested.is_empty() && probed => Cause::Healthy,
        None => Cause::Inconclusive,
    };
    let summary = match top {
        Some(f) => format!("{}: {}. {}.", verdict, f.cause.headline(), f.title),
        None if !probed => {
            "inconclusive: no probe to judge by (the run was stopped before its first probe)."
                .to_string()
        }
        None if untested.is_empty() => format!(
            "healthy: nothing stands out across {} probes to {} target(s), and every cause was tested.",
            ds.samples.len(),
            ds.targets.len()
        ),
        None => format!(
            "inconclusive: nothing stands out across {} probes to {} target(s), but {} could not be tested (below: why, and the command that tests {}).",
            ds.samples.len(),
            ds.targets.len(),
            causes(&untested),
            if untested.len() == 1 { "it" } else { "them" }
        ),
    };
    let report = Report {
        v: REPORT_VERSION,
        verdict,
        summary,
        tested,
        untested,
        findings,
        targets,
        idle_sweep,
        aws,
        source: SourceInfo {
            mode: ctx.mode.clone(),
            lab: ctx.lab.clone(),
            time_scale: ds.scale,
            probes: ds.samples.len(),
            started: ds.t0.map(crate::probe::clock::format_rfc3339),
            duration_s: (ds.samples.iter().map(|s| s.end_s).fold(0.0, f64::max) / ds.scale * 1000.0).round()
                / 1000.0,
            files: ctx.files.clone(),
            unreadable_lines: ctx.unreadable_lines,
            slow_ms: ds.slow_override_ms,
        },
        notes: {
            let mut n = ctx.plan_notes.clone();
            n.extend(ds_notes);
            if ctx.interrupted {
                n.insert(
                    0,
                    "the plan was interrupted: this diagnosis covers the probes sent until then".into(),
                );
            }
            n
        },
    };
    (report, plots)
}

/// `idle-timeout, keepalive-race and edge`.
fn causes(untested: &[Untested]) -> String {
    let ids: Vec<&str> = untested.iter().map(|u| u.cause.as_str()).collect();
    match ids.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Stored records say nothing of how they were probed: name their URLs.
fn rerun_from(ds: &Dataset) -> Rerun {
    let urls: Vec<&str> = ds.targets.iter().map(|t| t.url.as_str()).collect();
    Rerun {
        command: format!("coldlink diagnose {}", urls.join(" ")),
        scale: ds.scale,
        default_sweep: coverage::DEFAULT_SWEEP.to_vec(),
        probes: coverage::DEFAULT_PROBES,
        profile: false,
    }
}

fn kind_name(k: TargetKind) -> &'static str {
    match k {
        TargetKind::ExecuteApi => "execute-api",
        TargetKind::CustomDomain => "custom-domain",
        TargetKind::Other => "other",
    }
}

fn target_reports(ds: &Dataset) -> Vec<TargetReport> {
    let families = ds.families();
    ds.targets
        .iter()
        .enumerate()
        .map(|(t, info)| {
            let of: Vec<&Sample> = ds.of_target(t as u16).map(|(_, s)| s).collect();
            let whole = Numbers::of(&of);
            let split = if families[t] == [true, true] {
                [IpFamily::Ipv4, IpFamily::Ipv6]
                    .map(|family| {
                        let mine: Vec<&Sample> =
                            of.iter().copied().filter(|s| s.family == Some(family)).collect();
                        let n = Numbers::of(&mine);
                        FamilyReport {
                            family,
                            probes: n.probes,
                            errors: n.errors,
                            total_ms: n.total_ms,
                            phases_ms: n.phases_ms,
                        }
                    })
                    .to_vec()
            } else {
                Vec::new()
            };
            TargetReport {
                name: info.name.clone(),
                url: info.url.clone(),
                kind: kind_name(info.kind).into(),
                probes: whole.probes,
                errors: whole.errors,
                total_ms: whole.total_ms,
                phases_ms: whole.phases_ms,
                families: split,
                path: ds.paths.get(t).filter(|p| p.is_known()).cloned(),
            }
        })
        .collect()
}

/// Counts and quantiles of some probes: a target's, or one family's of it.
struct Numbers {
    probes: usize,
    errors: usize,
    total_ms: Quantiles,
    phases_ms: BTreeMap<Phase, Quantiles>,
}

impl Numbers {
    fn of(of: &[&Sample]) -> Numbers {
        let mut phases = BTreeMap::new();
        for &p in Phase::NETWORK {
            if let Some(q) = Quantiles::of(of.iter().filter_map(|s| s.phase(p))) {
                phases.insert(p, q);
            }
        }
        Numbers {
            probes: of.len(),
            errors: of.iter().filter(|s| s.failed()).count(),
            total_ms: Quantiles::of(of.iter().map(|s| s.total_ms)).unwrap_or(Quantiles {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                max: 0.0,
            }),
            phases_ms: phases,
        }
    }
}

/// First probes after each planned quiet gap (within ±25 % of it); from
/// stored records, after gaps grouped in bins (×1.5) from 100 ms up.
fn sweep_rows(ds: &Dataset, nominal: &[f64]) -> Vec<SweepRow> {
    let mut groups: BTreeMap<i64, (Vec<f64>, Vec<f64>, usize)> = BTreeMap::new();
    for s in ds.samples.iter().filter(|s| is_head(ds, s)) {
        let g = s.session_gap_ms;
        let key = if nominal.is_empty() {
            if g < 100.0 {
                continue;
            }
            (g.ln() / 1.5f64.ln()).floor() as i64
        } else {
            let nearest = nominal
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0.0 && (g - n).abs() <= 0.25 * n)
                .min_by(|a, b| (a.1 - g).abs().total_cmp(&(b.1 - g).abs()));
            match nearest {
                Some((k, _)) => k as i64,
                None => continue,
            }
        };
        let e = groups.entry(key).or_default();
        e.0.push(g);
        e.1.push(s.total_ms);
        e.2 += ds.is_bad(s) as usize;
    }
    let mut rows: Vec<SweepRow> = groups
        .into_iter()
        .map(|(key, (gaps, totals, slow))| {
            let totals: Vec<f64> = sorted(totals).into_iter().map(round_us).collect();
            SweepRow {
                gap_ms: if nominal.is_empty() {
                    quantile(&sorted(gaps.iter().copied()), 0.5).round()
                } else {
                    nominal[key as usize]
                },
                probes: totals.len(),
                slow,
                p50_ms: round_us(quantile(&totals, 0.5)),
                values_ms: (totals.len() < FEW_PROBES).then(|| totals.clone()),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.gap_ms.total_cmp(&b.gap_ms));
    rows
}

/// Milliseconds rounded to the microsecond, as the records write them.
fn round_us(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn notes(ds: &Dataset) -> Vec<String> {
    let mut notes = Vec::new();
    if ds.samples.is_empty() {
        notes.push("no probes: nothing to diagnose".into());
        return notes;
    }
    if !ds.samples.iter().any(|s| s.reused) {
        notes.push("no probe reused a connection: warm-path latency was not measured".into());
    }
    notes.extend(super::delayed_ack::remarks(ds));
    for (t, info) in ds.targets.iter().enumerate() {
        if ds.target_streams(t as u16) {
            notes.push(format!(
                "target {} streams its responses: judged by the time before the body",
                info.name
            ));
        }
    }
    if ds.scale != 1.0 {
        notes.push(format!(
            "lab time: durations are shown {}× longer than measured, as the scenario defines them",
            ds.scale
        ));
    }
    notes
}

fn plots(ds: &Dataset) -> Plots {
    let mut over_time = Vec::new();
    for (t, info) in ds.targets.iter().enumerate() {
        let pts: Vec<(f64, f64, bool)> = ds
            .of_target(t as u16)
            .map(|(_, s)| (s.start_s, s.total_ms, ds.is_bad(s)))
            .collect();
        over_time.push((info.name.clone(), thin(pts, |p| p.2)));
    }
    let heads: Vec<(f64, f64, bool, u16)> = ds
        .samples
        .iter()
        .filter(|s| is_head(ds, s))
        .map(|s| (s.session_gap_ms, s.total_ms, ds.is_bad(s), s.target))
        .collect();
    let edges = phase_bin_edges();
    let mut phases = Vec::new();
    for (t, info) in ds.targets.iter().enumerate() {
        for p in [Phase::Dns, Phase::Connect, Phase::Tls, Phase::Ttfb, Phase::Body] {
            let mut counts = vec![0u64; edges.len()];
            let mut any = false;
            for (_, s) in ds.of_target(t as u16) {
                if let Some(v) = s.phase(p) {
                    any = true;
                    let k = edges.iter().rposition(|&e| v >= e).unwrap_or(0);
                    counts[k] += 1;
                }
            }
            if any {
                phases.push((info.name.clone(), p, counts));
            }
        }
    }
    Plots {
        over_time,
        vs_gap: thin(heads, |p| p.2),
        phases,
    }
}

/// At most `MAX_POINTS`: every bad point (up to half the budget) and an even
/// stride of the rest.
fn thin<T: Clone>(points: Vec<T>, bad: impl Fn(&T) -> bool) -> Vec<T> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let stride = points.len().div_ceil(MAX_POINTS / 2);
    let mut bad_left = MAX_POINTS / 2;
    points
        .into_iter()
        .enumerate()
        .filter(|(i, p)| {
            if bad(p) && bad_left > 0 {
                bad_left -= 1;
                true
            } else {
                i % stride == 0
            }
        })
        .map(|(_, p)| p)
        .collect()
}

impl Report {
    /// `Problem` when any finding is a warning or worse.
    pub fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::problem_if(self.findings.iter().any(|f| f.severity >= Severity::Warning))
    }
}

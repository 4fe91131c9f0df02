//! Vantage points apart. Records read together (`diagnose --from` over
//! files from several machines) may come from several places: AZs,
//! regions, inside and outside a VPC. A fault seen from one of them only
//! is on that place's own way to the API (its subnet's route or NAT, its
//! resolver, its zone's NLB node), not in the API, and the report says so.
//!
//! Each finding's probes (those its detections account for) are counted
//! per vantage point, among the probes of its targets that could show it
//! (`family::can_show`). A finding is called one vantage point's alone
//! when that point's share is beyond chance against the others' together
//! and against each other point with enough probes to say, each held to
//! "slow or failed at all" (one-sided Fisher's exact test, as the IP
//! families are): a point with few probes is never blamed by luck, and a
//! point with few probes does not clear the others either.
//!
//! With records from one vantage point (or none named), nothing here runs
//! and the findings are exactly the detectors'.

use super::family::{can_show, lower_first, noun, p_value, BEYOND_CHANCE};
use super::{percent, Detection};
use crate::diagnose::dataset::Dataset;
use crate::diagnose::finding::Finding;
use crate::diagnose::num::fisher_greater;

/// A vantage point with fewer probes that could show a finding is too
/// small to be compared by itself: it counts only within the others taken
/// together, it is not enough alone to clear the one that shows it, and
/// if it shows the finding too, no point is named.
const ENOUGH: usize = 10;

/// The findings, each compared across the vantage points the records
/// name; unchanged when they name fewer than two.
pub(super) fn compare(ds: &Dataset, found: Vec<Detection>) -> Vec<Finding> {
    if ds.vantages.len() < 2 {
        return found.into_iter().map(|d| d.finding).collect();
    }
    found.into_iter().map(|d| compared(ds, d)).collect()
}

/// One vantage point's probes that could show a finding.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// Accounted for by the finding.
    seen: usize,
    /// That, or slow or failed by the target's baseline.
    bad: usize,
    /// Could show it.
    n: usize,
}

fn compared(ds: &Dataset, d: Detection) -> Finding {
    let Detection {
        mut finding,
        explains,
    } = d;
    if explains.is_empty() || finding.from.is_some() {
        // A comparison of targets, or the configuration's word: no probe
        // to count.
        return finding;
    }
    let tally = tally(ds, &finding, &explains);
    let present: Vec<usize> = (0..tally.len()).filter(|&v| tally[v].n > 0).collect();
    if present.len() < 2 {
        return finding;
    }
    let what = noun(finding.cause);
    let listed = |skip: Option<usize>, of: fn(&Tally) -> usize| {
        present
            .iter()
            .filter(|&&v| Some(v) != skip)
            .map(|&v| format!("{} {}/{}", ds.vantages[v], of(&tally[v]), tally[v].n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match only_from(&tally, &present) {
        Some(Alone { vantage, p }) => {
            let name = &ds.vantages[vantage];
            let t = tally[vantage];
            let (bad, n) = present
                .iter()
                .filter(|&&v| v != vantage)
                .fold((0, 0), |(b, n), &v| (b + tally[v].bad, n + tally[v].n));
            finding.title = format!("Only from {name}: {}", lower_first(&finding.title));
            finding.evidence.insert(
                0,
                format!(
                    "seen only from {name}: {}/{} ({}) of its {what}, while {bad}/{n} ({}) of the other vantage points' ({}) were slow or failed at all; beyond chance (one-sided Fisher's exact test {})",
                    t.seen,
                    t.n,
                    percent(t.seen, t.n),
                    percent(bad, n),
                    listed(Some(vantage), |t| t.bad),
                    p_value(p)
                ),
            );
            finding.fix.insert(
                0,
                format!(
                    "Only `{name}` sees it: look at the path from there first (its zone or region, its subnet's route table and NAT gateway, its resolver, a proxy or firewall of its own, the load balancer's node in its zone) before the API: from the other vantage points the same targets answer well."
                ),
            );
            finding.vantage = Some(name.clone());
        }
        None => {
            finding.evidence.push(format!(
                "from each vantage point, of its {what}: {}",
                listed(None, |t| t.seen)
            ));
        }
    }
    finding
}

/// Per vantage point (as [`Dataset::vantages`]), the finding's targets'
/// probes that could show it.
fn tally(ds: &Dataset, finding: &Finding, explains: &[usize]) -> Vec<Tally> {
    let of_finding: Vec<bool> = ds
        .targets
        .iter()
        .map(|t| finding.targets.contains(&t.name))
        .collect();
    let mut seen = vec![false; ds.samples.len()];
    for &i in explains {
        seen[i] = true;
    }
    let mut tally = vec![Tally::default(); ds.vantages.len()];
    for (i, s) in ds.samples.iter().enumerate() {
        let Some(v) = ds.vantage(i) else { continue };
        if !of_finding[s.target as usize] || !can_show(ds, finding.cause, s) {
            continue;
        }
        let t = &mut tally[v.index()];
        t.n += 1;
        t.seen += usize::from(seen[i]);
        t.bad += usize::from(seen[i] || ds.is_bad(s));
    }
    tally
}

/// The one vantage point a finding is seen from, and the test's p-value
/// (the largest of the comparisons it passed).
#[derive(Debug, PartialEq)]
struct Alone {
    vantage: usize,
    p: f64,
}

/// The vantage point with the largest share of the finding's probes, when
/// that share is beyond chance against the others together and against
/// each other one with [`ENOUGH`] probes; at least one must have that
/// many, and none with fewer may show it too.
fn only_from(tally: &[Tally], present: &[usize]) -> Option<Alone> {
    let share = |v: usize| tally[v].seen as f64 / tally[v].n as f64;
    let v = *present.iter().max_by(|&&a, &&b| share(a).total_cmp(&share(b)))?;
    let t = tally[v];
    let others: Vec<Tally> = present.iter().filter(|&&w| w != v).map(|&w| tally[w]).collect();
    let (big, small): (Vec<Tally>, Vec<Tally>) = others.iter().partition(|w| w.n >= ENOUGH);
    if t.seen == 0 || big.is_empty() || small.iter().any(|w| w.seen > 0) {
        return None;
    }
    let rest = others.iter().fold(Tally::default(), |a, w| Tally {
        seen: a.seen + w.seen,
        bad: a.bad + w.bad,
        n: a.n + w.n,
    });
    let p = big
        .iter()
        .chain(std::iter::once(&rest))
        .map(|w| fisher_greater(t.seen, t.n, w.bad, w.n))
        .fold(0.0, f64::max);
    (p < BEYOND_CHANCE).then_some(Alone { vantage: v, p })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seen: usize, bad: usize, n: usize) -> Tally {
        Tally { seen, bad, n }
    }

    #[test]
    fn one_vantage_point_is_named_only_beyond_chance() {
        let all = [0, 1, 2];
        // 12 of 40 from a, the others clean: a's alone.
        let a = only_from(&[t(12, 12, 40), t(0, 0, 40), t(0, 1, 40)], &all).unwrap();
        assert_eq!(a.vantage, 0);
        assert!(a.p < BEYOND_CHANCE);
        // 4 of 20 against none of 20: luck does that one run in twenty.
        assert_eq!(only_from(&[t(4, 4, 20), t(0, 0, 20)], &[0, 1]), None);
        // Every vantage point sees it.
        assert_eq!(only_from(&[t(12, 12, 40), t(10, 10, 40)], &[0, 1]), None);
        // The one other point has too few probes to call it clean.
        assert_eq!(only_from(&[t(12, 12, 40), t(0, 0, 5)], &[0, 1]), None);
        // A small point that shows it too: not one point's alone.
        assert_eq!(only_from(&[t(12, 12, 40), t(0, 0, 40), t(2, 2, 5)], &all), None);
        // A small clean point does not stop it.
        assert!(only_from(&[t(12, 12, 40), t(0, 0, 40), t(0, 0, 5)], &all).is_some());
        // The others are slow or failing anyway (though no detector says so).
        assert_eq!(only_from(&[t(12, 12, 40), t(0, 10, 40)], &[0, 1]), None);
    }
}

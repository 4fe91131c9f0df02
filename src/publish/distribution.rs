//! One interval's latencies of one series as CloudWatch wants a
//! distribution: distinct `Values` with their `Counts`, at most a fixed
//! number of them (150 for `PutMetricData`, 100 for an EMF line).
//!
//! The source is an HDR histogram at two significant digits: every sample
//! is counted in a bucket at most 1/128 (0.8 %) of its value wide, and
//! stands for the bucket's middle, so it moves by at most 0.4 %. When the
//! interval has more distinct buckets than the limit, neighbouring buckets
//! are merged, smallest relative spread first: each group of buckets
//! becomes one value, its count-weighted mean (so the sum is kept), and
//! the widest group spans at most `merge_spread` (relative) — the
//! returned bound. A percentile read from the result is within
//! `(1 + 0.004) × (1 + merge_spread) − 1` of the exact one.

use hdrhistogram::Histogram;

/// Largest latency counted, in microseconds (120 s, like `stats`); above
/// it a sample is counted at 120 s.
const HIGHEST_US: u64 = 120_000_000;
/// Two significant digits: a bucket is at most 1/128 of its value wide.
const SIGFIG: u8 = 2;
/// A value stands for its bucket's middle: half a bucket's relative width.
pub const BUCKET_ERROR: f64 = 1.0 / 256.0;

/// Latencies of one interval, in milliseconds.
#[derive(Debug, Clone)]
pub struct Latencies {
    hist: Histogram<u32>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            hist: Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG).expect("constant bounds are valid"),
        }
    }
}

/// Values and counts, at most the limit asked for, in increasing order.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// Milliseconds.
    pub values: Vec<f64>,
    pub counts: Vec<f64>,
    /// The widest merged group's spread, `max / min − 1` of the buckets it
    /// took in (0 when nothing was merged): the error merging added.
    pub merge_spread: f64,
    pub min: f64,
    pub max: f64,
}

impl Distribution {
    pub fn sample_count(&self) -> f64 {
        self.counts.iter().sum()
    }

    pub fn sum(&self) -> f64 {
        self.values.iter().zip(&self.counts).map(|(v, c)| v * c).sum()
    }

    /// The bound on a percentile's relative error, HDR's and merging's.
    pub fn error_bound(&self) -> f64 {
        (1.0 + BUCKET_ERROR) * (1.0 + self.merge_spread) - 1.0
    }
}

impl Latencies {
    pub fn record_ms(&mut self, ms: f64) {
        // Microseconds; NaN and negatives become 0 (the cast saturates).
        let us = (ms * 1000.0).round() as u64;
        self.hist.saturating_record(us.min(HIGHEST_US));
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at quantile `q` (0–1), in milliseconds, as HDR says.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// At most `limit` (≥ 1) values; `None` when nothing was recorded.
    pub fn distribution(&self, limit: usize) -> Option<Distribution> {
        if self.hist.is_empty() {
            return None;
        }
        let buckets: Vec<(f64, f64)> = self
            .hist
            .iter_recorded()
            .map(|v| {
                let us = self.hist.median_equivalent(v.value_iterated_to());
                (us as f64 / 1000.0, v.count_at_value() as f64)
            })
            .collect();
        let (groups, merge_spread) = merge(&buckets, limit.max(1));
        Some(Distribution {
            values: groups.iter().map(|g| g.0).collect(),
            counts: groups.iter().map(|g| g.1).collect(),
            merge_spread,
            min: self.hist.min() as f64 / 1000.0,
            max: self.hist.max() as f64 / 1000.0,
        })
    }
}

/// Merge sorted `(value, count)` buckets into at most `limit` groups, the
/// widest group's spread as small as a bisection finds; each group is its
/// count-weighted mean. Returns the groups and the spread used.
fn merge(buckets: &[(f64, f64)], limit: usize) -> (Vec<(f64, f64)>, f64) {
    if buckets.len() <= limit {
        return (buckets.to_vec(), 0.0);
    }
    // Groups needed at spread `s` never grow as `s` does: bisect on it.
    // Past a spread of the whole range everything is one group.
    // A bucket at 0 ms is a group of its own whatever the spread.
    let first = buckets.iter().map(|b| b.0).find(|v| *v > 0.0).unwrap_or(0.0);
    let whole = spread(first, buckets[buckets.len() - 1].0);
    let (mut lo, mut hi) = (0.0_f64, whole);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if groups_at(buckets, mid).len() <= limit {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let groups = groups_at(buckets, hi);
    // The spread actually reached, which may be below `hi`.
    let reached = groups.iter().map(|g| g.2).fold(0.0, f64::max);
    (groups.into_iter().map(|(v, c, _)| (v, c)).collect(), reached)
}

/// `hi / lo − 1`; a group starting at 0 spans whatever it takes in.
fn spread(lo: f64, hi: f64) -> f64 {
    if lo <= 0.0 {
        if hi <= 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        hi / lo - 1.0
    }
}

/// Greedy: a group takes buckets while its spread stays within `s`.
/// (weighted mean, count, spread) per group.
fn groups_at(buckets: &[(f64, f64)], s: f64) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < buckets.len() {
        let first = buckets[i].0;
        let (mut sum, mut count, mut last) = (0.0, 0.0, first);
        while i < buckets.len() && spread(first, buckets[i].0) <= s {
            sum += buckets[i].0 * buckets[i].1;
            count += buckets[i].1;
            last = buckets[i].0;
            i += 1;
        }
        out.push((sum / count, count, spread(first, last)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact value at quantile `q` of `values`, sorted.
    fn exact(sorted: &[f64], q: f64) -> f64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    /// The value at quantile `q` of a values/counts distribution, as
    /// CloudWatch reads one: the smallest value whose cumulative count
    /// reaches the rank.
    fn from_distribution(d: &Distribution, q: f64) -> f64 {
        let total = d.sample_count();
        let rank = (q * total).ceil().max(1.0);
        let mut seen = 0.0;
        for (v, c) in d.values.iter().zip(&d.counts) {
            seen += c;
            if seen >= rank {
                return *v;
            }
        }
        *d.values.last().unwrap()
    }

    #[test]
    fn few_values_stay_as_they_are_within_the_bucket_error() {
        let mut l = Latencies::default();
        for ms in [1.0, 1.0, 2.5, 40.0, 40.0, 40.0] {
            l.record_ms(ms);
        }
        let d = l.distribution(150).unwrap();
        assert_eq!(d.counts, vec![2.0, 1.0, 3.0]);
        assert_eq!(d.merge_spread, 0.0);
        for (got, want) in d.values.iter().zip([1.0, 2.5, 40.0]) {
            assert!((got / want - 1.0).abs() <= BUCKET_ERROR, "{got} vs {want}");
        }
        assert_eq!(d.sample_count(), 6.0);
    }

    #[test]
    fn many_values_are_merged_to_the_limit_with_percentiles_within_the_stated_bound() {
        let mut l = Latencies::default();
        let mut all = Vec::new();
        // A spread from 0.2 ms to 30 s: thousands of distinct buckets.
        let mut x = 0.2_f64;
        while x < 30_000.0 {
            l.record_ms(x);
            all.push(x);
            x *= 1.003;
        }
        all.sort_by(f64::total_cmp);
        for limit in [150, 100, 10] {
            let d = l.distribution(limit).unwrap();
            assert!(d.values.len() <= limit, "{} values", d.values.len());
            assert!(d.merge_spread > 0.0);
            assert_eq!(d.sample_count(), all.len() as f64, "no sample lost");
            assert!(d.values.windows(2).all(|w| w[0] < w[1]), "increasing");
            let bound = d.error_bound();
            for q in [0.5, 0.9, 0.99, 0.999] {
                let (got, want) = (from_distribution(&d, q), exact(&all, q));
                assert!(
                    (got / want - 1.0).abs() <= bound + 1e-9,
                    "limit {limit} q {q}: {got} vs {want}, bound {bound}"
                );
            }
        }
        // 150 values over five decades: about 8 % a group, well under 10 %.
        assert!(l.distribution(150).unwrap().error_bound() < 0.10);
    }

    #[test]
    fn merging_keeps_the_sum() {
        let buckets: Vec<(f64, f64)> = (1..=400).map(|i| (i as f64, (i % 7 + 1) as f64)).collect();
        let (groups, _) = merge(&buckets, 150);
        let before: f64 = buckets.iter().map(|(v, c)| v * c).sum();
        let after: f64 = groups.iter().map(|(v, c)| v * c).sum();
        assert!((before - after).abs() < 1e-6 * before);
        assert!(groups.len() <= 150);
    }

    #[test]
    fn zero_and_huge_latencies_are_counted() {
        let mut l = Latencies::default();
        l.record_ms(0.0);
        l.record_ms(1e9);
        let d = l.distribution(150).unwrap();
        assert_eq!(d.sample_count(), 2.0);
        assert_eq!(d.min, 0.0);
        assert!(d.max >= 119_000.0);
    }
}

//! Small order statistics over `f64` samples. NaN never enters: callers
//! filter missing values before sorting.

/// Sort a copy of the values (NaN-free) ascending.
pub fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// The `q` quantile (0–1) of sorted values, linearly interpolated; NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Several quantiles of unsorted values without sorting them all: each is
/// a selection, O(n), which on a million probes is what keeps a diagnosis
/// of stored records fast. Same interpolation as [`quantile`].
///
/// The ranks are selected from the middle one out, each inside the part
/// the earlier selections left it in (a selection leaves every smaller
/// value before its rank and every larger one after): the p99 after the
/// p50 looks at half the values, not all of them. The value of a rank
/// under `total_cmp` is one bit pattern, so the answer does not depend on
/// the order the ranks are taken in.
pub fn quantiles(values: impl IntoIterator<Item = f64>, qs: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return vec![f64::NAN; qs.len()];
    }
    let pos = |q: f64| q.clamp(0.0, 1.0) * (n - 1) as f64;
    // The distinct ranks asked for, ascending (a NaN `q` is rank 0).
    let mut ranks: Vec<usize> = qs.iter().map(|&q| pos(q).floor() as usize).collect();
    ranks.sort_unstable();
    ranks.dedup();
    select_ranks(&mut v, 0, &ranks);
    qs.iter()
        .map(|&q| {
            let pos = pos(q);
            let lo = pos.floor() as usize;
            let at = v[lo];
            if pos > lo as f64 && lo + 1 < n {
                // The next rank up: the smallest value after `lo`, which
                // is in place if it was asked for, and otherwise the least
                // of the values up to the next rank that was.
                let to = ranks.iter().copied().find(|&r| r > lo).map_or(n, |r| r + 1);
                let next = v[lo + 1..to]
                    .iter()
                    .copied()
                    .min_by(f64::total_cmp)
                    .expect("lo + 1 < to");
                at + (next - at) * (pos - lo as f64)
            } else {
                at
            }
        })
        .collect()
}

/// Put each of `ranks` (ascending, relative to the whole slice; `v` starts
/// at rank `from`) in its place, the middle one first.
fn select_ranks(v: &mut [f64], from: usize, ranks: &[usize]) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let at = ranks[mid] - from;
    v.select_nth_unstable_by(at, f64::total_cmp);
    let (below, rest) = v.split_at_mut(at);
    select_ranks(below, from, &ranks[..mid]);
    select_ranks(&mut rest[1..], ranks[mid] + 1, &ranks[mid + 1..]);
}

pub fn median(sorted: &[f64]) -> f64 {
    quantile(sorted, 0.5)
}

/// Fraction `part / whole`, 0 when `whole` is 0.
pub fn frac(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Fisher's exact test, one-sided: the chance of `a` or more failures out of
/// `n1` in the first group when the `a + b` failures of both groups (`n1`
/// and `n2` requests) fell at random, as they would if both had one failure
/// rate. Small: the first group really fails more often.
pub fn fisher_greater(a: usize, n1: usize, b: usize, n2: usize) -> f64 {
    let (n, k) = (n1 + n2, a + b);
    let ln_choose =
        |n: usize, k: usize| -> f64 { (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum() };
    let top = k.min(n1);
    if a > top {
        return 0.0;
    }
    // P(X = a) of the hypergeometric, then each next term by its ratio.
    let mut pmf = (ln_choose(k, a) + ln_choose(n - k, n1 - a) - ln_choose(n, n1)).exp();
    let mut p = 0.0;
    for x in a..=top {
        p += pmf;
        if x < top {
            // n − k − n1 + x + 1 in floats: it is n2 − (a + b) + x + 1, which
            // is at least 1 but whose first terms alone may go below zero.
            let denominator = (x + 1) as f64 * (n2 as f64 - k as f64 + x as f64 + 1.0);
            pmf *= ((k - x) * (n1 - x)) as f64 / denominator;
        }
    }
    p.min(1.0)
}

/// Coefficient of variation (standard deviation / mean); 0 for fewer than two values.
pub fn cv(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return 0.0;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    var.sqrt() / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_matches_the_tea_tasting_table() {
        // Fisher's lady tasting tea: 3 of 4 right against 1 of 4: 17/70.
        assert!((fisher_greater(3, 4, 1, 4) - 17.0 / 70.0).abs() < 1e-12);
        // 2 of 5 failed against 0 of 5: C(8,3)/C(10,5) = 56/252.
        assert!((fisher_greater(2, 5, 0, 5) - 56.0 / 252.0).abs() < 1e-12);
        assert!((fisher_greater(0, 5, 0, 5) - 1.0).abs() < 1e-12);
        assert!(fisher_greater(20, 25, 0, 25) < 1e-6);
        assert!(fisher_greater(10, 50, 10, 50) > 0.5);
        // More failures than the second group has requests (issue 15: a lab
        // `errors` run panicked on an unsigned underflow here).
        assert!((fisher_greater(5, 5, 5, 5) - 1.0).abs() < 1e-12);
        assert!((fisher_greater(4, 5, 3, 3) - 1.0).abs() < 1e-12);
        // C(7,5)·C(3,0)/C(10,5) = 21/252.
        assert!((fisher_greater(5, 5, 2, 5) - 21.0 / 252.0).abs() < 1e-12);
    }

    #[test]
    fn quantiles_interpolate() {
        let v = sorted([4.0, 1.0, 3.0, 2.0, f64::NAN]);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(median(&v), 2.5);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn selected_quantiles_match_sorted_ones() {
        let values: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 / 3.0).collect();
        let s = sorted(values.clone());
        let qs = [0.0, 0.05, 0.25, 0.5, 0.9, 0.99, 1.0];
        let got = quantiles(values, &qs);
        for (q, g) in qs.iter().zip(got) {
            assert!((quantile(&s, *q) - g).abs() < 1e-9, "q {q}");
        }
        assert!(quantiles(Vec::new(), &[0.5])[0].is_nan());
    }

    /// The selections narrowed rank by rank give what sorting gives, to
    /// the bit, for every quantile asked and whatever their order: random
    /// values with many ties, every length up to 300, odd `q`s too.
    #[test]
    fn narrowed_selections_match_a_sort_to_the_bit() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let qs = [
            0.99,
            0.5,
            1.0,
            0.0,
            0.9,
            0.25,
            0.05,
            0.75,
            0.1,
            0.5,
            0.333,
            f64::NAN,
        ];
        for n in 0..300 {
            let spread = [3, 50, 1_000_000][n % 3];
            let values: Vec<f64> = (0..n)
                .map(|_| (next() % spread) as f64 / 7.0 + if next() % 97 == 0 { f64::NAN } else { 0.0 })
                .collect();
            let s = sorted(values.clone());
            for k in 1..=qs.len() {
                let asked = &qs[..k];
                let got = quantiles(values.clone(), asked);
                for (q, g) in asked.iter().zip(got) {
                    let want = if q.is_nan() {
                        s.first().copied().unwrap_or(f64::NAN)
                    } else {
                        quantile(&s, *q)
                    };
                    assert_eq!(g.to_bits(), want.to_bits(), "n {n}, q {q}, asked {asked:?}");
                }
            }
            for q in qs.iter().filter(|q| !q.is_nan()) {
                assert_eq!(
                    quantiles(values.clone(), &[*q])[0].to_bits(),
                    quantile(&s, *q).to_bits(),
                    "n {n}, q {q}"
                );
            }
        }
    }
}

//! A latency histogram in microseconds: 1 µs to 120 s at 3 significant
//! digits. Fixed memory whatever the number of samples; mergeable.

use std::ops::AddAssign;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

const LOWEST_US: u64 = 1;
const HIGHEST_US: u64 = 120_000_000;
const SIGFIG: u8 = 3;

#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            inner: Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
                .expect("constant bounds are valid"),
        }
    }
}

/// Summary percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl LatencyHistogram {
    /// Two significant digits (≈1 % error) at a seventh of the memory, for
    /// breakdowns with many groups.
    pub fn compact() -> Self {
        LatencyHistogram {
            inner: Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, 2).expect("constant bounds are valid"),
        }
    }

    /// Record a duration in milliseconds. Values above 120 s are counted at
    /// 120 s (a probe's own timeout keeps them rarer than that).
    pub fn record_ms(&mut self, ms: f64) {
        let us = round_half_up((ms * 1_000.0).clamp(LOWEST_US as f64, HIGHEST_US as f64));
        self.inner.saturating_record(us);
    }

    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The value at quantile `q` (0–1) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        us_to_ms(self.inner.value_at_quantile(q))
    }

    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.inner.is_empty() {
            return None;
        }
        Some(Percentiles {
            count: self.inner.len(),
            min: us_to_ms(self.inner.min()),
            p50: self.quantile_ms(0.50),
            p90: self.quantile_ms(0.90),
            p99: self.quantile_ms(0.99),
            p999: self.quantile_ms(0.999),
            max: us_to_ms(self.inner.max()),
            mean: (self.inner.mean() / 1_000.0 * 1_000.0).round() / 1_000.0,
        })
    }
}

/// `x.round() as u64` for `x` in `LOWEST_US..=HIGHEST_US` (and 0 for NaN,
/// as the cast gives), without `f64::round`: on the baseline x86-64 target
/// that is a call into the maths library, five times per record (issue 20).
/// Exact there: `x - x.floor()` of a double below 2^52 is exact.
///
/// Through `i64`, not `u64`: the range fits both, and x86-64 converts
/// between doubles and signed integers in one instruction each way, where
/// the unsigned conversions take a dozen (issue 20, seventh pass).
fn round_half_up(x: f64) -> u64 {
    let whole = x as i64;
    let rounded = if x - whole as f64 >= 0.5 { whole + 1 } else { whole };
    // Never negative: `x` is at least 1 (or NaN, giving 0).
    rounded as u64
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1_000.0
}

impl AddAssign<&LatencyHistogram> for LatencyHistogram {
    fn add_assign(&mut self, rhs: &LatencyHistogram) {
        // Same bounds on both sides, so adding cannot fail.
        self.inner.add(&rhs.inner).expect("histograms share bounds");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: the hand-made rounding agrees with `f64::round` over the
    /// range a record's microseconds are clamped to, halves included.
    #[test]
    fn rounding_agrees_with_f64_round() {
        let clamp = |x: f64| x.clamp(LOWEST_US as f64, HIGHEST_US as f64);
        let mut cases = vec![
            f64::NAN,
            -3.0,
            0.0,
            0.4,
            0.5,
            1.0,
            1.5,
            2.5,
            2.4999999999999996,
            1e9,
        ];
        let mut x = 0.0001_f64;
        while x < 2.0e8 {
            cases.extend([
                x,
                x + 0.5,
                x.floor() + 0.5,
                x.floor() + 0.49999999999,
                x * 1.000_000_1,
            ]);
            x *= 1.37;
        }
        for ms in [0.0335, 0.001, 0.0005, 12.3456789, 0.0495, 99.9995] {
            cases.push(ms * 1_000.0);
        }
        for x in cases {
            assert_eq!(round_half_up(clamp(x)), clamp(x.round()) as u64, "{x}");
        }
    }

    #[test]
    fn percentiles_are_within_three_significant_digits() {
        let mut h = LatencyHistogram::default();
        for i in 1..=1000 {
            h.record_ms(i as f64);
        }
        let p = h.percentiles().unwrap();
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 500.0).abs() <= 0.5, "{p:?}");
        assert!((p.p99 - 990.0).abs() <= 1.0, "{p:?}");
        assert!((p.max - 1000.0).abs() <= 1.0, "{p:?}");
        assert!((p.min - 1.0).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = Default::default();
        let (a, b, all): (
            &mut LatencyHistogram,
            &mut LatencyHistogram,
            &mut LatencyHistogram,
        ) = (&mut a, &mut b, &mut all);
        for i in 0..500 {
            a.record_ms(i as f64 * 0.37);
            all.record_ms(i as f64 * 0.37);
            b.record_ms(i as f64 * 11.0);
            all.record_ms(i as f64 * 11.0);
        }
        *a += &*b;
        assert_eq!(a.percentiles(), all.percentiles());
    }

    #[test]
    fn extreme_values_saturate_instead_of_failing() {
        let mut h = LatencyHistogram::default();
        h.record_ms(0.0);
        h.record_ms(10_000_000.0);
        let p = h.percentiles().unwrap();
        assert_eq!(p.count, 2);
        assert!(p.max >= 119_000.0 && p.max <= 121_000.0, "{p:?}");
    }
}

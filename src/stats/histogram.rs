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
        let us = (ms * 1_000.0).round().clamp(LOWEST_US as f64, HIGHEST_US as f64) as u64;
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

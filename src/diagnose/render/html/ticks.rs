//! Where ticks go (round 1-2-5 steps, whole minutes, decades) and how
//! they are labelled: in one unit per axis: `0, 2 min, 4 min … 10 min`, never
//! `480 s` next to `10 min`, which reads like two scales on one axis.

/// A unit of time tick labels are written in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Unit {
    Ms,
    S,
    Min,
    H,
}

impl Unit {
    fn ms(self) -> f64 {
        match self {
            Unit::Ms => 1.0,
            Unit::S => 1e3,
            Unit::Min => 6e4,
            Unit::H => 3.6e6,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::S => "s",
            Unit::Min => "min",
            Unit::H => "h",
        }
    }

    /// The smallest unit in which `typical_ms` is under 120: small enough
    /// that the numbers stay short, large enough that `2 min` is not `120 s`.
    pub(super) fn fit(typical_ms: f64) -> Unit {
        [Unit::Ms, Unit::S, Unit::Min]
            .into_iter()
            .find(|u| typical_ms.abs() / u.ms() < 120.0)
            .unwrap_or(Unit::H)
    }

    /// `v` (ms) in this unit: `0` bare, else three significant digits at
    /// most and the unit.
    pub(super) fn label(self, v_ms: f64) -> String {
        if v_ms == 0.0 {
            return "0".into();
        }
        format!("{} {}", significant(v_ms / self.ms()), self.name())
    }
}

/// Three significant digits, without trailing zeros: `0.001`, `1.67`, `1440`.
fn significant(v: f64) -> String {
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Steps of a linear (time) axis, in ms. Past two minutes steps are whole
/// minutes, as the axis is then labelled in minutes (or hours).
pub(super) fn linear_steps() -> impl Iterator<Item = f64> {
    let small = (-3..5).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)));
    let minutes = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 240.0, 480.0, 1440.0];
    small.chain(minutes.into_iter().map(|m| m * 60_000.0))
}

pub(super) fn linear_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let step = linear_steps()
        .filter(|&step| hi < 120_000.0 || step >= 60_000.0)
        .find(|&step| (hi - lo) / step <= max.saturating_sub(1) as f64)
        .unwrap_or((hi - lo).max(1.0));
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).take(max.max(1)).map(|k| k as f64 * step).collect()
}

/// Round values for log ticks, in ms: 1-2-5 up to 20 s, then minutes.
pub(super) fn fine_log_steps() -> impl Iterator<Item = f64> {
    let small = (-3..5)
        .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
        .filter(|&v| v <= 20_000.0);
    let minutes = [
        1.0, 2.0, 5.0, 10.0, 20.0, 60.0, 120.0, 300.0, 600.0, 1440.0, 14_400.0, 144_000.0,
    ];
    small.chain(minutes.into_iter().map(|m| m * 60_000.0))
}

/// Fewer, sparser log ticks for wide ranges: decades up to 100 s, then
/// 10 min and hours.
pub(super) const COARSE_LOG_STEPS: [f64; 12] = [
    1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 6e5, 3.6e6, 3.6e7,
];

pub(super) fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    // A relative tolerance so a range ending exactly on a tick keeps it.
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let fine: Vec<f64> = fine_log_steps().filter(inside).collect();
    if fine.len() <= max {
        return fine;
    }
    let coarse: Vec<f64> = COARSE_LOG_STEPS.into_iter().filter(inside).collect();
    let stride = coarse.len().div_ceil(max.max(1)).max(1);
    coarse.into_iter().step_by(stride).collect()
}

/// The largest 1, 2 or 5 × 10ⁿ at or below `v` (> 0).
pub(super) fn nice_floor(v: f64) -> f64 {
    let base = 10f64.powf(v.log10().floor());
    let m = v / base * (1.0 + 1e-9);
    base * if m >= 5.0 {
        5.0
    } else if m >= 2.0 {
        2.0
    } else {
        1.0
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (> 0).
pub(super) fn nice_ceil(v: f64) -> f64 {
    let base = 10f64.powf(v.log10().floor());
    let m = v / base * (1.0 - 1e-9);
    base * if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_keeps_numbers_short() {
        assert_eq!(Unit::fit(30.0), Unit::Ms);
        assert_eq!(Unit::fit(5_000.0), Unit::S);
        assert_eq!(Unit::fit(600_000.0), Unit::Min);
        assert_eq!(Unit::fit(8.0 * 3.6e6), Unit::H);
    }

    #[test]
    fn labels_have_three_significant_digits_at_most() {
        assert_eq!(Unit::S.label(0.0), "0");
        assert_eq!(Unit::S.label(1.0), "0.001 s");
        assert_eq!(Unit::Min.label(100_000.0), "1.67 min");
        assert_eq!(Unit::Min.label(86_400_000.0), "1440 min");
        assert_eq!(Unit::H.label(900_000.0), "0.25 h");
        assert_eq!(Unit::Ms.label(20.0), "20 ms");
    }
}

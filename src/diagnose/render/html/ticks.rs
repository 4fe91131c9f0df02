//! Tick labels in one unit per axis: `0, 2 min, 4 min … 10 min`, never
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

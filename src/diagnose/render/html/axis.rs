//! Axes and the plot frame: values (ms) onto pixels, linear or log, with
//! grid lines and labelled ticks.

use std::fmt::{self, Write as _};

use super::escape::esc;
use super::svg::N;
use super::ticks::{linear_ticks, log_ticks, nice_ceil, nice_floor, Unit};

/// A plot area: `x` maps onto its left..right, `y` onto its bottom..top.
pub(super) struct Frame {
    pub(super) x: Axis,
    pub(super) y: Axis,
}

impl Frame {
    pub(super) fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.x.px(x), self.y.px(y))
    }

    /// Grid lines, tick labels in one unit per axis, the frame and axis titles.
    pub(super) fn axes(&self, s: &mut String, x_title: &str, y_title: &str) -> fmt::Result {
        let (l, r, b, t) = (N(self.x.from), N(self.x.to), N(self.y.from), N(self.y.to));
        for (v, label) in self.y.labelled_ticks(7) {
            let y = N(self.y.px(v));
            writeln!(
                s,
                "<line class=\"grid\" x1=\"{l}\" x2=\"{r}\" y1=\"{y}\" y2=\"{y}\"/>\
                 <text class=\"ytick\" x=\"{}\" y=\"{y}\" dy=\".32em\">{}</text>",
                N(self.x.from - 6.0),
                esc(&label)
            )?;
        }
        for (v, label) in self.x.labelled_ticks(9) {
            let x = N(self.x.px(v));
            writeln!(
                s,
                "<line class=\"grid\" x1=\"{x}\" x2=\"{x}\" y1=\"{t}\" y2=\"{b}\"/>\
                 <text class=\"xtick\" x=\"{x}\" y=\"{}\">{}</text>",
                N(self.y.from + 16.0),
                esc(&label)
            )?;
        }
        write!(
            s,
            "<rect class=\"frame\" x=\"{l}\" y=\"{t}\" width=\"{}\" height=\"{}\"/>\n\
             <text class=\"axis-title xtick\" x=\"{}\" y=\"{}\">{}</text>\n\
             <text class=\"axis-title xtick\" transform=\"translate(16 {}) rotate(-90)\">{}</text>\n",
            N(self.x.to - self.x.from),
            N(self.y.from - self.y.to),
            N((self.x.from + self.x.to) / 2.0),
            N(self.y.from + 38.0),
            esc(x_title),
            N((self.y.from + self.y.to) / 2.0),
            esc(y_title)
        )
    }

    /// A horizontal reference line at `v` on the y axis, when it is in range.
    pub(super) fn hline(&self, s: &mut String, v: f64, class: &str) -> fmt::Result {
        if !self.y.contains(v) {
            return Ok(());
        }
        writeln!(
            s,
            "<line class=\"{class}\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>",
            N(self.x.from),
            N(self.x.to),
            y = N(self.y.px(v))
        )
    }

    /// A vertical reference line at `v` on the x axis, when it is in range.
    pub(super) fn vline(&self, s: &mut String, v: f64, class: &str) -> fmt::Result {
        if !self.x.contains(v) {
            return Ok(());
        }
        writeln!(
            s,
            "<line class=\"{class}\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
            N(self.y.to),
            N(self.y.from),
            x = N(self.x.px(v))
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scale {
    Linear,
    Log,
}

/// Maps values (all in ms here) onto the pixel range `from..to`, and picks
/// round ticks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Axis {
    pub(super) scale: Scale,
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) from: f64,
    pub(super) to: f64,
}

/// Log axes never go below or above these (ms): keeps tick lists short
/// whatever a corrupt record says.
pub(super) const LOG_MIN: f64 = 1e-3;
pub(super) const LOG_MAX: f64 = 1e10;

impl Axis {
    pub(super) fn linear(lo: f64, hi: f64, from: f64, to: f64) -> Axis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Axis {
            scale: Scale::Linear,
            lo,
            hi,
            from,
            to,
        }
    }

    pub(super) fn log(lo: f64, hi: f64, from: f64, to: f64) -> Axis {
        let lo = lo.clamp(LOG_MIN, LOG_MAX / 10.0);
        let hi = hi.clamp(lo * 2.0, LOG_MAX);
        Axis {
            scale: Scale::Log,
            lo,
            hi,
            from,
            to,
        }
    }

    /// A log axis around the positive, finite `values`, widened to round
    /// numbers and to at least a decade so it always has ticks.
    pub(super) fn log_fit(values: impl IntoIterator<Item = f64>, from: f64, to: f64) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for v in values.into_iter().filter(|v| v.is_finite() && *v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if hi == 0.0 {
            (lo, hi) = (1.0, 1000.0);
        }
        let mut lo = nice_floor((lo / 1.2).max(LOG_MIN));
        let mut hi = nice_ceil((hi * 1.2).min(LOG_MAX));
        while hi / lo < 10.0 {
            lo = nice_floor(lo / 1.5);
            hi = nice_ceil(hi * 1.5);
        }
        Axis::log(lo, hi, from, to)
    }

    pub(super) fn contains(&self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }

    /// Pixel position of `v`; values outside the range (a gap of 0 on a log
    /// axis) sit on the nearest edge rather than off the plot.
    pub(super) fn px(&self, v: f64) -> f64 {
        let t = match self.scale {
            Scale::Linear => (v - self.lo) / (self.hi - self.lo),
            Scale::Log => (v.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10()),
        };
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
        self.from + t * (self.to - self.from)
    }

    /// At most `max` tick values inside the range.
    pub(super) fn ticks(&self, max: usize) -> Vec<f64> {
        match self.scale {
            Scale::Linear => linear_ticks(self.lo, self.hi, max),
            Scale::Log => log_ticks(self.lo, self.hi, max),
        }
    }

    /// [`Axis::ticks`] with their labels, all in one unit: the one that
    /// fits the largest tick of a linear axis, or the middle of a log one.
    pub(super) fn labelled_ticks(&self, max: usize) -> Vec<(f64, String)> {
        let ticks = self.ticks(max);
        let typical = match self.scale {
            Scale::Linear => ticks.iter().fold(0.0, |m: f64, v| m.max(v.abs())),
            Scale::Log => (self.lo * self.hi).sqrt(),
        };
        let unit = Unit::fit(typical);
        ticks.into_iter().map(|v| (v, unit.label(v))).collect()
    }
}

//! The phase grid: one histogram per phase and target, on one log-spaced
//! axis so that a second hump (a retry, a timer) lines up across rows.

use std::fmt::{self, Write as _};

use super::axis::Axis;
use super::escape::esc;
use super::page::para;
use super::plot::target_colour;
use super::svg::{svg_close, svg_open, N, W};
use crate::diagnose::report::{phase_bin_edges, Plots};
use crate::format::{clip, human_ms};
use crate::probe::Phase;

/// Small multiples: one row per phase, one histogram per target, all on the
/// same log-spaced x axis so a second hump (retries, timeouts) lines up.
pub(super) fn plot_phases(s: &mut String, plots: &Plots) -> fmt::Result {
    let edges = phase_bin_edges();
    let data: Vec<&(String, Phase, Vec<u64>)> = plots
        .phases
        .iter()
        .filter(|d| d.2.iter().any(|&n| n > 0))
        .collect();
    let (Some(first), Some(last)) = (
        data.iter().filter_map(|d| d.2.iter().position(|&n| n > 0)).min(),
        data.iter().filter_map(|d| d.2.iter().rposition(|&n| n > 0)).max(),
    ) else {
        return para(s, "No phase timings to plot.");
    };
    if edges.is_empty() {
        return para(s, "No phase timings to plot.");
    }
    let rows: Vec<Phase> = Phase::ALL
        .into_iter()
        .filter(|p| data.iter().any(|d| d.1 == *p))
        .collect();
    let mut cols: Vec<&str> = Vec::new();
    for d in &data {
        if !cols.contains(&d.0.as_str()) {
            cols.push(&d.0);
        }
    }
    // The used bins plus one on each side, shared by every chart.
    let (lo, hi) = (
        bin_bounds(&edges, first).0 / 2.0,
        bin_bounds(&edges, last).1 * 2.0,
    );

    const LABEL_W: f64 = 70.0;
    const HEADER: f64 = 62.0;
    const BARS_H: f64 = 54.0;
    const ROW_H: f64 = 86.0;
    let cell_w = ((W - LABEL_W - 16.0) / cols.len() as f64).clamp(150.0, 440.0);
    let width = LABEL_W + cell_w * cols.len() as f64 + 16.0;
    let height = HEADER + ROW_H * rows.len() as f64 + 4.0;
    svg_open(
        s,
        width,
        height,
        "Time spent in each phase (histograms, log-spaced bins)",
    )?;
    for (c, name) in cols.iter().enumerate() {
        let x = LABEL_W + cell_w * c as f64 + cell_w / 2.0;
        let chars = (cell_w / 7.0) as usize;
        write!(
            s,
            "<text class=\"xtick\" x=\"{}\" y=\"{}\" style=\"fill:{}\"><title>{}</title>{}</text>",
            N(x),
            N(HEADER - 10.0),
            target_colour(plots, name, c),
            esc(name),
            esc(&clip(name, chars))
        )?;
    }
    for (r, phase) in rows.iter().enumerate() {
        let base = HEADER + ROW_H * r as f64 + BARS_H;
        write!(
            s,
            "<text x=\"8\" y=\"{}\" font-weight=\"600\">{}</text>",
            N(base - BARS_H / 2.0),
            esc(phase.as_str())
        )?;
        for (c, name) in cols.iter().enumerate() {
            let x0 = LABEL_W + cell_w * c as f64;
            let axis = Axis::log(lo, hi, x0 + 8.0, x0 + cell_w - 12.0);
            let counts = data
                .iter()
                .find(|d| d.0 == *name && d.1 == *phase)
                .map(|d| d.2.as_slice());
            let cell = Cell {
                axis,
                base,
                height: BARS_H,
                colour: target_colour(plots, name, c),
            };
            cell.draw(s, *phase, counts, &edges)?;
        }
    }
    svg_close(
        s,
        "How long each phase took, per target: bars count requests in bins that each double the previous \
         one; bar heights are on a square-root scale (so a few slow requests still show), relative to the \
         tallest bar of each chart (n = requests). A second hump far to the right of \
         the first is the mark of waiting on a timer, e.g. a retransmitted SYN in connect or a retried \
         DNS query.",
    )
}

/// `[lo, hi)` of bin `k` of `edges`. The open-ended last bin (and any bin
/// past the edges) is drawn one step wide, at the edges' own ratio.
pub(super) fn bin_bounds(edges: &[f64], k: usize) -> (f64, f64) {
    let last = edges.len() - 1;
    let step = if last > 0 {
        edges[last] / edges[last - 1]
    } else {
        2.0
    };
    let lo = if k <= last {
        edges[k]
    } else {
        edges[last] * step.powi((k - last) as i32)
    };
    (lo, edges.get(k + 1).copied().unwrap_or(lo * step))
}

/// One histogram of the phase grid.
pub(super) struct Cell {
    axis: Axis,
    /// y of the bars' baseline.
    base: f64,
    height: f64,
    colour: &'static str,
}

impl Cell {
    pub(super) fn draw(
        &self,
        s: &mut String,
        phase: Phase,
        counts: Option<&[u64]>,
        edges: &[f64],
    ) -> fmt::Result {
        let (x0, x1) = (self.axis.from, self.axis.to);
        write!(
            s,
            "<line class=\"frame\" x1=\"{}\" x2=\"{}\" y1=\"{b}\" y2=\"{b}\"/>",
            N(x0),
            N(x1),
            b = N(self.base)
        )?;
        // Grid lines through the bars line humps up across rows; about one
        // label per 70 units, so labels never overlap.
        for (v, label) in self.axis.labelled_ticks(((x1 - x0) / 70.0) as usize) {
            let x = N(self.axis.px(v));
            write!(
                s,
                "<line class=\"grid\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>\
                 <text class=\"xtick small\" x=\"{x}\" y=\"{}\">{}</text>",
                N(self.base - self.height),
                N(self.base + 3.0),
                N(self.base + 13.0),
                esc(&label)
            )?;
        }
        let Some(counts) = counts else {
            return write!(
                s,
                "<text class=\"xtick small\" x=\"{}\" y=\"{}\">not measured</text>",
                N((x0 + x1) / 2.0),
                N(self.base - self.height / 2.0)
            );
        };
        let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let last = counts.len().saturating_sub(1);
        for (k, &n) in counts.iter().enumerate().filter(|(_, &n)| n > 0) {
            let (lo, hi) = bin_bounds(edges, k);
            let (bx0, bx1) = (self.axis.px(lo), self.axis.px(hi));
            // Square-root heights: a handful of slow requests next to hundreds
            // of fast ones still shows as a bar, and that tail is the point.
            let h = ((n as f64 / max).sqrt() * self.height).max(2.0);
            // The first bin also holds anything faster, the last anything slower.
            let range = match k {
                0 => format!("below {}", human_ms(hi)),
                k if k == last => format!("{} or more", human_ms(lo)),
                _ => format!("{}–{}", human_ms(lo), human_ms(hi)),
            };
            write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} {}: {n}</title></rect>",
                N(bx0),
                N(self.base - h),
                N((bx1 - bx0 - 1.0).max(1.0)),
                N(h),
                self.colour,
                esc(phase.as_str()),
                esc(&range)
            )?;
        }
        write!(
            s,
            "<text class=\"ytick small\" x=\"{}\" y=\"{}\">n = {}</text>",
            N(x1),
            N(self.base - self.height - 2.0),
            counts.iter().sum::<u64>()
        )
    }
}

//! The two scatter plots: latency over time, and latency against the quiet
//! gap before a request; the target colours and plot geometry they share
//! with the other drawings.

use std::fmt;

use super::axis::{Axis, Frame};
use super::page::para;
use super::svg::{
    bad_legend, dots, draw_legend, marks, svg_close, svg_open, Swatch, BAD_CAPTION, BOTTOM, H, LEFT, RIGHT,
    TOP, W,
};
use crate::diagnose::report::{Plots, Report};
use crate::format::human_ms;

/// Colours of targets in report order. None is red: red is the slow threshold.
pub(super) const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#8c564b", "#7f7f7f", "#bcbd22",
];

pub(super) fn colour(target: usize) -> &'static str {
    PALETTE[target % PALETTE.len()]
}

/// The NLB's default idle timeout: the usual suspect for slow first requests.
pub(super) const NLB_IDLE_MS: f64 = 350_000.0;

/// Latency of every request over time, one colour per target.
pub(super) fn plot_over_time(s: &mut String, r: &Report, plots: &Plots) -> fmt::Result {
    let ok = |p: &&(f64, f64, bool)| p.0.is_finite() && p.1.is_finite();
    let points = || plots.over_time.iter().flat_map(|(_, pts)| pts.iter().filter(ok));
    if points().next().is_none() {
        return para(s, "No probes to plot over time.");
    }
    let t_max = points().map(|p| p.0 * 1000.0).fold(0.0, f64::max);
    let slow = slow_ms(r);
    let frame = Frame {
        // At least a second wide, so a single instant still gets readable ticks.
        x: Axis::linear(0.0, (t_max * 1.02).max(1000.0), LEFT, RIGHT),
        y: Axis::log_fit(points().map(|p| p.1).chain(slow), BOTTOM, TOP),
    };
    svg_open(s, W, H, "Total latency of each request over time")?;
    frame.axes(s, "time since start", "total latency (log scale)")?;
    let mut legend = bad_legend();
    if let Some(ms) = slow {
        frame.hline(s, ms, "slow")?;
        legend.push((Swatch::Rule("slow"), format!("slow threshold {}", human_ms(ms))));
    }
    let at = |p: &(f64, f64, bool)| frame.at(p.0 * 1000.0, p.1);
    for (i, (name, pts)) in plots.over_time.iter().enumerate() {
        dots(s, colour(i), name, pts.iter().filter(ok).filter(|p| !p.2).map(at))?;
        legend.push((Swatch::Dot(colour(i)), name.clone()));
    }
    // Bad points after all dots, so no target's dots hide another's.
    for (i, (name, pts)) in plots.over_time.iter().enumerate() {
        marks(s, colour(i), name, pts.iter().filter(ok).filter(|p| p.2).map(at))?;
    }
    draw_legend(s, &legend)?;
    svg_close(
        s,
        &format!("Each dot is one request, coloured by target; {BAD_CAPTION}"),
    )
}

/// The first request after each quiet gap: slow ones beyond some gap length
/// are the picture of an idle timer dropping connections.
pub(super) fn plot_vs_gap(s: &mut String, r: &Report, plots: &Plots) -> fmt::Result {
    let ok = |p: &&(f64, f64, bool, u16)| p.0.is_finite() && p.1.is_finite();
    let points = || plots.vs_gap.iter().filter(ok);
    if points().next().is_none() {
        return para(
            s,
            "No request followed a quiet gap, so there is no latency-vs-gap plot.",
        );
    }
    let slow = slow_ms(r);
    // Gaps of 0 (or below the axis) are clamped onto its left edge by `Axis::px`.
    let frame = Frame {
        x: Axis::log_fit(points().map(|p| p.0), LEFT, RIGHT),
        y: Axis::log_fit(points().map(|p| p.1).chain(slow), BOTTOM, TOP),
    };
    svg_open(s, W, H, "Latency of the first request after a quiet gap")?;
    frame.axes(
        s,
        "quiet gap before the request (log scale)",
        "total latency (log scale)",
    )?;
    let mut legend = bad_legend();
    if let Some(ms) = slow {
        frame.hline(s, ms, "slow")?;
        legend.push((Swatch::Rule("slow"), format!("slow threshold {}", human_ms(ms))));
    }
    if frame.x.contains(NLB_IDLE_MS) {
        frame.vline(s, NLB_IDLE_MS, "ref")?;
        legend.push((Swatch::Rule("ref"), "NLB default idle (350 s)".to_string()));
    }
    let mut targets: Vec<u16> = points().map(|p| p.3).collect();
    targets.sort_unstable();
    targets.dedup();
    let name = |t: u16| {
        plots
            .over_time
            .get(t as usize)
            .map_or_else(|| format!("target #{t}"), |(n, _)| n.clone())
    };
    let at = |p: &(f64, f64, bool, u16)| frame.at(p.0, p.1);
    for &t in &targets {
        let xy = points().filter(|p| p.3 == t && !p.2).map(at);
        dots(s, colour(t as usize), &name(t), xy)?;
        legend.push((Swatch::Dot(colour(t as usize)), name(t)));
    }
    // Bad points after all dots, so no target's dots hide another's.
    for &t in &targets {
        let xy = points().filter(|p| p.3 == t && p.2).map(at);
        marks(s, colour(t as usize), &name(t), xy)?;
    }
    draw_legend(s, &legend)?;
    svg_close(
        s,
        &format!(
            "Each dot is the first request after the client sent nothing for the gap on the x axis (gaps of 0 \
             sit on the left edge), coloured by target; {BAD_CAPTION} If requests turn slow beyond some gap, \
             an idle timer of about that length on the path drops connections."
        ),
    )
}

/// The colour a target has in the other plots (its index in `over_time`).
pub(super) fn target_colour(plots: &Plots, name: &str, fallback: usize) -> &'static str {
    colour(
        plots
            .over_time
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or(fallback),
    )
}

/// The `--slow` threshold, when one was set and can be drawn.
pub(super) fn slow_ms(r: &Report) -> Option<f64> {
    r.source.slow_ms.filter(|ms| ms.is_finite() && *ms > 0.0)
}

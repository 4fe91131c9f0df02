//! Total latency over time, one target: new connections, reused ones and
//! failures told apart, and the slow thresholds (new and reused
//! connections each have one) as lines. The latency axis
//! is logarithmic, so a 20 ms fast mode and a 5 s stall both stay readable.

use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Sparkline, SparklineBar};
use ratatui::Frame;

use super::{log_axis, scatter};
use crate::format;
use crate::tui::state::{State, TargetView};
use crate::tui::theme::Theme;

/// The chart shows the last ten minutes at most.
const SPAN_S: f64 = 600.0;

/// Rows below which the chart's axes leave no room for points: the strip
/// is drawn instead.
pub const MIN_HEIGHT: u16 = 8;

pub fn render(frame: &mut Frame, area: Rect, state: &State, view: &TargetView, theme: Theme) {
    let now = state
        .elapsed
        .as_secs_f64()
        .max(view.points.back().map_or(0.0, |p| p.t_s));
    let x0 = (now - SPAN_S).max(0.0);
    let x1 = now.max(x0 + 1.0);
    let visible = || view.points.iter().filter(|p| p.t_s >= x0);
    // New and reused connections are judged against thresholds of their
    // own: both are drawn (one line when they agree).
    let mut thresholds: Vec<f64> = view.slow_ms.iter().flatten().copied().collect();
    thresholds.dedup();
    let (lo, hi) = visible()
        .map(|p| p.total_ms)
        .chain(thresholds.iter().copied())
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (y_bounds, y_labels) = log_axis(lo, hi, area.height.saturating_sub(4));
    let log = |ms: f64| ms.max(1e-3).log10();
    let pick = |f: &dyn Fn(&crate::tui::state::Point) -> bool| -> Vec<(f64, f64)> {
        visible()
            .filter(|p| f(p))
            .map(|p| (p.t_s, log(p.total_ms)))
            .collect()
    };
    let fresh = pick(&|p| !p.failed && !p.reused);
    let reused = pick(&|p| !p.failed && p.reused);
    let failed = pick(&|p| p.failed);
    let lines: Vec<Vec<(f64, f64)>> = thresholds
        .iter()
        .map(|t| vec![(x0, log(*t)), (x1, log(*t))])
        .collect();
    let mut sets = vec![
        scatter("new", Marker::Dot, theme.fresh(), &fresh),
        scatter("reused", Marker::Braille, theme.reused(), &reused),
    ];
    if !failed.is_empty() {
        sets.push(scatter("failed", Marker::Block, theme.failed(), &failed));
    }
    for line in &lines {
        sets.push(
            Dataset::default()
                .name("slow")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.threshold())
                .data(line),
        );
    }
    let chart = Chart::new(sets)
        // The key is in the title: a legend box would hide points, and
        // without colour its names alone would not tell the markers apart.
        .block(Block::bordered().title(format!(
            " {} · latency over time (log) · • new ⠒ reused █ failed ⠤ slow ",
            view.stats.name
        )))
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels([
                    format::minutes_seconds(x0),
                    format::minutes_seconds((x0 + x1) / 2.0),
                    format::minutes_seconds(x1),
                ])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds(y_bounds)
                .labels(y_labels)
                .style(theme.dim()),
        )
        .legend_position(None);
    frame.render_widget(chart, area);
}

/// Where the chart does not fit: the latest probes' totals as bars, on a
/// log scale from 1 ms, newest on the right; failures in the failed colour.
pub fn render_strip(frame: &mut Frame, area: Rect, view: &TargetView, theme: Theme) {
    let block = Block::bordered().title(format!(" {} · latency (log) ", view.stats.name));
    let width = block.inner(area).width as usize;
    let skip = view.points.len().saturating_sub(width);
    let bars: Vec<SparklineBar> = view
        .points
        .iter()
        .skip(skip)
        .map(|p| {
            let bar = SparklineBar::from(((p.total_ms.max(1.0).log10() * 100.0) as u64).max(1));
            if p.failed {
                bar.style(theme.failed())
            } else {
                bar
            }
        })
        .collect();
    let strip = Sparkline::default().block(block).data(bars).style(theme.bar());
    frame.render_widget(strip, area);
}

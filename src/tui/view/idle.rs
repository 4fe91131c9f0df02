//! Latency against idle age, one target: how long a reused connection had
//! sat idle, or for a new connection how long the whole path had been quiet.
//! An idle timer shows as a wall: fast to the left of it, slow to the right.

use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Block, Chart};
use ratatui::Frame;

use super::{log_axis, scatter};
use crate::tui::state::TargetView;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, view: &TargetView, theme: Theme) {
    let (x_lo, x_hi, y_lo, y_hi) = view.idle.iter().fold(
        (f64::INFINITY, 0.0f64, f64::INFINITY, 0.0f64),
        |(a, b, c, d), p| {
            (
                a.min(p.idle_ms),
                b.max(p.idle_ms),
                c.min(p.total_ms),
                d.max(p.total_ms),
            )
        },
    );
    let (x_bounds, x_labels) = log_axis(x_lo.max(1.0), x_hi, area.width / 8);
    let (y_bounds, y_labels) = log_axis(y_lo, y_hi, area.height.saturating_sub(4));
    let log = |ms: f64| ms.max(1e-3).log10();
    let points = |reused: bool| -> Vec<(f64, f64)> {
        view.idle
            .iter()
            .filter(|p| p.reused == reused)
            .map(|p| (log(p.idle_ms.max(1.0)), log(p.total_ms)))
            .collect()
    };
    let (fresh, reused) = (points(false), points(true));
    let chart = Chart::new(vec![
        scatter("new", Marker::Dot, theme.fresh(), &fresh),
        scatter("reused", Marker::Braille, theme.reused(), &reused),
    ])
    .block(
        Block::bordered()
            .title(" latency vs idle age (log, log) · • new conn: path quiet ⠒ reused: conn idle "),
    )
    .x_axis(
        Axis::default()
            .bounds(x_bounds)
            .labels(x_labels)
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

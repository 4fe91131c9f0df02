//! Per-phase percentiles of one target: where the time goes, at the median
//! and in the tail.

use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Row, Table};
use ratatui::Frame;

use crate::format;
use crate::probe::Phase;
use crate::stats::LatencyHistogram;
use crate::tui::state::TargetView;
use crate::tui::theme::Theme;

/// Rows the table needs, borders included.
pub const HEIGHT: u16 = 9;
/// Columns it needs, borders included.
pub const WIDTH: u16 = 38;

const SHOWN: [Phase; 5] = [Phase::Dns, Phase::Connect, Phase::Tls, Phase::Ttfb, Phase::Body];

pub fn render(frame: &mut Frame, area: Rect, view: &TargetView, theme: Theme) {
    let row = |name: &str, h: &LatencyHistogram| {
        let cells = match h.percentiles() {
            Some(p) => [p.p50, p.p90, p.p99, p.max].map(format::cell_ms),
            None => ["-", "-", "-", "-"].map(String::from),
        };
        Row::new([name.to_string()].into_iter().chain(cells))
    };
    let mut rows: Vec<Row> = SHOWN
        .iter()
        .map(|p| row(p.as_str(), view.stats.phase(*p)))
        .collect();
    rows.push(row("total", view.stats.total()).style(theme.title()));
    let s = &view.stats;
    let title = format!(
        " phases · {} ({} new) ",
        crate::format::count(s.probes, "probe"),
        s.fresh
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(6),
        ],
    )
    .header(Row::new(["phase", "p50", "p90", "p99", "max"]).style(theme.dim()))
    .column_spacing(1)
    .block(Block::bordered().title(title));
    frame.render_widget(table, area);
}

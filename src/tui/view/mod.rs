//! The view of the dashboard's state/intent/update/view split (`state`,
//! `action`, `update`, `view`): the screen, one module per region, reading
//! the state and changing nothing. `draw` lays the regions out for the
//! terminal's size: below about 160×48 the per-target panels give up their
//! idle-age plot, then the histogram, then the chart, so that 80×24 still
//! shows every target's phases, the findings and the slow probes.

pub mod detail;
pub mod findings;
pub mod footer;
pub mod header;
pub mod help;
pub mod histogram;
pub mod idle;
pub mod latency;
pub mod phases;
pub mod slow;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::state::{Mode, State, TargetView};
use super::theme::Theme;

/// Narrowest a target's column may be before targets stop sitting side by side.
const MIN_COLUMN: u16 = 38;

pub fn draw(frame: &mut Frame, state: &State, theme: Theme) {
    let area = frame.area();
    let bottom_h = match area.height {
        h if h >= 40 => 12,
        h if h >= 30 => 9,
        _ => 7,
    };
    let [header_a, targets_a, bottom_a, footer_a] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(bottom_h),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(frame, header_a, state, theme);
    targets(frame, targets_a, state, theme);
    let split = if area.width >= 120 { [40, 60] } else { [50, 50] };
    let [findings_a, slow_a] =
        Layout::horizontal([Constraint::Percentage(split[0]), Constraint::Percentage(split[1])])
            .areas(bottom_a);
    findings::render(frame, findings_a, state, theme);
    slow::render(frame, slow_a, state, theme);
    footer::render(frame, footer_a, state, theme);
    match state.mode {
        Mode::Normal => {}
        Mode::Help => help::render(frame, area, state, theme),
        Mode::ProbeDetail(i) => {
            if let Some(r) = state.slow.get(i) {
                detail::probe(frame, area, r, state.detail_scroll, theme);
            }
        }
        Mode::FindingDetail(i) => {
            if let Some(f) = state.findings.get(i) {
                detail::finding(frame, area, f, state.detail_scroll, theme);
            }
        }
    }
}

/// Targets side by side, as many as fit; the rest are named in a line.
fn targets(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let n = state.targets.len().max(1);
    let fit = ((area.width / MIN_COLUMN) as usize).clamp(1, n);
    let columns = Layout::horizontal(vec![Constraint::Ratio(1, fit as u32); fit]).split(area);
    for (view, column) in state.targets.iter().zip(columns.iter()) {
        target(frame, *column, state, view, theme);
    }
    if fit < state.targets.len() && area.height > 0 {
        let hidden: Vec<&str> = state.targets[fit..]
            .iter()
            .map(|t| t.stats.name.as_str())
            .collect();
        let last = Rect {
            y: area.bottom() - 1,
            height: 1,
            ..area
        };
        let line = format!(
            " +{} not shown (widen the terminal): {}",
            hidden.len(),
            hidden.join(", ")
        );
        frame.render_widget(Paragraph::new(Line::styled(line, theme.dim())), last);
    }
}

/// One target's column, collapsing by height.
fn target(frame: &mut Frame, area: Rect, state: &State, view: &TargetView, theme: Theme) {
    let table_h = phases::HEIGHT;
    let wide = area.width >= phases::WIDTH + 30;
    match area.height {
        h if h >= 30 => {
            let [chart, middle, idle_a] = Layout::vertical([
                Constraint::Percentage(45),
                Constraint::Length(table_h),
                Constraint::Min(0),
            ])
            .areas(area);
            latency::render(frame, chart, state, view, theme);
            table_row(frame, middle, view, wide, theme);
            idle::render(frame, idle_a, view, theme);
        }
        h if h >= 20 => {
            let [chart, middle] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(table_h)]).areas(area);
            latency::render(frame, chart, state, view, theme);
            table_row(frame, middle, view, wide, theme);
        }
        h if h >= table_h + latency::MIN_HEIGHT => {
            let [chart, middle] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(table_h)]).areas(area);
            latency::render(frame, chart, state, view, theme);
            phases::render(frame, middle, view, theme);
        }
        h if h >= table_h + 3 => {
            let [strip, middle] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(table_h)]).areas(area);
            latency::render_strip(frame, strip, view, theme);
            phases::render(frame, middle, view, theme);
        }
        h if h >= table_h => phases::render(frame, area, view, theme),
        _ => {
            let line = match view.stats.total().percentiles() {
                Some(p) => format!(
                    "{}: {} · p50 {} · p99 {} · max {}",
                    view.stats.name,
                    crate::format::count(view.stats.probes, "probe"),
                    crate::format::cell_ms(p.p50),
                    crate::format::cell_ms(p.p99),
                    crate::format::cell_ms(p.max)
                ),
                None => format!("{}: no answers yet", view.stats.name),
            };
            frame.render_widget(Paragraph::new(line).block(Block::bordered()), area);
        }
    }
}

/// The phase table, and the histogram beside it when there is room.
fn table_row(frame: &mut Frame, area: Rect, view: &TargetView, wide: bool, theme: Theme) {
    if wide {
        let [table, hist] =
            Layout::horizontal([Constraint::Length(phases::WIDTH), Constraint::Min(0)]).areas(area);
        phases::render(frame, table, view, theme);
        histogram::render(frame, hist, view, theme);
    } else {
        phases::render(frame, area, view, theme);
    }
}

/// A list in a block, its selected item in reverse video when the list has
/// the focus (the findings and the slow probes).
pub fn selectable_list(
    frame: &mut Frame,
    area: Rect,
    block: Block<'_>,
    items: Vec<ratatui::widgets::ListItem<'_>>,
    selected: usize,
    focused: bool,
    theme: Theme,
) {
    let highlight = if focused {
        theme.selected()
    } else {
        Default::default()
    };
    let list = ratatui::widgets::List::new(items)
        .block(block)
        .highlight_style(highlight);
    let mut state = ratatui::widgets::ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, area, &mut state);
}

/// One kind of point on a chart.
pub fn scatter<'a>(
    name: &'a str,
    marker: ratatui::symbols::Marker,
    style: ratatui::style::Style,
    points: &'a [(f64, f64)],
) -> ratatui::widgets::Dataset<'a> {
    ratatui::widgets::Dataset::default()
        .name(name)
        .marker(marker)
        .graph_type(ratatui::widgets::GraphType::Scatter)
        .style(style)
        .data(points)
}

/// A centred rectangle at most `w`×`h`, inside `area`.
pub fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2)).max(area.width.min(20));
    let h = h.min(area.height.saturating_sub(2)).max(area.height.min(5));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A logarithmic axis over `lo..hi` milliseconds: whole decades as bounds,
/// one label per decade, or only the ends when `rows` cannot hold them all.
pub fn log_axis(lo: f64, hi: f64, rows: u16) -> ([f64; 2], Vec<String>) {
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo.max(0.1), hi)
    } else {
        (1.0, 1000.0)
    };
    let a = lo.log10().floor();
    let b = hi.log10().ceil().max(a + 1.0);
    let mut labels: Vec<String> = (a as i32..=b as i32).map(decade_label).collect();
    if labels.len() > rows as usize {
        labels = vec![decade_label(a as i32), decade_label(b as i32)];
    }
    ([a, b], labels)
}

/// `10^exp` ms as a label: `0.1ms`, `10ms`, `1s`.
fn decade_label(exp: i32) -> String {
    crate::format::axis_ms(10f64.powi(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_span_whole_decades() {
        let (bounds, labels) = log_axis(18.0, 5200.0, 10);
        assert_eq!(bounds, [1.0, 4.0]);
        assert_eq!(labels, ["10ms", "100ms", "1s", "10s"]);
        let (bounds, _) = log_axis(f64::INFINITY, 0.0, 10);
        assert_eq!(bounds, [0.0, 3.0], "an empty plot still has an axis");
        let (_, labels) = log_axis(18.0, 5200.0, 3);
        assert_eq!(labels, ["10ms", "10s"], "only the ends when rows are few");
    }
}

//! The most recent slow or failed probes, newest first: when, which target,
//! how long and where the time went, the address it reached, and the ids to
//! look it up by (trace id, API Gateway request id). Enter opens the record.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, ListItem, Paragraph};
use ratatui::Frame;

use crate::format::{cell_ms, clip, clock};
use crate::probe::{Phase, ProbeRecord};
use crate::tui::state::{Focus, State};
use crate::tui::theme::Theme;

/// The headers API Gateway puts its request id in (REST, HTTP API).
const REQUEST_ID_HEADERS: [&str; 2] = ["x-amzn-requestid", "apigw-requestid"];

pub fn request_id(r: &ProbeRecord) -> Option<&str> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|h| r.headers.get(h))
        .map(String::as_str)
}

/// The phase that took longest, and how long: where this probe's time went.
fn slowest_phase(r: &ProbeRecord) -> Option<(Phase, f64)> {
    r.phases_ms
        .iter()
        .filter(|(p, _)| *p != Phase::Queue)
        .filter_map(|(p, v)| v.map(|v| (p, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn outcome(r: &ProbeRecord) -> String {
    match (&r.error, r.status) {
        (Some(e), Some(s)) if e.kind == crate::probe::ErrorKind::Status => s.to_string(),
        (Some(e), _) => format!("{} in {}", e.kind, e.phase),
        (None, Some(s)) => s.to_string(),
        (None, None) => "-".into(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let focused = state.focus == Focus::Slow;
    let block = Block::bordered()
        .title(format!(" slow or failed probes · {} kept ", state.slow.len()))
        .border_style(if focused {
            theme.focused()
        } else {
            Default::default()
        });
    let inner = block.inner(area);
    if state.slow.is_empty() {
        let p = Paragraph::new(Span::styled("none yet", theme.dim())).block(block);
        frame.render_widget(p, area);
        return;
    }
    let width = inner.width as usize;
    // Ids on a second line when there is room for both.
    let with_ids = width >= 70 && inner.height >= 6;
    let name_w = state
        .meta
        .targets
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(6)
        .min(16);
    let items: Vec<ListItem> = state
        .slow
        .iter()
        .map(|r| {
            let at = clock(r.at.0);
            let phase = slowest_phase(r)
                .map(|(p, v)| format!("{} {}", p.as_str(), cell_ms(v)))
                .unwrap_or_default();
            let remote = r.remote.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
            let style = if r.error.is_some() {
                theme.failed()
            } else {
                Default::default()
            };
            let first = format!(
                "{at} {:<name_w$} {:>6} {:<13} {:<21} {}",
                clip(&r.target, name_w),
                cell_ms(r.total_ms),
                phase,
                remote,
                outcome(r)
            );
            let mut lines = vec![Line::from(Span::styled(clip(&first, width), style))];
            if with_ids {
                let ids = format!(
                    "  trace {} · request {}",
                    r.trace_id.as_deref().unwrap_or("-"),
                    request_id(r).unwrap_or("-")
                );
                lines.push(Line::from(Span::styled(clip(&ids, width), theme.dim())));
            }
            ListItem::new(lines)
        })
        .collect();
    super::selectable_list(frame, area, block, items, state.slow_selected, focused, theme);
}

//! The live detectors' verdicts: cause, severity, confidence, and the first
//! line of evidence. Enter opens all of it, with the fixes.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, ListItem, Paragraph, Wrap};
use ratatui::Frame;

use crate::format::clip;
use crate::tui::state::{Focus, State};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let focused = state.focus == Focus::Findings;
    let block = Block::bordered()
        .title(format!(
            " findings · over the last {} ",
            crate::format::count(state.analysed as u64, "probe")
        ))
        .border_style(if focused {
            theme.focused()
        } else {
            Default::default()
        });
    if state.findings.is_empty() {
        let text = if state.analysed == 0 {
            "waiting for probes…".to_string()
        } else if state.untested.is_empty() {
            format!(
                "no finding: healthy over {}, every cause tested.",
                crate::format::count(state.analysed as u64, "probe")
            )
        } else {
            format!(
                "no finding over {}, but inconclusive: not tested yet: {}.",
                crate::format::count(state.analysed as u64, "probe"),
                untested(state)
            )
        };
        let p = Paragraph::new(Span::styled(text, theme.dim()))
            .wrap(Wrap { trim: true })
            .block(block);
        frame.render_widget(p, area);
        return;
    }
    let width = block.inner(area).width as usize;
    let two_lines = block.inner(area).height as usize >= state.findings.len() * 2;
    let items: Vec<ListItem> = state
        .findings
        .iter()
        .map(|f| {
            let head = Line::from(vec![
                Span::styled(
                    format!("{:<20}", f.cause.as_str()),
                    theme
                        .severity(f.severity)
                        .add_modifier(ratatui::style::Modifier::BOLD),
                ),
                Span::raw(format!(
                    "{:<8} {:>3.0} %  ",
                    f.severity.as_str(),
                    f.confidence * 100.0
                )),
                Span::raw(f.title.clone()),
            ]);
            let mut lines = vec![head];
            if two_lines {
                if let Some(e) = f.evidence.first() {
                    lines.push(Line::from(Span::styled(
                        format!("  {}", clip(e, width.saturating_sub(2))),
                        theme.dim(),
                    )));
                }
            }
            ListItem::new(lines)
        })
        .collect();
    let mut items = items;
    if !state.untested.is_empty() {
        let line = format!("not tested yet: {}", untested(state));
        items.push(ListItem::new(Line::from(Span::styled(
            clip(&line, width),
            theme.dim(),
        ))));
    }
    super::selectable_list(frame, area, block, items, state.finding_selected, focused, theme);
}

/// `idle-timeout (longest quiet period 8.0 s; s: idle sweep), edge (...)`:
/// each untested cause with the key or the change that would test it.
fn untested(state: &State) -> String {
    use crate::diagnose::coverage::Need;
    state
        .untested
        .iter()
        .map(|g| {
            let how = match &g.needs {
                Need::QuietPeriods(_) => "s: idle sweep",
                Need::NewConnections => "b: a burst",
                Need::MoreProbes => "more probes",
                Need::BothEntryPoints { .. } => "watch both entry points",
            };
            format!("{} ({how})", g.cause)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

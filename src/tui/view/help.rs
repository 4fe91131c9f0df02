//! The keys, and what the panels show.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::popup;
use crate::tui::state::State;
use crate::tui::theme::Theme;

const KEYS: [(&str, &str); 12] = [
    ("b", "burst: the profile's [burst] once (N probes, C at once)"),
    (
        "s",
        "idle sweep: quiet gaps, one probe per target after each (s again stops it)",
    ),
    ("p", "pause or resume the schedule"),
    (
        "k",
        "keep-warm on or off: a ping to every target every interval, kept-alive",
    ),
    ("Tab", "switch between the slow probes and the findings"),
    (
        "↑ ↓",
        "move in the list (or to the previous / next item in a detail)",
    ),
    ("Enter", "open the selected probe's record or finding's evidence"),
    ("Esc", "close the detail or this help (PgUp/PgDn scroll them)"),
    ("r", "reset: forget every probe so far (what runs keeps running)"),
    ("e", "export the records held (the last 10,000) to an NDJSON file"),
    ("?", "this help"),
    ("q", "quit (Ctrl-C too)"),
];

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>6}  "), theme.title()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(Span::styled(
        "Charts: • new connection, ⠒ (braille dots) reused, █ failed; the lines are the slow thresholds (new, reused). \
         Latency axes are logarithmic. Idle age is how long a reused connection sat idle, or for a \
         new connection how long the whole path had been quiet.",
        theme.dim(),
    )));
    if let Some(out) = &state.meta.out {
        lines.push(Line::from(Span::styled(
            format!("Records are appended to {}.", out.display()),
            theme.dim(),
        )));
    }
    let area = popup(area, 90, 22);
    frame.render_widget(Clear, area);
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((state.detail_scroll, 0))
        .block(
            Block::bordered()
                .title(" keys · Esc close ")
                .border_style(theme.focused()),
        );
    frame.render_widget(p, area);
}

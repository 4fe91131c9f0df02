//! The footer: the last thing worth saying, else the keys.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::state::State;
use crate::tui::theme::Theme;

const KEYS: &str =
    "b burst · s idle sweep · p pause · k keep-warm · Tab focus · ↑↓ Enter Esc · r reset · e export · ? help · q quit";
/// Where the full list does not fit: the rest is behind `?`.
const SHORT_KEYS: &str = "b burst · s sweep · p pause · k keep-warm · e export · ? more · q quit";

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let line = match &state.status {
        Some(status) => Line::from(vec![
            Span::styled(status.clone(), theme.title()),
            Span::styled("   ? help · q quit", theme.dim()),
        ]),
        None if KEYS.chars().count() <= area.width as usize => Line::from(Span::styled(KEYS, theme.dim())),
        None => Line::from(Span::styled(SHORT_KEYS, theme.dim())),
    };
    frame.render_widget(Paragraph::new(line), area);
}

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
/// Where not even those fit beside something else to say.
const FEWEST_KEYS: &str = "? help · q quit";

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let line = match &state.status {
        Some(status) => Line::from(vec![
            Span::styled(status.clone(), theme.title()),
            Span::styled("   ? help · q quit", theme.dim()),
        ]),
        None => {
            // Log lines held off the screen (see `crate::logs`): said
            // before the keys for as long as there are any.
            let held = match state.logs_held {
                0 => String::new(),
                n => format!("{n} log lines held · "),
            };
            let room = (area.width as usize).saturating_sub(held.chars().count());
            let keys = [KEYS, SHORT_KEYS]
                .into_iter()
                .find(|k| k.chars().count() <= room)
                .unwrap_or(FEWEST_KEYS);
            Line::from(vec![
                Span::styled(held, theme.title()),
                Span::styled(keys, theme.dim()),
            ])
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

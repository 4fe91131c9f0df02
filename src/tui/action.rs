//! Keys → intents. A pure function of the key and the mode, so that every
//! binding is tested without a terminal.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `b`: the profile's burst.
    Burst,
    /// `s`: start or stop the idle sweep.
    Sweep,
    /// `p`: pause or resume the schedule.
    Pause,
    /// `k`: keep-warm on or off.
    KeepWarm,
    /// `Tab`: the other list.
    Focus,
    Up,
    Down,
    /// `Enter`: the selected item's detail.
    Open,
    /// `Esc`: close the detail or help.
    Back,
    /// `PgUp` / `PgDn` in a detail or the help: scroll it.
    ScrollUp,
    ScrollDown,
    /// `r`: forget the statistics.
    Reset,
    /// `e`: write the records to a file.
    Export,
    /// `?`: the keys.
    Help,
    /// `q`, Ctrl-C.
    Quit,
}

/// What `key` means in `mode`; `None` for keys that mean nothing there.
pub fn action_for(key: KeyEvent, mode: Mode) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    let overlay = mode != Mode::Normal;
    match key.code {
        KeyCode::Char('q') => Some(Action::Quit),
        KeyCode::Char('?') => Some(Action::Help),
        KeyCode::Esc if overlay => Some(Action::Back),
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        // In a detail view, Enter closes it again.
        KeyCode::Enter if overlay => Some(Action::Back),
        KeyCode::PageUp if overlay => Some(Action::ScrollUp),
        KeyCode::PageDown if overlay => Some(Action::ScrollDown),
        KeyCode::Enter => Some(Action::Open),
        // The other keys act on the dashboard, not on an open view.
        _ if overlay => None,
        KeyCode::Char('b') => Some(Action::Burst),
        KeyCode::Char('s') => Some(Action::Sweep),
        KeyCode::Char('p') => Some(Action::Pause),
        KeyCode::Char('k') => Some(Action::KeepWarm),
        KeyCode::Tab | KeyCode::BackTab => Some(Action::Focus),
        KeyCode::Char('r') => Some(Action::Reset),
        KeyCode::Char('e') => Some(Action::Export),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_documented_key_has_its_action() {
        let n = Mode::Normal;
        let table = [
            (KeyCode::Char('b'), Action::Burst),
            (KeyCode::Char('s'), Action::Sweep),
            (KeyCode::Char('p'), Action::Pause),
            (KeyCode::Char('k'), Action::KeepWarm),
            (KeyCode::Tab, Action::Focus),
            (KeyCode::Up, Action::Up),
            (KeyCode::Down, Action::Down),
            (KeyCode::Enter, Action::Open),
            (KeyCode::Char('r'), Action::Reset),
            (KeyCode::Char('e'), Action::Export),
            (KeyCode::Char('?'), Action::Help),
            (KeyCode::Char('q'), Action::Quit),
        ];
        for (code, action) in table {
            assert_eq!(action_for(key(code), n), Some(action), "{code:?}");
        }
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(ctrl_c, n), Some(Action::Quit));
        assert_eq!(action_for(key(KeyCode::Char('c')), n), None);
        assert_eq!(action_for(key(KeyCode::Esc), n), None, "nothing to close");
        assert_eq!(action_for(key(KeyCode::PageDown), n), None, "nothing to scroll");
    }

    #[test]
    fn an_open_view_takes_esc_enter_arrows_and_quit_only() {
        for mode in [Mode::Help, Mode::ProbeDetail(0), Mode::FindingDetail(0)] {
            assert_eq!(action_for(key(KeyCode::Esc), mode), Some(Action::Back));
            assert_eq!(action_for(key(KeyCode::Enter), mode), Some(Action::Back));
            assert_eq!(action_for(key(KeyCode::Up), mode), Some(Action::Up));
            assert_eq!(action_for(key(KeyCode::PageDown), mode), Some(Action::ScrollDown));
            assert_eq!(action_for(key(KeyCode::PageUp), mode), Some(Action::ScrollUp));
            assert_eq!(action_for(key(KeyCode::Char('q')), mode), Some(Action::Quit));
            assert_eq!(action_for(key(KeyCode::Char('?')), mode), Some(Action::Help));
            assert_eq!(action_for(key(KeyCode::Char('b')), mode), None, "{mode:?}");
            assert_eq!(action_for(key(KeyCode::Char('r')), mode), None, "{mode:?}");
        }
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut release = key(KeyCode::Char('q'));
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(release, Mode::Normal), None);
    }
}

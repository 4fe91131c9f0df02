//! Intent → new state, and what the loop must do outside the state (tell
//! the engine, write a file, quit). Pure: no I/O, no clock.

use super::action::Action;
use super::live::Command;
use super::state::{Focus, Mode, State};

/// What the loop does after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Engine(Command),
    /// Write the window's records to a file.
    Export,
    Quit,
}

/// Lines a PgUp / PgDn moves an open detail by.
const SCROLL_PAGE: u16 = 10;

pub fn update(state: &mut State, action: Action) -> Option<Effect> {
    // Another item, or none: its text starts at the top.
    if !matches!(action, Action::ScrollUp | Action::ScrollDown) {
        state.detail_scroll = 0;
    }
    match action {
        Action::Quit => return Some(Effect::Quit),
        Action::Burst => return Some(Effect::Engine(Command::Burst)),
        Action::Sweep => return Some(Effect::Engine(Command::ToggleSweep)),
        Action::Pause => return Some(Effect::Engine(Command::ToggleSchedule)),
        Action::KeepWarm => return Some(Effect::Engine(Command::ToggleKeepWarm)),
        Action::Export => return Some(Effect::Export),
        Action::Reset => {
            state.reset();
            state.say("statistics reset");
        }
        Action::Help => {
            state.mode = if state.mode == Mode::Help {
                Mode::Normal
            } else {
                Mode::Help
            };
        }
        Action::Back => state.mode = Mode::Normal,
        Action::ScrollUp => state.detail_scroll = state.detail_scroll.saturating_sub(SCROLL_PAGE),
        Action::ScrollDown => state.detail_scroll = state.detail_scroll.saturating_add(SCROLL_PAGE),
        Action::Focus => {
            state.focus = match state.focus {
                Focus::Slow => Focus::Findings,
                Focus::Findings => Focus::Slow,
            };
        }
        Action::Up => step(state, -1),
        Action::Down => step(state, 1),
        Action::Open => {
            state.mode = match state.focus {
                Focus::Slow if state.slow_selected < state.slow.len() => {
                    Mode::ProbeDetail(state.slow_selected)
                }
                Focus::Findings if state.finding_selected < state.findings.len() => {
                    Mode::FindingDetail(state.finding_selected)
                }
                _ => Mode::Normal,
            };
        }
    }
    None
}

/// Move the selection of the focused list (or of the open detail view,
/// which then shows the next item).
fn step(state: &mut State, by: isize) {
    let moved = |at: usize, len: usize| at.saturating_add_signed(by).min(len.saturating_sub(1));
    match state.mode {
        Mode::Help => {}
        Mode::ProbeDetail(i) => {
            let i = moved(i, state.slow.len());
            state.slow_selected = i;
            state.mode = Mode::ProbeDetail(i);
        }
        Mode::FindingDetail(i) => {
            let i = moved(i, state.findings.len());
            state.finding_selected = i;
            state.mode = Mode::FindingDetail(i);
        }
        Mode::Normal => match state.focus {
            Focus::Slow => state.slow_selected = moved(state.slow_selected, state.slow.len()),
            Focus::Findings => state.finding_selected = moved(state.finding_selected, state.findings.len()),
        },
    }
}

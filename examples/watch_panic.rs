//! A test helper, not a tool: enters the dashboard's screen exactly as
//! `coldlink watch` does, draws it once, and panics. tests/watch_tmux.rs
//! runs it in tmux and checks that the panic left the terminal restored
//! (normal screen, canonical mode, echo).

use std::time::SystemTime;

use coldlink::tui::state::{Meta, State};
use coldlink::tui::theme::Theme;
use coldlink::tui::Screen;

fn main() {
    let meta = Meta {
        name: "panic".into(),
        targets: Vec::new(),
        plan: "never".into(),
        scale: 1.0,
        lab: None,
        slow_ms: None,
        keep_warm_every: std::time::Duration::from_secs(60),
        sweep_gaps: 0,
        out: None,
    };
    let mut screen = Screen::enter().expect("a terminal");
    screen
        .draw(&State::new(meta, SystemTime::now()), Theme::from_env())
        .expect("drawn");
    // Keep the screen alive across the panic: only the hook may restore it.
    let _screen = std::mem::ManuallyDrop::new(screen);
    panic!("on purpose, to test that a panic restores the terminal");
}

//! A test helper, not a tool: enters the dashboard's screen exactly as
//! `coldlink watch` does, draws it once, and panics. tests/it/watch_tmux.rs
//! runs it in tmux and checks that the panic left the terminal restored
//! (normal screen, canonical mode, echo).
//!
//! With `off-thread`, another thread panics instead (as a probe task
//! could): the screen must stay up (the dashboard ends itself, restoring
//! the terminal on the way out), and the panic is kept for its error line.
//! Exit 3 when that held, 4 when the terminal was restored too early or the
//! panic was not kept.

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
        out: None,
    };
    let mut screen = Screen::enter().expect("a terminal");
    screen
        .draw(&State::new(meta, SystemTime::now()), Theme::from_env())
        .expect("drawn");
    if std::env::args().any(|a| a == "off-thread") {
        let _ = std::thread::Builder::new()
            .name("probe-task".into())
            .spawn(|| panic!("on purpose, off the screen's thread"))
            .unwrap()
            .join();
        let still_raw = ratatui::crossterm::terminal::is_raw_mode_enabled().unwrap_or(false);
        let kept = coldlink::tui::off_thread_panic().map(str::to_string);
        drop(screen);
        match kept {
            Some(message) if still_raw => {
                eprintln!("{message}");
                std::process::exit(3)
            }
            _ => std::process::exit(4),
        }
    }
    // Keep the screen alive across the panic: only the hook may restore it.
    let _screen = std::mem::ManuallyDrop::new(screen);
    panic!("on purpose, to test that a panic restores the terminal");
}

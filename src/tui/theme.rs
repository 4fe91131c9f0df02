//! Colours, or none: under `NO_COLOR` every style is plain, and what colour
//! would tell (selection, focus, severity) is told by reverse video, bold and
//! words instead.

use ratatui::style::{Color, Modifier, Style};

use crate::diagnose::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub const MONO: Theme = Theme { color: false };

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn fresh(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn reused(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn failed(self) -> Style {
        self.fg(Color::Red)
    }

    pub fn threshold(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn bar(self) -> Style {
        self.fg(Color::Blue)
    }

    /// The focused panel's border.
    pub fn focused(self) -> Style {
        if self.color {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn severity(self, s: Severity) -> Style {
        match s {
            Severity::Critical => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::Warning => self.fg(Color::Yellow),
            _ => self.fg(Color::Green),
        }
    }
}

//! The header: what is watched and how, for how long, and what runs.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{fmt_elapsed, fmt_gap};
use crate::tui::state::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let m = &state.meta;
    let speed = match &m.lab {
        Some(_) if m.scale != 1.0 => format!(" (speed {}×: findings in scenario time)", m.scale),
        _ => String::new(),
    };
    let first = Line::from(vec![
        Span::styled("coldlink watch", theme.title()),
        Span::raw(format!(
            " · {}{speed} · {} target{} · {}",
            m.name,
            m.targets.len(),
            if m.targets.len() == 1 { "" } else { "s" },
            m.plan
        )),
    ]);
    let a = &state.activity;
    let mut parts = vec![
        format!("elapsed {}", fmt_elapsed(state.elapsed)),
        format!("{} probes, {} failed", state.probes, state.failed),
        if a.schedule {
            "schedule running".to_string()
        } else {
            "schedule paused".to_string()
        },
        if a.keep_warm {
            format!("keep-warm every {}", fmt_gap(m.keep_warm_every))
        } else {
            "keep-warm off".to_string()
        },
    ];
    if let Some((got, of)) = a.burst {
        parts.push(format!("burst {got}/{of}"));
    }
    if let Some((step, of, gap)) = a.sweep {
        parts.push(format!("idle sweep {step}/{of}: quiet {}", fmt_gap(gap)));
    }
    let second = Line::from(Span::styled(parts.join(" · "), theme.dim()));
    frame.render_widget(Paragraph::new(vec![first, second]), area);
}

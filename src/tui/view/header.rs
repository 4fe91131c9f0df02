//! The header: what is watched and how, for how long, and what runs. What
//! runs comes first on its line, so that a narrow terminal cuts the
//! counters, not the sign that a sweep or a burst is under way.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::format;
use crate::tui::state::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let m = &state.meta;
    let wide = area.width >= 120;
    let speed = match &m.lab {
        Some(_) if m.scale != 1.0 && wide => format!(" (speed {}×: findings in scenario time)", m.scale),
        Some(_) if m.scale != 1.0 => format!(" ({}×)", m.scale),
        _ => String::new(),
    };
    let targets = format!(
        "{} target{}",
        m.targets.len(),
        if m.targets.len() == 1 { "" } else { "s" }
    );
    let first = Line::from(vec![
        Span::styled(if wide { "coldlink watch · " } else { "" }, theme.title()),
        Span::styled(format!("{}{speed}", m.name), theme.title()),
        Span::raw(format!(" · {} · {targets}", m.plan)),
    ]);
    let a = &state.activity;
    let mut parts = Vec::new();
    if let Some((step, of, gap)) = a.sweep {
        parts.push(format!("idle sweep {step}/{of}: quiet {}", format::gap(gap)));
    }
    if let Some((got, of)) = a.burst {
        parts.push(format!("burst {got}/{of}"));
    }
    parts.push(
        if a.schedule {
            "schedule running"
        } else {
            "schedule paused"
        }
        .to_string(),
    );
    parts.push(if a.keep_warm {
        format!("keep-warm every {}", format::gap(m.keep_warm_every))
    } else {
        "keep-warm off".to_string()
    });
    parts.push(format!(
        "{}, {} failed",
        format::count(state.probes, "probe"),
        state.failed
    ));
    parts.push(format!("elapsed {}", format::elapsed(state.elapsed)));
    let second = Line::from(Span::styled(parts.join(" · "), theme.dim()));
    frame.render_widget(Paragraph::new(vec![first, second]), area);
}

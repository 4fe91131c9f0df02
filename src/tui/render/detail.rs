//! Full views over the dashboard: one probe's record (every phase as a
//! waterfall, the connection, TLS, the captured headers, the error), or one
//! finding's evidence and fixes.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::popup;
use crate::diagnose::Finding;
use crate::probe::ProbeRecord;
use crate::render::waterfall;
use crate::tui::theme::Theme;

pub fn probe(frame: &mut Frame, area: Rect, r: &ProbeRecord, theme: Theme) {
    let mut text = Vec::new();
    // The same waterfall `coldlink probe URL` prints: one way to read a probe.
    let _ = waterfall::write(&mut text, r);
    let mut lines = vec![Line::from(Span::styled(
        format!("probe #{} at {} (scheduled {})", r.seq, r.at, r.scheduled_at),
        theme.dim(),
    ))];
    lines.extend(
        String::from_utf8_lossy(&text)
            .lines()
            .map(|l| Line::from(l.to_string())),
    );
    show(
        frame,
        area,
        " probe · ↑↓ previous/next · Esc close ",
        lines,
        theme,
    );
}

pub fn finding(frame: &mut Frame, area: Rect, f: &Finding, theme: Theme) {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                f.cause.as_str(),
                theme
                    .severity(f.severity)
                    .add_modifier(ratatui::style::Modifier::BOLD),
            ),
            Span::raw(format!(
                "  {} · confidence {:.0} %",
                f.severity.as_str(),
                f.confidence * 100.0
            )),
        ]),
        Line::from(f.title.clone()),
    ];
    if !f.targets.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("targets: {}", f.targets.join(", ")),
            theme.dim(),
        )));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("evidence", theme.title())));
    lines.extend(f.evidence.iter().map(|e| Line::from(format!("  • {e}"))));
    if !f.fix.is_empty() {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled("what to change", theme.title())));
        lines.extend(f.fix.iter().map(|e| Line::from(format!("  • {e}"))));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "docs/causes.md explains each cause; coldlink diagnose gives the full report.",
        theme.dim(),
    )));
    show(
        frame,
        area,
        " finding · ↑↓ previous/next · Esc close ",
        lines,
        theme,
    );
}

fn show(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'_>>, theme: Theme) {
    let area = popup(area, 100, 40);
    frame.render_widget(Clear, area);
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::bordered().title(title).border_style(theme.focused()));
    frame.render_widget(p, area);
}

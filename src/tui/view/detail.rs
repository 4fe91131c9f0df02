//! Full views over the dashboard: one probe's record (every phase as a
//! waterfall, the connection, TLS, the captured headers, the error), or one
//! finding's evidence and fixes.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::popup;
use crate::diagnose::Finding;
use crate::probe::waterfall;
use crate::probe::ProbeRecord;
use crate::tui::theme::Theme;

pub fn probe(frame: &mut Frame, area: Rect, r: &ProbeRecord, scroll: u16, theme: Theme) {
    let area = popup(area, 100, 40);
    // The phase bars take what the popup's width leaves: 38 columns go to
    // the phase, its time and the running total.
    let bar_width = match (area.width as usize).saturating_sub(2 + 38) {
        n if n < 8 => 0,
        n => n.min(40),
    };
    let mut text = Vec::new();
    // The same parts `coldlink probe URL` prints, the error first and the
    // headers last, so that 80×24 shows what matters without scrolling.
    let _ = waterfall::write_error(&mut text, r);
    let _ = waterfall::write_connection(&mut text, r);
    text.push(b'\n');
    let _ = waterfall::write_phases(&mut text, r, bar_width);
    text.push(b'\n');
    let _ = waterfall::write_headers(&mut text, r);
    let mut lines = vec![Line::from(Span::styled(
        // When it was scheduled is in `queue`, the time the tool held it.
        format!("probe #{} at {}", r.seq, r.at),
        theme.dim(),
    ))];
    lines.extend(String::from_utf8_lossy(&text).lines().map(|l| {
        if l.starts_with("  FAILED:") {
            Line::styled(
                l.to_string(),
                theme.failed().add_modifier(ratatui::style::Modifier::BOLD),
            )
        } else {
            Line::from(l.to_string())
        }
    }));
    show(
        frame,
        area,
        " probe · ↑↓ previous/next · PgUp/PgDn scroll · Esc close ",
        lines,
        scroll,
        theme,
    );
}

pub fn finding(frame: &mut Frame, area: Rect, f: &Finding, scroll: u16, theme: Theme) {
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
    let area = popup(area, 100, 40);
    show(
        frame,
        area,
        " finding · ↑↓ previous/next · PgUp/PgDn scroll · Esc close ",
        lines,
        scroll,
        theme,
    );
}

/// `lines` in a bordered box over `area`, from line `scroll` on (no
/// further than its last line).
fn show(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'_>>, scroll: u16, theme: Theme) {
    frame.render_widget(Clear, area);
    let last = u16::try_from(lines.len().saturating_sub(1)).unwrap_or(u16::MAX);
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(last), 0))
        .block(Block::bordered().title(title).border_style(theme.focused()));
    frame.render_widget(p, area);
}

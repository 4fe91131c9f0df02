//! Total latency of one target as a histogram on a log scale: one row per
//! half decade, so a fast mode and a mode of stalls show as two humps.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::format::axis_ms;
use crate::tui::state::{TargetView, BUCKETS, BUCKET_EDGES_MS};
use crate::tui::theme::Theme;

fn label(i: usize) -> String {
    match i {
        0 => format!("<{}", axis_ms(BUCKET_EDGES_MS[0])),
        i if i == BUCKETS - 1 => format!("≥{}", axis_ms(BUCKET_EDGES_MS[i - 1])),
        // "1–3ms", "300ms–1s", "1–3s": the unit once where both ends share it.
        i => {
            let (lo, hi) = (axis_ms(BUCKET_EDGES_MS[i - 1]), axis_ms(BUCKET_EDGES_MS[i]));
            let unit = if hi.ends_with("ms") { "ms" } else { "s" };
            match lo.strip_suffix(unit) {
                Some(bare) if !(unit == "s" && lo.ends_with("ms")) => format!("{bare}–{hi}"),
                _ => format!("{lo}–{hi}"),
            }
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, view: &TargetView, theme: Theme) {
    let block = Block::bordered().title(" latency histogram (log buckets) ");
    let inner = block.inner(area);
    let counts = &view.buckets;
    let first = counts.iter().position(|c| *c > 0);
    let last = counts.iter().rposition(|c| *c > 0);
    let lines: Vec<Line> = match (first, last) {
        (Some(first), Some(last)) => {
            let rows = (inner.height as usize).max(1);
            // More buckets than rows: the slowest rows fold into the last.
            let end = last.min(first + rows - 1);
            let mut shown: Vec<(String, u64)> = (first..=end).map(|i| (label(i), counts[i])).collect();
            if end < last {
                let rest: u64 = counts[end..=last].iter().sum();
                if let Some(row) = shown.last_mut() {
                    let from = match end {
                        0 => "all".to_string(),
                        e => format!("≥{}", axis_ms(BUCKET_EDGES_MS[e - 1])),
                    };
                    *row = (from, rest);
                }
            }
            let peak = shown.iter().map(|(_, c)| *c).max().unwrap_or(1).max(1);
            let label_w = shown.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
            let count_w = peak.to_string().len();
            let bar_w = (inner.width as usize).saturating_sub(label_w + count_w + 2);
            shown
                .into_iter()
                .map(|(l, c)| {
                    let n = if c == 0 {
                        0
                    } else {
                        ((c as f64 / peak as f64) * bar_w as f64).ceil() as usize
                    };
                    Line::from(vec![
                        Span::styled(format!("{l:>label_w$} "), theme.dim()),
                        Span::styled("█".repeat(n), theme.bar()),
                        Span::raw(format!("{}{c:>count_w$}", " ".repeat(bar_w - n + 1))),
                    ])
                })
                .collect()
        }
        _ => vec![Line::from(Span::styled("no answers yet", theme.dim()))],
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_labels_read_as_ranges() {
        assert_eq!(label(0), "<1ms");
        assert_eq!(label(1), "1–3ms");
        assert_eq!(label(6), "300ms–1s");
        assert_eq!(label(7), "1–3s");
        assert_eq!(label(BUCKETS - 1), "≥30s");
    }
}

//! Report formats, each a pure serialiser of a [`Report`] into `impl Write`.

pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

use std::io::{self, Write};

use super::report::{Plots, Report};

/// `--format` of `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnoseFormat {
    /// For a terminal: verdict first, colour unless NO_COLOR or not a terminal.
    Text,
    /// Markdown, for a ticket or a chat.
    Md,
    /// One JSON document (schema version 1, docs/report.schema.json).
    Json,
    /// One self-contained HTML file with plots.
    Html,
}

/// Write `report` in `format`; `color` only matters for text.
pub fn write(
    report: &Report,
    plots: &Plots,
    format: DiagnoseFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        DiagnoseFormat::Text => text::write(report, color, out),
        DiagnoseFormat::Md => markdown::write(report, out),
        DiagnoseFormat::Json => json::write(report, out),
        DiagnoseFormat::Html => html::write(report, plots, out),
    }
}

/// `p50 · p90 · p99` of a quantile set, human units.
pub(crate) fn spread(q: &super::report::Quantiles) -> String {
    use super::num::human_ms;
    format!(
        "{} · {} · {} · max {}",
        human_ms(q.p50),
        human_ms(q.p90),
        human_ms(q.p99),
        human_ms(q.max)
    )
}

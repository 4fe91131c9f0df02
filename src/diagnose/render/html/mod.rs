//! `--format html`: one self-contained file for a ticket or a post-mortem.
//! This module writes the page in order; each part has a module of its
//! own: `page` (head, verdict, findings), `plot` and `histograms` (the
//! three plots; `cloudwatch` the metrics strip), `config` (the `aws.config`
//! table), `axis`, `ticks` and `svg`
//! (what the plots draw with), `tables`, `escape` and `inline` (report text
//! as HTML), and `style.css`.
//!
//! Same content and order as the text and Markdown formats (verdict first,
//! then findings, then the numbers), plus three plots in between that show
//! the cause: latency over time, latency against the quiet gap before a
//! request, and per-phase distributions. Everything is inline (CSS and SVG,
//! no script, no font, no link) so the file opens anywhere, offline, and
//! can be attached as is. Every string from the report is escaped: target
//! names, titles and URLs come from users and can contain anything.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use crate::diagnose::report::{Plots, Report};

mod axis;
mod cloudwatch;
mod config;
mod escape;
mod histograms;
mod inline;
mod page;
mod plot;
mod svg;
mod tables;
#[cfg(test)]
mod tests;
mod ticks;

use escape::esc;
use histograms::plot_phases;
use page::{finding, head, list, notes, verdict};
use plot::{plot_over_time, plot_vs_gap};
use tables::{phases_table, sweep_table, targets_table};

pub fn write(report: &Report, plots: &Plots, out: &mut dyn Write) -> io::Result<()> {
    // Build the page in memory and write it once: the plots are thousands of
    // small pieces and `out` may be an unbuffered file or pipe.
    let mut s = String::with_capacity(64 * 1024);
    page(&mut s, report, plots).map_err(|_| io::Error::other("formatting the HTML report failed"))?;
    out.write_all(s.as_bytes())
}

fn page(s: &mut String, r: &Report, plots: &Plots) -> fmt::Result {
    head(s, r)?;
    verdict(s, r)?;
    if !r.findings.is_empty() {
        s.push_str("<h2>Findings</h2>\n");
        for f in &r.findings {
            finding(s, f)?;
        }
    }
    s.push_str("<h2>Plots</h2>\n");
    plot_over_time(s, r, plots)?;
    // The metrics per minute right under the requests over time, so that a
    // rise lines up with the requests that suffered.
    if let Some(ev) = &r.aws.cloudwatch {
        cloudwatch::plot(s, ev)?;
    }
    plot_vs_gap(s, r, plots)?;
    plot_phases(s, plots)?;
    targets_table(s, r)?;
    phases_table(s, r)?;
    sweep_table(s, r)?;
    if let Some(ev) = &r.aws.xray {
        s.push_str("<h2>AWS X-Ray</h2>\n");
        list(s, "ul", &super::xray_lines(ev))?;
    }
    if let Some(ev) = &r.aws.cloudwatch {
        s.push_str("<h2>AWS CloudWatch</h2>\n");
        list(s, "ul", &super::cloudwatch_lines(ev))?;
    }
    if let Some(c) = &r.aws.config {
        config::table(s, c)?;
    }
    notes(s, r)?;
    write!(
        s,
        "<footer>{}</footer>\n</body>\n</html>\n",
        esc(&super::text::source_line(r))
    )
}

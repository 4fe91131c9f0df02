//! The tables under the plots: targets, phase medians, the idle sweep.

use std::fmt::{self, Write as _};

use super::escape::esc;
use super::plot::colour;
use crate::diagnose::render::over;
use crate::diagnose::report::{Quantiles, Report};
use crate::format::human_ms;
use crate::probe::Phase;

pub(super) fn targets_table(s: &mut String, r: &Report) -> fmt::Result {
    s.push_str("<h2>Targets</h2>\n");
    if r.targets.is_empty() {
        s.push_str("<p>No targets.</p>\n");
        return Ok(());
    }
    s.push_str(
        "<table>\n<thead><tr><th>target</th><th>kind</th><th class=\"num\">probes</th>\
         <th class=\"num\">failed</th><th class=\"num\">p50</th><th class=\"num\">p90</th>\
         <th class=\"num\">p99</th><th class=\"num\">max</th></tr></thead>\n<tbody>\n",
    );
    for (i, t) in r.targets.iter().enumerate() {
        let q = &t.total_ms;
        // The swatch ties each row to its colour in the plots.
        writeln!(
            s,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}<br><code class=\"url\">{}</code>{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            colour(i),
            esc(&t.name),
            esc(&t.url),
            match &t.path {
                Some(path) => format!("<br>path: {}", esc(&path.words())),
                None => String::new(),
            },
            esc(&t.kind),
            t.probes,
            t.errors,
            esc(&human_ms(q.p50)),
            esc(&human_ms(q.p90)),
            esc(&human_ms(q.p99)),
            esc(&human_ms(q.max))
        )?;
        for f in &t.families {
            let q = &f.total_ms;
            writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&over(&t.name, f.family)),
                esc(&t.kind),
                f.probes,
                f.errors,
                esc(&human_ms(q.p50)),
                esc(&human_ms(q.p90)),
                esc(&human_ms(q.p99)),
                esc(&human_ms(q.max))
            )?;
        }
    }
    s.push_str("</tbody>\n</table>\n");
    Ok(())
}

/// Median of each phase per target; p90/p99/max in the cell's tooltip.
pub(super) fn phases_table(s: &mut String, r: &Report) -> fmt::Result {
    // Phases in the order a request goes through them (the map's order).
    let mut names: Vec<Phase> = r
        .targets
        .iter()
        .flat_map(|t| t.phases_ms.keys().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    s.push_str("<h3>Phase medians (p50)</h3>\n<table>\n<thead><tr><th>target</th>");
    for n in &names {
        write!(s, "<th class=\"num\">{}</th>", esc(n.as_str()))?;
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    let rows = r.targets.iter().flat_map(|t| {
        std::iter::once((t.name.clone(), &t.phases_ms))
            .chain(t.families.iter().map(|f| (over(&t.name, f.family), &f.phases_ms)))
    });
    for (name, phases) in rows {
        write!(s, "<tr><td>{}</td>", esc(&name))?;
        for n in &names {
            match phases.get(n) {
                Some(q) => write!(
                    s,
                    "<td class=\"num\" title=\"{}\">{}</td>",
                    esc(&tooltip(q)),
                    esc(&human_ms(q.p50))
                )?,
                None => s.push_str("<td class=\"num\">–</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    Ok(())
}

pub(super) fn tooltip(q: &Quantiles) -> String {
    format!(
        "p90 {} · p99 {} · max {}",
        human_ms(q.p90),
        human_ms(q.p99),
        human_ms(q.max)
    )
}

pub(super) fn sweep_table(s: &mut String, r: &Report) -> fmt::Result {
    if r.idle_sweep.is_empty() {
        return Ok(());
    }
    s.push_str(
        "<h2>After a quiet gap (first requests)</h2>\n<table>\n<thead><tr><th class=\"num\">gap</th>\
         <th class=\"num\">probes</th><th class=\"num\">slow or failed</th><th class=\"num\">latency</th>\
         </tr></thead>\n<tbody>\n",
    );
    for row in &r.idle_sweep {
        writeln!(
            s,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(&human_ms(row.gap_ms)),
            row.probes,
            row.slow,
            esc(&crate::diagnose::render::sweep_latency(row))
        )?;
    }
    s.push_str("</tbody>\n</table>\n");
    Ok(())
}

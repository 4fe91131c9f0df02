//! `--format md`: for a ticket or a chat. Verdict first, then findings,
//! then the numbers in tables.

use std::io::{self, Write};

use crate::diagnose::report::Report;
use crate::format::human_ms;

pub fn write(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# coldlink diagnosis: `{}`", r.verdict)?;
    writeln!(out)?;
    writeln!(out, "**{}**", r.summary)?;
    writeln!(out)?;
    writeln!(out, "Tested: {}", md(&r.tested))?;
    if !r.untested.is_empty() {
        writeln!(out)?;
        writeln!(out, "Not tested:")?;
        writeln!(out)?;
        for u in &r.untested {
            writeln!(
                out,
                "- `{}`: {}. Run `{}` ({}).",
                u.cause,
                md(&u.why),
                u.run,
                crate::format::about(u.takes_s)
            )?;
        }
    }
    for f in &r.findings {
        writeln!(out)?;
        writeln!(
            out,
            "## {} `{}` — {} (confidence {:.2}{})",
            f.severity.as_str(),
            f.cause,
            md(&f.title),
            f.confidence,
            if f.from.is_some() {
                ", from the configuration"
            } else {
                ""
            }
        )?;
        writeln!(out)?;
        for e in &f.evidence {
            writeln!(out, "- {}", md(e))?;
        }
        if !f.fix.is_empty() {
            writeln!(out)?;
            writeln!(out, "What to change:")?;
            writeln!(out)?;
            for (k, fix) in f.fix.iter().enumerate() {
                writeln!(out, "{}. {}", k + 1, fix)?;
            }
        }
        if !f.targets.is_empty() {
            writeln!(out)?;
            writeln!(out, "Targets: {}", f.targets.join(", "))?;
        }
        if let Some(family) = f.family_note() {
            writeln!(out)?;
            writeln!(out, "Family: {family}")?;
        }
        if let Some(vantage) = f.vantage_note() {
            writeln!(out)?;
            writeln!(out, "Vantage: {}", md(&vantage))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "## Targets")?;
    writeln!(out)?;
    writeln!(out, "| target | kind | probes | failed | p50 | p90 | p99 | max |")?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for t in &r.targets {
        let rows = std::iter::once((t.name.clone(), t.probes, t.errors, &t.total_ms)).chain(
            t.families
                .iter()
                .map(|f| (super::over(&t.name, f.family), f.probes, f.errors, &f.total_ms)),
        );
        for (name, probes, errors, q) in rows {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                md(&name),
                match &t.path {
                    Some(path) => format!("{}, path: {}", t.kind, md(&path.words())),
                    None => t.kind.clone(),
                },
                probes,
                errors,
                human_ms(q.p50),
                human_ms(q.p90),
                human_ms(q.p99),
                human_ms(q.max)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "| target | phase | p50 | p90 | p99 | max |")?;
    writeln!(out, "|---|---|---:|---:|---:|---:|")?;
    for t in &r.targets {
        let rows = std::iter::once((t.name.clone(), &t.phases_ms)).chain(
            t.families
                .iter()
                .map(|f| (super::over(&t.name, f.family), &f.phases_ms)),
        );
        for (name, phases) in rows {
            for (phase, q) in phases {
                writeln!(
                    out,
                    "| {} | {phase} | {} | {} | {} | {} |",
                    md(&name),
                    human_ms(q.p50),
                    human_ms(q.p90),
                    human_ms(q.p99),
                    human_ms(q.max)
                )?;
            }
        }
    }
    if !r.idle_sweep.is_empty() {
        writeln!(out)?;
        writeln!(out, "## After a quiet gap")?;
        writeln!(out)?;
        writeln!(out, "| gap | probes | slow or failed | latency |")?;
        writeln!(out, "|---:|---:|---:|---:|")?;
        for row in &r.idle_sweep {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                super::with_measured(row.gap_ms, r.source.time_scale),
                row.probes,
                row.slow,
                super::sweep_latency(row)
            )?;
        }
    }
    if let Some(ev) = &r.aws.xray {
        writeln!(out)?;
        writeln!(out, "## AWS X-Ray")?;
        writeln!(out)?;
        for line in super::xray_lines(ev) {
            writeln!(out, "- {}", md(&line))?;
        }
    }
    if let Some(ev) = &r.aws.cloudwatch {
        writeln!(out)?;
        writeln!(out, "## AWS CloudWatch")?;
        writeln!(out)?;
        for line in super::cloudwatch_lines(ev) {
            writeln!(out, "- {}", md(&line))?;
        }
    }
    if let Some(c) = &r.aws.config {
        writeln!(out)?;
        writeln!(out, "## AWS configuration")?;
        writeln!(out)?;
        let rows = super::config_table::rows(c);
        if !rows.is_empty() {
            writeln!(out, "| resource | name | settings |")?;
            writeln!(out, "|---|---|---|")?;
            for row in rows {
                let arrow = if row.depth > 0 { "↳ " } else { "" };
                writeln!(
                    out,
                    "| {arrow}{} | {} | {} |",
                    row.what,
                    md(&row.name),
                    md(&row.settings)
                )?;
            }
            writeln!(out)?;
        }
        for n in &c.notes {
            writeln!(out, "- {}", md(n))?;
        }
    }
    if !r.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Notes")?;
        writeln!(out)?;
        for n in &r.notes {
            writeln!(out, "- {}", md(n))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "_{}_", md(&super::text::source_line(r)))?;
    Ok(())
}

/// Escape what Markdown would take as table cells or markup. Inside a
/// code span (between backticks) a backslash is shown as it is, so only
/// `|` is escaped there (GFM tables split cells on it even in code).
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut code = false;
    for c in s.chars() {
        match c {
            '`' => code = !code,
            '|' => out.push('\\'),
            '_' | '*' if !code => out.push('\\'),
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped_outside_code_spans_only() {
        assert_eq!(
            super::md("target_processing_time in `target_processing_time -1` | *x*"),
            "target\\_processing\\_time in `target_processing_time -1` \\| \\*x\\*"
        );
        assert_eq!(super::md("`a|b`"), "`a\\|b`");
    }
}

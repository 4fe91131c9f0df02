//! `--format text`: for a terminal. The verdict comes first, in one
//! sentence; then each finding with its evidence and fixes; then the numbers.

use std::io::{self, Write};

use nu_ansi_term::{Color, Style};

use crate::diagnose::finding::{family_name, Severity};
use crate::diagnose::report::Report;
use crate::format::human_ms;

/// Colours for a terminal, or plain text. nu-ansi-term writes bold and a
/// colour as one sequence (`ESC[1;31m`), as this report always has.
struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: Style, s: &str) -> String {
        if self.on {
            style.paint(s).to_string()
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint(Style::new().bold(), s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint(Style::new().dimmed(), s)
    }
    fn severity(&self, sev: Severity) -> String {
        let colour = match sev {
            Severity::Critical => Color::Red,
            Severity::Warning => Color::Yellow,
            Severity::Info => Color::Cyan,
        };
        self.paint(colour.bold(), sev.as_str())
    }
}

/// A target's (or one family's) median per phase, on one line.
fn phase_medians(
    out: &mut dyn Write,
    p: &Paint,
    indent: &str,
    phases: &std::collections::BTreeMap<crate::probe::Phase, crate::diagnose::report::Quantiles>,
) -> io::Result<()> {
    if phases.is_empty() {
        return Ok(());
    }
    let medians: Vec<String> = phases
        .iter()
        .map(|(phase, q)| format!("{phase} {}", human_ms(q.p50)))
        .collect();
    writeln!(out, "{indent}{} {}", p.dim("phase p50:"), medians.join(" · "))
}

pub fn write(r: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: color };
    let verdict = match r.verdict {
        crate::diagnose::Cause::Healthy => p.paint(Color::Green.bold(), r.verdict.as_str()),
        crate::diagnose::Cause::Inconclusive => p.paint(Color::Yellow.bold(), r.verdict.as_str()),
        _ => p.paint(Color::Red.bold(), r.verdict.as_str()),
    };
    writeln!(out, "{} {verdict}", p.bold("Verdict:"))?;
    writeln!(out, "{}", r.summary)?;
    writeln!(out, "{} {}", p.bold("Tested:"), r.tested)?;
    if !r.untested.is_empty() {
        writeln!(out, "{}", p.bold("Not tested:"))?;
        for u in &r.untested {
            writeln!(out, "  · {}: {}", p.bold(u.cause.as_str()), u.why)?;
            writeln!(out, "    run `{}` ({})", u.run, crate::format::about(u.takes_s))?;
        }
    }
    for f in &r.findings {
        writeln!(out)?;
        writeln!(
            out,
            "{} {} {}{}",
            p.severity(f.severity),
            p.bold(f.cause.as_str()),
            p.dim(&format!("(confidence {:.2})", f.confidence)),
            if f.from.is_some() {
                format!(" {}", p.dim("from the configuration"))
            } else {
                String::new()
            }
        )?;
        writeln!(out, "  {}", f.title)?;
        for e in &f.evidence {
            writeln!(out, "  · {e}")?;
        }
        if !f.fix.is_empty() {
            writeln!(out, "  {}", p.bold("What to change:"))?;
            for (k, fix) in f.fix.iter().enumerate() {
                writeln!(out, "  {}. {fix}", k + 1)?;
            }
        }
        if !f.targets.is_empty() {
            writeln!(out, "  {} {}", p.dim("targets:"), f.targets.join(", "))?;
        }
        if let Some(family) = f.family_note() {
            writeln!(out, "  {} {family}", p.dim("family:"))?;
        }
        if let Some(vantage) = f.vantage_note() {
            writeln!(out, "  {} {vantage}", p.dim("vantage:"))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", p.bold("Targets (total p50 · p90 · p99 · max)"))?;
    for t in &r.targets {
        writeln!(
            out,
            "  {} ({}) — {}, {} failed: {}",
            t.name,
            t.kind,
            crate::format::count(t.probes as u64, "probe"),
            t.errors,
            super::spread(&t.total_ms)
        )?;
        if let Some(path) = &t.path {
            writeln!(out, "    {} {}", p.dim("path:"), path.words())?;
        }
        phase_medians(out, &p, "    ", &t.phases_ms)?;
        for f in &t.families {
            writeln!(
                out,
                "    over {}: {}, {} failed: {}",
                family_name(f.family),
                crate::format::count(f.probes as u64, "probe"),
                f.errors,
                super::spread(&f.total_ms)
            )?;
            phase_medians(out, &p, "      ", &f.phases_ms)?;
        }
    }
    if !r.idle_sweep.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.bold("After a quiet gap (first requests)"))?;
        for row in &r.idle_sweep {
            writeln!(
                out,
                // The word padded so that the columns after it line up.
                "  gap {:>8}: {:>3} {:<7} {:>3} slow or failed, {}",
                super::with_measured(row.gap_ms, r.source.time_scale),
                row.probes,
                if row.probes == 1 { "probe," } else { "probes," },
                row.slow,
                super::sweep_latency(row)
            )?;
        }
    }
    if let Some(ev) = &r.aws.xray {
        writeln!(out)?;
        writeln!(out, "{}", p.bold("AWS X-Ray"))?;
        for line in super::xray_lines(ev) {
            writeln!(out, "  · {line}")?;
        }
    }
    if let Some(ev) = &r.aws.cloudwatch {
        writeln!(out)?;
        writeln!(out, "{}", p.bold("AWS CloudWatch"))?;
        for line in super::cloudwatch_lines(ev) {
            writeln!(out, "  · {line}")?;
        }
    }
    if let Some(c) = &r.aws.config {
        writeln!(out)?;
        writeln!(out, "{}", p.bold("AWS configuration"))?;
        for line in super::config_table::lines(c) {
            writeln!(out, "  {line}")?;
        }
        for n in &c.notes {
            writeln!(out, "  · {n}")?;
        }
    }
    if !r.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.bold("Notes"))?;
        for n in &r.notes {
            writeln!(out, "  · {n}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", p.dim(&source_line(r)))?;
    Ok(())
}

/// `quick plan: 80 probes over 12 s, lab idle-timeout`.
pub(crate) fn source_line(r: &Report) -> String {
    let s = &r.source;
    let mut line = format!(
        "{}: {} probes over {}",
        match s.mode.as_str() {
            "records" => "stored records",
            "idle-sweep" => "idle sweep",
            "quick" => "quick plan",
            other => other,
        },
        s.probes,
        super::with_measured(s.duration_s * 1000.0 * s.time_scale, s.time_scale)
    );
    if let Some(lab) = &s.lab {
        line.push_str(&format!(", lab scenario {lab} at speed {}", s.time_scale));
    }
    if !s.files.is_empty() {
        line.push_str(&format!(", from {}", s.files.join(", ")));
    }
    if s.unreadable_lines > 0 {
        line.push_str(&format!(", {} unreadable lines skipped", s.unreadable_lines));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escape sequences terminals have always had from this report:
    /// bold and a colour in one sequence, one reset.
    #[test]
    fn colours_are_the_classic_sequences() {
        let p = Paint { on: true };
        assert_eq!(p.bold("Verdict:"), "\x1b[1mVerdict:\x1b[0m");
        assert_eq!(p.dim("(x)"), "\x1b[2m(x)\x1b[0m");
        assert_eq!(p.severity(Severity::Critical), "\x1b[1;31mcritical\x1b[0m");
        assert_eq!(p.severity(Severity::Warning), "\x1b[1;33mwarning\x1b[0m");
        assert_eq!(p.severity(Severity::Info), "\x1b[1;36minfo\x1b[0m");
        assert_eq!(
            p.paint(Color::Green.bold(), "healthy"),
            "\x1b[1;32mhealthy\x1b[0m"
        );
        assert_eq!(Paint { on: false }.bold("Verdict:"), "Verdict:");
    }
}

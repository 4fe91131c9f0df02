//! The per-target summary table: counts, connection reuse, and percentiles
//! of every phase.

use std::io::{self, Write};

use crate::probe::Phase;
use crate::stats::{GroupRow, LatencyHistogram, RunStats, TargetStats};

pub fn write(w: &mut (impl Write + ?Sized), stats: &RunStats) -> io::Result<()> {
    for (i, t) in stats.targets.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_target(w, t)?;
    }
    Ok(())
}

/// One target's block, headed by its name and URL.
pub fn write_target(w: &mut (impl Write + ?Sized), t: &TargetStats) -> io::Result<()> {
    write_titled(w, &format!("{}  {}", t.name, t.url), t)
}

/// One block of counts and phase percentiles under `title`.
pub fn write_titled(w: &mut (impl Write + ?Sized), title: &str, t: &TargetStats) -> io::Result<()> {
    writeln!(w, "{title}")?;
    let failed = if t.errors.is_empty() {
        "0".to_string()
    } else {
        let kinds: Vec<String> = t.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!("{} ({})", t.failed(), kinds.join(", "))
    };
    writeln!(w, "  probes {}  ok {}  failed {}", t.probes, t.ok, failed)?;
    writeln!(
        w,
        "  connections: {} new, {} reused, {} found closed by the peer",
        t.fresh, t.reused, t.reconnected
    )?;
    writeln!(
        w,
        "  {:<8} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "ms", "count", "p50", "p90", "p99", "p99.9", "max"
    )?;
    for phase in Phase::ALL {
        row(w, phase.as_str(), t.phase(phase))?;
    }
    row(w, "total", t.total())
}

fn row(w: &mut (impl Write + ?Sized), name: &str, h: &LatencyHistogram) -> io::Result<()> {
    match h.percentiles() {
        None => writeln!(w, "  {name:<8} {:>7}", 0),
        Some(p) => writeln!(
            w,
            "  {name:<8} {:>7} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            p.count, p.p50, p.p90, p.p99, p.p999, p.max
        ),
    }
}

/// Breakdown tables: one per target, one row per key.
pub fn write_breakdown(
    w: &mut (impl Write + ?Sized),
    by: &str,
    targets: &[(String, Vec<GroupRow>)],
) -> io::Result<()> {
    for (i, (target, rows)) in targets.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        writeln!(w, "{target} by {by}")?;
        let width = rows.iter().map(|r| r.key.len()).max().unwrap_or(3).max(3);
        writeln!(
            w,
            "  {:<width$} {:>7} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10}",
            by, "probes", "failed", "reused", "p50 ms", "p99 ms", "max ms", "ttfb p50"
        )?;
        for r in rows {
            let pct = |p: &Option<crate::stats::Percentiles>, f: fn(&crate::stats::Percentiles) -> f64| {
                p.as_ref()
                    .map(|p| format!("{:.2}", f(p)))
                    .unwrap_or_else(|| "-".into())
            };
            writeln!(
                w,
                "  {:<width$} {:>7} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10}",
                r.key,
                r.probes,
                r.failed,
                r.reused,
                pct(&r.total_ms, |p| p.p50),
                pct(&r.total_ms, |p| p.p99),
                pct(&r.total_ms, |p| p.max),
                pct(&r.ttfb_ms, |p| p.p50),
            )?;
        }
    }
    Ok(())
}

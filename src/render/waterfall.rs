//! The single-probe view: where the time went, phase by phase, drawn as a
//! waterfall whose bars start where the previous phase ended. `queue` is the
//! sum of the tool's own gaps wherever they fell (mostly before the first
//! phase), and is drawn first.

use std::io::{self, Write};

use super::{fmt_ms, fmt_span};
use crate::probe::ProbeRecord;

const BAR_WIDTH: usize = 40;

pub fn write(w: &mut (impl Write + ?Sized), r: &ProbeRecord) -> io::Result<()> {
    writeln!(w, "{}  ({})", r.url, r.target)?;
    if let Some(remote) = r.remote {
        let local = r.local.map(|l| format!(" from {l}")).unwrap_or_default();
        let conn = match &r.conn {
            Some(c) if c.reused => format!(
                ", connection #{} reused after {} idle ({} requests)",
                c.id,
                c.idle_ms.map(fmt_span).unwrap_or_else(|| "?".into()),
                c.requests
            ),
            Some(c) => format!(", connection #{} (new)", c.id),
            None => String::new(),
        };
        writeln!(w, "  connected to {remote}{local}{conn}")?;
    }
    if let Some(c) = &r.conn {
        if c.reconnected {
            let idle = c.stale_idle_ms.map(fmt_span).unwrap_or_else(|| "?".into());
            writeln!(
                w,
                "  the pooled connection had been closed by the peer after {idle} idle; opened a new one"
            )?;
        }
    }
    if let Some(tls) = &r.tls {
        let alpn = tls.alpn.as_deref().unwrap_or("none");
        let kind = if tls.resumed {
            "resumed session"
        } else {
            "full handshake"
        };
        writeln!(w, "  {}, ALPN {alpn}, {kind}", tls.version)?;
    }
    if let Some(status) = r.status {
        let http = r.http.as_deref().unwrap_or("1.1");
        let bytes = r.body_bytes.map(|b| format!(", {b} bytes")).unwrap_or_default();
        writeln!(w, "  HTTP/{http} {status}{bytes}")?;
    }
    if let Some(trace) = &r.trace_id {
        writeln!(w, "  trace {trace}")?;
    }
    for (k, v) in &r.headers {
        writeln!(w, "  {k}: {v}")?;
    }
    writeln!(w)?;
    writeln!(w, "  {:<8} {:>11} {:>11}", "phase", "time", "cumulative")?;
    let total = r.total_ms.max(f64::EPSILON);
    let mut cumulative = 0.0;
    for (phase, value) in r.phases_ms.iter() {
        match value {
            Some(ms) => {
                let from = cumulative;
                cumulative += ms;
                writeln!(
                    w,
                    "  {:<8} {:>11} {:>11}  |{}|",
                    phase.as_str(),
                    fmt_ms(ms),
                    fmt_ms(cumulative),
                    bar(from / total, cumulative / total)
                )?;
            }
            None => writeln!(
                w,
                "  {:<8} {:>11} {:>11}  |{}|",
                phase.as_str(),
                "-",
                "",
                " ".repeat(BAR_WIDTH)
            )?,
        }
    }
    writeln!(w, "  {:<8} {:>11}", "total", fmt_ms(r.total_ms))?;
    if let Some(e) = &r.error {
        writeln!(w)?;
        writeln!(w, "  FAILED: {} in {}: {}", e.kind, e.phase, e.message)?;
    }
    Ok(())
}

/// Cells from fraction `from` to `to` of the bar; anything that took time
/// gets at least one cell so a short phase is still visible.
fn bar(from: f64, to: f64) -> String {
    let start = ((from * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
    let mut end = ((to * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
    if end <= start && to > from {
        end = (start + 1).min(BAR_WIDTH);
    }
    let start = start.min(end);
    let mut s = String::with_capacity(BAR_WIDTH * 3);
    s.push_str(&" ".repeat(start));
    s.push_str(&"█".repeat(end - start));
    s.push_str(&" ".repeat(BAR_WIDTH - end));
    s
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bars_start_where_the_previous_phase_ended() {
        assert_eq!(bar(0.0, 0.5).chars().filter(|c| *c == '█').count(), 20);
        let b = bar(0.5, 1.0);
        assert!(b.starts_with(&" ".repeat(20)) && b.ends_with('█'));
        assert_eq!(bar(0.3, 0.3001).chars().filter(|c| *c == '█').count(), 1);
        assert_eq!(bar(0.3, 0.3).chars().count(), 40);
    }
}

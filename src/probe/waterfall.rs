//! The single-probe view: where the time went, phase by phase, drawn as a
//! waterfall whose bars start where the previous phase ended. `queue` is the
//! sum of the tool's own gaps wherever they fell (mostly before the first
//! phase), and is drawn first.
//!
//! `coldlink probe` prints it and the dashboard's probe detail shows it;
//! it sits with the record it draws so that neither imports the other.

use std::io::{self, Write};

use super::ProbeRecord;
use crate::format;

const BAR_WIDTH: usize = 40;

/// `label`: what the header calls the target (its name, and its IP
/// family when both are probed).
pub fn write(w: &mut (impl Write + ?Sized), r: &ProbeRecord, label: &str) -> io::Result<()> {
    write_connection_as(w, r, label)?;
    write_headers(w, r)?;
    writeln!(w)?;
    write_phases(w, r, BAR_WIDTH)?;
    if r.error.is_some() {
        writeln!(w)?;
        write_error(w, r)?;
    }
    Ok(())
}

/// The URL, the connection (new or reused, idle time), TLS, status, trace.
pub fn write_connection(w: &mut (impl Write + ?Sized), r: &ProbeRecord) -> io::Result<()> {
    write_connection_as(w, r, &r.target)
}

/// [`write_connection`], the target called `label`.
fn write_connection_as(w: &mut (impl Write + ?Sized), r: &ProbeRecord, label: &str) -> io::Result<()> {
    writeln!(w, "{}  ({label})", r.url)?;
    if let Some(remote) = r.remote {
        let local = r.local.map(|l| format!(" from {l}")).unwrap_or_default();
        let conn = match &r.conn {
            Some(c) if c.reused => format!(
                ", connection #{} reused after {} idle ({} requests)",
                c.id,
                c.idle_ms.map(format::span).unwrap_or_else(|| "?".into()),
                c.requests
            ),
            Some(c) => format!(", connection #{} (new)", c.id),
            None => String::new(),
        };
        writeln!(w, "  connected to {remote}{local}{conn}")?;
    }
    if let Some(c) = &r.conn {
        if c.reconnected {
            let idle = c.stale_idle_ms.map(format::span).unwrap_or_else(|| "?".into());
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
    Ok(())
}

/// The captured response headers (secrets never reach a record).
pub fn write_headers(w: &mut (impl Write + ?Sized), r: &ProbeRecord) -> io::Result<()> {
    for (k, v) in &r.headers {
        writeln!(w, "  {k}: {v}")?;
    }
    Ok(())
}

/// Every phase with its time, the running total, and a bar `bar_width`
/// cells wide (none when 0).
pub fn write_phases(w: &mut (impl Write + ?Sized), r: &ProbeRecord, bar_width: usize) -> io::Result<()> {
    writeln!(w, "  {:<8} {:>11} {:>11}", "phase", "time", "cumulative")?;
    let total = r.total_ms.max(f64::EPSILON);
    let mut cumulative = 0.0;
    let drawn = |from: f64, to: f64| match bar_width {
        0 => String::new(),
        n => format!("  |{}|", bar(from, to, n)),
    };
    for (phase, value) in r.phases_ms.iter() {
        match value {
            Some(ms) => {
                let from = cumulative;
                cumulative += ms;
                writeln!(
                    w,
                    "  {:<8} {:>11} {:>11}{}",
                    phase.as_str(),
                    format::ms(ms),
                    format::ms(cumulative),
                    drawn(from / total, cumulative / total)
                )?;
            }
            None => writeln!(
                w,
                "  {:<8} {:>11} {:>11}{}",
                phase.as_str(),
                "-",
                "",
                drawn(0.0, 0.0)
            )?,
        }
    }
    writeln!(w, "  {:<8} {:>11}", "total", format::ms(r.total_ms))
}

/// `FAILED: kind in phase: message`, if the probe failed.
pub fn write_error(w: &mut (impl Write + ?Sized), r: &ProbeRecord) -> io::Result<()> {
    if let Some(e) = &r.error {
        writeln!(w, "  FAILED: {}", failure(e))?;
    }
    Ok(())
}

/// `kind in phase: message`; `kind: message` when the kind is named after
/// its phase (`dns`, `tls`), which would read "dns in dns".
pub fn failure(e: &super::ProbeError) -> String {
    let (kind, phase) = (e.kind.to_string(), e.phase.to_string());
    match kind == phase {
        true => format!("{kind}: {}", e.message),
        false => format!("{kind} in {phase}: {}", e.message),
    }
}

/// Cells from fraction `from` to `to` of the bar; anything that took time
/// gets at least one cell so a short phase is still visible.
fn bar(from: f64, to: f64, width: usize) -> String {
    let start = ((from * width as f64).round() as usize).min(width);
    let mut end = ((to * width as f64).round() as usize).min(width);
    if end <= start && to > from {
        end = (start + 1).min(width);
    }
    let start = start.min(end);
    let mut s = String::with_capacity(width * 3);
    s.push_str(&" ".repeat(start));
    s.push_str(&"█".repeat(end - start));
    s.push_str(&" ".repeat(width - end));
    s
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bars_start_where_the_previous_phase_ended() {
        assert_eq!(bar(0.0, 0.5, 40).chars().filter(|c| *c == '█').count(), 20);
        let b = bar(0.5, 1.0, 40);
        assert!(b.starts_with(&" ".repeat(20)) && b.ends_with('█'));
        assert_eq!(bar(0.3, 0.3001, 40).chars().filter(|c| *c == '█').count(), 1);
        assert_eq!(bar(0.3, 0.3, 40).chars().count(), 40);
        assert_eq!(bar(0.0, 1.0, 12).chars().count(), 12, "any width");
    }
}

//! One line per probe, for runs of many probes.

use crate::format;
use crate::probe::ProbeRecord;

pub fn probe_line(r: &ProbeRecord) -> String {
    let conn = match &r.conn {
        Some(c) if c.reused => format!(
            "conn #{} reused, idle {}",
            c.id,
            c.idle_ms.map(format::span).unwrap_or_else(|| "?".into())
        ),
        Some(c) if c.reconnected => format!("conn #{} new (pooled one closed by peer)", c.id),
        Some(c) => format!("conn #{} new", c.id),
        None => "no connection".to_string(),
    };
    let outcome = match (&r.error, r.status) {
        (None, Some(s)) => format!("{s}"),
        (Some(e), _) => format!("FAILED {} in {}: {}", e.kind, e.phase, e.message),
        (None, None) => "-".to_string(),
    };
    let ttfb = r.phases_ms.ttfb.map(format::ms).unwrap_or_else(|| "-".into());
    format!(
        "{:>6}  {}  {:>10}  ttfb {:>10}  {}  {}",
        r.seq,
        r.target,
        format::ms(r.total_ms),
        ttfb,
        conn,
        outcome
    )
}

//! One line per probe, for runs of many probes.

use crate::format;
use crate::probe::ProbeRecord;

/// `families`: name the IP family after the target (`--ip-family both`).
pub fn probe_line(r: &ProbeRecord, families: bool) -> String {
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
        (Some(e), _) => format!("FAILED {}", crate::probe::waterfall::failure(e)),
        (None, None) => "-".to_string(),
    };
    let ttfb = r.phases_ms.ttfb.map(format::ms).unwrap_or_else(|| "-".into());
    format!(
        "{:>6}  {}  {:>10}  ttfb {:>10}  {}  {}",
        r.seq,
        target_label(r, families),
        format::ms(r.total_ms),
        ttfb,
        conn,
        outcome
    )
}

/// The target's name, and its family when both are probed: `api over
/// IPv6`, as `report` heads a family's block.
pub fn target_label(r: &ProbeRecord, families: bool) -> std::borrow::Cow<'_, str> {
    match r.family.filter(|_| families) {
        Some(f) => format!("{} over {}", r.target, f.label()).into(),
        None => (&*r.target).into(),
    }
}

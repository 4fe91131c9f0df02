//! The CloudWatch strip chart: one row per series, one bar per minute,
//! the minutes of slow or failed probes shaded, so that a rise in resets or
//! a zone's health falling to zero lines up with the requests that suffered.

use std::fmt::{self, Write as _};

use super::escape::esc;
use super::svg::{svg_close, N, W};
use crate::diagnose::cloudwatch::CloudWatchEvidence;

const ROW: f64 = 24.0;
const LABEL_RIGHT: f64 = 300.0;
const BARS_RIGHT: f64 = 860.0;
const HEAD: f64 = 34.0;

pub(super) fn plot(s: &mut String, ev: &CloudWatchEvidence) -> fmt::Result {
    let rows: Vec<_> = ev.metrics.iter().filter(|m| !m.values.is_empty()).collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Every minute any series or slow probe names, in time order (RFC 3339
    // sorts as text).
    let mut minutes: Vec<&str> = rows
        .iter()
        .flat_map(|m| m.timestamps.iter().map(String::as_str))
        .chain(ev.slow_minutes.iter().map(String::as_str))
        .collect();
    minutes.sort_unstable();
    minutes.dedup();
    let h = HEAD + ROW * rows.len() as f64 + 24.0;
    let slot = (BARS_RIGHT - LABEL_RIGHT - 10.0) / minutes.len() as f64;
    let x_of = |t: &str| {
        let i = minutes.binary_search(&t).unwrap_or(0);
        LABEL_RIGHT + 10.0 + i as f64 * slot
    };
    write!(
        s,
        "<figure>\n<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"CloudWatch metrics per minute\">\n\
         <text class=\"title\" x=\"10\" y=\"22\">CloudWatch, per minute</text>\n",
        w = N(W),
        h = N(h)
    )?;
    for t in &ev.slow_minutes {
        writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#d7191c\" opacity=\".12\"><title>slow or failed probes in {}</title></rect>",
            N(x_of(t)),
            N(HEAD - 4.0),
            N(slot),
            N(ROW * rows.len() as f64 + 4.0),
            esc(t)
        )?;
    }
    for (r, m) in rows.iter().enumerate() {
        let top = HEAD + r as f64 * ROW;
        let zone = m
            .dimensions
            .get("AvailabilityZone")
            .map(|z| format!(" {z}"))
            .unwrap_or_default();
        let label = format!("{}{zone} ({})", m.name, m.stat.to_lowercase());
        writeln!(
            s,
            "<text class=\"ytick\" x=\"{}\" y=\"{}\">{}</text>",
            N(LABEL_RIGHT),
            N(top + ROW * 0.65),
            esc(&label)
        )?;
        let max = m.values.iter().copied().fold(0.0, f64::max);
        for (t, v) in m.timestamps.iter().zip(&m.values) {
            let frac = if max > 0.0 { v / max } else { 0.0 };
            let bar = (ROW - 6.0) * frac;
            writeln!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"currentColor\" opacity=\".6\"><title>{}: {}</title></rect>",
                N(x_of(t) + 1.0),
                N(top + ROW - 3.0 - bar.max(0.5)),
                N((slot - 2.0).max(1.0)),
                N(bar.max(0.5)),
                esc(t),
                N(*v)
            )?;
        }
        writeln!(
            s,
            "<text class=\"small\" x=\"{}\" y=\"{}\">max {}</text>",
            N(BARS_RIGHT + 8.0),
            N(top + ROW * 0.65),
            N(max)
        )?;
    }
    writeln!(
        s,
        "<text class=\"small\" x=\"{}\" y=\"{}\">{} … {}</text>",
        N(LABEL_RIGHT + 10.0),
        N(h - 6.0),
        esc(minutes.first().copied().unwrap_or("")),
        esc(minutes.last().copied().unwrap_or(""))
    )?;
    svg_close(
        s,
        "Each row is one series read from CloudWatch at one-minute resolution, scaled to its own largest value; red columns are minutes in which a probe was slow or failed.",
    )
}

//! Human-readable renderings of records and summaries. Pure: each writes to
//! an `impl Write` and does nothing else.

pub mod line;
pub mod summary;
pub mod waterfall;

/// Milliseconds with a precision that suits the magnitude.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A duration in milliseconds as a short human figure (`61.2 s`, `350 ms`).
pub fn fmt_span(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.0} s", ms / 1000.0)
    } else if ms >= 1_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

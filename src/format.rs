//! How numbers and text are shown to people: the one place for durations,
//! clock times and clipping, used by every command, report and the
//! dashboard.
//!
//! A duration has several shapes on purpose, each with its own reader; the
//! outputs are snapshotted, so each variant keeps its exact text:
//!
//! | function     | reads like                        | where                               |
//! |--------------|-----------------------------------|-------------------------------------|
//! | [`ms`]       | `0.21 ms`, `12.3 ms`, `512 ms`    | phase timings: probe lines, waterfall |
//! | [`span`]     | `350 ms`, `6.1 s`, `61 s`         | idle times and thresholds           |
//! | [`human_ms`] | `850 ms`, `5.2 s`, `6 min`        | diagnosis reports and warnings      |
//! | [`cell_ms`]  | `0.21ms`, `512ms`, `5.12s` (≤ 6)  | dashboard table cells               |
//! | [`gap`]      | `350ms`, `6.5s`, `1m 5s`          | dashboard: intervals, sweep gaps    |
//! | [`elapsed`]  | `42s`, `3m05s`, `1h02m`           | dashboard: time since the start     |
//! | [`minutes_seconds`] | `3:05`                     | dashboard chart axis                |
//! | [`whole_ms`] | `1s 250ms` (humantime)            | probe error messages                |
//! | [`time_left`]| `12s`, `3m 5s` (humantime)        | diagnose progress bar               |
//! | [`about`]    | `about 20 s`, `about 11 min`      | how long an untested check takes    |
//! | [`axis_ms`]  | `0.1ms`, `300ms`, `1s`, `30s`     | dashboard: round bucket and axis bounds |
//!
//! The HTML report's tick labels (`diagnose::render::html::ticks`) keep a
//! rule of their own: one unit for every tick of an axis.

use std::time::{Duration, SystemTime};

/// `1 probe`, `2 probes`: a count and its noun, singular for one.
pub fn count(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// Milliseconds with a precision that suits the magnitude, always in ms.
pub fn ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A duration in milliseconds as a short human figure (`61 s`, `6.1 s`, `350 ms`).
pub fn span(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.0} s", ms / 1000.0)
    } else if ms >= 1_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// A duration in milliseconds as people say it: `850 ms`, `5.2 s`, `6 min`;
/// `–` when there is no number.
pub fn human_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "–".into();
    }
    let s = ms / 1000.0;
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 600.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.0} min", s / 60.0)
    }
}

/// Milliseconds in at most 6 characters, no space: `0.21ms`, `12.3ms`,
/// `512ms`, `5.12s`.
pub fn cell_ms(ms: f64) -> String {
    if ms >= 100_000.0 {
        format!("{:.0}s", ms / 1000.0)
    } else if ms >= 10_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0}ms")
    } else if ms >= 10.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.2}ms")
    }
}

/// A gap or interval: `350ms`, `6.5s`, `65s` as `1m 5s`, `6m`.
pub fn gap(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else if ms < 10_000.0 && d.subsec_millis() != 0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

/// Time since a start, in whole seconds: `42s`, `3m05s`, `1h02m`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Seconds since the start as `m:ss`, for a chart's time axis.
pub fn minutes_seconds(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A duration to the whole millisecond (humantime): nanoseconds would only
/// clutter a message.
pub fn whole_ms(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64))
}

/// A time left, rounded up to the second (humantime): `12s`, `3m 5s`.
pub fn time_left(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs_f64().ceil() as u64)).to_string()
}

/// A rough length of time: `about 20 s`, `about 11 min`.
pub fn about(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("about {seconds:.0} s")
    } else {
        format!("about {:.0} min", seconds / 60.0)
    }
}

/// A round number of milliseconds as an axis or bucket bound, exact and
/// without a space: `0.1ms`, `300ms`, `1s`, `30s`.
pub fn axis_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{}s", ms / 1000.0)
    } else {
        format!("{ms}ms")
    }
}

/// `HH:MM:SS` (UTC, like the records).
pub fn clock(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// `s` cut to at most `max` characters, ending in `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_ms(0.25), "0.25 ms");
        assert_eq!(human_ms(23.4), "23 ms");
        assert_eq!(human_ms(5200.0), "5.2 s");
        assert_eq!(human_ms(29_000.0), "29 s");
        assert_eq!(human_ms(360_000.0), "360 s");
        assert_eq!(human_ms(900_000.0), "15 min");
        assert_eq!(human_ms(f64::NAN), "–");
        assert_eq!(ms(0.213), "0.21 ms");
        assert_eq!(ms(512.4), "512 ms");
        assert_eq!(span(61_200.0), "61 s");
        assert_eq!(span(6_100.0), "6.1 s");
        assert_eq!(span(350.0), "350 ms");
        assert_eq!(about(20.0), "about 20 s");
        assert_eq!(about(660.0), "about 11 min");
        assert_eq!(whole_ms(Duration::from_micros(1_250_700)).to_string(), "1s 250ms");
        assert_eq!(time_left(Duration::from_millis(11_200)), "12s");
        assert_eq!(minutes_seconds(185.4), "3:05");
        assert_eq!(axis_ms(0.1), "0.1ms");
        assert_eq!(axis_ms(300.0), "300ms");
        assert_eq!(axis_ms(30_000.0), "30s");
    }

    #[test]
    fn cells_fit_six_characters() {
        for ms in [0.213, 9.99, 12.34, 512.4, 5123.0, 29_999.0, 120_000.0] {
            assert!(cell_ms(ms).chars().count() <= 6, "{}", cell_ms(ms));
        }
        assert_eq!(cell_ms(5123.0), "5.12s");
    }

    #[test]
    fn gaps_read_naturally() {
        assert_eq!(gap(Duration::from_millis(350)), "350ms");
        assert_eq!(gap(Duration::from_millis(6500)), "6.5s");
        assert_eq!(gap(Duration::from_secs(65)), "1m 5s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m05s");
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 4), "ééé…");
    }
}

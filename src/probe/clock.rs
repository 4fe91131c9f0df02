//! Wall-clock times as records write them: RFC 3339 UTC, microseconds.
//!
//! Formatted by the `time` crate. Until issue #15 this was written by hand
//! (calendar maths and `write!`), because the general formatter once showed
//! up in profiles of bursts. Measured again (an optimised build, a million
//! timestamps; see `tests::timing_against_the_hand_written_one` and
//! docs/performance.md): 1 922 instructions a timestamp against 2 193 by
//! hand (callgrind), and in wall time 250–300 ns against 215–240 ns on the
//! loaded 2-core machine, so at most about 0.1 µs a record (two
//! timestamps), formatted on the writer's thread and only for records
//! written: 0.2 % of the ≈ 52 µs of CPU a request costs. The output is byte
//! for byte the same (a test compares it with the old formatter's).

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const RFC3339_MICROS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// What a time the calendar cannot hold (past the year 9999) is written as.
const OUT_OF_RANGE: &str = "1970-01-01T00:00:00.000000Z";

/// `2026-11-21T10:00:00.123456Z`: two of these per record written.
pub fn format_rfc3339(t: SystemTime) -> String {
    let Some(at) = offset_date_time(t) else {
        return OUT_OF_RANGE.to_string();
    };
    at.format(RFC3339_MICROS)
        .unwrap_or_else(|_| OUT_OF_RANGE.to_string())
}

/// `t` as a date and time, or `None` past what `time` holds (where
/// `OffsetDateTime::from` would panic).
fn offset_date_time(t: SystemTime) -> Option<OffsetDateTime> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => OffsetDateTime::UNIX_EPOCH.checked_add(after.try_into().ok()?),
        Err(before) => OffsetDateTime::UNIX_EPOCH.checked_sub(before.duration().try_into().ok()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The formatter this replaced (issue #15), kept as the reference the
    /// output must match byte for byte, and as the other side of the timing.
    fn hand_written(t: SystemTime) -> String {
        let since = t.duration_since(UNIX_EPOCH).unwrap();
        let secs = since.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Howard Hinnant's `civil_from_days`.
        let z = days as i64 + 719_468;
        let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let mut out = String::with_capacity(27);
        use std::fmt::Write;
        let _ = write!(
            out,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            since.subsec_micros()
        );
        out
    }

    #[test]
    fn formats_utc_with_microseconds() {
        let t = UNIX_EPOCH + Duration::from_micros(1_763_719_200_123_456);
        assert_eq!(format_rfc3339(t), "2025-11-21T10:00:00.123456Z");
    }

    #[test]
    fn writes_what_the_hand_written_formatter_wrote_across_centuries() {
        let mut secs: u64 = 0;
        while secs < 8_000_000_000 {
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(secs % 999_999);
            assert_eq!(format_rfc3339(t), hand_written(t));
            secs += 86_400 * 17 + 3_607;
        }
    }

    #[test]
    fn times_before_1970_and_after_9999_are_written_not_a_panic() {
        let before = UNIX_EPOCH - Duration::from_micros(1_500_000);
        assert_eq!(format_rfc3339(before), "1969-12-31T23:59:58.500000Z");
        let after = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(format_rfc3339(after), OUT_OF_RANGE);
    }

    /// A timing, not a check (the numbers are at the top of this file and
    /// in docs/performance.md): a million timestamps each way, interleaved
    /// in rounds. Debug builds say nothing; run it optimised:
    /// `cargo test --release --lib clock::tests::timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing_against_the_hand_written_one() {
        const N: u64 = 1_000_000;
        const ROUNDS: usize = 7;
        type Formatter = fn(SystemTime) -> String;
        let contenders: [(&str, Formatter); 2] = [("time crate", format_rfc3339), ("by hand", hand_written)];
        let base = UNIX_EPOCH + Duration::from_micros(1_790_000_000_123_456);
        let mut ns = vec![Vec::new(); contenders.len()];
        for _ in 0..ROUNDS {
            for (i, (_, format)) in contenders.iter().enumerate() {
                let start = std::time::Instant::now();
                let mut bytes = 0;
                for k in 0..N {
                    let t = std::hint::black_box(base + Duration::from_micros(k * 997));
                    bytes += std::hint::black_box(format(t)).len();
                }
                assert_eq!(bytes, 27 * N as usize);
                ns[i].push(start.elapsed().as_nanos() as f64 / N as f64);
            }
        }
        for ((name, _), mut times) in contenders.iter().zip(ns) {
            times.sort_by(f64::total_cmp);
            let median = times[ROUNDS / 2];
            println!(
                "{name:>10}: {median:6.1} ns a timestamp, {:6.1} ns a record (two); median of {ROUNDS} rounds",
                2.0 * median
            );
        }
    }
}

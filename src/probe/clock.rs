//! Wall-clock times as records write them: RFC 3339 UTC, microseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const RFC3339_MICROS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Formatted by hand: two of these per record, and the general formatter
/// showed up in profiles of bursts.
pub fn format_rfc3339(t: SystemTime) -> String {
    let Ok(since) = t.duration_since(UNIX_EPOCH) else {
        return OffsetDateTime::from(t)
            .format(RFC3339_MICROS)
            .unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".to_string());
    };
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
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

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_with_microseconds() {
        let t = UNIX_EPOCH + Duration::from_micros(1_763_719_200_123_456);
        assert_eq!(format_rfc3339(t), "2025-11-21T10:00:00.123456Z");
    }

    #[test]
    fn agrees_with_the_time_crate_across_centuries() {
        let mut secs: u64 = 0;
        while secs < 8_000_000_000 {
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(secs % 999_999);
            let expected = OffsetDateTime::from(t).format(RFC3339_MICROS).unwrap();
            assert_eq!(format_rfc3339(t), expected);
            secs += 86_400 * 17 + 3_607;
        }
    }
}

//! Record times back from their text. Records write RFC 3339 UTC with
//! microseconds (`2026-11-21T10:00:00.123456Z`); reading a million of them
//! is part of `diagnose --from`, so that exact form is parsed by hand and
//! anything else goes to the `time` crate's full parser: 309 instructions
//! a timestamp against the crate's 427 (docs/performance.md, "Record
//! timestamps"), two timestamps a record.

use std::time::{Duration, SystemTime};

/// RFC 3339 in UTC as coldlink writes it (`2026-11-21T10:00:00.123456Z`),
/// parsed by hand; anything else goes to the full parser.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    fast_time(s.as_bytes()).or_else(|| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(Into::into)
    })
}

fn fast_time(b: &[u8]) -> Option<SystemTime> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i64)
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut nanos = 0u32;
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return None;
        }
        let digits = &rest[1..];
        let mut n = 0u32;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + (c - b'0') as u32;
        }
        nanos = n * 10u32.pow(9 - digits.len() as u32);
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_time_parser_agrees_with_the_full_one() {
        for s in [
            "2026-11-21T10:00:00.123456Z",
            "2024-02-29T23:59:59Z",
            "1970-01-01T00:00:00.000001Z",
            "2000-03-01T12:34:56.5Z",
        ] {
            let full: SystemTime =
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .unwrap()
                    .into();
            assert_eq!(fast_time(s.as_bytes()), Some(full), "{s}");
        }
        assert_eq!(fast_time(b"2026-11-21T10:00:00+01:00"), None);
        assert!(parse_time("2026-11-21T11:00:00+01:00").is_some());
    }
}

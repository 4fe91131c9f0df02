//! Wall-clock time for records, derived from monotonic instants so that all
//! times of one probe come from the same clock.

use std::time::{Instant, SystemTime};

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const RFC3339_MICROS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Maps `Instant`s to wall-clock time through one anchor pair.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    system: SystemTime,
    instant: Instant,
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::now()
    }
}

impl WallClock {
    pub fn now() -> Self {
        WallClock {
            system: SystemTime::now(),
            instant: Instant::now(),
        }
    }

    pub fn wall(&self, at: Instant) -> SystemTime {
        if at >= self.instant {
            self.system + (at - self.instant)
        } else {
            self.system - (self.instant - at)
        }
    }

    /// RFC 3339 UTC with microseconds, e.g. `2026-11-21T10:00:00.123456Z`.
    pub fn rfc3339(&self, at: Instant) -> String {
        format_rfc3339(self.wall(at))
    }
}

pub fn format_rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(RFC3339_MICROS)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_utc_with_microseconds() {
        let t = UNIX_EPOCH + Duration::from_micros(1_763_719_200_123_456);
        assert_eq!(format_rfc3339(t), "2025-11-21T10:00:00.123456Z");
    }
}

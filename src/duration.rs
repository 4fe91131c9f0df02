//! Durations as people write them (`250ms`, `30s`, `6m`, `1h 30m`): one
//! parser for flags, profiles and lab scenarios, so that each says the
//! same thing about a bad one.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DurationError {
    #[error("must be positive; expected a duration like 250ms, 5s or 6m")]
    Negative,
    #[error("{0}; expected a duration like 250ms, 5s or 6m")]
    Invalid(#[source] humantime::DurationError),
    #[error("must be longer than 0")]
    Zero,
}

/// A humantime duration: `250ms`, `5s`, `6m`, `1h 30m`.
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    if is_negative(s) {
        return Err(DurationError::Negative);
    }
    humantime::parse_duration(s.trim()).map_err(DurationError::Invalid)
}

/// A duration longer than zero.
pub fn positive(s: &str) -> Result<Duration, DurationError> {
    match parse(s)? {
        d if d.is_zero() => Err(DurationError::Zero),
        d => Ok(d),
    }
}

/// `-1s`, `-5`: a number below zero. Flags whose value may look like this
/// take hyphen values (clap would otherwise suggest `-- -1`, which turns the
/// value into a URL) and refuse it here.
pub fn is_negative(s: &str) -> bool {
    s.trim()
        .strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
}

/// A humantime duration in a TOML file (a profile, a lab scenario):
/// `"250ms"`, `"30s"`, `"6m"`. Hand-written rather than `humantime-serde`
/// so that a bad value is refused in the words a flag's would be
/// (`invalid duration "x": …; expected a duration like …`), which
/// `humantime-serde`'s bare "expected number at 0" is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string like \"250ms\", \"30s\" or \"6m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse(s)
                    .map(Dur)
                    .map_err(|e| E::custom(format!("invalid duration \"{s}\": {e}")))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("6m"), Ok(Duration::from_secs(360)));
        assert!(parse("5 parsecs").unwrap_err().to_string().contains("like 250ms"));
        assert_eq!(positive("0s"), Err(DurationError::Zero));
        assert_eq!(parse("-1s"), Err(DurationError::Negative));
        assert_eq!(parse("-.5s"), Err(DurationError::Negative));
    }
}

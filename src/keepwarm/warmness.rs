//! Is the interval short enough to keep the path warm? Checked, not
//! assumed: against the idle timer `diagnose` finds in stored records
//! (`--from`), else against the shortest timer common on the path (60 s:
//! nginx's keepalive_timeout family), and with the reminder that a ping
//! keeps warm only the connections it uses.

use std::path::PathBuf;
use std::time::Duration;

use crate::diagnose::IdleTimer;
use crate::diagnose::{idle_timer, read_files, Builder};
use crate::format::human_ms;

/// With no timer known, intervals above this draw the warning.
pub const UNKNOWN_TIMER_LIMIT: Duration = Duration::from_secs(60);

/// What `--from` told about the path's idle timer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Known {
    /// No `--from`.
    Nothing,
    /// `--from` records or a report, in which no idle timer shows.
    NoTimerShown,
    Timer(IdleTimer),
}

/// Why `--from` gave no idle timer to check against: each names the file.
#[derive(Debug, thiserror::Error)]
pub enum FromError {
    #[error("{}: cannot read it: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a diagnose --format json report: {source}", path.display())]
    NotAReport {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Reading the records failed; the reader's message names the file.
    #[error("{source}")]
    Records {
        #[source]
        source: std::io::Error,
    },
    #[error("{}: no probe records in it (expected the NDJSON of diagnose --records, run --out or watch --out, or a diagnose --format json report)", named.join(", "))]
    NoRecords { named: Vec<String> },
}

/// Read `paths` — records of a `diagnose --idle-sweep`, a run, a watch; or
/// a `diagnose --format json` report — and find the timer the way
/// `idle-timeout` does. An error names the file that holds nothing usable.
pub fn idle_timer_from(paths: &[PathBuf]) -> Result<Known, FromError> {
    let mut records = Vec::new();
    let mut reports_without = false;
    for path in paths {
        let first_line = {
            use std::io::BufRead;
            let file = std::fs::File::open(path).map_err(|source| FromError::Unreadable {
                path: path.clone(),
                source,
            })?;
            let mut line = String::new();
            let _ = std::io::BufReader::new(file).read_line(&mut line);
            line
        };
        // A report is one pretty-printed JSON document, `{` alone on its
        // first line; a record file has a whole record on each line.
        if first_line.trim() == "{" {
            match from_report(path)? {
                Some(timer) => return Ok(Known::Timer(timer)),
                None => reports_without = true,
            }
        } else {
            records.push(path.clone());
        }
    }
    if records.is_empty() {
        return Ok(if reports_without {
            Known::NoTimerShown
        } else {
            Known::Nothing
        });
    }
    let (builder, _) =
        read_files(&records, Builder::new()).map_err(|source| FromError::Records { source })?;
    if builder.is_empty() {
        let named: Vec<String> = records.iter().map(|p| p.display().to_string()).collect();
        return Err(FromError::NoRecords { named });
    }
    // Stored records are real time, and so is the interval.
    let ds = builder.build(1.0, None);
    Ok(idle_timer(&ds).map_or(Known::NoTimerShown, Known::Timer))
}

/// A `diagnose --format json` report whose findings name `idle-timeout`:
/// the timer from its idle-sweep rows (the longest gap with no slow first
/// probe below the shortest from which every longer gap had one).
/// `Ok(None)` for a record file, or a report without that finding.
fn from_report(path: &std::path::Path) -> Result<Option<IdleTimer>, FromError> {
    let text = std::fs::read_to_string(path).map_err(|source| FromError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let report =
        serde_json::from_str::<crate::diagnose::Report>(&text).map_err(|source| FromError::NotAReport {
            path: path.to_path_buf(),
            source,
        })?;
    if !report
        .findings
        .iter()
        .any(|f| f.cause == crate::diagnose::Cause::IdleTimeout)
    {
        return Ok(None);
    }
    let rows = &report.idle_sweep;
    // A lab's report speaks scenario time; the interval is real time.
    let scale = if report.source.time_scale > 0.0 {
        report.source.time_scale
    } else {
        1.0
    };
    let step = (0..rows.len()).find(|&i| rows[i..].iter().all(|r| r.slow > 0));
    Ok(step.and_then(|i| {
        let fast = rows[..i].iter().rev().find(|r| r.slow == 0)?;
        Some(IdleTimer {
            fast_after_ms: fast.gap_ms / scale,
            cold_after_ms: rows[i].gap_ms / scale,
        })
    }))
}

/// The warning for pings up to `interval` apart (the interval and its
/// jitter), if one is due.
pub fn warning(interval: Duration, known: Known) -> Option<String> {
    const WHY: &str = "a ping keeps warm only the connections it uses: the gateway pools several integration connections, and the load balancer's connections (an NLB's flows, an ALB's connections) behind the ones a ping does not take go cold all the same";
    let every = humantime::format_duration(interval);
    let ms = interval.as_secs_f64() * 1000.0;
    match known {
        Known::Timer(t) if ms >= t.fast_after_ms => Some(format!(
            "warning: pings up to {every} apart (interval and jitter) are not shown to be under the idle timer the --from files show (connections went cold after quiet gaps of {}, stayed warm after {}): keep the interval well under {}, and note that {WHY}",
            human_ms(t.cold_after_ms),
            human_ms(t.fast_after_ms),
            human_ms(t.fast_after_ms)
        )),
        Known::Timer(_) => None,
        Known::NoTimerShown if interval > UNKNOWN_TIMER_LIMIT => Some(format!(
            "warning: pings up to {every} apart, longer than 60 s; the --from files show no idle timer, but nginx closes idle connections after 60–75 s by default, an ALB after 60 s and an NLB after 350 s, and a sweep finds only the timers its gaps reach; note that {WHY}"
        )),
        Known::Nothing if interval > UNKNOWN_TIMER_LIMIT => Some(format!(
            "warning: pings up to {every} apart, longer than 60 s, with no idle timer known: nginx closes idle connections after 60–75 s by default, an ALB after 60 s and an NLB after 350 s; run `coldlink diagnose --idle-sweep --records FILE` and pass FILE to --from to check; note that {WHY}"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_checked_against_what_is_known() {
        let timer = Known::Timer(IdleTimer {
            fast_after_ms: 65_000.0,
            cold_after_ms: 120_000.0,
        });
        assert!(warning(Duration::from_secs(30), timer).is_none());
        let w = warning(Duration::from_secs(90), timer).unwrap();
        assert!(
            w.contains("stayed warm after 65 s") && w.contains("only the connections it uses"),
            "{w}"
        );
        assert!(warning(Duration::from_secs(60), Known::Nothing).is_none());
        let w = warning(Duration::from_secs(61), Known::Nothing).unwrap();
        assert!(w.contains("longer than 60 s") && w.contains("--from"), "{w}");
        let w = warning(Duration::from_secs(61), Known::NoTimerShown).unwrap();
        assert!(w.contains("show no idle timer"), "{w}");
    }
}

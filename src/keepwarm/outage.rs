//! Outages in the daemon's log, with backoff: a target that keeps failing
//! is logged at its 1st, 2nd, 4th, 8th… failure in a row, not at every
//! ping, and once when it answers again.

use std::collections::HashMap;

use crate::probe::ProbeRecord;

#[derive(Debug, Default)]
pub struct OutageLog {
    failing: HashMap<String, u64>,
}

impl OutageLog {
    /// What to log for this probe, if anything.
    pub fn note(&mut self, r: &ProbeRecord) -> Option<String> {
        match &r.error {
            Some(e) => {
                let n = self.failing.entry(r.target.to_string()).or_default();
                *n += 1;
                n.is_power_of_two().then(|| {
                    format!(
                        "{}: failing ({} in a row): {} in {}: {}",
                        r.target, n, e.kind, e.phase, e.message
                    )
                })
            }
            None => self
                .failing
                .remove(&*r.target)
                .map(|n| format!("{}: answering again after {n} failures in a row", r.target)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ErrorKind, Phase, ProbeError};

    fn record(target: &str, failed: bool) -> ProbeRecord {
        let mut r: ProbeRecord = serde_json::from_str(&format!(
            r#"{{"v":1,"target":"{target}","url":"http://x/","seq":1,"at":"2026-11-22T00:00:00Z","scheduled_at":"2026-11-22T00:00:00Z","remote":null,"conn":null,"phases_ms":{{}},"total_ms":1.0,"status":200,"http":null,"tls":null,"trace_id":null,"error":null}}"#
        ))
        .unwrap();
        if failed {
            r.error = Some(ProbeError {
                kind: ErrorKind::Timeout,
                phase: Phase::Connect,
                message: "no answer".into(),
            });
        }
        r
    }

    #[test]
    fn a_long_outage_is_logged_with_backoff_and_its_end_once() {
        let mut log = OutageLog::default();
        let logged: Vec<usize> = (1..=20)
            .filter(|_| true)
            .filter_map(|i| log.note(&record("a", true)).map(|_| i))
            .collect();
        assert_eq!(logged, [1, 2, 4, 8, 16]);
        assert_eq!(
            log.note(&record("b", false)),
            None,
            "another target is not affected"
        );
        let back = log.note(&record("a", false)).unwrap();
        assert!(back.contains("answering again after 20 failures"), "{back}");
        assert_eq!(log.note(&record("a", false)), None);
    }
}

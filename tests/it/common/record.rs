//! The one way tests build a [`ProbeRecord`]: [`probe_record`] is a record
//! with nothing measured, and a test names only the fields it cares about
//! (`ProbeRecord { target: "api".into(), total_ms: 12.0, ..probe_record() }`),
//! so a field added to the record changes this file, not every test.

use std::time::UNIX_EPOCH;

use coldlink::probe::{Phases, ProbeRecord, Timestamp};

/// Record version 1, sent at the Unix epoch to an unnamed target; no
/// connection, phases, status, headers or error.
pub fn probe_record() -> ProbeRecord {
    ProbeRecord {
        v: 1,
        run: None,
        target: "".into(),
        url: "".into(),
        seq: 0,
        at: Timestamp(UNIX_EPOCH),
        scheduled_at: Timestamp(UNIX_EPOCH),
        remote: None,
        local: None,
        family: None,
        conn: None,
        phases_ms: Phases::default(),
        total_ms: 0.0,
        status: None,
        http: None,
        tls: None,
        trace_id: None,
        headers: Default::default(),
        body_bytes: None,
        error: None,
        lab: None,
        syn_sysctls: None,
        vantage: None,
    }
}

//! The probe record: one line of NDJSON per probe, schema version 1.
//!
//! The field names and shapes are a published contract (see
//! `docs/record-schema.md`); users' scripts parse them. Add fields, never
//! rename or repurpose one without bumping `v`.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub use super::captured::{CapturedHeaders, CapturedName};
use super::family::IpFamily;
use super::syn_schedule::SynSysctls;

/// The schema version written into every record.
pub const RECORD_VERSION: u32 = 1;

/// One probe: what was asked, on which connection, and where the time went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    pub v: u32,
    /// Random id of the process that sent the probe: connection ids are
    /// unique within a run only, so (`run`, `conn.id`) names a connection.
    ///
    /// `run`, `target` and `url` are shared with every record of the run
    /// (a reference count each, not a string copied per record: issue 20);
    /// they are written as the strings they hold.
    #[serde(default)]
    pub run: Option<Arc<str>>,
    pub target: Arc<str>,
    pub url: Arc<str>,
    pub seq: u64,
    /// Wall-clock time the probe actually started (after any queueing).
    pub at: Timestamp,
    /// Wall-clock time the plan wanted the probe to start.
    pub scheduled_at: Timestamp,
    pub remote: Option<SocketAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<SocketAddr>,
    /// The address family the probe used: from `remote` once connected,
    /// else the family it was fixed to (`-4`, `-6`, `--ip-family both`).
    /// Absent in records written before it existed, and when neither is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<IpFamily>,
    pub conn: Option<ConnInfo>,
    pub phases_ms: Phases,
    pub total_ms: f64,
    pub status: Option<u16>,
    /// `1.1`, `2`, `1.0`: the engine's own are static strings, so a
    /// record carries no copy of them (issue 20).
    pub http: Option<Cow<'static, str>>,
    pub tls: Option<TlsInfo>,
    pub trace_id: Option<String>,
    /// Captured response headers by name (see [`CapturedHeaders`]).
    #[serde(default)]
    pub headers: CapturedHeaders,
    #[serde(default)]
    pub body_bytes: Option<u64>,
    pub error: Option<ProbeError>,
    /// Set when the probe went to a lab: the records say what was measured
    /// (real time), this says how to read it as the scenario's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<std::sync::Arc<LabRun>>,
    /// The SYN retransmission settings of the kernel the probe ran on, in
    /// the records of probes that began a TCP connect: what `syn-loss`
    /// compares connect stalls with, wherever the records are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syn_sysctls: Option<SynSysctls>,
    /// Where the probe ran from (`--vantage`, a profile's `vantage`, else
    /// the host's name): what compares one path seen from many places.
    /// Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vantage: Option<std::sync::Arc<str>>,
}

/// The lab run a record was probed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabRun {
    pub scenario: String,
    /// Scenario time ÷ real time.
    pub speed: f64,
}

impl ProbeRecord {
    /// True when the probe got a complete, acceptable response.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// True when the probe got a response, even one whose status counts as a
    /// failure: its total is a real round trip, not a timeout or a reset.
    pub fn got_response(&self) -> bool {
        match &self.error {
            None => true,
            Some(e) => e.kind == ErrorKind::Status,
        }
    }

    /// The phases that completed, with their times. The phase a failure
    /// happened in is left out: its duration is time-to-failure, not a
    /// latency (a bad status is an answer, so its phases all count).
    pub fn completed_phases(&self) -> impl Iterator<Item = (Phase, f64)> + '_ {
        let failed_in = self
            .error
            .as_ref()
            .filter(|e| e.kind != ErrorKind::Status)
            .map(|e| e.phase);
        self.phases_ms
            .iter()
            .filter(move |(phase, _)| Some(*phase) != failed_in)
            .filter_map(|(phase, ms)| ms.map(|ms| (phase, ms)))
    }

    /// Time on the network: the total less `queue`, the tool's own hold.
    pub fn network_ms(&self) -> f64 {
        self.total_ms - self.phases_ms.queue.unwrap_or(0.0)
    }
}

/// A wall-clock time, written as RFC 3339 UTC with microseconds
/// (`2026-11-21T10:00:00.123456Z`). Kept as a `SystemTime` so that records
/// nobody writes out (a quiet burst) are never formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub SystemTime);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::clock::format_rfc3339(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::clock::format_rfc3339(self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .map(|t| Timestamp(t.into()))
            .map_err(|e| serde::de::Error::custom(format!("not an RFC 3339 time ({e}): {text}")))
    }
}

/// The connection that carried the probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnInfo {
    /// Process-unique connection number (1, 2, …).
    pub id: u64,
    /// True when the connection had served an earlier probe.
    pub reused: bool,
    /// How long the connection sat unused before this probe; null when fresh.
    pub idle_ms: Option<f64>,
    /// Time since the connection was established, at the start of the send phase.
    pub age_ms: f64,
    /// Requests this connection has carried, including this one.
    pub requests: u64,
    /// True when a pooled connection to this target had been closed by the
    /// peer while idle, so this probe had to open a new one.
    #[serde(default)]
    pub reconnected: bool,
    /// How long that closed connection had been idle when it was found closed.
    #[serde(default)]
    pub stale_idle_ms: Option<f64>,
}

/// TLS facts of the connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsInfo {
    pub version: String,
    pub resumed: bool,
    pub alpn: Option<String>,
}

/// Disjoint phase durations in milliseconds. A phase that did not happen is
/// `None` (null), never 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    pub queue: Option<f64>,
    pub dns: Option<f64>,
    pub connect: Option<f64>,
    pub tls: Option<f64>,
    pub send: Option<f64>,
    pub ttfb: Option<f64>,
    pub body: Option<f64>,
}

impl Phases {
    /// The phases in wire order with their names.
    pub fn iter(&self) -> impl Iterator<Item = (Phase, Option<f64>)> + '_ {
        Phase::ALL.into_iter().map(|phase| (phase, self.get(phase)))
    }

    /// The one mapping between a [`Phase`] and its field (the fields are
    /// named for the record's JSON).
    pub fn get(&self, phase: Phase) -> Option<f64> {
        match phase {
            Phase::Queue => self.queue,
            Phase::Dns => self.dns,
            Phase::Connect => self.connect,
            Phase::Tls => self.tls,
            Phase::Send => self.send,
            Phase::Ttfb => self.ttfb,
            Phase::Body => self.body,
        }
    }

    /// Set one phase; its field as in [`Phases::get`].
    pub fn set(&mut self, phase: Phase, value: Option<f64>) {
        let field = match phase {
            Phase::Queue => &mut self.queue,
            Phase::Dns => &mut self.dns,
            Phase::Connect => &mut self.connect,
            Phase::Tls => &mut self.tls,
            Phase::Send => &mut self.send,
            Phase::Ttfb => &mut self.ttfb,
            Phase::Body => &mut self.body,
        };
        *field = value;
    }

    /// Sum of the phases that happened.
    pub fn sum(&self) -> f64 {
        self.iter().filter_map(|(_, v)| v).sum()
    }
}

/// A named phase of a probe, in wire order: the one list of phases (names,
/// order, `Phase::ALL`) is derived from this declaration.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::EnumCount,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Phase {
    Queue,
    Dns,
    Connect,
    Tls,
    Send,
    Ttfb,
    Body,
}

impl Phase {
    /// Every phase, in wire order.
    pub const ALL: [Phase; <Phase as strum::EnumCount>::COUNT] =
        match <Phase as strum::VariantArray>::VARIANTS.first_chunk() {
            Some(all) => *all,
            None => panic!("COUNT is the number of VARIANTS"),
        };

    /// The phases with a start and an end on the wire: every phase but
    /// `queue`, which comes first and is derived.
    pub const NETWORK: &'static [Phase] = Phase::ALL.split_at(1).1;

    /// Its place in [`Phase::ALL`] (declaration order): an index for
    /// per-phase arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The name in records and reports: `ttfb`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

// `Phase::NETWORK` and the probe's marks count on `queue` coming first.
const _: () = assert!(matches!(Phase::ALL[0], Phase::Queue));

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a probe failed, and in which phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeError {
    pub kind: ErrorKind,
    pub phase: Phase,
    pub message: String,
}

/// The classes of failure. Stable ids, used in records and summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Timeout,
    Reset,
    Refused,
    Dns,
    Tls,
    Protocol,
    Status,
    Io,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Refused => "refused",
            ErrorKind::Dns => "dns",
            ErrorKind::Tls => "tls",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Status => "status",
            ErrorKind::Io => "io",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod phase_tests {
    use super::*;

    /// Issue 15: per-phase arrays (histograms, the probe's marks) index by
    /// `Phase::index`, and `Phases` maps each phase to its own field.
    #[test]
    fn a_phase_is_found_at_its_index_and_in_its_own_field() {
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names, ["queue", "dns", "connect", "tls", "send", "ttfb", "body"]);
        assert_eq!(Phase::NETWORK, &Phase::ALL[1..]);
        assert!(!Phase::NETWORK.contains(&Phase::Queue));
        let mut phases = Phases::default();
        for (i, phase) in Phase::ALL.into_iter().enumerate() {
            assert_eq!(phase.index(), i);
            phases.set(phase, Some(i as f64));
        }
        let json = serde_json::to_value(phases).unwrap();
        for (i, phase) in Phase::ALL.into_iter().enumerate() {
            assert_eq!(phases.get(phase), Some(i as f64));
            assert_eq!(json[phase.as_str()], i as f64, "{phase}");
        }
        assert_eq!(phases.iter().map(|(p, _)| p).collect::<Vec<_>>(), Phase::ALL);
    }
}

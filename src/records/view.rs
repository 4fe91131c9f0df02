//! The one reading shape of a stored record.
//!
//! Why not [`ProbeRecord`]: deserialising one allocates every string it holds
//! (target, url, run, times, http, the TLS version, the error message) and a
//! `BTreeMap` of every response header, for each of a million lines, and
//! parses both times with the full RFC 3339 parser. This view borrows its
//! strings from the line, keeps only the fields an [`Observation`] needs
//! (three headers of the map, the error's kind and phase) and leaves the
//! times as text for [`parse_time`]'s fast path. It is what brought
//! `diagnose --from` over a million records from reader-bound to about
//! 1.2 s on 2 cores (docs/performance.md, "Diagnosing stored records").
//! A line as coldlink writes it is read into the view by a scanner of its
//! own ([`RecordView::from_line`]); serde_json reads the rest, as before.
//!
//! A view can also borrow from a [`ProbeRecord`] held in memory
//! ([`RecordView::of`]), so that records read from disk and records just
//! probed reach an [`Observation`] through the same conversion
//! ([`RecordView::observation`]).

use std::borrow::Cow;
use std::time::SystemTime;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use super::observation::Observation;
use super::time::parse_time;
use crate::probe::{ErrorKind, IpFamily, Phase, Phases, ProbeRecord, SynSysctls};

mod scan;

/// A record, borrowed: from an NDJSON line or from a [`ProbeRecord`].
#[derive(Deserialize, Debug, PartialEq)]
pub struct RecordView<'a> {
    #[serde(borrow)]
    target: Cow<'a, str>,
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(borrow, default)]
    run: Option<Cow<'a, str>>,
    #[serde(borrow)]
    at: Stamp<'a>,
    #[serde(borrow)]
    scheduled_at: Stamp<'a>,
    #[serde(borrow, default)]
    remote: Option<Cow<'a, str>>,
    /// Absent from records written before `--ip-family`.
    #[serde(default)]
    family: Option<IpFamily>,
    #[serde(default)]
    conn: Option<ConnView>,
    phases_ms: Phases,
    total_ms: f64,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    tls: Option<TlsView>,
    #[serde(borrow, default)]
    headers: HeadersView<'a>,
    #[serde(default)]
    #[serde(borrow)]
    error: Option<ErrorView<'a>>,
    #[serde(borrow, default)]
    trace_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    lab: Option<LabView<'a>>,
    /// Absent from records written before it, and where /proc was not read.
    #[serde(default)]
    syn_sysctls: Option<SynSysctls>,
    /// Where the probe ran from; absent from records written before it.
    #[serde(borrow, default)]
    vantage: Option<Cow<'a, str>>,
}

/// A record's time: its text when read from a line (parsed only once the
/// line is known to be a record), the time itself when taken from memory.
#[derive(Debug, PartialEq)]
enum Stamp<'a> {
    Text(Cow<'a, str>),
    Time(SystemTime),
}

impl<'de: 'a, 'a> Deserialize<'de> for Stamp<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        Text::deserialize(d).map(|t| Stamp::Text(t.0))
    }
}

impl Stamp<'_> {
    fn time(&self, field: &str) -> Result<SystemTime, String> {
        match self {
            Stamp::Time(t) => Ok(*t),
            Stamp::Text(s) => parse_time(s).ok_or_else(|| format!("{field}: not an RFC 3339 time: {s}")),
        }
    }
}

#[derive(Deserialize, Debug, PartialEq)]
struct LabView<'a> {
    #[serde(borrow)]
    scenario: Cow<'a, str>,
    speed: f64,
}

#[derive(Deserialize, Debug, PartialEq)]
struct ConnView {
    id: u64,
    reused: bool,
    idle_ms: Option<f64>,
    #[serde(default)]
    reconnected: bool,
}

#[derive(Deserialize, Debug, PartialEq)]
struct TlsView {
    resumed: bool,
}

/// The response headers the detectors read; the rest are skipped unread.
#[derive(Deserialize, Default, Debug, PartialEq)]
struct HeadersView<'a> {
    #[serde(borrow, default)]
    via: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "x-cache")]
    x_cache: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "x-amz-cf-pop")]
    cf_pop: Option<Cow<'a, str>>,
    /// Only whether it is there matters.
    #[serde(default, rename = "x-amzn-errortype")]
    errortype: Option<IgnoredAny>,
    /// An ALB's own answers say `server: awselb/2.0`; behind a REST API the
    /// header arrives remapped.
    #[serde(borrow, default)]
    server: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "x-amzn-remapped-server")]
    remapped_server: Option<Cow<'a, str>>,
}

impl HeadersView<'_> {
    /// The response is an ALB's own page (`awselb/…` as the server).
    fn alb_answered(&self) -> bool {
        [&self.server, &self.remapped_server]
            .into_iter()
            .flatten()
            .any(|v| v.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("awselb")))
    }
}

#[derive(Deserialize, Debug, PartialEq)]
struct ErrorView<'a> {
    kind: ErrorKind,
    phase: Phase,
    /// Read for the refusal it may name (`probe::refusal::Reason`).
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

impl<'a> RecordView<'a> {
    /// A record in memory, borrowed (only its remote address is written out).
    pub fn of(r: &'a ProbeRecord) -> RecordView<'a> {
        let header = |name: &str| r.headers.get(name).map(|v| Cow::Borrowed(v.as_str()));
        RecordView {
            target: Cow::Borrowed(&r.target),
            url: Cow::Borrowed(&r.url),
            run: r.run.as_deref().map(Cow::Borrowed),
            at: Stamp::Time(r.at.0),
            scheduled_at: Stamp::Time(r.scheduled_at.0),
            remote: r.remote.map(|a| Cow::Owned(a.to_string())),
            // The record's `family` field, when it has one; without it a
            // reader goes by `remote`, as for records read from disk.
            family: r.family,
            conn: r.conn.as_ref().map(|c| ConnView {
                id: c.id,
                reused: c.reused,
                idle_ms: c.idle_ms,
                reconnected: c.reconnected,
            }),
            phases_ms: r.phases_ms,
            total_ms: r.total_ms,
            status: r.status,
            tls: r.tls.as_ref().map(|t| TlsView { resumed: t.resumed }),
            headers: HeadersView {
                via: header("via"),
                x_cache: header("x-cache"),
                cf_pop: header("x-amz-cf-pop"),
                errortype: r.headers.contains_key("x-amzn-errortype").then_some(IgnoredAny),
                server: header("server"),
                remapped_server: header("x-amzn-remapped-server"),
            },
            error: r.error.as_ref().map(|e| ErrorView {
                kind: e.kind,
                phase: e.phase,
                message: Some(Cow::Borrowed(&e.message)),
            }),
            trace_id: r.trace_id.as_deref().map(Cow::Borrowed),
            lab: r.lab.as_deref().map(|l| LabView {
                scenario: Cow::Borrowed(&l.scenario),
                speed: l.speed,
            }),
            syn_sysctls: r.syn_sysctls,
            vantage: r.vantage.as_deref().map(Cow::Borrowed),
        }
    }

    /// The view of one NDJSON line: by the scanner's fast path
    /// (`view/scan.rs`) when the line is as coldlink writes it, else by
    /// `serde_json`, which also says why a line is no record.
    // Inlined into the reader: a view is a few hundred bytes, and out of
    // line it was copied once more per record (callgrind: 4 copies → 3).
    #[inline]
    pub fn from_line(line: &'a str) -> Result<RecordView<'a>, serde_json::Error> {
        match scan::scan(line) {
            Some(view) => Ok(view),
            None => serde_json::from_str(line),
        }
    }

    /// The record → observation conversion: the only place an
    /// [`Observation`] is filled from a record. Fails only on a time that is
    /// not RFC 3339 (a line that parsed as JSON but is not a record).
    pub fn observation(&self) -> Result<Observation<'_>, String> {
        let at = self.at.time("at")?;
        // Unqueued probes write the same text twice: parsed once.
        let scheduled = match (&self.at, &self.scheduled_at) {
            (Stamp::Text(a), Stamp::Text(s)) if a == s => at,
            _ => self.scheduled_at.time("scheduled_at")?,
        };
        let conn = self.conn.as_ref();
        Ok(Observation {
            target: &self.target,
            url: &self.url,
            run: self.run.as_deref(),
            conn_id: conn.map(|c| c.id),
            scheduled_at: Some(scheduled),
            at: Some(at),
            total_ms: self.total_ms,
            phases: self.phases_ms,
            status: self.status,
            error: self.error.as_ref().map(|e| (e.kind, e.phase)),
            reused: conn.is_some_and(|c| c.reused),
            conn_idle_ms: conn.and_then(|c| c.idle_ms),
            reconnected: conn.is_some_and(|c| c.reconnected),
            tls_resumed: self.tls.as_ref().map(|t| t.resumed),
            remote: self.remote.as_deref(),
            family: self.family,
            via: self.headers.via.as_deref(),
            x_cache: self.headers.x_cache.as_deref(),
            cf_pop: self.headers.cf_pop.as_deref(),
            errortype: self.headers.errortype.is_some(),
            alb_answered: self.headers.alb_answered(),
            refusal: self
                .error
                .as_ref()
                .and_then(|e| e.message.as_deref())
                .and_then(crate::probe::refusal::Reason::of_message),
            trace_id: self.trace_id.as_deref(),
            lab: self.lab.as_ref().map(|l| (l.scenario.as_ref(), l.speed)),
            syn_sysctls: self.syn_sysctls,
            vantage: self.vantage.as_deref(),
        })
    }
}

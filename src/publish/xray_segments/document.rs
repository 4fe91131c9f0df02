//! One probe as an X-Ray segment document: the client's own segment, under
//! the trace id the probe sent, with a subsegment per phase that happened.
//!
//! Shape, as X-Ray's segment document schema has it: 16-hex-digit ids, the
//! trace id `1-{8 hex}-{24 hex}`, start and end times in epoch seconds
//! (to the microsecond), strings of at most 250 characters, annotation
//! keys of letters, digits and underscores, at most 64 KB a document. No
//! header is written, and the URL is the record's (secret query values
//! already replaced).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::probe::record::{ErrorKind, Phase, Phases, ProbeRecord};
use crate::probe::trace;

/// The client's node in X-Ray's trace map.
pub const SEGMENT_NAME: &str = "coldlink";
/// The longest string a document field holds.
pub const MAX_TEXT: usize = 250;
/// The largest document X-Ray takes.
pub const MAX_DOCUMENT: usize = 64 * 1024;

/// What a segment needs of a record: taken on the probes' thread (a few
/// clones), made into a document on the publisher's.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientProbe {
    pub trace_id: String,
    pub target: Arc<str>,
    pub url: Arc<str>,
    pub method: Arc<str>,
    pub scheduled_at: SystemTime,
    pub at: SystemTime,
    pub phases: Phases,
    pub total_ms: f64,
    pub status: Option<u16>,
    pub body_bytes: Option<u64>,
    pub reused: Option<bool>,
    pub failure: Option<Failure>,
    pub vantage: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub phase: Phase,
    pub message: String,
}

impl ClientProbe {
    /// `None` when the record carries no trace id X-Ray would take.
    pub fn of(r: &ProbeRecord, method: Arc<str>) -> Option<ClientProbe> {
        let trace_id = r
            .trace_id
            .as_deref()
            .filter(|t| trace::TraceKey::parse(t).is_some())?;
        Some(ClientProbe {
            trace_id: trace_id.to_string(),
            target: r.target.clone(),
            url: r.url.clone(),
            method,
            scheduled_at: r.scheduled_at.0,
            at: r.at.0,
            phases: r.phases_ms,
            total_ms: r.total_ms,
            status: r.status,
            body_bytes: r.body_bytes,
            reused: r.conn.as_ref().map(|c| c.reused),
            failure: r.error.as_ref().map(|e| Failure {
                kind: e.kind,
                phase: e.phase,
                message: e.message.clone(),
            }),
            vantage: r.vantage.clone(),
        })
    }
}

/// The phases a segment has subsegments for: the network's, in wire order
/// (`queue` is the tool's own time, the segment's remainder).
const PHASES: [Phase; 6] = [
    Phase::Dns,
    Phase::Connect,
    Phase::Tls,
    Phase::Send,
    Phase::Ttfb,
    Phase::Body,
];

/// The client segment's document.
pub fn document(p: &ClientProbe) -> String {
    let root = p.trace_id.as_str();
    let start_us = epoch_us(p.scheduled_at);
    let end_us = start_us + ms_to_us(p.total_ms);
    // Phases are durations; laid end to end from the probe's real start
    // (after any queueing), and never past the segment's end.
    let network_us: u64 = PHASES
        .iter()
        .filter_map(|ph| p.phases.get(*ph))
        .map(ms_to_us)
        .sum();
    let mut cursor = epoch_us(p.at).clamp(start_us, end_us.saturating_sub(network_us).max(start_us));
    let flags = Flags::of(p);
    // The exception lives in the failing phase's subsegment; the segment
    // names it by id, as the schema allows.
    let exception_id = sub_id(root, 0xee);
    let exception = cause(p, &exception_id);
    let mut placed = false;
    let mut subsegments = Vec::new();
    for phase in PHASES {
        let Some(ms) = p.phases.get(phase) else { continue };
        let begin = cursor;
        cursor = (cursor + ms_to_us(ms)).min(end_us.max(begin));
        let mut sub = json!({
            "id": sub_id(root, phase.index() as u8),
            "name": phase.as_str(),
            "start_time": seconds(begin),
            "end_time": seconds(cursor),
        });
        if p.failure.as_ref().is_some_and(|f| f.phase == phase) {
            flags.write(&mut sub);
            if let Some(cause) = &exception {
                sub["cause"] = cause.clone();
                placed = true;
            }
        }
        subsegments.push(sub);
    }
    let mut http = json!({"request": {"method": clip(&p.method), "url": clip(&p.url)}});
    if let Some(status) = p.status {
        let mut response = json!({"status": status});
        if let Some(n) = p.body_bytes {
            response["content_length"] = json!(n);
        }
        http["response"] = response;
    }
    let mut segment = json!({
        "name": SEGMENT_NAME,
        "id": trace::client_segment_id(root),
        "trace_id": root,
        "start_time": seconds(start_us),
        "end_time": seconds(end_us),
        "http": http,
        "annotations": annotations(p),
        "subsegments": subsegments,
    });
    flags.write(&mut segment);
    match exception {
        Some(_) if placed => segment["cause"] = json!(exception_id),
        // Failed before any network phase (signing, in `queue`).
        Some(cause) => segment["cause"] = cause,
        None => {}
    }
    segment.to_string()
}

/// X-Ray's three flags: `error` a 4xx, `throttle` a 429, `fault` a 5xx or
/// no answer at all (a timeout, a reset, a refused connection, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Flags {
    fault: bool,
    error: bool,
    throttle: bool,
}

impl Flags {
    fn of(p: &ClientProbe) -> Flags {
        match (p.status, &p.failure) {
            (Some(s), _) if s >= 500 => Flags {
                fault: true,
                ..Flags::default()
            },
            (Some(s), _) if s >= 400 => Flags {
                error: true,
                throttle: s == 429,
                ..Flags::default()
            },
            (_, Some(f)) if f.kind != ErrorKind::Status => Flags {
                fault: true,
                ..Flags::default()
            },
            _ => Flags::default(),
        }
    }

    /// Only the flags that are set: a document stays small.
    fn write(self, v: &mut Value) {
        for (name, set) in [
            ("fault", self.fault),
            ("error", self.error),
            ("throttle", self.throttle),
        ] {
            if set {
                v[name] = json!(true);
            }
        }
    }
}

/// A failure without an answer, as an exception: its kind and message
/// (the record's: secrets already replaced).
fn cause(p: &ClientProbe, id: &str) -> Option<Value> {
    let f = p.failure.as_ref().filter(|f| f.kind != ErrorKind::Status)?;
    Some(json!({"exceptions": [{"id": id, "type": f.kind.as_str(), "message": clip(&f.message)}]}))
}

/// Indexed for filter expressions (`annotation.vantage = "eu-west-1b"`).
fn annotations(p: &ClientProbe) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert("target".into(), json!(clip(&p.target)));
    if let Some(v) = &p.vantage {
        a.insert("vantage".into(), json!(clip(v)));
    }
    if let Some(reused) = p.reused {
        a.insert("reused_connection".into(), json!(reused));
    }
    if let Some(f) = &p.failure {
        a.insert("error_kind".into(), json!(f.kind.as_str()));
        a.insert("failed_phase".into(), json!(f.phase.as_str()));
    }
    a
}

/// A subsegment's id: 16 hex digits from the root and the phase, distinct
/// from the segment's own (`trace::client_segment_id`).
fn sub_id(root: &str, salt: u8) -> String {
    let mut h: u64 = 0x6c62_272e_07bb_0142;
    for b in root.bytes().chain([0xff, salt]) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

fn epoch_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A record's milliseconds (to the microsecond) as whole microseconds.
fn ms_to_us(ms: f64) -> u64 {
    (ms * 1000.0).round().max(0.0) as u64
}

/// Epoch seconds with the microseconds as decimals.
fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::segments::{parse_documents, Segment};
    use std::time::Duration;

    const ROOT: &str = "1-6553f100-0123456789abcdef01234567";

    fn probe() -> ClientProbe {
        let t0 = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000);
        ClientProbe {
            trace_id: ROOT.into(),
            target: "execute-api".into(),
            url: "https://abc123.execute-api.lab.test/test/header".into(),
            method: "GET".into(),
            scheduled_at: t0,
            at: t0 + Duration::from_micros(150),
            phases: Phases {
                queue: Some(0.25),
                dns: Some(1.5),
                connect: Some(2.25),
                tls: Some(10.125),
                send: Some(0.05),
                ttfb: Some(23.4),
                body: Some(0.3),
            },
            total_ms: 37.875,
            status: Some(200),
            body_bytes: Some(12),
            reused: Some(false),
            failure: None,
            vantage: None,
        }
    }

    fn parsed(p: &ClientProbe) -> (Segment, Value) {
        let doc = document(p);
        assert!(doc.len() < MAX_DOCUMENT);
        let seg = parse_documents([doc.as_str()]).unwrap().remove(0);
        (seg, serde_json::from_str(&doc).unwrap())
    }

    fn is_id(id: &str) -> bool {
        id.len() == 16
            && id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    }

    #[test]
    fn a_probe_is_a_client_segment_with_a_subsegment_per_phase() {
        let (seg, v) = parsed(&probe());
        assert_eq!(seg.name, SEGMENT_NAME);
        assert_eq!(
            seg.id,
            trace::client_segment_id(ROOT),
            "the Parent= the probe sent"
        );
        assert_eq!(v["trace_id"], ROOT);
        assert!(is_id(&seg.id));
        assert_eq!(seg.start_time, 1_700_000_000.0);
        assert!((seg.duration_ms().unwrap() - 37.875).abs() < 1e-3, "{seg:?}");
        let names: Vec<&str> = seg.subsegments.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["dns", "connect", "tls", "send", "ttfb", "body"]);
        let mut ids: Vec<&str> = seg.subsegments.iter().map(|s| s.id.as_str()).collect();
        ids.push(&seg.id);
        assert!(ids.iter().all(|id| is_id(id)), "{ids:?}");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7, "ids unique in the trace");
        for (sub, want) in seg.subsegments.iter().zip([1.5, 2.25, 10.125, 0.05, 23.4, 0.3]) {
            assert!((sub.duration_ms().unwrap() - want).abs() < 1e-3, "{sub:?}");
            assert!(
                sub.start_time >= seg.start_time && sub.end_time <= seg.end_time,
                "{sub:?}"
            );
        }
        // End to end, from the probe's real start.
        assert!((seg.subsegments[0].start_time - 1_700_000_000.000_15).abs() < 1e-7);
        for pair in seg.subsegments.windows(2) {
            assert_eq!(pair[0].end_time, Some(pair[1].start_time));
        }
        assert_eq!(v["http"]["request"]["url"], &*probe().url);
        assert_eq!(v["http"]["request"]["method"], "GET");
        assert_eq!(v["http"]["response"]["status"], 200);
        assert_eq!(v["annotations"]["target"], "execute-api");
        assert_eq!(v["annotations"]["reused_connection"], false);
        assert!(
            v["annotations"].get("vantage").is_none(),
            "no vantage: no annotation"
        );
        for flag in ["fault", "error", "throttle", "cause", "parent_id"] {
            assert!(v.get(flag).is_none(), "{flag}: {v}");
        }
    }

    #[test]
    fn phases_that_did_not_happen_have_no_subsegment() {
        let mut p = probe();
        p.phases.dns = None;
        p.phases.connect = None;
        p.phases.tls = None;
        p.reused = Some(true);
        p.vantage = Some("eu-west-1b".into());
        let (seg, v) = parsed(&p);
        let names: Vec<&str> = seg.subsegments.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["send", "ttfb", "body"]);
        assert_eq!(v["annotations"]["vantage"], "eu-west-1b");
        assert_eq!(v["annotations"]["reused_connection"], true);
    }

    #[test]
    fn a_failed_probe_carries_the_fault_and_its_failing_phase() {
        let mut p = probe();
        p.phases.tls = None;
        p.phases.send = None;
        p.phases.ttfb = None;
        p.phases.body = None;
        p.phases.connect = Some(3000.0);
        p.total_ms = 3001.75;
        p.status = None;
        p.failure = Some(Failure {
            kind: ErrorKind::Timeout,
            phase: Phase::Connect,
            message: "no SYN-ACK within 3s".into(),
        });
        let (seg, v) = parsed(&p);
        assert!(seg.fault && !seg.error, "{v}");
        assert!(v["http"].get("response").is_none());
        assert_eq!(v["annotations"]["failed_phase"], "connect");
        assert_eq!(v["annotations"]["error_kind"], "timeout");
        let connect = &seg.subsegments[1];
        assert_eq!(connect.name, "connect");
        assert!(connect.fault);
        assert!(!seg.subsegments[0].fault, "dns went fine");
        let sub = &v["subsegments"][1];
        let exception = &sub["cause"]["exceptions"][0];
        assert_eq!(exception["type"], "timeout");
        assert_eq!(exception["message"], "no SYN-ACK within 3s");
        assert_eq!(v["cause"], exception["id"], "the segment names the exception");
        assert!(is_id(v["cause"].as_str().unwrap()));
    }

    #[test]
    fn statuses_set_error_throttle_and_fault_as_xray_reads_them() {
        let flags = |status: u16| {
            let mut p = probe();
            p.status = Some(status);
            p.failure = Some(Failure {
                kind: ErrorKind::Status,
                phase: Phase::Ttfb,
                message: format!("HTTP {status}"),
            });
            let (seg, v) = parsed(&p);
            assert!(v.get("cause").is_none(), "an answer is no exception");
            (seg.fault, seg.error, v.get("throttle").is_some())
        };
        assert_eq!(flags(403), (false, true, false));
        assert_eq!(flags(429), (false, true, true));
        assert_eq!(flags(504), (true, false, false));
    }

    #[test]
    fn long_texts_are_clipped_and_documents_stay_small() {
        let mut p = probe();
        p.url = format!("https://h/{}", "é".repeat(5000)).into();
        p.target = "t".repeat(5000).into();
        p.failure = Some(Failure {
            kind: ErrorKind::Reset,
            phase: Phase::Ttfb,
            message: "x".repeat(100_000),
        });
        let (_, v) = parsed(&p);
        assert_eq!(
            v["http"]["request"]["url"].as_str().unwrap().chars().count(),
            MAX_TEXT
        );
        assert_eq!(v["annotations"]["target"].as_str().unwrap().len(), MAX_TEXT);
    }

    #[test]
    fn records_without_an_xray_trace_id_make_no_segment() {
        let line = r#"{"v":1,"target":"t","url":"http://h/","seq":1,"at":"2026-11-21T10:00:00.123456Z",
            "scheduled_at":"2026-11-21T10:00:00.120000Z","remote":null,"conn":null,
            "phases_ms":{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null},
            "total_ms":0.1,"status":null,"http":null,"tls":null,"trace_id":null,"error":null}"#;
        let mut r: ProbeRecord = serde_json::from_str(line).unwrap();
        assert_eq!(ClientProbe::of(&r, "GET".into()), None);
        r.trace_id = Some("1-a-b".into());
        assert_eq!(
            ClientProbe::of(&r, "GET".into()),
            None,
            "a user's own, not X-Ray's shape"
        );
        r.trace_id = Some(ROOT.into());
        let p = ClientProbe::of(&r, "GET".into()).unwrap();
        assert_eq!(epoch_us(p.at) - epoch_us(p.scheduled_at), 3456);
    }
}

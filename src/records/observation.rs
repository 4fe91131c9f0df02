//! What the analyses take from one probe: a record reduced to the facts the
//! detectors, the dashboard and the keep-warm check read, borrowed from
//! wherever it was read. Filled from a record by
//! [`RecordView::observation`](super::RecordView::observation) only; built
//! by hand where there is no record (tests, synthetic series).

use std::time::SystemTime;

use crate::probe::{ErrorKind, IpFamily, Phase, Phases, SynSysctls};

/// One probe as the analyses take it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation<'a> {
    pub target: &'a str,
    pub url: &'a str,
    pub run: Option<&'a str>,
    pub conn_id: Option<u64>,
    pub scheduled_at: Option<SystemTime>,
    pub at: Option<SystemTime>,
    pub total_ms: f64,
    pub phases: Phases,
    pub status: Option<u16>,
    pub error: Option<(ErrorKind, Phase)>,
    pub reused: bool,
    pub conn_idle_ms: Option<f64>,
    pub reconnected: bool,
    pub tls_resumed: Option<bool>,
    pub remote: Option<&'a str>,
    /// The record's `family` (absent from records before `--ip-family`);
    /// [`Observation::ip_family`] falls back to the remote address.
    pub family: Option<IpFamily>,
    pub via: Option<&'a str>,
    pub x_cache: Option<&'a str>,
    pub cf_pop: Option<&'a str>,
    pub errortype: bool,
    /// An ALB answered this response itself (`server: awselb/2.0`, or
    /// `x-amzn-remapped-server` behind a REST API): its 502 or 504 page.
    pub alb_answered: bool,
    /// The refusal the error names (a rejected signature, clock skew, a
    /// client certificate…), if any.
    pub refusal: Option<crate::probe::refusal::Reason>,
    pub trace_id: Option<&'a str>,
    /// The lab run the probe went to: scenario and speed.
    pub lab: Option<(&'a str, f64)>,
    /// The SYN retransmission settings where the probe ran, if recorded.
    pub syn_sysctls: Option<SynSysctls>,
    /// Where the probe ran from, if the record says.
    pub vantage: Option<&'a str>,
}

impl Observation<'_> {
    /// The IP family the probe went over: the record's `family`, else what
    /// its remote address shows (parsed on each call: a reader of many
    /// records works it out once per address instead, as `diagnose` does).
    pub fn ip_family(&self) -> Option<IpFamily> {
        self.family
            .or_else(|| self.remote.and_then(super::family::family_of_remote))
    }
}

#[cfg(test)]
mod tests {
    use super::super::RecordView;
    use crate::probe::ProbeRecord;

    /// A record read back from its line and the same record in memory give
    /// the same observation: one conversion, whichever way it came.
    #[test]
    fn a_record_from_disk_and_from_memory_observe_alike() {
        let line = r#"{"v":1,"run":"r1","target":"t","url":"https://a.example/p","seq":1,"at":"2026-11-21T10:00:00.000001Z","scheduled_at":"2026-11-21T10:00:00Z","remote":"10.0.0.1:443","conn":{"id":3,"reused":true,"idle_ms":12.5,"age_ms":100.0,"requests":2,"reconnected":false},"phases_ms":{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":0.2,"ttfb":20.0,"body":0.3},"total_ms":20.6,"status":502,"http":"HTTP/1.1","tls":{"version":"TLSv1.3","resumed":false,"alpn":"http/1.1"},"trace_id":"Root=1-5f84c7a9-0123456789abcdef01234567","headers":{"via":"1.1 x.cloudfront.net (CloudFront)","x-cache":"Error from cloudfront","x-amz-cf-pop":"FRA56-P1","x-amzn-errortype":"InternalServerErrorException"},"body_bytes":10,"error":{"kind":"status","phase":"ttfb","message":"502"},"lab":{"scenario":"s","speed":10.0},"syn_sysctls":{"tcp_syn_retries":6,"tcp_syn_linear_timeouts":4}}"#;
        let from_line: RecordView = serde_json::from_str(line).unwrap();
        let record: ProbeRecord = serde_json::from_str(line).unwrap();
        let from_memory = RecordView::of(&record);
        let a = from_line.observation().unwrap();
        assert_eq!(a, from_memory.observation().unwrap());
        assert!(a.reused && a.errortype && a.remote == Some("10.0.0.1:443"));
        assert_eq!(a.lab, Some(("s", 10.0)));
        assert_eq!(
            a.syn_sysctls.map(|s| s.describe()).as_deref(),
            Some("tcp_syn_linear_timeouts 4, tcp_syn_retries 6")
        );
        assert_eq!(a.ip_family(), Some(crate::probe::IpFamily::Ipv4));
    }

    /// A record's `family` names its family; without one (records before
    /// `--ip-family`) its remote address does; without either, none.
    #[test]
    fn the_family_field_comes_first_then_the_address() {
        use crate::probe::IpFamily;
        let line = |extra: &str| {
            format!(
                r#"{{"v":1,"target":"t","url":"u","seq":1,"at":"2026-11-21T10:00:00Z","scheduled_at":"2026-11-21T10:00:00Z",{extra}"conn":null,"phases_ms":{{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null}},"total_ms":0.1,"status":null,"http":null,"tls":null,"trace_id":null,"error":null}}"#
            )
        };
        let family = |extra: &str| {
            let text = line(extra);
            let view: RecordView = serde_json::from_str(&text).unwrap();
            view.observation().unwrap().ip_family()
        };
        assert_eq!(family(r#""remote":"[::1]:443","#), Some(IpFamily::Ipv6));
        assert_eq!(family(r#""remote":"127.0.0.1:443","#), Some(IpFamily::Ipv4));
        assert_eq!(
            family(r#""remote":"[::ffff:127.0.0.1]:443","#),
            Some(IpFamily::Ipv4)
        );
        assert_eq!(family(r#""remote":null,"family":"ipv6","#), Some(IpFamily::Ipv6));
        assert_eq!(
            family(r#""remote":"[::1]:443","family":"ipv6","#),
            Some(IpFamily::Ipv6)
        );
        assert_eq!(family(r#""remote":null,"#), None);
        assert!(serde_json::from_str::<RecordView>(&line(r#""remote":null,"family":"ipv5","#)).is_err());
    }

    /// An ALB's own page says `server: awselb/2.0`; behind a REST API it
    /// arrives as `x-amzn-remapped-server`. Other servers are not ALBs.
    #[test]
    fn an_albs_own_answer_is_marked_from_either_server_header() {
        let answered = |headers: &str| {
            let line = format!(
                r#"{{"v":1,"target":"t","url":"u","seq":1,"at":"2026-11-21T10:00:00Z","scheduled_at":"2026-11-21T10:00:00Z","remote":null,"conn":null,"phases_ms":{{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null}},"total_ms":0.1,"status":502,"http":null,"tls":null,"trace_id":null,"headers":{{{headers}}},"error":null}}"#
            );
            let view: RecordView = serde_json::from_str(&line).unwrap();
            let record: ProbeRecord = serde_json::from_str(&line).unwrap();
            let a = view.observation().unwrap().alb_answered;
            assert_eq!(a, RecordView::of(&record).observation().unwrap().alb_answered);
            a
        };
        assert!(answered(r#""server":"awselb/2.0""#));
        assert!(answered(r#""x-amzn-remapped-server":"awselb/2.0""#));
        assert!(!answered(r#""server":"nginx/1.22.1""#));
        assert!(!answered(r#""server":"aws""#));
        assert!(!answered(""));
    }
}

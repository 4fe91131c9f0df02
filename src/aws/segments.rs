//! X-Ray segment documents of one trace, read for where a probe's time went:
//! before the gateway, in the gateway itself, in the integration (VPC link,
//! NLB, nginx, app) and, when the app is traced, in the app.
//!
//! Only the fields this needs are read; X-Ray documents carry many more.

use serde::Deserialize;

/// The origin API Gateway gives its stage segment.
pub const STAGE_ORIGIN: &str = "AWS::ApiGateway::Stage";

/// One segment or subsegment (they share these fields).
#[derive(Debug, Clone, Deserialize)]
pub struct Segment {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Epoch seconds, fractional.
    pub start_time: f64,
    /// Absent while a segment is in progress.
    #[serde(default)]
    pub end_time: Option<f64>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    /// `remote` for a call to another service (the integration request).
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub subsegments: Vec<Segment>,
    #[serde(default)]
    pub http: Option<Http>,
    #[serde(default)]
    pub fault: bool,
    #[serde(default)]
    pub error: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Http {
    #[serde(default)]
    pub request: Option<HttpRequest>,
    #[serde(default)]
    pub response: Option<HttpResponse>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpRequest {
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpResponse {
    #[serde(default)]
    pub status: Option<u16>,
}

impl Segment {
    /// Duration in ms, if the segment has ended.
    pub fn duration_ms(&self) -> Option<f64> {
        self.end_time
            .filter(|end| *end >= self.start_time)
            .map(|end| (end - self.start_time) * 1000.0)
    }

    fn walk<'a>(&'a self, out: &mut Vec<&'a Segment>) {
        for s in &self.subsegments {
            out.push(s);
            s.walk(out);
        }
    }

    /// Every subsegment below this one, depth first.
    pub fn descendants(&self) -> Vec<&Segment> {
        let mut out = Vec::new();
        self.walk(&mut out);
        out
    }
}

/// Where a probe's time went, as far as the trace tells.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Breakdown {
    /// The gateway's stage segment, end to end.
    pub gateway_ms: f64,
    /// The integration request (VPC link + NLB + nginx + app), when the
    /// stage segment has one.
    pub integration_ms: Option<f64>,
    /// The app's own segment, when the app is traced.
    pub app_ms: Option<f64>,
    /// The integration's URL, as the gateway recorded it.
    pub integration_url: Option<String>,
    /// The status the gateway answered with.
    pub status: Option<u16>,
}

impl Breakdown {
    /// The gateway's own work: its segment minus the integration.
    pub fn gateway_overhead_ms(&self) -> Option<f64> {
        self.integration_ms.map(|i| (self.gateway_ms - i).max(0.0))
    }

    /// Time spent between the gateway and the app: VPC link, NLB, nginx.
    pub fn path_ms(&self) -> Option<f64> {
        match (self.integration_ms, self.app_ms) {
            (Some(i), Some(a)) => Some((i - a).max(0.0)),
            _ => None,
        }
    }

    /// What the client paid before (and after) the gateway: its total
    /// minus the stage segment (DNS, connect, TLS, the edge, the network).
    pub fn before_gateway_ms(&self, client_total_ms: f64) -> f64 {
        (client_total_ms - self.gateway_ms).max(0.0)
    }
}

/// Why a trace could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    #[error("segment document is not valid JSON: {0}")]
    BadDocument(String),
    #[error("no API Gateway stage segment ({STAGE_ORIGIN}) in the trace")]
    NoStage,
    #[error("the stage segment has not ended")]
    InProgress,
}

/// Parse one trace's segment documents (as `BatchGetTraces` returns them).
pub fn parse_documents<'a>(documents: impl IntoIterator<Item = &'a str>) -> Result<Vec<Segment>, TraceError> {
    documents
        .into_iter()
        .map(|d| serde_json::from_str::<Segment>(d).map_err(|e| TraceError::BadDocument(e.to_string())))
        .collect()
}

/// The breakdown of one trace's segments.
pub fn breakdown(segments: &[Segment]) -> Result<Breakdown, TraceError> {
    let stage = segments
        .iter()
        .find(|s| s.origin.as_deref() == Some(STAGE_ORIGIN))
        .ok_or(TraceError::NoStage)?;
    let gateway_ms = stage.duration_ms().ok_or(TraceError::InProgress)?;
    let below = stage.descendants();
    // The integration request is the gateway's call to a remote service;
    // without that mark, its longest subsegment.
    let integration = below
        .iter()
        .copied()
        .filter(|s| s.duration_ms().is_some())
        .find(|s| s.namespace.as_deref() == Some("remote"))
        .or_else(|| {
            below
                .iter()
                .copied()
                .filter(|s| s.duration_ms().is_some())
                .max_by(|a, b| {
                    a.duration_ms()
                        .unwrap_or(0.0)
                        .total_cmp(&b.duration_ms().unwrap_or(0.0))
                })
        });
    // The app's segment is a top-level segment of its own whose parent is
    // somewhere in the stage's tree.
    let ids: std::collections::HashSet<&str> = std::iter::once(stage.id.as_str())
        .chain(below.iter().map(|s| s.id.as_str()))
        .collect();
    let app = segments
        .iter()
        .filter(|s| !std::ptr::eq(*s, stage))
        .filter(|s| s.parent_id.as_deref().is_some_and(|p| ids.contains(p)))
        .filter_map(|s| s.duration_ms())
        .reduce(f64::max);
    Ok(Breakdown {
        gateway_ms,
        integration_ms: integration.and_then(Segment::duration_ms),
        app_ms: app,
        integration_url: integration
            .and_then(|s| s.http.as_ref())
            .and_then(|h| h.request.as_ref())
            .and_then(|r| r.url.clone()),
        status: stage
            .http
            .as_ref()
            .and_then(|h| h.response.as_ref())
            .and_then(|r| r.status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A REST API stage segment with its integration subsegment, as API
    /// Gateway writes them, and the app's segment with the integration as
    /// its parent.
    const STAGE: &str = r#"{
        "id": "1a2b3c4d5e6f7a8b", "name": "orders/test",
        "trace_id": "1-5f84c7a1-0123456789abcdef01234567",
        "start_time": 1700000000.100, "end_time": 1700000000.900,
        "origin": "AWS::ApiGateway::Stage",
        "http": {"request": {"url": "https://abc123.execute-api.eu-west-1.amazonaws.com/test/header", "method": "GET"},
                 "response": {"status": 200}},
        "aws": {"api_gateway": {"account_id": "123456789012", "rest_api_id": "abc123", "stage": "test", "request_id": "r-1"}},
        "subsegments": [
          {"id": "2b3c4d5e6f7a8b9c", "name": "nlb.internal", "namespace": "remote",
           "start_time": 1700000000.150, "end_time": 1700000000.850,
           "http": {"request": {"url": "http://nlb.internal/header", "method": "GET"}, "response": {"status": 200}}}
        ]
    }"#;
    const APP: &str = r#"{
        "id": "3c4d5e6f7a8b9c0d", "name": "orders-app",
        "trace_id": "1-5f84c7a1-0123456789abcdef01234567",
        "parent_id": "2b3c4d5e6f7a8b9c",
        "start_time": 1700000000.300, "end_time": 1700000000.800
    }"#;

    /// Epoch seconds in an f64 carry about a quarter of a microsecond.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.01
    }

    #[test]
    fn splits_gateway_integration_path_and_app() {
        let segs = parse_documents([STAGE, APP]).unwrap();
        let b = breakdown(&segs).unwrap();
        assert!(close(b.gateway_ms, 800.0), "{b:?}");
        assert!(close(b.integration_ms.unwrap(), 700.0), "{b:?}");
        assert!(close(b.app_ms.unwrap(), 500.0), "{b:?}");
        assert!(close(b.gateway_overhead_ms().unwrap(), 100.0));
        assert!(close(b.path_ms().unwrap(), 200.0));
        assert!(close(b.before_gateway_ms(1000.0), 200.0));
        assert_eq!(b.integration_url.as_deref(), Some("http://nlb.internal/header"));
        assert_eq!(b.status, Some(200));
    }

    #[test]
    fn an_untraced_app_leaves_the_app_and_path_unknown() {
        let segs = parse_documents([STAGE]).unwrap();
        let b = breakdown(&segs).unwrap();
        assert_eq!((b.app_ms, b.path_ms()), (None, None));
        assert!(b.integration_ms.is_some());
    }

    #[test]
    fn a_trace_without_the_stage_is_named() {
        let segs = parse_documents([APP]).unwrap();
        assert_eq!(breakdown(&segs), Err(TraceError::NoStage));
        assert!(matches!(parse_documents(["{"]), Err(TraceError::BadDocument(_))));
    }

    #[test]
    fn a_stage_in_progress_is_not_timed() {
        let doc = STAGE.replace(r#""end_time": 1700000000.900,"#, "");
        let segs = parse_documents([doc.as_str()]).unwrap();
        assert_eq!(breakdown(&segs), Err(TraceError::InProgress));
    }
}

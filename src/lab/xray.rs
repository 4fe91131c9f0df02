//! The lab speaks X-Ray: for every request the gateway handled, a stage
//! segment (`AWS::ApiGateway::Stage`, under the caller's segment when the
//! caller's trace header names one as `Parent=`) with the integration call as a
//! `remote` subsegment, and for every request the app answered, a segment
//! of its own whose parent is that subsegment (as an app traced with an
//! X-Ray SDK writes it), sent with `PutTraceSegments` to the endpoint given
//! (moto's server in the tests), under the probe's own trace id.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::backend::AppRecord;
use super::gateway::GatewayRecord;
use super::segment_id::{segment_id, INTEGRATION_SALT};

/// The app's segment names itself this.
pub const APP_NAME: &str = "lab-app";

/// Documents per `PutTraceSegments` call (X-Ray takes up to 50, 64 KB).
const BATCH: usize = 25;

fn epoch_s(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// The stage segment of one request, as API Gateway writes it.
pub fn segment_document(r: &GatewayRecord, api_id: &str, stage: &str, integration_host: &str) -> String {
    let fault = r.status >= 500;
    let mut stage_segment = serde_json::json!({
        "id": segment_id(&r.request_id, 0),
        "name": format!("{api_id}/{stage}"),
        "trace_id": r.trace_id,
        "start_time": epoch_s(r.received),
        "end_time": epoch_s(r.responded),
        "origin": crate::aws::segments::STAGE_ORIGIN,
        "fault": fault,
        "http": {
            "request": {"method": r.method, "url": format!("https://{}{}", super::EXECUTE_API_HOST, r.path)},
            "response": {"status": r.status}
        },
        "aws": {"api_gateway": {"rest_api_id": api_id, "stage": stage, "request_id": r.request_id}},
    });
    // Under the caller's own segment when its trace header named one.
    if let Some(parent) = &r.parent {
        stage_segment["parent_id"] = serde_json::json!(parent);
    }
    // A request the stage refused (403) never reached an integration.
    if r.attempts > 0 {
        stage_segment["subsegments"] = serde_json::json!([{
            "id": segment_id(&r.request_id, INTEGRATION_SALT),
            "name": integration_host,
            "namespace": "remote",
            "start_time": epoch_s(r.integration_start),
            "end_time": epoch_s(r.integration_end),
            "fault": fault,
            "http": {
                "request": {"method": r.method, "url": format!("http://{integration_host}{}", r.path)},
                "response": {"status": r.status}
            }
        }]);
    }
    stage_segment.to_string()
}

/// The app's own segment for one request, under the integration subsegment.
pub fn app_document(a: &AppRecord) -> String {
    serde_json::json!({
        "id": segment_id(&format!("{}/{}", a.root, a.parent), 2),
        "name": APP_NAME,
        "trace_id": a.root,
        "parent_id": a.parent,
        "start_time": epoch_s(a.received),
        "end_time": epoch_s(a.answered),
        "origin": "AWS::EC2::Instance",
        "fault": a.status >= 500,
        "http": {"response": {"status": a.status}}
    })
    .to_string()
}

/// Send the segments of the gateway's and the app's records until
/// cancelled. Failures are logged once, not fatal: the lab goes on serving.
pub async fn publish(
    client: aws_sdk_xray::Client,
    mut gateway: mpsc::Receiver<GatewayRecord>,
    mut app: mpsc::Receiver<AppRecord>,
    ids: (String, String, String),
    cancel: CancellationToken,
) {
    let (api_id, stage, host) = ids;
    let mut warned = false;
    loop {
        let first = tokio::select! {
            Some(r) = gateway.recv() => segment_document(&r, &api_id, &stage, &host),
            Some(a) = app.recv() => app_document(&a),
            _ = cancel.cancelled() => return,
            else => return,
        };
        let mut docs = vec![first];
        while docs.len() < BATCH {
            if let Ok(a) = app.try_recv() {
                docs.push(app_document(&a));
            } else if let Ok(r) = gateway.try_recv() {
                docs.push(segment_document(&r, &api_id, &stage, &host));
            } else {
                break;
            }
        }
        match crate::aws::xray::put_segments(&client, docs).await {
            Ok(0) => {}
            Ok(n) if !warned => {
                warned = true;
                tracing::warn!("lab gateway: X-Ray did not take {n} segment documents");
            }
            Err(e) if !warned => {
                warned = true;
                tracing::warn!("lab gateway: {e}");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::segments::{breakdown, parse_documents};
    use std::time::Duration;

    /// The app's segment hangs under the gateway's integration subsegment,
    /// so the breakdown finds it as the app's share of the integration.
    #[test]
    fn the_apps_segment_is_read_as_the_app_under_the_integration() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ms = |n| t0 + Duration::from_millis(n);
        let root = "1-6553f100-000000000000000000000001".to_string();
        let gateway = GatewayRecord {
            trace_id: root.clone(),
            parent: Some("53995c3f42cd8ad8".into()),
            request_id: "r-1".into(),
            method: "GET".into(),
            path: "/test/header".into(),
            status: 200,
            received: ms(0),
            integration_start: ms(10),
            integration_end: ms(510),
            responded: ms(520),
            upstream_reused: true,
            attempts: 1,
        };
        let app = AppRecord {
            root: root.clone(),
            parent: segment_id("r-1", INTEGRATION_SALT),
            received: ms(300),
            answered: ms(500),
            status: 200,
        };
        let docs = [
            segment_document(&gateway, "abc123", "test", "backend"),
            app_document(&app),
        ];
        let segments = parse_documents(docs.iter().map(String::as_str)).unwrap();
        // Issue 21: the caller's segment is the stage segment's parent.
        assert_eq!(segments[0].parent_id.as_deref(), Some("53995c3f42cd8ad8"));
        let b = breakdown(&segments).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1.0;
        assert!(close(b.gateway_ms, 520.0), "{b:?}");
        assert!(close(b.integration_ms.unwrap(), 500.0), "{b:?}");
        assert!(close(b.app_ms.unwrap(), 200.0), "{b:?}");
    }
}

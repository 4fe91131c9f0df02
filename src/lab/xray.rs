//! The lab's gateway speaks X-Ray: for every request it handled, a stage
//! segment (`AWS::ApiGateway::Stage`) with the integration call as a
//! `remote` subsegment, sent with `PutTraceSegments` to the endpoint given
//! (moto's server in the tests), under the probe's own trace id.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::gateway::GatewayRecord;

/// Documents per `PutTraceSegments` call (X-Ray takes up to 50, 64 KB).
const BATCH: usize = 25;

fn epoch_s(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A 16-hex-digit segment id derived from the request id (stable, unique
/// per request).
fn segment_id(request_id: &str, salt: u8) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (request_id, salt).hash(&mut h);
    format!("{:016x}", h.finish())
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
    // A request the stage refused (403) never reached an integration.
    if r.attempts > 0 {
        stage_segment["subsegments"] = serde_json::json!([{
            "id": segment_id(&r.request_id, 1),
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

/// Send the segments of the records arriving on `rx` until cancelled.
/// Failures are logged once, not fatal: the lab goes on serving.
pub async fn publish(
    client: aws_sdk_xray::Client,
    mut rx: mpsc::Receiver<GatewayRecord>,
    ids: (String, String, String),
    cancel: CancellationToken,
) {
    let (api_id, stage, host) = ids;
    let mut warned = false;
    loop {
        let first = tokio::select! {
            r = rx.recv() => match r { Some(r) => r, None => return },
            _ = cancel.cancelled() => return,
        };
        let mut docs = vec![segment_document(&first, &api_id, &stage, &host)];
        while docs.len() < BATCH {
            match rx.try_recv() {
                Ok(r) => docs.push(segment_document(&r, &api_id, &stage, &host)),
                Err(_) => break,
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

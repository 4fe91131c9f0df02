//! Publishing to CloudWatch (issue #21): the metrics put per vantage read
//! back from LocalStack, the distribution a `PutMetricData` request
//! carries (aws-smithy-mocks), EMF lines against the format's schema, and
//! the command line's refusals and a CloudWatch that refuses or hangs.

mod cli;
mod emf;
pub(crate) mod localstack;
mod mocked;

use std::sync::Arc;

use coldlink::probe::{ConnInfo, ErrorKind, Phase, ProbeError, ProbeRecord};

use crate::common::record::probe_record;

/// A record of `target` from `vantage`: `total` ms (ttfb most of it), or
/// failed with `kind`; `reused`: on a kept-alive connection.
pub fn record(
    target: &str,
    vantage: &str,
    total: f64,
    failed: Option<ErrorKind>,
    reused: bool,
) -> ProbeRecord {
    let mut r = probe_record();
    r.target = target.into();
    r.vantage = Some(Arc::from(vantage));
    r.phases_ms.dns = Some(0.5);
    r.phases_ms.connect = Some(1.0);
    r.phases_ms.send = Some(0.1);
    r.phases_ms.ttfb = Some(total - 1.8);
    r.phases_ms.body = Some(0.2);
    r.total_ms = total;
    r.status = Some(200);
    r.error = failed.map(|kind| ProbeError {
        kind,
        phase: Phase::Ttfb,
        message: "failed".into(),
    });
    r.conn = Some(
        serde_json::from_value::<ConnInfo>(serde_json::json!({
            "id": 1, "reused": reused, "idle_ms": null, "age_ms": 1.0, "requests": 1
        }))
        .unwrap(),
    );
    r
}

//! `slow-backend` against the configuration, per route the finding's
//! targets probe: its integration timeout, cited as the room left before
//! the gateway gives up (29 000 ms on a REST API, 30 000 ms on an HTTP
//! API when not set), and a streamed response (`responseTransferMode`
//! STREAM, 2025-11), which moves time from the first byte into the body:
//! the time to first byte is then the wait for the first chunk, not the
//! app's whole answer, and the integration timeout no longer bounds the
//! whole response (a stream may last up to 15 min). Neither says why the
//! app is slow, so neither is a fix.

use super::path::value;
use super::scope::{routes_of, Api};
use crate::aws::path::model::defaults;
use crate::aws::path::PathConfig;
use crate::diagnose::finding::Finding;

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    for (api, r) in routes_of(c, &f.targets) {
        let (ms, default) = match (r.timeout_ms, api) {
            (Some(ms), _) => (ms, false),
            (None, Api::Rest { .. }) => (defaults::REST_INTEGRATION_TIMEOUT_MS, true),
            (None, Api::Http { .. }) => (defaults::HTTP_INTEGRATION_TIMEOUT_MS, true),
        };
        let id = r
            .integration_id
            .as_deref()
            .or(r.resource_id.as_deref())
            .unwrap_or_default();
        f.configured.push(value(
            format!("route {}", r.route),
            id,
            "timeoutInMillis",
            ms.to_string(),
            default,
        ));
        let shown = format!("{ms}{}", if default { " (default)" } else { "" });
        let streamed = r.response_transfer_mode.as_deref() == Some("STREAM");
        if streamed {
            f.configured.push(value(
                format!("route {}", r.route),
                id,
                "responseTransferMode",
                "STREAM".into(),
                false,
            ));
            f.evidence.push(format!(
                "route `{}` streams its response (`responseTransferMode` STREAM): time moves from the first byte into the body, so the time to first byte is the wait for the first chunk, not the app's whole answer, and not the app's alone (the gateway and the way to the app count too); read the body phase with it. Its `timeoutInMillis` {shown} no longer bounds the whole response (a stream may last up to 15 min)",
                r.route
            ));
        } else {
            f.evidence.push(format!(
                "route `{}`'s `timeoutInMillis` {shown}: a request slower than that ends in the gateway's 504",
                r.route
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding() -> Finding {
        Finding::new(
            Cause::SlowBackend,
            Severity::Warning,
            0.9,
            "api: time to first byte is 842 ms on every request",
        )
        .targets(["api".to_string()])
    }

    #[test]
    fn a_buffered_route_cites_its_timeout() {
        let mut f = finding();
        join(&mut f, &fixtures::path());
        assert_eq!(
            f.evidence,
            ["route `GET /orders`'s `timeoutInMillis` 12000: a request slower than that ends in the gateway's 504"]
        );
        assert_eq!(f.configured[0].value, "12000");
        assert!(!f.configured[0].explains && f.fix.is_empty());
    }

    #[test]
    fn a_streamed_route_moves_time_into_the_body() {
        let mut c = fixtures::path();
        let r = &mut c.rest_api.as_mut().unwrap().routes[0];
        r.response_transfer_mode = Some("STREAM".into());
        r.timeout_ms = None;
        let mut f = finding();
        join(&mut f, &c);
        assert!(
            f.evidence[0].starts_with("route `GET /orders` streams its response (`responseTransferMode` STREAM): time moves from the first byte into the body"),
            "{}",
            f.evidence[0]
        );
        assert!(
            f.evidence[0].contains("`timeoutInMillis` 29000 (default)"),
            "{}",
            f.evidence[0]
        );
        assert!(f
            .configured
            .iter()
            .any(|v| v.setting == "responseTransferMode" && v.value == "STREAM"));
    }

    #[test]
    fn another_target_s_route_adds_nothing() {
        let mut f = finding().targets(["web".to_string()]);
        join(&mut f, &fixtures::path());
        assert!(f.evidence.is_empty() && f.configured.is_empty());
    }
}

//! X-Ray segment ids the lab derives from a request id, so that the gateway
//! (which passes the integration subsegment's id to the app as the trace's
//! parent) and the X-Ray publisher (which writes that subsegment) agree
//! without knowing each other.

/// The integration subsegment's id is `segment_id(request id, this)`; the
/// gateway passes it to the app as the trace's parent.
pub(super) const INTEGRATION_SALT: u8 = 1;

/// A 16-hex-digit segment id derived from the request id (stable, unique
/// per request).
pub(super) fn segment_id(request_id: &str, salt: u8) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (request_id, salt).hash(&mut h);
    format!("{:016x}", h.finish())
}

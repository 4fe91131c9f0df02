//! The request a probe sends, as the user asked for it (method, headers,
//! body, what counts as success); below both the prepared request and the
//! redaction of responses, which are derived from it.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method};

/// The request a probe sends. Shared by all probes of a target.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    /// Extra request headers; secret values are marked sensitive so that
    /// even `Debug` and HTTP/2 header compression treat them as secrets.
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Status codes counted as success; `None` means 100–399.
    pub expect_status: Option<Vec<u16>>,
    /// Header names the user marked secret (`--secret-header`,
    /// `connection.secret_headers`), sent or not: a response header of the
    /// name, or of the name behind `x-amzn-remapped-`, is redacted.
    pub secret_headers: Vec<HeaderName>,
}

impl RequestSpec {
    pub fn status_ok(&self, status: u16) -> bool {
        match &self.expect_status {
            Some(codes) => codes.contains(&status),
            None => (100..400).contains(&status),
        }
    }
}

impl Default for RequestSpec {
    fn default() -> Self {
        RequestSpec {
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            expect_status: None,
            secret_headers: Vec::new(),
        }
    }
}

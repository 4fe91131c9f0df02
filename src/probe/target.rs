//! What a probe is sent to: a named URL and the request to send.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method};
use serde::{Deserialize, Serialize};
use url::{Host, Url};

use super::redact::Redaction;
use super::request::PreparedRequest;

/// Request headers whose values are secrets by nature; they are sent but
/// never written to a record, a log or the screen. `x-amz-security-token`
/// is the session token of temporary AWS credentials (SigV4).
pub const ALWAYS_SECRET: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "x-amz-security-token",
];

/// Query parameters whose values are secrets by nature (compared without
/// case): API keys, tokens, passwords and request signatures, such as a
/// presigned URL's. Their values are sent but shown as [`REDACTED`].
pub const SECRET_QUERY_PARAMS: [&str; 18] = [
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "auth",
    "authorization",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "signature",
    "sig",
    "x-amz-signature",
    "x-amz-security-token",
];

/// What a secret query value is shown as.
pub const REDACTED: &str = "REDACTED";

/// Which entry point a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    ExecuteApi,
    CustomDomain,
    Other,
}

impl TargetKind {
    /// `*.execute-api.REGION.amazonaws.com` is the execute-api URL; a plain
    /// DNS name is presumed a custom domain; IPs and localhost are neither.
    pub fn infer(url: &Url) -> TargetKind {
        match url.host() {
            Some(Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                if d.contains(".execute-api.") && d.ends_with(".amazonaws.com") {
                    TargetKind::ExecuteApi
                } else if d == "localhost" || d.ends_with(".localhost") {
                    TargetKind::Other
                } else {
                    TargetKind::CustomDomain
                }
            }
            _ => TargetKind::Other,
        }
    }
}

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

/// Where to connect, derived once from the URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub tls: bool,
    /// Host as written in the URL (brackets stripped for IPv6).
    pub host: String,
    /// Set when the host is an IP literal: no DNS.
    pub ip: Option<IpAddr>,
    pub port: u16,
    /// `host[:port]` as it goes into the Host header.
    pub authority: String,
    /// Path and query, as sent on the request line.
    pub path: String,
}

impl Endpoint {
    /// Derive the endpoint; the URL must already be validated as http(s)
    /// with a host.
    pub fn from_url(url: &Url) -> Endpoint {
        let tls = url.scheme() == "https";
        let (host, ip) = match url.host() {
            Some(Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
            Some(Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
            Some(Host::Domain(d)) => (d.to_string(), None),
            None => (String::new(), None),
        };
        let port = url.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
        let host_for_header = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(p) => format!("{host_for_header}:{p}"),
            None => host_for_header.to_string(),
        };
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        Endpoint {
            tls,
            host,
            ip,
            port,
            authority,
            path,
        }
    }
}

/// Connections are shared by every target on the same scheme, host and port,
/// as a real client shares them across paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn origin(&self) -> Origin {
        Origin {
            tls: self.tls,
            host: self.host.to_ascii_lowercase(),
            port: self.port,
        }
    }
}

/// A named URL with its request.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub url: Url,
    pub kind: TargetKind,
    pub endpoint: Endpoint,
    /// Computed once: the pool key, looked up on every probe.
    pub origin: Origin,
    /// Computed once: the URL as written into every record and shown, its
    /// secret query values replaced (see [`shown_url`]).
    pub url_text: String,
    pub request: Arc<RequestSpec>,
    /// Computed once: the request with everything that does not change
    /// between probes.
    pub prepared: Arc<PreparedRequest>,
    /// Computed once: what the response's headers must not show back of
    /// the request's secrets.
    pub redaction: Arc<Redaction>,
}

impl Target {
    pub fn new(
        name: impl Into<String>,
        url: Url,
        kind: Option<TargetKind>,
        request: Arc<RequestSpec>,
    ) -> Target {
        let endpoint = Endpoint::from_url(&url);
        Target {
            prepared: Arc::new(PreparedRequest::new(&url, &endpoint, &request)),
            redaction: Arc::new(Redaction::new(&request, secret_query_values(&url, &[]))),
            name: name.into(),
            kind: kind.unwrap_or_else(|| TargetKind::infer(&url)),
            origin: endpoint.origin(),
            url_text: shown_url(&url, &[]),
            endpoint,
            url,
            request,
        }
    }
}

impl Target {
    /// Hide the values of these query parameters too (names compared
    /// without case; `*` for all): a profile's URL whose value came from
    /// `${ENV}`.
    pub fn hiding_query_params(mut self, names: &[String]) -> Target {
        self.url_text = shown_url(&self.url, names);
        self.redaction = Arc::new(Redaction::new(
            &self.request,
            secret_query_values(&self.url, names),
        ));
        self
    }
}

/// The URL as a record, a log or the screen may show it: the value of every
/// query parameter named in [`SECRET_QUERY_PARAMS`] or in `extra` replaced
/// by [`REDACTED`]; everything else exactly as sent.
pub fn shown_url(url: &Url, extra: &[String]) -> String {
    let Some(query) = url.query() else {
        return url.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name, extra) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect();
    let mut shown = url.clone();
    shown.set_query(Some(&pairs.join("&")));
    shown.to_string()
}

/// The values [`shown_url`] hides, as sent and as decoded: a response that
/// echoes one must not show it either.
pub fn secret_query_values(url: &Url, extra: &[String]) -> Vec<String> {
    let Some(query) = url.query() else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for pair in query.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            if is_secret_param(name, extra) {
                values.push(value.to_string());
                if let Some((_, meant)) = url::form_urlencoded::parse(pair.as_bytes()).next() {
                    values.push(meant.into_owned());
                }
            }
        }
    }
    values
}

/// True when the query parameter's value is hidden: its name, as written or
/// as meant, is in [`SECRET_QUERY_PARAMS`] or `extra` (`*`: every name).
fn is_secret_param(name: &str, extra: &[String]) -> bool {
    let secret = |name: &str| {
        SECRET_QUERY_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name))
            || extra.iter().any(|s| s == "*" || s.eq_ignore_ascii_case(name))
    };
    secret(name) || secret(&decoded(name))
}

/// A query parameter's name as meant (`api%5Fkey` is `api_key`).
fn decoded(name: &str) -> String {
    url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(n, _)| n.into_owned())
        .unwrap_or_default()
}

/// True when a header's value must never be shown.
pub fn is_secret(name: &HeaderName, extra: &[HeaderName]) -> bool {
    ALWAYS_SECRET.contains(&name.as_str()) || extra.contains(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_inferred_from_the_host() {
        let k = |u: &str| TargetKind::infer(&Url::parse(u).unwrap());
        assert_eq!(
            k("https://abc123.execute-api.eu-west-1.amazonaws.com/test/x"),
            TargetKind::ExecuteApi
        );
        assert_eq!(k("https://api.example.com/x"), TargetKind::CustomDomain);
        assert_eq!(k("http://127.0.0.1:8080/"), TargetKind::Other);
        assert_eq!(k("http://localhost:8080/"), TargetKind::Other);
    }

    #[test]
    fn secret_query_values_are_not_shown_and_the_rest_is_kept_as_sent() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            shown_url(
                &u("https://api.example.com/x?api_key=s3cr3t&page=2&API-KEY=x&a%20b=c"),
                &[]
            ),
            "https://api.example.com/x?api_key=REDACTED&page=2&API-KEY=REDACTED&a%20b=c"
        );
        // A presigned URL: the signature and the session token go, the rest stays.
        assert_eq!(
            shown_url(
                &u("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&X-Amz-Security-Token=t"),
                &[]
            ),
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED"
        );
        // An encoded name is the name it means.
        assert_eq!(
            shown_url(&u("http://h/?api%5Fkey=1"), &[]),
            "http://h/?api%5Fkey=REDACTED"
        );
        assert_eq!(
            shown_url(&u("http://h/p?tenant=acme&region=eu"), &["Tenant".to_string()]),
            "http://h/p?tenant=REDACTED&region=eu"
        );
        // Every value, when the environment supplied the query.
        assert_eq!(
            shown_url(&u("http://h/p?a=1&b=2"), &["*".to_string()]),
            "http://h/p?a=REDACTED&b=REDACTED"
        );
        // Nothing to hide: the URL as ever.
        assert_eq!(shown_url(&u("http://h/p?x"), &[]), "http://h/p?x");
        assert_eq!(shown_url(&u("http://h/p"), &[]), "http://h/p");
        let t = Target::new(
            "t",
            u("http://h/p?token=abc"),
            None,
            Arc::new(RequestSpec::default()),
        );
        assert_eq!(t.url_text, "http://h/p?token=REDACTED");
        // The request still carries the real value.
        assert_eq!(t.endpoint.path, "/p?token=abc");
    }

    #[test]
    fn endpoint_keeps_port_and_query() {
        let e = Endpoint::from_url(&Url::parse("http://[::1]:8080/a/b?x=1").unwrap());
        assert_eq!(e.host, "::1");
        assert!(e.ip.is_some());
        assert_eq!(e.port, 8080);
        assert_eq!(e.authority, "[::1]:8080");
        assert_eq!(e.path, "/a/b?x=1");
        let e = Endpoint::from_url(&Url::parse("https://api.example.com/").unwrap());
        assert_eq!(
            (e.port, e.authority.as_str(), e.tls),
            (443, "api.example.com", true)
        );
    }
}

//! Where a target's probes connect, derived once from its URL, and the
//! origin its connections are pooled under.

use std::net::IpAddr;

use std::sync::Arc;

use url::{Host, Url};

use super::client_cert::ClientCertPaths;
use super::family::IpFamily;

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
/// as a real client shares them across paths, and with the same client
/// certificate: a connection authenticated as one identity (or none) is
/// never handed to a target of another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub client_cert: Option<Arc<ClientCertPaths>>,
    /// Set when the target's family is fixed: an IPv6 probe never gets a
    /// pooled IPv4 connection.
    pub family: Option<IpFamily>,
}

impl Endpoint {
    pub fn origin(&self) -> Origin {
        Origin {
            tls: self.tls,
            host: self.host.to_ascii_lowercase(),
            port: self.port,
            client_cert: None,
            family: None,
        }
    }
}

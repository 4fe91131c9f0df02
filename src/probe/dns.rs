//! Timed name resolution: hickory with the system configuration or a chosen
//! server, no cache (every new connection resolves afresh, as the probe is
//! there to see DNS), and `--resolve` pins that skip DNS altogether.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::{Resolver, TokioResolver};

use super::record::ErrorKind;

/// `--resolve HOST:PORT:ADDR`: connect to ADDR for HOST:PORT without DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvePin {
    pub host: String,
    pub port: u16,
    pub addr: IpAddr,
}

/// A failed lookup, classified.
#[derive(Debug, Clone)]
pub struct LookupFailure {
    pub kind: ErrorKind,
    pub message: String,
}

pub struct Dns {
    resolver: TokioResolver,
    pins: Vec<ResolvePin>,
    /// Why the system configuration could not be read, to explain failures.
    config_problem: Option<String>,
}

impl Dns {
    /// Build a resolver. `server` replaces the system's name servers.
    pub fn new(server: Option<SocketAddr>, pins: Vec<ResolvePin>) -> Self {
        let provider = TokioRuntimeProvider::default();
        let (mut builder, config_problem) = match server {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
                (Resolver::builder_with_config(config, provider), None)
            }
            None => match Resolver::builder(provider.clone()) {
                Ok(b) => (b, None),
                Err(e) => (
                    Resolver::builder_with_config(ResolverConfig::from_parts(None, vec![], vec![]), provider),
                    Some(format!("the system resolver configuration could not be read ({e}); use --dns-server or --resolve")),
                ),
            },
        };
        // No cache: a probe on a new connection must see the real lookup.
        builder.options_mut().cache_size = 0;
        let resolver = builder.build().expect("resolver without TLS always builds");
        Dns {
            resolver,
            pins,
            config_problem,
        }
    }

    /// The pinned address for `host:port`, if `--resolve` named one.
    pub fn pinned(&self, host: &str, port: u16) -> Option<SocketAddr> {
        self.pins
            .iter()
            .find(|p| p.port == port && p.host.eq_ignore_ascii_case(host))
            .map(|p| SocketAddr::new(p.addr, port))
    }

    /// Resolve `host` to socket addresses, in the resolver's preferred order.
    pub async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, LookupFailure> {
        self.resolver.clear_cache();
        match self.resolver.lookup_ip(host).await {
            Ok(found) => {
                let addrs: Vec<SocketAddr> = found.iter().map(|ip| SocketAddr::new(ip, port)).collect();
                if addrs.is_empty() {
                    Err(self.failure(ErrorKind::Dns, format!("no addresses for {host}")))
                } else {
                    Ok(addrs)
                }
            }
            Err(e) => {
                let kind = if matches!(e, NetError::Timeout) {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Dns
                };
                Err(self.failure(kind, format!("resolving {host}: {e}")))
            }
        }
    }

    fn failure(&self, kind: ErrorKind, message: String) -> LookupFailure {
        let message = match &self.config_problem {
            Some(problem) => format!("{message} ({problem})"),
            None => message,
        };
        LookupFailure { kind, message }
    }
}

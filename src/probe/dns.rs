//! Timed name resolution: hickory with the system configuration or a chosen
//! server, no cache and no shared queries (every new connection sends its
//! own query, as the probe is there to see DNS), and `--resolve` pins that
//! skip DNS altogether.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::proto::op::ResponseCode;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::PoolContext;
use hickory_resolver::{ConnectionProvider, Hosts, Resolver};

use super::family::IpFamily;
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

/// How a C program's resolver (glibc) retries a UDP query: resend after
/// `timeout` (5 s unless resolv.conf says `options timeout:N`), `attempts`
/// sends in all (2). hickory on its own resends after about 1.2 × the
/// server's round trip, so a lost query would cost the probe a few
/// milliseconds where every real client of the API waits 5 s: the probe
/// must wait as they do, or it cannot see the cause it is there to find.
#[derive(Clone)]
struct ResolvConfTiming {
    runtime: TokioRuntimeProvider,
    retransmit: Duration,
    attempts: u8,
}

impl ConnectionProvider for ResolvConfTiming {
    type Conn = <TokioRuntimeProvider as ConnectionProvider>::Conn;
    type FutureConn = <TokioRuntimeProvider as ConnectionProvider>::FutureConn;
    type RuntimeProvider = TokioRuntimeProvider;

    fn new_connection(
        &self,
        ip: IpAddr,
        config: &ConnectionConfig,
        cx: &PoolContext,
    ) -> Result<Self::FutureConn, NetError> {
        if !matches!(config.protocol, ProtocolConfig::Udp) {
            return self.runtime.new_connection(ip, config, cx);
        }
        let remote = SocketAddr::new(ip, config.port);
        let stream = UdpClientStream::builder(remote, self.runtime.clone())
            .with_timeout(Some(self.retransmit * self.attempts as u32))
            .with_retry_interval_floor(self.retransmit.as_millis() as u64)
            .with_max_retries(self.attempts)
            .with_os_port_selection(cx.options.os_port_selection)
            .avoid_local_ports(cx.options.avoid_local_udp_ports.clone())
            .with_bind_addr(config.bind_addr);
        Ok(Box::pin(async move { Ok(stream.exchange()) }))
    }

    fn runtime_provider(&self) -> &Self::RuntimeProvider {
        &self.runtime
    }
}

/// The resolver's settings, kept to build a resolver for every lookup.
///
/// One shared hickory `Resolver` merges lookups that run at the same time:
/// its name-server pool keeps the queries in flight by question and hands a
/// second asker the first one's answer (hickory-resolver 0.26,
/// `NameServerPool::send`, `active_requests`; no option turns that off).
/// With `-c 5`, 15 new connections then sent 6 queries, and one lost query
/// stalled every probe that had joined it: the stalled share read 100 %
/// where independent clients would see each query's own luck. A resolver
/// per lookup shares nothing, so every new connection sends its own query,
/// as every real client does.
pub struct Dns {
    config: ResolverConfig,
    options: ResolverOpts,
    provider: ResolvConfTiming,
    /// The hosts file, read once: a resolver per lookup must not read it
    /// again on every connection.
    hosts: Arc<Hosts>,
    pins: Vec<ResolvePin>,
    /// Why the system configuration could not be read, to explain failures.
    config_problem: Option<String>,
}

impl Dns {
    /// Read the resolver settings. `server` replaces the system's name
    /// servers.
    pub fn new(server: Option<SocketAddr>, pins: Vec<ResolvePin>) -> Self {
        // glibc's defaults, or what resolv.conf sets.
        let system = hickory_resolver::system_conf::read_system_conf();
        let (timeout, attempts) = match &system {
            Ok((_, opts)) => (opts.timeout, opts.attempts),
            Err(_) => (Duration::from_secs(5), 2),
        };
        let provider = ResolvConfTiming {
            runtime: TokioRuntimeProvider::default(),
            retransmit: timeout.max(Duration::from_millis(1)),
            attempts: attempts.clamp(1, 5) as u8,
        };
        let (config, mut options, config_problem) = match (server, system) {
            (Some(addr), _) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
                (config, ResolverOpts::default(), None)
            }
            (None, Ok((config, options))) => (config, options, None),
            (None, Err(e)) => (
                ResolverConfig::from_parts(None, vec![], vec![]),
                ResolverOpts::default(),
                Some(format!("the system resolver configuration could not be read ({e}); use --dns-server or --resolve")),
            ),
        };
        // No cache: a probe on a new connection must see the real lookup.
        options.cache_size = 0;
        // The UDP stream retransmits on the resolver's timer itself; the
        // pool must neither cut it short nor send the query again on top.
        options.timeout = provider.retransmit * provider.attempts as u32;
        // hickory's `attempts` counts retries of the whole exchange: 1 sent
        // the query a third time at 10 s, where glibc gives up.
        options.attempts = 0;
        let hosts = Arc::new(match options.use_hosts_file {
            ResolveHosts::Never => Hosts::default(),
            ResolveHosts::Always | ResolveHosts::Auto => Hosts::from_system().unwrap_or_default(),
        });
        options.use_hosts_file = ResolveHosts::Never;
        Dns {
            config,
            options,
            provider,
            hosts,
            pins,
            config_problem,
        }
    }

    /// A resolver of its own for one lookup: nothing in flight to join.
    fn resolver(&self) -> Resolver<ResolvConfTiming> {
        let mut builder = Resolver::builder_with_config(self.config.clone(), self.provider.clone());
        *builder.options_mut() = self.options.clone();
        let mut resolver = builder.build().expect("resolver without TLS always builds");
        resolver.set_hosts(self.hosts.clone());
        resolver
    }

    /// The pinned address for `host:port`, if `--resolve` named one (of
    /// `family`, when it is fixed: a pin of the other family is not used).
    pub fn pinned(&self, host: &str, port: u16, family: Option<IpFamily>) -> Option<SocketAddr> {
        self.pins
            .iter()
            .filter(|p| family.is_none_or(|f| f.has(p.addr)))
            .find(|p| p.port == port && p.host.eq_ignore_ascii_case(host))
            .map(|p| SocketAddr::new(p.addr, port))
    }

    /// Resolve `host` to socket addresses, in the resolver's preferred
    /// order. With `family` fixed, only that family's record type is asked
    /// for (A or AAAA), so a lookup costs what a single-stack client's does.
    ///
    /// The lookup's own resolver is built when this is called, not when the
    /// future is first polled: call it before starting the DNS clock, so
    /// that the tool's set-up is not timed as the resolver's.
    pub fn lookup(
        &self,
        host: &str,
        port: u16,
        family: Option<IpFamily>,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, LookupFailure>> + Send + '_ {
        let resolver = self.resolver();
        let host = host.to_string();
        async move { self.resolved(&resolver, &host, port, family).await }
    }

    async fn resolved(
        &self,
        resolver: &Resolver<ResolvConfTiming>,
        host: &str,
        port: u16,
        family: Option<IpFamily>,
    ) -> Result<Vec<SocketAddr>, LookupFailure> {
        let found: Result<Vec<IpAddr>, NetError> = match family {
            None => resolver.lookup_ip(host).await.map(|l| l.iter().collect()),
            Some(IpFamily::Ipv4) => resolver
                .ipv4_lookup(host)
                .await
                .map(|l| l.answers().iter().filter_map(|r| r.data.ip_addr()).collect()),
            Some(IpFamily::Ipv6) => resolver
                .ipv6_lookup(host)
                .await
                .map(|l| l.answers().iter().filter_map(|r| r.data.ip_addr()).collect()),
        };
        match found {
            Ok(ips) => {
                let addrs: Vec<SocketAddr> = ips
                    .into_iter()
                    .filter(|ip| family.is_none_or(|f| f.has(*ip)))
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect();
                if addrs.is_empty() {
                    Err(self.failure(ErrorKind::Dns, no_address(host, family)))
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
                let message = match (&e, family) {
                    // The name exists but has no record of this type.
                    (NetError::Dns(DnsError::NoRecordsFound(no)), Some(_))
                        if no.response_code != ResponseCode::NXDomain =>
                    {
                        no_address(host, family)
                    }
                    _ => failure_in_words(host, &e),
                };
                Err(self.failure(kind, message))
            }
        }
    }

    /// Whether `host` has an address of `family`: `Some(false)` only when
    /// the DNS server said so (the name exists without such a record, or
    /// does not exist); `None` when the lookup failed otherwise (a timeout,
    /// no server), which is for the probes to show, not for this to decide.
    pub async fn has_address(&self, host: &str, port: u16, family: IpFamily) -> Option<bool> {
        if self
            .pins
            .iter()
            .any(|p| p.port == port && p.host.eq_ignore_ascii_case(host))
        {
            let pinned = self
                .pins
                .iter()
                .any(|p| p.port == port && p.host.eq_ignore_ascii_case(host) && family.has(p.addr));
            return Some(pinned);
        }
        let resolver = self.resolver();
        let found = match family {
            IpFamily::Ipv4 => resolver.ipv4_lookup(host).await.map(|l| !l.answers().is_empty()),
            IpFamily::Ipv6 => resolver.ipv6_lookup(host).await.map(|l| !l.answers().is_empty()),
        };
        match found {
            Ok(any) => Some(any),
            Err(NetError::Dns(DnsError::NoRecordsFound(_))) => Some(false),
            Err(_) => None,
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

/// A name that resolved to nothing usable: "no IPv6 address for HOST".
fn no_address(host: &str, family: Option<IpFamily>) -> String {
    match family {
        Some(f) => format!("no {} address for {host}", f.label()),
        None => format!("no addresses for {host}"),
    }
}

/// A failed lookup in plain words: hickory's own text shows its query
/// structs (`no records found for Query { name: Name("…"), … }`).
fn failure_in_words(host: &str, e: &NetError) -> String {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no)) if no.response_code == ResponseCode::NXDomain => {
            format!("resolving {host}: no such name (the DNS server answered NXDOMAIN)")
        }
        NetError::Dns(DnsError::NoRecordsFound(_)) => {
            format!("resolving {host}: the name has no address (no A or AAAA record)")
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            format!("resolving {host}: the DNS server answered {code}")
        }
        NetError::NoConnections => format!("resolving {host}: no DNS server could be reached"),
        other => format!("resolving {host}: {other}"),
    }
}

//! The connection settings — how each probe connects and what it sends —
//! as ONE type, [`Connection`], whatever they come from: the command line
//! over the profile's `[connection]` over the defaults, layered in one
//! place ([`Connection::over`]). A new connection setting is a field here,
//! a flag in `cli.rs` and the probe setting it drives.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Deserialize;
use toml::Spanned;

use super::error::{relative_to, ConfigError, KeyProblem, NotAFile, Source};
use crate::cli::parse::{self, HeaderArg};
use crate::cli::ConnectionArgs;
use crate::duration::Dur;
use crate::probe::dual_stack;
use crate::probe::family::{FamilyChoice, IpFamily};
use crate::probe::target::is_secret;
use crate::probe::{
    ClientCertPaths, ConnectionPolicy, ProbeSettings, RequestSpec, ResolvePin, Target, Timeouts, TlsOptions,
};

/// Connection settings from one source, or several layered. `None` and
/// empty lists are "not set here".
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub method: Option<Method>,
    /// `-H` as typed, validated by [`Connection::request`].
    pub headers: Vec<HeaderArg>,
    pub secret_headers: Vec<HeaderName>,
    /// The body; `@FILE` reads it from FILE.
    pub data: Option<String>,
    pub timeout: Option<Duration>,
    pub dns_timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub tls_timeout: Option<Duration>,
    pub connections: Option<ConnectionPolicy>,
    pub resolve: Vec<ResolvePin>,
    pub dns_server: Option<SocketAddr>,
    pub cacert: Vec<PathBuf>,
    pub insecure: Option<bool>,
    pub trace_header: Option<bool>,
    pub http1_only: Option<bool>,
    pub expect_status: Option<Vec<u16>>,
    /// Sent as `x-apigw-api-id` (a private API through a VPC endpoint's hostname).
    pub api_id: Option<HeaderValue>,
    /// `--cert` / `--key`: the client certificate a target presents unless
    /// it has its own (a profile's `[[target]]`).
    pub client_cert: Option<ClientCertPaths>,
    /// `--sigv4`: sign every probe (see `config::sigv4`).
    pub sigv4: Option<bool>,
    pub sigv4_service: Option<String>,
    /// `--aws-profile` / `--region`: the command line's only (a profile
    /// says them in `[aws]`).
    pub aws_profile: Option<String>,
    pub region: Option<String>,
    /// `-4`, `-6`, `--ip-family`: `None` is the resolver's first address.
    pub ip_family: Option<FamilyChoice>,
    /// `--vantage`: where the probes run from, for the records; `None`
    /// here too is the host's name ([`Connection::settings`]).
    pub vantage: Option<std::sync::Arc<str>>,
}

/// The header that names a private API to an interface VPC endpoint.
const API_ID_HEADER: HeaderName = HeaderName::from_static("x-apigw-api-id");

/// One setting over the same setting from a lower layer.
trait Layer {
    fn over(self, lower: Self) -> Self;
}

/// A value set here wins.
impl<T> Layer for Option<T> {
    fn over(self, lower: Self) -> Self {
        self.or(lower)
    }
}

/// Lists are joined, the lower layer's first.
impl<T> Layer for Vec<T> {
    fn over(mut self, mut lower: Self) -> Self {
        lower.append(&mut self);
        lower
    }
}

impl Connection {
    /// These settings over `lower`'s: a setting given here wins; lists
    /// are joined.
    pub fn over(self, lower: Connection) -> Connection {
        Connection {
            method: self.method.over(lower.method),
            headers: self.headers.over(lower.headers),
            secret_headers: self.secret_headers.over(lower.secret_headers),
            data: self.data.over(lower.data),
            timeout: self.timeout.over(lower.timeout),
            dns_timeout: self.dns_timeout.over(lower.dns_timeout),
            connect_timeout: self.connect_timeout.over(lower.connect_timeout),
            tls_timeout: self.tls_timeout.over(lower.tls_timeout),
            connections: self.connections.over(lower.connections),
            resolve: self.resolve.over(lower.resolve),
            dns_server: self.dns_server.over(lower.dns_server),
            cacert: self.cacert.over(lower.cacert),
            insecure: self.insecure.over(lower.insecure),
            trace_header: self.trace_header.over(lower.trace_header),
            http1_only: self.http1_only.over(lower.http1_only),
            expect_status: self.expect_status.over(lower.expect_status),
            api_id: self.api_id.over(lower.api_id),
            client_cert: self.client_cert.over(lower.client_cert),
            sigv4: self.sigv4.over(lower.sigv4),
            sigv4_service: self.sigv4_service.over(lower.sigv4_service),
            aws_profile: self.aws_profile.over(lower.aws_profile),
            region: self.region.over(lower.region),
            ip_family: self.ip_family.over(lower.ip_family),
            vantage: self.vantage.over(lower.vantage),
        }
    }

    /// The command line's settings. A switch not given is "not set", so
    /// that a profile's `insecure = true` stays on under it.
    pub fn from_args(args: &ConnectionArgs) -> Connection {
        let switch = |on: bool| on.then_some(true);
        Connection {
            method: args.method.clone(),
            headers: args.headers.clone(),
            secret_headers: args.secret_headers.clone(),
            data: args.data.clone(),
            timeout: args.timeout,
            dns_timeout: args.dns_timeout,
            connect_timeout: args.connect_timeout,
            tls_timeout: args.tls_timeout,
            connections: args.connections.map(Into::into),
            resolve: args.resolve.clone(),
            dns_server: args.dns_server,
            cacert: args.cacert.clone(),
            insecure: switch(args.insecure),
            trace_header: args.no_trace_header.then_some(false),
            http1_only: switch(args.http1_only),
            expect_status: args.expect_status.clone(),
            api_id: args.api_id.clone(),
            client_cert: super::client_cert::from_flags(&args.cert, &args.key),
            sigv4: switch(args.sigv4),
            sigv4_service: args.sigv4_service.clone(),
            aws_profile: args.aws.aws_profile.clone(),
            region: args.aws.region.clone(),
            ip_family: match (args.ipv4, args.ipv6) {
                (true, _) => Some(FamilyChoice::Only(IpFamily::Ipv4)),
                (_, true) => Some(FamilyChoice::Only(IpFamily::Ipv6)),
                _ => args.ip_family,
            },
            vantage: args.vantage.clone(),
        }
    }

    /// Engine settings: these over the defaults.
    pub fn settings(
        &self,
        default_policy: ConnectionPolicy,
        concurrency: usize,
    ) -> Result<ProbeSettings, ConfigError> {
        let defaults = Timeouts::default();
        let positive = |flag, d: Option<Duration>, default| match d {
            Some(d) if d.is_zero() => Err(ConfigError::ZeroDuration { flag }),
            Some(d) => Ok(d),
            None => Ok(default),
        };
        let timeouts = Timeouts {
            total: positive("--timeout", self.timeout, defaults.total)?,
            dns: positive("--dns-timeout", self.dns_timeout, defaults.dns)?,
            connect: positive("--connect-timeout", self.connect_timeout, defaults.connect)?,
            tls: positive("--tls-timeout", self.tls_timeout, defaults.tls)?,
        };
        for path in &self.cacert {
            if let Some(problem) = NotAFile::check(path) {
                return Err(ConfigError::NotAPemFile {
                    path: path.clone(),
                    problem,
                });
            }
        }
        Ok(ProbeSettings {
            connections: self.connections.unwrap_or(default_policy),
            timeouts,
            trace_header: self.trace_header.unwrap_or(true),
            dns_server: self.dns_server,
            resolve: self.resolve.clone(),
            tls: TlsOptions {
                ca_files: self.cacert.clone(),
                insecure: self.insecure.unwrap_or(false),
                http1_only: self.http1_only.unwrap_or(false),
            },
            max_idle_per_origin: concurrency.max(1),
            lab: None,
            vantage: self.vantage.clone().or_else(crate::probe::vantage::of_host),
            trace_parent: false,
        })
    }

    /// The targets on the families asked for (see [`crate::probe::dual_stack`]):
    /// as given when none is; refused when one cannot be reached on it.
    pub fn on_families(&self, targets: Vec<Target>) -> Result<Vec<Target>, ConfigError> {
        Ok(dual_stack::expand(targets, self.ip_family, &self.resolve)?)
    }

    /// The request every probe sends; secret header values are marked
    /// sensitive so that no Debug output or log can show them.
    pub fn request(&self) -> Result<RequestSpec, ConfigError> {
        let secrets: &[HeaderName] = &self.secret_headers;
        let mut headers = HeaderMap::new();
        for raw in &self.headers {
            let (name, mut value) = parse::header(&raw.0).map_err(|problem| ConfigError::Flag {
                flag: "-H/--header",
                problem,
            })?;
            if is_secret(&name, secrets) {
                value.set_sensitive(true);
            }
            headers.append(name, value);
        }
        if let Some(id) = &self.api_id {
            headers.insert(API_ID_HEADER, id.clone());
        }
        let body = match self.data.as_deref() {
            None => Bytes::new(),
            Some(data) => match data.strip_prefix('@') {
                Some(path) => Bytes::from(std::fs::read(path).map_err(|source| ConfigError::DataFile {
                    path: path.into(),
                    source,
                })?),
                None => Bytes::from(data.to_string()),
            },
        };
        Ok(RequestSpec {
            method: self.method.clone().unwrap_or(Method::GET),
            headers,
            body,
            expect_status: self.expect_status.clone(),
            secret_headers: secrets.to_vec(),
        })
    }
}

/// A profile's `[connection]` as written: settings for every target; the
/// command line overrides them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionEntry {
    pub timeout: Option<Dur>,
    pub dns_timeout: Option<Dur>,
    pub connect_timeout: Option<Dur>,
    pub tls_timeout: Option<Dur>,
    #[serde(default)]
    pub resolve: Vec<Spanned<String>>,
    pub dns_server: Option<Spanned<String>>,
    /// Relative paths are relative to the profile's folder.
    #[serde(default)]
    pub cacert: Vec<Spanned<PathBuf>>,
    pub insecure: Option<bool>,
    pub trace_header: Option<bool>,
    pub http1_only: Option<bool>,
    /// Header names whose values are secrets, in addition to the built-in ones.
    #[serde(default)]
    pub secret_headers: Vec<Spanned<String>>,
    pub api_id: Option<Spanned<String>>,
    /// The client certificate and its key (PEM), relative to the
    /// profile's folder; both or neither.
    pub cert: Option<Spanned<PathBuf>>,
    pub key: Option<Spanned<PathBuf>>,
    /// Sign every target's probes with SigV4 (a target may say otherwise).
    pub sigv4: Option<bool>,
    pub sigv4_service: Option<Spanned<String>>,
    /// `"4"`, `"6"` or `"both"` (`"ipv4"`, `"ipv6"` too).
    pub ip_family: Option<Spanned<String>>,
    /// Where the probes run from, as `--vantage` says it.
    pub vantage: Option<Spanned<String>>,
}

impl ConnectionEntry {
    /// The profile's settings, validated; an error names the line and key.
    pub fn validate(&self, src: &Source) -> Result<Connection, ConfigError> {
        fn each<T>(
            src: &Source,
            values: &[Spanned<String>],
            key: &str,
            parse: fn(&str) -> Result<T, parse::InvalidValue>,
        ) -> Result<Vec<T>, ConfigError> {
            values
                .iter()
                .map(|v| parse(v.get_ref()).map_err(|e| src.error(v, key, e)))
                .collect()
        }
        let secret_headers = each(
            src,
            &self.secret_headers,
            "connection.secret_headers",
            parse::header_name,
        )?;
        let resolve = each(src, &self.resolve, "connection.resolve", parse::resolve)?;
        let dns_server = match &self.dns_server {
            Some(v) => {
                Some(parse::dns_server(v.get_ref()).map_err(|e| src.error(v, "connection.dns_server", e))?)
            }
            None => None,
        };
        let api_id = match &self.api_id {
            Some(v) => Some(parse::api_id(v.get_ref()).map_err(|e| src.error(v, "connection.api_id", e))?),
            None => None,
        };
        let sigv4_service = match &self.sigv4_service {
            Some(v) => Some(
                parse::sigv4_service(v.get_ref()).map_err(|e| src.error(v, "connection.sigv4_service", e))?,
            ),
            None => None,
        };
        let ip_family = match &self.ip_family {
            Some(v) => {
                Some(parse::ip_family(v.get_ref()).map_err(|e| src.error(v, "connection.ip_family", e))?)
            }
            None => None,
        };
        let vantage = match &self.vantage {
            Some(v) => Some(parse::vantage(v.get_ref()).map_err(|e| src.error(v, "connection.vantage", e))?),
            None => None,
        };
        let mut cacert = Vec::new();
        for p in &self.cacert {
            let path = relative_to(src.path, p.get_ref());
            if let Some(problem) = NotAFile::check(&path) {
                return Err(src.error(p, "connection.cacert", KeyProblem::NotAPemFile { path, problem }));
            }
            cacert.push(path);
        }
        Ok(Connection {
            secret_headers,
            resolve,
            dns_server,
            cacert,
            timeout: self.timeout.map(|d| d.0),
            dns_timeout: self.dns_timeout.map(|d| d.0),
            connect_timeout: self.connect_timeout.map(|d| d.0),
            tls_timeout: self.tls_timeout.map(|d| d.0),
            insecure: self.insecure,
            trace_header: self.trace_header,
            http1_only: self.http1_only,
            api_id,
            client_cert: super::client_cert::from_profile(src, "connection", &self.cert, &self.key)?,
            sigv4: self.sigv4,
            sigv4_service,
            ip_family,
            vantage,
            ..Connection::default()
        })
    }
}

impl From<&ConnectionArgs> for Connection {
    fn from(args: &ConnectionArgs) -> Connection {
        Connection::from_args(args)
    }
}

impl From<&Connection> for Connection {
    fn from(c: &Connection) -> Connection {
        c.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_given_wins_lists_join_and_unset_switches_keep_the_profiles() {
        let profile = Connection {
            timeout: Some(Duration::from_secs(5)),
            dns_timeout: Some(Duration::from_secs(2)),
            secret_headers: vec![HeaderName::from_static("x-profile")],
            insecure: Some(true),
            trace_header: Some(false),
            api_id: Some(HeaderValue::from_static("b2c3d4e5f6")),
            ..Connection::default()
        };
        let cli = Connection {
            timeout: Some(Duration::from_secs(9)),
            secret_headers: vec![HeaderName::from_static("x-cli")],
            api_id: Some(HeaderValue::from_static("a1b2c3d4e5")),
            ..Connection::default()
        };
        let c = cli.over(profile);
        assert_eq!(c.timeout, Some(Duration::from_secs(9)));
        assert_eq!(c.dns_timeout, Some(Duration::from_secs(2)));
        assert_eq!(c.secret_headers, ["x-profile", "x-cli"], "the profile's first");
        assert_eq!((c.insecure, c.trace_header), (Some(true), Some(false)));
        let settings = c.settings(ConnectionPolicy::Fresh, 1).unwrap();
        assert!(settings.tls.insecure && !settings.trace_header);
        assert_eq!(c.request().unwrap().headers["x-apigw-api-id"], "a1b2c3d4e5");
    }

    /// The flag over the profile over the host's name.
    #[test]
    fn the_vantage_is_the_flags_else_the_profiles_else_the_hosts() {
        let named = |v: &str| Connection {
            vantage: Some(v.into()),
            ..Connection::default()
        };
        let vantage = |c: Connection| c.settings(ConnectionPolicy::Fresh, 1).unwrap().vantage;
        assert_eq!(
            vantage(named("cli").over(named("profile"))).as_deref(),
            Some("cli")
        );
        assert_eq!(
            vantage(Connection::default().over(named("profile"))).as_deref(),
            Some("profile")
        );
        assert_eq!(vantage(Connection::default()), crate::probe::vantage::of_host());
    }

    #[test]
    fn the_api_id_replaces_a_header_of_its_name() {
        let c = Connection {
            headers: vec![HeaderArg("x-apigw-api-id: zzzzzzzzzz".into())],
            api_id: Some(HeaderValue::from_static("a1b2c3d4e5")),
            ..Connection::default()
        };
        let sent = c.request().unwrap().headers;
        assert_eq!(
            sent.get_all("x-apigw-api-id").iter().collect::<Vec<_>>(),
            ["a1b2c3d4e5"]
        );
    }
}

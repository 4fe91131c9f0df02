//! Command line (and, later, profile) → one validated configuration.
//! Later code never sees raw arguments; every error here names the flag or
//! file and what would be valid, and exits 2.

pub mod parse;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method};

use crate::cli::{ConnectionArgs, OutputFormat, ProbeArgs};
use crate::probe::target::is_secret;
use crate::probe::{ConnectionPolicy, ProbeSettings, RequestSpec, Target, Timeouts, TlsOptions};

/// Bad input: the message names the flag, file or key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// `coldlink probe`, validated.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub targets: Vec<Target>,
    pub settings: ProbeSettings,
    pub per_target: u64,
    pub concurrency: usize,
    pub interval: Option<Duration>,
    pub format: OutputFormat,
    pub out: Option<PathBuf>,
    /// One probe per URL: text output is a waterfall per probe.
    pub single: bool,
}

impl ProbeConfig {
    pub fn from_args(args: &ProbeArgs) -> Result<ProbeConfig, ConfigError> {
        let per_target = args.count.unwrap_or(1);
        let single = args.count.is_none() || per_target == 1;
        let default_policy = if single {
            ConnectionPolicy::Fresh
        } else {
            ConnectionPolicy::Reuse
        };
        let concurrency = args.concurrency as usize;
        let settings = settings_from(&args.conn, default_policy, concurrency)?;
        let request = Arc::new(request_from(&args.conn)?);
        let targets = targets_from(&args.urls, &request);
        if let Some(out) = &args.out {
            check_writable(out, "--out")?;
        }
        Ok(ProbeConfig {
            targets,
            settings,
            per_target,
            concurrency,
            interval: args.interval,
            format: args.format,
            out: args.out.clone(),
            single,
        })
    }
}

/// Engine settings from the shared connection flags.
pub fn settings_from(
    conn: &ConnectionArgs,
    default_policy: ConnectionPolicy,
    concurrency: usize,
) -> Result<ProbeSettings, ConfigError> {
    let defaults = Timeouts::default();
    let positive = |flag: &str, d: Option<Duration>, default: Duration| match d {
        Some(d) if d.is_zero() => Err(ConfigError(format!("{flag} must be longer than 0, e.g. 10s"))),
        Some(d) => Ok(d),
        None => Ok(default),
    };
    let timeouts = Timeouts {
        total: positive("--timeout", conn.timeout, defaults.total)?,
        dns: positive("--dns-timeout", conn.dns_timeout, defaults.dns)?,
        connect: positive("--connect-timeout", conn.connect_timeout, defaults.connect)?,
        tls: positive("--tls-timeout", conn.tls_timeout, defaults.tls)?,
    };
    for path in &conn.cacert {
        if !path.is_file() {
            return Err(ConfigError(format!(
                "--cacert {}: no such file (expected a PEM file of CA certificates)",
                path.display()
            )));
        }
    }
    Ok(ProbeSettings {
        connections: conn.connections.map(Into::into).unwrap_or(default_policy),
        timeouts,
        trace_header: !conn.no_trace_header,
        dns_server: conn.dns_server,
        resolve: conn.resolve.clone(),
        tls: TlsOptions {
            ca_files: conn.cacert.clone(),
            insecure: conn.insecure,
            http1_only: conn.http1_only,
        },
        max_idle_per_origin: concurrency.max(1),
        expect_status: conn.expect_status.clone(),
    })
}

/// The request every probe sends; secret header values are marked
/// sensitive so that no Debug output or log can show them.
pub fn request_from(conn: &ConnectionArgs) -> Result<RequestSpec, ConfigError> {
    let secrets: &[HeaderName] = &conn.secret_headers;
    let mut headers = HeaderMap::new();
    for (name, value) in &conn.headers {
        let mut value = value.clone();
        if is_secret(name, secrets) {
            value.set_sensitive(true);
        }
        headers.append(name.clone(), value);
    }
    let body = match conn.data.as_deref() {
        None => Bytes::new(),
        Some(data) => match data.strip_prefix('@') {
            Some(path) => Bytes::from(
                std::fs::read(path)
                    .map_err(|e| ConfigError(format!("--data @{path}: cannot read the file: {e}")))?,
            ),
            None => Bytes::from(data.to_string()),
        },
    };
    Ok(RequestSpec {
        method: conn.method.clone().unwrap_or(Method::GET),
        headers,
        body,
    })
}

/// Name URL targets `host[:port]/path`, unique within the run.
pub fn targets_from(urls: &[url::Url], request: &Arc<RequestSpec>) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    for url in urls {
        let base = format!(
            "{}{}{}",
            url.host_str().unwrap_or_default(),
            url.port().map(|p| format!(":{p}")).unwrap_or_default(),
            url.path()
        );
        let mut name = base.clone();
        let mut n = 2;
        while targets.iter().any(|t| t.name == name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        targets.push(Target::new(name, url.clone(), None, request.clone()));
    }
    targets
}

/// Fail before any probe is sent if an output file cannot be written.
pub fn check_writable(path: &std::path::Path, flag: &str) -> Result<(), ConfigError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(|_| ())
        .map_err(|e| ConfigError(format!("{flag} {}: cannot write there: {e}", path.display())))
}

//! Command line (and, later, profile) → one validated configuration.
//! Later code never sees raw arguments; every error here names the flag or
//! file and what would be valid, and exits 2.
//!
//! Too long: the connection settings are merged here field by field for
//! every command; issue #15 gives them one type and a module of their own.

mod diagnose;
mod keepwarm;
pub mod parse;
pub mod profile;
mod watch;

pub use diagnose::{
    CloudWatchLookup, DiagnoseConfig, DiagnoseSource, LabContext, XrayLookup, DEFAULT_XRAY_WAIT,
};
pub use keepwarm::{KeepwarmConfig, KeepwarmMode, DEFAULT_KEEPWARM_SLOW};
pub use watch::{WatchConfig, WatchLab, DEFAULT_KEEP_WARM, DEFAULT_WATCH_INTERVAL};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method};

use crate::cli::{ConnectionArgs, OutputFormat, ProbeArgs, RunArgs};
use crate::probe::target::is_secret;
use crate::probe::{ConnectionPolicy, ProbeSettings, RequestSpec, Target, TargetKind, Timeouts, TlsOptions};
use profile::{AwsEntry, Source};

/// Bad input: the message names the flag, file or key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// What becomes of records: stdout format, the NDJSON file, verbosity.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub format: OutputFormat,
    pub out: Option<PathBuf>,
    /// No per-probe output in text mode, only the summary.
    pub quiet: bool,
    /// Text mode shows a waterfall per probe (one probe per URL).
    pub waterfall: bool,
    /// `--format json` includes every record (bounded runs only).
    pub keep_records: bool,
}

/// `coldlink probe`, validated.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub targets: Vec<Target>,
    pub settings: ProbeSettings,
    pub per_target: u64,
    pub concurrency: usize,
    pub interval: Option<Duration>,
    pub output: OutputConfig,
}

impl ProbeConfig {
    /// `lab`: the profile of a lab started for this command (`--lab`); its
    /// targets stand in for URLs and its connection settings (resolver,
    /// certificate) apply under the command line's.
    pub fn from_args(args: &ProbeArgs, lab: Option<&Profile>) -> Result<ProbeConfig, ConfigError> {
        let per_target = args.count.unwrap_or(1);
        let single = per_target == 1;
        let default_policy = if single {
            ConnectionPolicy::Fresh
        } else {
            ConnectionPolicy::Reuse
        };
        let concurrency = args.concurrency as usize;
        let conn = match lab {
            Some(p) => layered(&args.conn, &p.connection),
            None => args.conn.clone(),
        };
        let mut settings = settings_from(&conn, default_policy, concurrency)?;
        settings.lab = lab_of(lab, &args.urls);
        let targets = match lab {
            Some(p) if args.urls.is_empty() => p.targets_with(&args.conn)?,
            _ => targets_from(&args.urls, &Arc::new(request_from(&args.conn)?)),
        };
        check_out(args.out.as_deref())?;
        Ok(ProbeConfig {
            targets,
            settings,
            per_target,
            concurrency,
            interval: args.interval,
            output: OutputConfig {
                format: args.format,
                out: args.out.clone(),
                quiet: args.quiet,
                waterfall: single && !args.quiet,
                keep_records: true,
            },
        })
    }
}

/// A validated profile. Its `[connection]` is kept as flag values so that
/// the command line can be layered over it in one step.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub path: PathBuf,
    pub targets: Vec<TargetDef>,
    pub connection: ConnectionArgs,
    pub schedule: Schedule,
    pub burst: Burst,
    pub diagnose: DiagnoseSettings,
    pub aws: Option<AwsEntry>,
    /// `[lab]`: the targets are a lab run's, at this speed.
    pub lab: Option<Arc<crate::probe::LabRun>>,
}

/// A profile target before the command line's headers are layered on.
#[derive(Debug, Clone)]
pub struct TargetDef {
    pub name: String,
    pub url: url::Url,
    pub kind: Option<TargetKind>,
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub expect_status: Option<Vec<u16>>,
    /// Query parameters whose values came from `${ENV}`: secrets, as a
    /// header value from the environment is.
    pub secret_params: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub interval: Duration,
    pub jitter: Duration,
    pub connections: ConnectionPolicy,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            interval: Duration::from_secs(30),
            jitter: Duration::from_secs(3),
            connections: ConnectionPolicy::Fresh,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    pub requests: u64,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub connections: ConnectionPolicy,
}

impl Default for Burst {
    fn default() -> Self {
        Burst {
            requests: 50,
            concurrency: 5,
            rate: None,
            connections: ConnectionPolicy::Reuse,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiagnoseSettings {
    pub idle_sweep: Vec<Duration>,
    /// `None`: judged from the data (see `diagnose::dataset::Baseline`).
    pub slow: Option<Duration>,
}

impl Default for DiagnoseSettings {
    fn default() -> Self {
        DiagnoseSettings {
            idle_sweep: crate::diagnose::coverage::DEFAULT_SWEEP.to_vec(),
            slow: None,
        }
    }
}

impl Profile {
    /// Read, parse and validate a profile file.
    pub fn load(path: &std::path::Path) -> Result<Profile, ConfigError> {
        let (text, file) = profile::read(path)?;
        let src = Source { path, text: &text };
        let fail = |msg: String| ConfigError(format!("{}: {msg}", path.display()));
        if file.targets.is_empty() {
            return Err(fail(
                "no [[target]]; add at least one, e.g. [[target]] name = \"execute-api\" url = \"https://…\""
                    .into(),
            ));
        }

        let c = &file.connection;
        let mut secret_names = Vec::new();
        for name in &c.secret_headers {
            secret_names.push(
                parse::header_name(name.get_ref())
                    .map_err(|e| src.error(name, "connection.secret_headers", e))?,
            );
        }
        let mut resolve = Vec::new();
        for pin in &c.resolve {
            resolve.push(parse::resolve(pin.get_ref()).map_err(|e| src.error(pin, "connection.resolve", e))?);
        }
        let dns_server = match &c.dns_server {
            Some(v) => {
                Some(parse::dns_server(v.get_ref()).map_err(|e| src.error(v, "connection.dns_server", e))?)
            }
            None => None,
        };
        let connection = ConnectionArgs {
            timeout: c.timeout.map(|d| d.0),
            dns_timeout: c.dns_timeout.map(|d| d.0),
            connect_timeout: c.connect_timeout.map(|d| d.0),
            tls_timeout: c.tls_timeout.map(|d| d.0),
            resolve,
            dns_server,
            cacert: cacerts(&src, &c.cacert)?,
            insecure: c.insecure.unwrap_or(false),
            no_trace_header: c.trace_header == Some(false),
            http1_only: c.http1_only.unwrap_or(false),
            secret_headers: secret_names.clone(),
            ..ConnectionArgs::default()
        };

        let mut targets: Vec<TargetDef> = Vec::new();
        for t in &file.targets {
            let name = t.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(src.error(&t.name, "target.name", "must not be empty"));
            }
            if targets.iter().any(|other| other.name == name) {
                return Err(src.error(
                    &t.name,
                    "target.name",
                    format!("\"{name}\" is used by two targets; names must be unique"),
                ));
            }
            let (url, _) =
                profile::expand_env(t.url.get_ref()).map_err(|e| src.error(&t.url, "target.url", e))?;
            let url = parse::url(&url).map_err(|e| src.error(&t.url, "target.url", e))?;
            let method = match &t.method {
                Some(m) => parse::method(m.get_ref()).map_err(|e| src.error(m, "target.method", e))?,
                None => Method::GET,
            };
            let mut headers = HeaderMap::new();
            for (k, v) in &t.headers {
                let key = format!("target.headers.{k}");
                let name = parse::header_name(k).map_err(|e| src.error(v, &key, e))?;
                let (value, from_env) =
                    profile::expand_env(v.get_ref()).map_err(|e| src.error(v, &key, e))?;
                let mut value = http::HeaderValue::from_str(&value)
                    .map_err(|_| src.error(v, &key, "the value has characters not allowed in a header"))?;
                // A value taken from the environment is a secret by assumption.
                if from_env || is_secret(&name, &secret_names) {
                    value.set_sensitive(true);
                }
                headers.append(name, value);
            }
            let expect_status = match &t.expect_status {
                None => None,
                Some(codes) => Some(
                    codes
                        .get_ref()
                        .iter()
                        .map(|c| {
                            u16::try_from(*c)
                                .ok()
                                .filter(|c| (100..=599).contains(c))
                                .ok_or(*c)
                        })
                        .collect::<Result<Vec<u16>, i64>>()
                        .map_err(|bad| {
                            src.error(
                                codes,
                                "target.expect_status",
                                format!("{bad} is not an HTTP status (100–599)"),
                            )
                        })?,
                ),
            };
            targets.push(TargetDef {
                name,
                url,
                kind: t.kind,
                method,
                headers,
                body: t.body.clone().map(Bytes::from).unwrap_or_default(),
                expect_status,
                secret_params: profile::env_query_params(t.url.get_ref()),
            });
        }

        let schedule = match &file.schedule {
            None => Schedule::default(),
            Some(s) => {
                let interval = s.interval.get_ref().0;
                if interval.is_zero() {
                    return Err(src.error(
                        &s.interval,
                        "schedule.interval",
                        "must be longer than 0, e.g. \"30s\"",
                    ));
                }
                let jitter = s.jitter.as_ref().map(|d| d.get_ref().0).unwrap_or_default();
                if let Some(j) = &s.jitter {
                    if jitter >= interval {
                        return Err(src.error(
                            j,
                            "schedule.jitter",
                            format!(
                                "{} must be shorter than schedule.interval ({})",
                                humantime::format_duration(jitter),
                                humantime::format_duration(interval)
                            ),
                        ));
                    }
                }
                Schedule {
                    interval,
                    jitter,
                    connections: s.connections.unwrap_or(ConnectionPolicy::Fresh),
                }
            }
        };
        let burst = match &file.burst {
            None => Burst::default(),
            Some(b) => {
                let d = Burst::default();
                let in_range = |v: &Option<toml::Spanned<i64>>, key: &str, default: u64, max: u64| match v {
                    None => Ok(default),
                    Some(v) => u64::try_from(*v.get_ref())
                        .ok()
                        .filter(|n| (1..=max).contains(n))
                        .ok_or_else(|| {
                            src.error(v, key, format!("{} is out of range (1–{max})", v.get_ref()))
                        }),
                };
                let requests = in_range(&b.requests, "burst.requests", d.requests, 1_000_000)?;
                let concurrency =
                    in_range(&b.concurrency, "burst.concurrency", d.concurrency as u64, 10_000)?;
                if let Some(rate) = &b.rate {
                    let r = *rate.get_ref();
                    if !(r > 0.0 && r.is_finite()) {
                        return Err(src.error(
                            rate,
                            "burst.rate",
                            format!("{r} must be a positive number of requests per second"),
                        ));
                    }
                }
                Burst {
                    requests,
                    concurrency: concurrency as usize,
                    rate: b.rate.as_ref().map(|r| *r.get_ref()),
                    connections: b.connections.unwrap_or(d.connections),
                }
            }
        };
        let diagnose = match &file.diagnose {
            None => DiagnoseSettings::default(),
            Some(d) => {
                let defaults = DiagnoseSettings::default();
                DiagnoseSettings {
                    idle_sweep: if d.idle_sweep.is_empty() {
                        defaults.idle_sweep
                    } else {
                        d.idle_sweep.iter().map(|d| d.0).collect()
                    },
                    slow: d.slow.map(|d| d.0).or(defaults.slow),
                }
            }
        };
        let lab = match &file.lab {
            None => None,
            Some(l) => {
                let speed = *l.speed.get_ref();
                if !(speed > 0.0 && speed.is_finite()) {
                    return Err(src.error(
                        &l.speed,
                        "lab.speed",
                        format!("{speed} must be a positive number"),
                    ));
                }
                Some(Arc::new(crate::probe::LabRun {
                    scenario: l.scenario.clone(),
                    speed,
                }))
            }
        };
        if let Some(aws) = &file.aws {
            if aws.get_ref().rest_api.is_some() && aws.get_ref().http_api.is_some() {
                return Err(src.error(aws, "aws", "give rest_api or http_api, not both"));
            }
        }
        Ok(Profile {
            name: file.name.clone().unwrap_or_else(|| {
                path.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            }),
            path: path.to_path_buf(),
            targets,
            connection,
            schedule,
            burst,
            diagnose,
            aws: file.aws.as_ref().map(|a| a.get_ref().clone()),
            lab,
        })
    }

    /// The profile's targets with the command line's request flags layered
    /// on top: `-H` headers are added to (and replace) each target's, and
    /// `-X`, `--data`, `--expect-status` replace the target's values.
    pub fn targets_with(&self, cli: &ConnectionArgs) -> Result<Vec<Target>, ConfigError> {
        let overrides = request_from(cli)?;
        let secrets: Vec<HeaderName> = self
            .connection
            .secret_headers
            .iter()
            .chain(&cli.secret_headers)
            .cloned()
            .collect();
        Ok(self
            .targets
            .iter()
            .map(|t| {
                let mut headers = t.headers.clone();
                // The command line's headers replace the profile's of the
                // same name; repeated ones are all kept.
                for name in overrides.headers.keys() {
                    headers.remove(name);
                }
                for (name, value) in &overrides.headers {
                    headers.append(name.clone(), value.clone());
                }
                for (name, value) in headers.iter_mut() {
                    if is_secret(name, &secrets) {
                        value.set_sensitive(true);
                    }
                }
                let spec = RequestSpec {
                    method: cli.method.clone().unwrap_or_else(|| t.method.clone()),
                    headers,
                    body: if cli.data.is_some() {
                        overrides.body.clone()
                    } else {
                        t.body.clone()
                    },
                    expect_status: cli.expect_status.clone().or_else(|| t.expect_status.clone()),
                    secret_headers: secrets.clone(),
                };
                Target::new(t.name.clone(), t.url.clone(), t.kind, Arc::new(spec))
                    .hiding_query_params(&t.secret_params)
            })
            .collect())
    }
}

/// Which plan `run` executes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunPlan {
    Schedule(Schedule),
    Burst(Burst),
}

/// `coldlink run`, validated.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub profile: Profile,
    pub targets: Vec<Target>,
    pub settings: ProbeSettings,
    pub plan: RunPlan,
    pub duration: Option<Duration>,
    /// Probes allowed in flight at once.
    pub max_in_flight: usize,
    pub output: OutputConfig,
}

impl RunConfig {
    /// `lab`: the profile of a lab started for this command (`--lab`),
    /// used when no --profile is given.
    pub fn from_args(args: &RunArgs, lab: Option<&std::path::Path>) -> Result<RunConfig, ConfigError> {
        let path = match (args.profile.as_deref(), lab) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "--profile and --lab: give one (the lab comes with its own profile)".into(),
                ))
            }
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => return Err(ConfigError("run needs --profile FILE or --lab SCENARIO".into())),
        };
        let profile = Profile::load(path)?;
        let conn = layered(&args.conn, &profile.connection);
        let plan = if args.burst {
            RunPlan::Burst(profile.burst)
        } else {
            RunPlan::Schedule(profile.schedule)
        };
        let (policy, concurrency) = match plan {
            RunPlan::Burst(b) => (b.connections, b.concurrency),
            RunPlan::Schedule(s) => (s.connections, profile.targets.len()),
        };
        let mut settings = settings_from(&conn, policy, concurrency)?;
        settings.lab = profile.lab.clone();
        let in_flight = match plan {
            RunPlan::Burst(b) => b.concurrency,
            RunPlan::Schedule(s) => {
                schedule_in_flight(profile.targets.len(), s.interval, settings.timeouts.total)
            }
        };
        let targets = profile.targets_with(&args.conn)?;
        check_out(args.out.as_deref())?;
        Ok(RunConfig {
            targets,
            settings,
            plan,
            duration: args.duration,
            max_in_flight: in_flight,
            output: OutputConfig {
                format: args.format,
                out: args.out.clone(),
                quiet: args.quiet,
                waterfall: false,
                keep_records: false,
            },
            profile,
        })
    }
}

pub use crate::probe::plan::schedule_in_flight;

/// The command line's connection flags over a profile's: a flag given on
/// the command line wins; lists are joined; switches are on if either turns
/// them on.
pub fn layered(cli: &ConnectionArgs, profile: &ConnectionArgs) -> ConnectionArgs {
    fn join<T: Clone>(a: &[T], b: &[T]) -> Vec<T> {
        a.iter().chain(b).cloned().collect()
    }
    ConnectionArgs {
        method: cli.method.clone().or_else(|| profile.method.clone()),
        headers: join(&profile.headers, &cli.headers),
        secret_headers: join(&profile.secret_headers, &cli.secret_headers),
        data: cli.data.clone().or_else(|| profile.data.clone()),
        timeout: cli.timeout.or(profile.timeout),
        dns_timeout: cli.dns_timeout.or(profile.dns_timeout),
        connect_timeout: cli.connect_timeout.or(profile.connect_timeout),
        tls_timeout: cli.tls_timeout.or(profile.tls_timeout),
        connections: cli.connections.or(profile.connections),
        resolve: join(&profile.resolve, &cli.resolve),
        dns_server: cli.dns_server.or(profile.dns_server),
        cacert: join(&profile.cacert, &cli.cacert),
        insecure: cli.insecure || profile.insecure,
        no_trace_header: cli.no_trace_header || profile.no_trace_header,
        http1_only: cli.http1_only || profile.http1_only,
        expect_status: cli
            .expect_status
            .clone()
            .or_else(|| profile.expect_status.clone()),
    }
}

/// The lab run the probes' records belong to: the profile's `[lab]`, when
/// its targets are the ones probed (not URLs given beside it).
pub fn lab_of(profile: Option<&Profile>, urls: &[url::Url]) -> Option<Arc<crate::probe::LabRun>> {
    profile.filter(|_| urls.is_empty()).and_then(|p| p.lab.clone())
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
        if let Some(problem) = not_a_pem_file(path) {
            return Err(ConfigError(format!(
                "--cacert {}: {problem} (expected a PEM file of CA certificates)",
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
        lab: None,
    })
}

/// The request every probe sends; secret header values are marked
/// sensitive so that no Debug output or log can show them.
pub fn request_from(conn: &ConnectionArgs) -> Result<RequestSpec, ConfigError> {
    let secrets: &[HeaderName] = &conn.secret_headers;
    let mut headers = HeaderMap::new();
    for raw in &conn.headers {
        let (name, mut value) =
            parse::header(&raw.0).map_err(|e| ConfigError(format!("-H/--header: {e}")))?;
        if is_secret(&name, secrets) {
            value.set_sensitive(true);
        }
        headers.append(name, value);
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
        expect_status: conn.expect_status.clone(),
        secret_headers: secrets.to_vec(),
    })
}

/// The targets and connection flags of a command that takes `URL...`,
/// `--profile` or `--lab`: the profile's targets unless URLs are given, its
/// connection settings under the command line's. `command` names the
/// command in the error when there is nothing to probe.
pub fn targets_and_connection(
    profile: Option<&Profile>,
    urls: &[url::Url],
    conn: &ConnectionArgs,
    command: &str,
) -> Result<(Vec<Target>, ConnectionArgs), ConfigError> {
    Ok(match profile {
        Some(p) if urls.is_empty() => (p.targets_with(conn)?, layered(conn, &p.connection)),
        Some(p) => (
            targets_from(urls, &Arc::new(request_from(conn)?)),
            layered(conn, &p.connection),
        ),
        None if !urls.is_empty() => (targets_from(urls, &Arc::new(request_from(conn)?)), conn.clone()),
        None => {
            return Err(ConfigError(format!(
                "{command} needs URLs, --profile FILE or --lab SCENARIO"
            )))
        }
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

/// The profile's `[connection] cacert` files, relative to its folder; one
/// that is not there is the profile's error, with its line.
fn cacerts(src: &Source, listed: &[toml::Spanned<PathBuf>]) -> Result<Vec<PathBuf>, ConfigError> {
    listed
        .iter()
        .map(|p| {
            let path = profile::relative_to(src.path, p.get_ref());
            match not_a_pem_file(&path) {
                Some(problem) => Err(src.error(
                    p,
                    "connection.cacert",
                    format!(
                        "{}: {problem} (expected a PEM file of CA certificates)",
                        path.display()
                    ),
                )),
                None => Ok(path),
            }
        })
        .collect()
}

/// Why `path` cannot be a certificate file, or `None` when it can be.
fn not_a_pem_file(path: &std::path::Path) -> Option<&'static str> {
    match std::fs::metadata(path) {
        Err(_) => Some("no such file"),
        Ok(m) if m.is_dir() => Some("a folder, not a file"),
        Ok(m) if !m.is_file() => Some("not a regular file"),
        Ok(_) => None,
    }
}

/// Fail before any probe is sent if an output file cannot be written. A
/// file this check creates is removed again: another input may yet be
/// refused, and a refused command leaves nothing behind.
/// A command's `--out`, checked before anything runs (a lab included).
pub fn check_out(out: Option<&std::path::Path>) -> Result<(), ConfigError> {
    out.map_or(Ok(()), |out| check_writable(out, "--out"))
}

pub fn check_writable(path: &std::path::Path, flag: &str) -> Result<(), ConfigError> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| ConfigError(format!("{flag} {}: cannot write there: {e}", path.display())))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

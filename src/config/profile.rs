//! A profile, validated: its targets, connection settings, plans and
//! lookups. [`Profile::load`] reads the file ([`super::file`]) and checks
//! each table; every error names the file, the line and the key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use toml::Spanned;

use super::error::{ConfigError, KeyProblem, Source};
use super::file::{self, AwsEntry, BurstEntry, DiagnoseEntry, LabEntry, ScheduleEntry, TargetEntry};
use super::layer::Connection;
use super::sigv4;
use crate::cli::parse;
pub use crate::probe::plan::{Burst, Schedule};
use crate::probe::target::is_secret;
use crate::probe::{ClientCertPaths, ConnectionPolicy, LabRun, RequestSpec, Target, TargetKind};

/// A validated profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub path: PathBuf,
    pub targets: Vec<TargetDef>,
    /// `[connection]`: under the command line's, over the defaults.
    pub connection: Connection,
    pub schedule: Schedule,
    pub burst: Burst,
    pub diagnose: DiagnoseSettings,
    pub aws: Option<AwsEntry>,
    /// `[lab]`: the targets are a lab run's, at this speed.
    pub lab: Option<Arc<LabRun>>,
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
    /// Its own client certificate (`cert`/`key`), over `[connection]`'s.
    pub client_cert: Option<ClientCertPaths>,
    /// `sigv4` / `sigv4_service`: over `[connection]`'s, under the flags.
    pub sigv4: Option<bool>,
    pub sigv4_service: Option<String>,
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
    pub fn load(path: &Path) -> Result<Profile, ConfigError> {
        let (text, file) = file::read(path)?;
        let src = Source { path, text: &text };
        if file.targets.is_empty() {
            return Err(ConfigError::NoTarget {
                path: path.to_path_buf(),
            });
        }
        let connection = file.connection.validate(&src)?;
        let mut targets: Vec<TargetDef> = Vec::new();
        for t in &file.targets {
            let target = target(&src, t, &connection, &targets)?;
            targets.push(target);
        }
        let schedule = match &file.schedule {
            None => Schedule::default(),
            Some(s) => schedule(&src, s)?,
        };
        let burst = match &file.burst {
            None => Burst::default(),
            Some(b) => burst(&src, b)?,
        };
        let diagnose = file.diagnose.as_ref().map(diagnose).unwrap_or_default();
        let lab = match &file.lab {
            None => None,
            Some(l) => Some(lab(&src, l)?),
        };
        if let Some(aws) = &file.aws {
            if aws.get_ref().rest_api.is_some() && aws.get_ref().http_api.is_some() {
                return Err(src.error(aws, "aws", KeyProblem::BothApis));
            }
            if aws
                .get_ref()
                .rest_api
                .as_ref()
                .is_some_and(|r| r.id.is_none() && r.name.is_none())
            {
                return Err(src.error(aws, "aws.rest_api", KeyProblem::RestApiUnnamed));
            }
            if let Some(region) = &aws.get_ref().region {
                crate::cli::parse::region(region).map_err(|e| src.error(aws, "aws.region", e))?;
            }
            super::aws::check_entry(&src, aws.get_ref())?;
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

    /// The profile's targets with the command line's request settings
    /// (`cli`) layered on top: `-H` headers are added to (and replace)
    /// each target's, and `-X`, `--data`, `--expect-status` replace the
    /// target's values.
    pub fn targets_with(&self, cli: impl Into<Connection>) -> Result<Vec<Target>, ConfigError> {
        let cli = cli.into();
        // The command line's certificate over the target's over [connection]'s.
        let cli_cert = cli.client_cert.clone();
        let mut identities = super::client_cert::Identities::default();
        let layered = cli.clone().over(self.connection.clone());
        let overrides = layered.request()?;
        let secrets = &overrides.secret_headers;
        let targets: Vec<Target> = self
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
                    if is_secret(name, secrets) {
                        value.set_sensitive(true);
                    }
                }
                let spec = RequestSpec {
                    method: layered.method.clone().unwrap_or_else(|| t.method.clone()),
                    headers,
                    body: if layered.data.is_some() {
                        overrides.body.clone()
                    } else {
                        t.body.clone()
                    },
                    expect_status: layered.expect_status.clone().or_else(|| t.expect_status.clone()),
                    secret_headers: secrets.clone(),
                };
                let cert = cli_cert.as_ref().or(t.client_cert.as_ref());
                let identity = identities.load(cert.or(self.connection.client_cert.as_ref()))?;
                Ok(Target::new(t.name.clone(), t.url.clone(), t.kind, Arc::new(spec))
                    .hiding_query_params(&t.secret_params)
                    .with_client_cert(identity))
            })
            .collect::<Result<_, ConfigError>>()?;
        let choices = self.targets.iter().map(|t| sigv4::Choice {
            sign: cli.sigv4.or(t.sigv4).or(self.connection.sigv4).unwrap_or(false),
            service: (cli.sigv4_service.clone())
                .or_else(|| t.sigv4_service.clone())
                .or_else(|| self.connection.sigv4_service.clone()),
        });
        sigv4::sign(
            targets.into_iter().zip(choices).collect(),
            &sigv4::AwsIdentity::of(&cli, self.aws.as_ref()),
        )
    }
}

/// One `[[target]]`, checked against the ones before it.
fn target(
    src: &Source,
    t: &TargetEntry,
    connection: &Connection,
    before: &[TargetDef],
) -> Result<TargetDef, ConfigError> {
    let name = t.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(src.error(&t.name, "target.name", KeyProblem::Empty));
    }
    if before.iter().any(|other| other.name == name) {
        return Err(src.error(&t.name, "target.name", KeyProblem::DuplicateName(name)));
    }
    let (url, _) = file::expand_env(t.url.get_ref()).map_err(|e| src.error(&t.url, "target.url", e))?;
    let url = parse::url(&url).map_err(|e| src.error(&t.url, "target.url", e))?;
    let method = match &t.method {
        Some(m) => parse::method(m.get_ref()).map_err(|e| src.error(m, "target.method", e))?,
        None => Method::GET,
    };
    let mut headers = HeaderMap::new();
    for (k, v) in &t.headers {
        let key = format!("target.headers.{k}");
        let name = parse::header_name(k).map_err(|e| src.error(v, &key, e))?;
        let (value, from_env) = file::expand_env(v.get_ref()).map_err(|e| src.error(v, &key, e))?;
        let mut value =
            http::HeaderValue::from_str(&value).map_err(|_| src.error(v, &key, KeyProblem::HeaderValue))?;
        // A value taken from the environment is a secret by assumption.
        if from_env || is_secret(&name, &connection.secret_headers) {
            value.set_sensitive(true);
        }
        headers.append(name, value);
    }
    let expect_status = match &t.expect_status {
        None => None,
        Some(codes) => Some(status_codes(src, codes)?),
    };
    Ok(TargetDef {
        name,
        url,
        kind: t.kind,
        method,
        headers,
        body: t.body.clone().map(Bytes::from).unwrap_or_default(),
        expect_status,
        secret_params: file::env_query_params(t.url.get_ref()),
        client_cert: super::client_cert::from_profile(src, "target", &t.cert, &t.key)?,
        sigv4: t.sigv4,
        sigv4_service: match &t.sigv4_service {
            Some(v) => {
                Some(parse::sigv4_service(v.get_ref()).map_err(|e| src.error(v, "target.sigv4_service", e))?)
            }
            None => None,
        },
    })
}

fn status_codes(src: &Source, codes: &Spanned<Vec<i64>>) -> Result<Vec<u16>, ConfigError> {
    codes
        .get_ref()
        .iter()
        .map(|c| {
            u16::try_from(*c)
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| src.error(codes, "target.expect_status", KeyProblem::Status(*c)))
        })
        .collect()
}

fn schedule(src: &Source, s: &ScheduleEntry) -> Result<Schedule, ConfigError> {
    let interval = s.interval.get_ref().0;
    if interval.is_zero() {
        return Err(src.error(&s.interval, "schedule.interval", KeyProblem::ZeroInterval));
    }
    let jitter = s.jitter.as_ref().map(|d| d.get_ref().0).unwrap_or_default();
    if let Some(j) = &s.jitter {
        if jitter >= interval {
            return Err(src.error(
                j,
                "schedule.jitter",
                KeyProblem::JitterTooLong { jitter, interval },
            ));
        }
    }
    Ok(Schedule {
        interval,
        jitter,
        connections: s.connections.unwrap_or(ConnectionPolicy::Fresh),
    })
}

fn burst(src: &Source, b: &BurstEntry) -> Result<Burst, ConfigError> {
    let d = Burst::default();
    let in_range = |v: &Option<Spanned<i64>>, key: &str, default: u64, max: u64| match v {
        None => Ok(default),
        Some(v) => u64::try_from(*v.get_ref())
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                src.error(
                    v,
                    key,
                    KeyProblem::OutOfRange {
                        value: *v.get_ref(),
                        max,
                    },
                )
            }),
    };
    let requests = in_range(&b.requests, "burst.requests", d.requests, 1_000_000)?;
    let concurrency = in_range(&b.concurrency, "burst.concurrency", d.concurrency as u64, 10_000)?;
    if let Some(rate) = &b.rate {
        let r = *rate.get_ref();
        if !(r > 0.0 && r.is_finite()) {
            return Err(src.error(rate, "burst.rate", KeyProblem::Rate(r)));
        }
    }
    Ok(Burst {
        requests,
        concurrency: concurrency as usize,
        rate: b.rate.as_ref().map(|r| *r.get_ref()),
        connections: b.connections.unwrap_or(d.connections),
    })
}

fn diagnose(d: &DiagnoseEntry) -> DiagnoseSettings {
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

fn lab(src: &Source, l: &LabEntry) -> Result<Arc<LabRun>, ConfigError> {
    let speed = *l.speed.get_ref();
    if !(speed > 0.0 && speed.is_finite()) {
        return Err(src.error(&l.speed, "lab.speed", KeyProblem::Speed(speed)));
    }
    Ok(Arc::new(LabRun {
        scenario: l.scenario.clone(),
        speed,
    }))
}

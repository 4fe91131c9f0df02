//! What a command probes — URLs, a profile's targets or a lab's — resolved
//! once, with the rules that go with it: a lab comes with its own profile
//! (so not both), and URLs given beside a profile replace its targets but
//! keep its connection settings.

use std::path::Path;
use std::sync::Arc;

use super::error::ConfigError;
use super::layer::Connection;
use super::profile::Profile;
use super::sigv4;
use crate::probe::{LabRun, RequestSpec, Target};

/// A lab started for this command: its profile, speed and scenario name.
#[derive(Clone, Copy)]
pub struct LabContext<'a> {
    pub profile: &'a Profile,
    pub speed: f64,
    pub name: &'a str,
}

/// `--profile` and `--lab` each bring a profile: one of them at most.
pub fn check_one(profile: bool, lab: bool) -> Result<(), ConfigError> {
    if profile && lab {
        return Err(ConfigError::ProfileAndLab);
    }
    Ok(())
}

/// The `--profile` file, loaded; `None` without one.
pub fn profile_file(flag: Option<&Path>, lab: Option<&LabContext>) -> Result<Option<Profile>, ConfigError> {
    check_one(flag.is_some(), lab.is_some())?;
    flag.map(Profile::load).transpose()
}

/// What is probed, and how: the profile's targets unless URLs are given,
/// its connection settings under the command line's (`cli`). `command`
/// and `needs` name the command and what it takes when there is nothing
/// to probe.
pub fn targets(
    profile: Option<&Profile>,
    urls: &[url::Url],
    cli: &Connection,
    command: &'static str,
    needs: &'static str,
) -> Result<(Vec<Target>, Connection), ConfigError> {
    let conn = match profile {
        Some(p) => cli.clone().over(p.connection.clone()),
        None => cli.clone(),
    };
    let targets = match profile {
        Some(p) if urls.is_empty() => p.targets_with(cli)?,
        _ if !urls.is_empty() => {
            let identity = super::client_cert::Identities::default().load(conn.client_cert.as_ref())?;
            let choice = sigv4::Choice {
                sign: conn.sigv4.unwrap_or(false),
                service: conn.sigv4_service.clone(),
            };
            let targets = targets_from(urls, &Arc::new(conn.request()?))
                .into_iter()
                .map(|t| (t.with_client_cert(identity.clone()), choice.clone()))
                .collect();
            sigv4::sign(
                targets,
                &sigv4::AwsIdentity::of(&conn, profile.and_then(|p| p.aws.as_ref())),
            )?
        }
        _ => return Err(ConfigError::NothingToProbe { command, needs }),
    };
    sigv4::check_service_flag(cli, &targets)?;
    let targets = conn.on_families(targets)?;
    Ok((targets, conn))
}

/// The lab run the probes' records belong to: the profile's `[lab]`, when
/// its targets are the ones probed (not URLs given beside it).
pub fn lab_of(profile: Option<&Profile>, urls: &[url::Url]) -> Option<Arc<LabRun>> {
    profile.filter(|_| urls.is_empty()).and_then(|p| p.lab.clone())
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
        while targets.iter().any(|t| *t.name == *name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        targets.push(Target::new(name, url.clone(), None, request.clone()));
    }
    targets
}

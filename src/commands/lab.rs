//! `coldlink lab`, and the in-process lab behind `--lab` on other commands.

use std::io::Write;
use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::CommandError;
use crate::cli::{LabArgs, LabOptions};
use crate::config::{LabContext, Profile};
use crate::exit::Exit;
use crate::lab::scenario::SCENARIOS;
use crate::lab::{Lab, Scenario};

/// A lab started for one command, with its profile.
pub struct RunningLab {
    pub lab: Lab,
    pub profile_path: PathBuf,
    pub profile: Profile,
}

/// Start the scenario named by `--lab`, if any, on loopback and without a
/// word: the command's other inputs are checked against its profile next,
/// and a refusal must come before the lab is announced ([`announce`]).
pub async fn start_for(opts: &LabOptions) -> anyhow::Result<Option<RunningLab>> {
    let Some(name) = &opts.lab else { return Ok(None) };
    let lab = start(name, opts.speed, &opts.set).await?;
    let profile_path = lab.write_profile()?;
    let profile = Profile::load(&profile_path)?;
    Ok(Some(RunningLab {
        lab,
        profile_path,
        profile,
    }))
}

impl RunningLab {
    /// What a command's configuration needs of the lab.
    pub fn context(&self) -> LabContext<'_> {
        LabContext {
            profile: &self.profile,
            speed: self.lab.scenario.speed,
            name: &self.lab.scenario.name,
        }
    }
}

/// Say on stderr which lab runs and where, once the command's inputs are
/// accepted.
pub fn announce(lab: Option<&RunningLab>) {
    if let Some(RunningLab { lab, .. }) = lab {
        crate::say!(
            "coldlink lab {} (speed {}): {}\n  execute-api   {}\n  custom-domain {}",
            lab.scenario.name,
            lab.scenario.speed,
            lab.scenario.summary,
            lab.execute_api,
            lab.custom_domain
        );
    }
}

async fn start(name: &str, speed: Option<f64>, set: &[String]) -> anyhow::Result<Lab> {
    let mut overrides = set.to_vec();
    if let Some(speed) = speed {
        overrides.push(format!("speed={speed}"));
    }
    let scenario = Scenario::load(name, &overrides).map_err(CommandError::from)?;
    Lab::start_isolated(scenario)
        .await
        .map_err(|source| CommandError::LabStart { source }.into())
}

/// `coldlink lab [SCENARIO] [--list]`: describe, or run until cancelled.
pub async fn run(args: &LabArgs, stdout: &mut impl Write, cancel: CancellationToken) -> anyhow::Result<Exit> {
    if args.list {
        writeln!(
            stdout,
            "{:<24} {:<20} {:>6}  what it reproduces",
            "scenario", "cause", "speed"
        )?;
        for (name, _) in SCENARIOS {
            let s = Scenario::load(name, &[])?;
            writeln!(
                stdout,
                "{:<24} {:<20} {:>6}  {}",
                name, s.cause, s.speed, s.summary
            )?;
        }
        stdout.flush()?;
        return Ok(Exit::Ok);
    }
    let name = args.scenario.as_deref().unwrap_or("healthy");
    let lab = start(name, args.speed, &args.set).await?;
    let profile_path = lab.write_profile()?;
    writeln!(
        stdout,
        "coldlink lab {} — {}\n\n  execute-api URL    {}\n  custom-domain URL  {}\n  DNS server         {} (resolves *.lab.test to {})\n  CA file            {}\n  profile            {}\n\nTry, in another terminal:\n  coldlink run --profile {} --duration 1m\n  coldlink probe {} --dns-server {} --cacert {} -n 20\n\nThe profile:\n",
        lab.scenario.name,
        lab.scenario.summary,
        lab.execute_api,
        lab.custom_domain,
        lab.dns,
        if lab.ipv6 { "127.0.0.1 and ::1" } else { "127.0.0.1" },
        lab.ca_file.display(),
        profile_path.display(),
        profile_path.display(),
        lab.execute_api,
        lab.dns,
        lab.ca_file.display(),
    )?;
    writeln!(stdout, "{}", lab.profile_toml())?;
    writeln!(stdout, "Running until Ctrl-C.")?;
    stdout.flush()?;
    cancel.cancelled().await;
    lab.stop();
    Ok(Exit::Ok)
}

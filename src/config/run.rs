//! `coldlink run`, validated.

use std::time::Duration;

use super::error::ConfigError;
use super::layer::Connection;
use super::probe::OutputConfig;
use super::profile::{Burst, Profile, Schedule};
use super::source::{self, LabContext};
use crate::cli::RunArgs;
use crate::probe::plan::schedule_in_flight;
use crate::probe::{ProbeSettings, Target};

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
    /// `--cloudwatch-namespace` / `--emf`.
    pub publish: Option<crate::publish::PublishSettings>,
    /// `--xray-segments`: where each probe's client segment goes.
    pub xray_segments: Option<crate::publish::xray_segments::XraySegments>,
}

impl RunConfig {
    /// `lab`: a lab started for this command (`--lab`), whose profile is
    /// run when no --profile is given.
    pub fn from_args(args: &RunArgs, lab: Option<LabContext<'_>>) -> Result<RunConfig, ConfigError> {
        let profile = match (source::profile_file(args.profile.as_deref(), lab.as_ref())?, lab) {
            (Some(p), _) => p,
            (None, Some(l)) => l.profile.clone(),
            (None, None) => {
                return Err(ConfigError::NothingToProbe {
                    command: "run",
                    needs: "--profile FILE or --lab SCENARIO",
                })
            }
        };
        let cli = Connection::from_args(&args.conn);
        let conn = cli.clone().over(profile.connection.clone());
        // `--ip-family both` makes two targets of one: plans count these.
        let targets = conn.on_families(profile.targets_with(&cli)?)?;
        super::sigv4::check_service_flag(&cli, &targets)?;
        let plan = if args.burst {
            RunPlan::Burst(profile.burst)
        } else {
            RunPlan::Schedule(profile.schedule)
        };
        let (policy, concurrency) = match plan {
            RunPlan::Burst(b) => (b.connections, b.concurrency),
            RunPlan::Schedule(s) => (s.connections, targets.len()),
        };
        let mut settings = conn.settings(policy, concurrency)?;
        settings.lab = profile.lab.clone();
        let in_flight = match plan {
            RunPlan::Burst(b) => b.concurrency,
            RunPlan::Schedule(s) => schedule_in_flight(targets.len(), s.interval, settings.timeouts.total),
        };
        super::check_out(args.out.as_deref())?;
        let xray_segments = super::xray_segments::xray_segments(
            args.xray_segments,
            &args.conn.aws,
            args.publish.publish_endpoint.as_ref(),
            Some(&profile),
            &mut settings,
        )?;
        let families = crate::probe::dual_stack::probes_both(&targets);
        let stdout_carries = match args.format {
            crate::cli::OutputFormat::Text => None,
            crate::cli::OutputFormat::Json => Some("the JSON report (--format json)"),
            crate::cli::OutputFormat::Ndjson => Some("the probe records (--format ndjson)"),
        };
        let publish = super::publish::publish_settings(
            &args.publish,
            &args.conn.aws,
            Some(&profile),
            settings.lab.is_some(),
            stdout_carries,
            xray_segments.is_some(),
        )?;
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
                families,
                segments: None,
                publish: None,
            },
            publish,
            xray_segments,
            profile,
        })
    }
}

//! `coldlink probe`, validated.

use std::path::PathBuf;
use std::time::Duration;

use super::error::ConfigError;
use super::layer::Connection;
use super::source::{self, LabContext};
use crate::cli::{OutputFormat, ProbeArgs};
use crate::probe::{ConnectionPolicy, ProbeSettings, Target};

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
    /// A target is probed on both IP families: lines name the family.
    pub families: bool,
    /// `--xray-segments`: each record's client segment is queued here (set
    /// by the command once its publisher runs).
    pub segments: Option<crate::publish::xray_segments::SegmentSink>,
    /// `--cloudwatch-namespace` / `--emf`: each record is folded in here
    /// (set by the command once its publisher runs).
    pub publish: Option<crate::publish::Tap>,
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
    /// `lab`: a lab started for this command (`--lab`); its targets stand
    /// in for URLs and its connection settings (resolver, certificate)
    /// apply under the command line's.
    pub fn from_args(args: &ProbeArgs, lab: Option<LabContext<'_>>) -> Result<ProbeConfig, ConfigError> {
        let profile = lab.map(|l| l.profile);
        let per_target = args.count.unwrap_or(1);
        let single = per_target == 1;
        let default_policy = if single {
            ConnectionPolicy::Fresh
        } else {
            ConnectionPolicy::Reuse
        };
        let concurrency = args.concurrency as usize;
        let cli = Connection::from_args(&args.conn);
        let conn = match profile {
            Some(p) => cli.clone().over(p.connection.clone()),
            None => cli.clone(),
        };
        let mut settings = conn.settings(default_policy, concurrency)?;
        settings.lab = source::lab_of(profile, &args.urls);
        let (targets, _) = source::targets(profile, &args.urls, &cli, "probe", "URLs or --lab SCENARIO")?;
        super::check_out(args.out.as_deref())?;
        let families = crate::probe::dual_stack::probes_both(&targets);
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
                families,
                segments: None,
                publish: None,
            },
        })
    }
}

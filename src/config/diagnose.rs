//! `coldlink diagnose`, validated: where the records come from, the plan in
//! real time, and how the report is written.

use std::path::PathBuf;
use std::time::Duration;

use super::aws::{
    aws_options, cloudwatch_resources, is_execute_api_host, path_query, wants_config, CloudWatchLookup,
    PathConfigLookup, XrayLookup, DEFAULT_XRAY_WAIT,
};
use super::error::ConfigError;
use super::layer::Connection;
use super::source::{self, LabContext};
use super::{check_writable, DiagnoseSettings, Profile};
use crate::cli::DiagnoseArgs;
use crate::diagnose::coverage::Rerun;
use crate::diagnose::render::DiagnoseFormat;
use crate::probe::{ConnectionPolicy, ProbeSettings, Target, TargetKind};

pub use crate::diagnose::coverage::DEFAULT_PROBES;
/// Concurrency of those bursts when no profile sets `[burst] concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 5;
pub use crate::diagnose::coverage::QUICK_GAPS;

#[derive(Debug, Clone)]
pub enum DiagnoseSource {
    /// Send probes.
    Live {
        targets: Vec<Target>,
        settings: ProbeSettings,
        concurrency: usize,
    },
    /// Read stored records.
    Records(Vec<PathBuf>),
}

#[derive(Debug, Clone)]
pub struct DiagnoseConfig {
    pub source: DiagnoseSource,
    /// Probes per target per burst.
    pub probes: u64,
    /// Short quiet gaps of the quick plan (real time).
    pub quick_gaps: Vec<Duration>,
    /// The idle sweep's gaps (real time); empty without --idle-sweep.
    pub sweep: Vec<Duration>,
    /// `--idle-sweep` was given: the sweep is what the user came for, so
    /// an early stop may not skip it (`--lab` alone only implies one).
    pub sweep_asked: bool,
    /// Scenario time ÷ real time: the lab's speed, else 1.
    pub scale: f64,
    pub lab: Option<String>,
    /// `--slow`, scenario milliseconds.
    pub slow_ms: Option<f64>,
    pub format: DiagnoseFormat,
    pub out: Option<PathBuf>,
    pub records_out: Option<PathBuf>,
    pub quiet: bool,
    /// `--full`: no stage is skipped once the evidence is conclusive.
    pub full: bool,
    /// `--xray`: where to look the probes' traces up, and for how long.
    pub xray: Option<XrayLookup>,
    /// `--cloudwatch`: where to read metrics, and which.
    pub cloudwatch: Option<CloudWatchLookup>,
    /// `--aws-config` (or `[aws] config = true`): where to read the path's
    /// configuration, and what the profile names to start from.
    pub aws_config: Option<PathConfigLookup>,
    /// How to probe the same targets again (live runs): the commands the
    /// report gives for what this run could not test.
    pub rerun: Option<Rerun>,
    /// The profile's `[aws] nlb` and `alb`: what stands behind the gateway
    /// when nothing stronger says (`diagnose::paths`).
    pub path_hint: crate::diagnose::PathHint,
}

/// The profile's `[aws] nlb` and `alb`, as written.
fn path_hint(profile: Option<&Profile>) -> crate::diagnose::PathHint {
    let aws = profile.and_then(|p| p.aws.as_ref());
    crate::diagnose::PathHint {
        nlb: aws.and_then(|a| a.nlb.as_ref()).map(|n| n.get_ref().clone()),
        alb: aws.and_then(|a| a.alb.as_ref()).map(|n| n.get_ref().clone()),
    }
}

/// A sweep gap over 6 h is a typo or a misunderstanding, not a diagnosis.
fn check_sweep(gaps: &[Duration]) -> Result<(), ConfigError> {
    match gaps.iter().find(|g| **g > Duration::from_secs(6 * 3600)) {
        Some(gap) => Err(ConfigError::SweepGapTooLong { gap: *gap }),
        None => Ok(()),
    }
}

/// How much real time the lab's default plan gives its short idle sweep.
pub const LAB_SWEEP_BUDGET: Duration = Duration::from_secs(15);

/// The idle sweep's default gaps, shortest first, as many as fit in
/// [`LAB_SWEEP_BUDGET`] at the lab's `speed`: all of them (up to the NLB's
/// 350 s) at speed 50, up to 120 s at speed 20, none at speed 1.
pub fn lab_sweep(speed: f64) -> Vec<Duration> {
    let mut spent = Duration::ZERO;
    DiagnoseSettings::default()
        .idle_sweep
        .into_iter()
        .take_while(|g| {
            spent += g.div_f64(speed);
            spent <= LAB_SWEEP_BUDGET
        })
        .filter(|g| !g.is_zero())
        .collect()
}

impl DiagnoseConfig {
    /// The inputs that need no lab, checked before one is started for the
    /// command (and again by [`DiagnoseConfig::from_args`]): a refusal comes
    /// before anything runs.
    pub fn check_before_start(args: &DiagnoseArgs) -> Result<(), ConfigError> {
        if let Some(out) = &args.out {
            check_writable(out, "--out")?;
        }
        if let Some(records) = &args.records {
            check_writable(records, "--records")?;
        }
        source::check_one(args.profile.is_some(), args.lab.lab.is_some())?;
        for path in &args.from {
            std::fs::File::open(path).map_err(|source| ConfigError::Unreadable {
                flag: "--from",
                path: path.clone(),
                expected: Some("an NDJSON record file"),
                source,
            })?;
        }
        check_sweep(args.idle_sweep.as_deref().unwrap_or_default())
    }

    pub fn from_args(
        args: &DiagnoseArgs,
        lab: Option<LabContext<'_>>,
    ) -> Result<DiagnoseConfig, ConfigError> {
        Self::check_before_start(args)?;
        let scale = lab.as_ref().map_or(1.0, |l| l.speed);
        let real = |d: Duration| d.div_f64(scale);
        let profile = source::profile_file(args.profile.as_deref(), lab.as_ref())?;
        let settings_of = |p: Option<&Profile>| p.map(|p| p.diagnose.clone()).unwrap_or_default();
        // The lab's profile describes real time; diagnose --lab speaks scenario time.
        let diagnose: DiagnoseSettings = settings_of(profile.as_ref());
        let source = if !args.from.is_empty() {
            DiagnoseSource::Records(args.from.clone())
        } else {
            let source_profile = profile.as_ref().or(lab.as_ref().map(|l| l.profile));
            let (targets, conn) = source::targets(
                source_profile,
                &args.urls,
                &Connection::from_args(&args.conn),
                "diagnose",
                "URLs, --profile FILE, --from FILE... or --lab SCENARIO",
            )?;
            let concurrency = source_profile.map_or(DEFAULT_CONCURRENCY, |p| p.burst.concurrency);
            let mut settings = conn.settings(ConnectionPolicy::Reuse, concurrency)?;
            settings.lab = source::lab_of(source_profile, &args.urls);
            DiagnoseSource::Live {
                targets,
                settings,
                concurrency: concurrency.max(1),
            }
        };
        let sweep: Vec<Duration> = match &args.idle_sweep {
            None if args.quick => Vec::new(),
            // Lab time is compressed: the default plan can afford the
            // quiet periods that test idle timers, the lab's headline fault.
            None => match &lab {
                Some(l) => lab_sweep(l.speed),
                None => Vec::new(),
            },
            Some(gaps) if !gaps.is_empty() => gaps.clone(),
            Some(_) if lab.is_some() => DiagnoseSettings::default().idle_sweep,
            Some(_) => diagnose.idle_sweep.clone(),
        };
        check_sweep(&sweep)?;
        let slow = args.slow.or(if lab.is_some() { None } else { diagnose.slow });
        let aws_profile = profile.as_ref().or(lab.as_ref().map(|l| l.profile));
        let signs = matches!(&source, DiagnoseSource::Live { targets, .. } if targets.iter().any(|t| t.sigv4.is_some()));
        let mut aws = aws_options(args, aws_profile, lab.is_some(), signs)?;
        if let Some(options) = aws.as_mut().filter(|o| o.region.is_none()) {
            options.region = probed_region(&source);
        }
        let search_filter = aws_profile
            .and_then(|p| p.aws.as_ref())
            .and_then(|a| a.rest_api.as_ref())
            .and_then(|r| Some(crate::diagnose::xray::stage_filter(r.id.as_deref()?, &r.stage)));
        let xray = aws.clone().filter(|_| args.xray).map(|aws| XrayLookup {
            aws,
            wait: args.xray_wait.unwrap_or(DEFAULT_XRAY_WAIT),
            search_filter,
            lab: lab.is_some(),
        });
        let aws_config = match aws.clone().filter(|_| wants_config(args, aws_profile)) {
            None => None,
            Some(aws) => {
                let probes_execute_api = match &source {
                    DiagnoseSource::Live { targets, .. } => Some(
                        targets
                            .iter()
                            .any(|t| t.url.host_str().is_some_and(is_execute_api_host)),
                    ),
                    DiagnoseSource::Records(_) => None,
                };
                Some(PathConfigLookup {
                    aws,
                    query: path_query(aws_profile, probes_execute_api)?,
                    lab: lab.is_some(),
                    notes: Vec::new(),
                    asked_by: super::aws::asked_by(aws_profile),
                })
            }
        };
        let cloudwatch = match aws.filter(|_| args.cloudwatch) {
            None => None,
            Some(aws) => Some(CloudWatchLookup {
                aws,
                resources: cloudwatch_resources(aws_profile)?,
                lab: lab.is_some(),
            }),
        };
        let rerun = match &source {
            DiagnoseSource::Records(_) => None,
            DiagnoseSource::Live { .. } if lab.is_some() => {
                let l = lab.as_ref().expect("checked");
                let mut flags: Vec<String> = args
                    .lab
                    .speed
                    .map(|s| format!("--speed {s}"))
                    .into_iter()
                    .collect();
                flags.extend(args.lab.set.iter().map(|kv| format!("--set '{kv}'")));
                let conn = super::rerun::connection_flags(&args.conn);
                flags.extend((!conn.is_empty()).then(|| conn.trim_start().to_string()));
                Some(Rerun::lab(
                    l.name,
                    &flags,
                    scale,
                    args.probes.unwrap_or(DEFAULT_PROBES),
                ))
            }
            DiagnoseSource::Live { targets, .. } => Some(Rerun {
                command: match &args.profile {
                    Some(path) if args.urls.is_empty() => {
                        let conn = super::rerun::connection_flags(&args.conn);
                        format!("coldlink diagnose --profile {}{conn}", path.display())
                    }
                    _ => {
                        let urls: Vec<&str> = targets.iter().map(|t| &*t.url_text).collect();
                        // Probed as this run did: signed, with its certificate, family, pins.
                        let conn = super::rerun::connection_flags(&args.conn);
                        format!("coldlink diagnose {}{conn}", urls.join(" "))
                    }
                },
                scale,
                default_sweep: diagnose.idle_sweep.clone(),
                probes: args.probes.unwrap_or(DEFAULT_PROBES),
                profile: args.profile.is_some() && args.urls.is_empty(),
            }),
        };
        Ok(DiagnoseConfig {
            source,
            rerun,
            probes: args.probes.unwrap_or(DEFAULT_PROBES),
            quick_gaps: QUICK_GAPS.iter().map(|g| real(*g)).collect(),
            sweep: sweep.iter().map(|g| real(*g)).collect(),
            sweep_asked: args.idle_sweep.is_some(),
            scale,
            lab: lab.as_ref().map(|l| l.name.to_string()),
            slow_ms: slow.map(|d| d.as_secs_f64() * 1000.0),
            format: args.format,
            out: args.out.clone(),
            records_out: args.records.clone(),
            quiet: args.quiet,
            full: args.full,
            xray,
            cloudwatch,
            aws_config,
            path_hint: path_hint(aws_profile),
        })
    }

    /// Every planned quiet gap in scenario milliseconds (the report's rows).
    pub fn gaps_nominal_ms(&self) -> Vec<f64> {
        self.quick_gaps
            .iter()
            .chain(&self.sweep)
            .map(|g| g.as_secs_f64() * 1000.0 * self.scale)
            .collect()
    }

    /// Kinds of the live targets, so that records need not be guessed from.
    pub fn kinds(&self) -> Vec<(String, TargetKind)> {
        match &self.source {
            DiagnoseSource::Live { targets, .. } => {
                targets.iter().map(|t| (t.name.to_string(), t.kind)).collect()
            }
            DiagnoseSource::Records(_) => Vec::new(),
        }
    }
}

/// The one region the probed AWS hosts name (`….execute-api.REGION.…`), for
/// AWS lookups given no region: API Gateway, its VPC link and the load
/// balancer behind it live in the API's region. None when no probed host
/// names one, or two name different ones.
fn probed_region(source: &DiagnoseSource) -> Option<String> {
    let DiagnoseSource::Live { targets, .. } = source else {
        return None;
    };
    let mut regions = targets
        .iter()
        .filter_map(|t| t.url.host_str().and_then(super::sigv4::region_of_host));
    let first = regions.next()?;
    regions.all(|r| r == first).then_some(first)
}

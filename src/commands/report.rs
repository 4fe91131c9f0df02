//! `coldlink report`: re-summarise stored records, merging files and runs.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::output::summary;
use super::CommandError;
use crate::cli::{GroupBy, ReportArgs, ReportFormat};
use crate::exit::Exit;
use crate::probe::{IpFamily, ProbeRecord};
use crate::records::{self, family_of, ReadReport, TimeScales};
use crate::stats::{Breakdown, FamilyStats, GroupRow, RunStats, TargetSummary};

#[derive(Serialize)]
struct JsonReport<'a> {
    v: u32,
    files: &'a [PathBuf],
    records: u64,
    unreadable_lines: u64,
    targets: Vec<TargetSummary>,
    /// Targets probed over both IPv4 and IPv6: each family's summary.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    families: Vec<JsonFamily>,
    #[serde(skip_serializing_if = "Option::is_none")]
    breakdown: Option<JsonBreakdown>,
    /// Records of a lab run: measured times, and the speed that turns them
    /// into the scenario's.
    #[serde(skip_serializing_if = "Option::is_none")]
    lab: Option<&'a crate::probe::LabRun>,
}

/// A target's summary over one IP family.
#[derive(Serialize)]
struct JsonFamily {
    family: IpFamily,
    #[serde(flatten)]
    summary: TargetSummary,
}

#[derive(Serialize)]
struct JsonBreakdown {
    by: &'static str,
    targets: Vec<JsonGroups>,
}

#[derive(Serialize)]
struct JsonGroups {
    target: String,
    groups: Vec<GroupRow>,
}

/// Everything read from the files.
pub struct Loaded {
    pub stats: RunStats,
    /// The same records per IP family, for the targets that have both.
    pub families: FamilyStats,
    pub breakdown: Option<Breakdown>,
    pub read: ReadReport,
    /// The lab run the records name, if any (one: runs at other speeds,
    /// or real probes beside it, are refused): their times are measured,
    /// the scenario's are `speed` times longer.
    pub lab: Option<crate::probe::LabRun>,
}

/// Read every file (streaming) into merged stats and an optional breakdown.
/// A file that cannot be opened is bad input; a bad line is not. Records
/// on different time scales (lab runs at two speeds, or lab and real) are
/// refused: their targets would merge and one speed would label them all.
pub fn load(files: &[PathBuf], by: Option<GroupBy>) -> Result<Loaded, CommandError> {
    let mut stats = RunStats::default();
    let mut families = FamilyStats::default();
    let mut breakdown = by.map(|_| Breakdown::default());
    let mut read = ReadReport::default();
    let mut scales = TimeScales::default();
    for path in files {
        let reader = records::open(path).map_err(|source| CommandError::Unreadable {
            path: path.clone(),
            source,
        })?;
        records::for_each_record(path, reader, &mut read, |r| {
            stats.record(&r);
            if let Some(family) = family_of(&r) {
                families.record(family, &r);
            }
            let lab = r.lab.as_deref().map(|l| (l.scenario.as_str(), l.speed));
            scales.saw(lab, Some(path));
            if let (Some(b), Some(by)) = (breakdown.as_mut(), by) {
                b.record(group_key(by, &r), &r);
            }
        });
    }
    if let Some(what) = scales.mixed() {
        return Err(CommandError::MixedRuns {
            flag: "",
            command: "report",
            what,
            paths: files.to_vec(),
        });
    }
    Ok(Loaded {
        stats,
        families,
        breakdown,
        read,
        lab: scales.lab().cloned(),
    })
}

pub fn run(args: &ReportArgs, stdout: &mut impl Write, stderr: &mut impl Write) -> anyhow::Result<Exit> {
    let loaded = load(&args.files, args.by)?;
    if loaded.read.bad_lines > 0 {
        writeln!(
            stderr,
            "coldlink report: skipped {} unreadable line(s):",
            loaded.read.bad_lines
        )?;
        for bad in &loaded.read.bad_samples {
            writeln!(stderr, "  {}:{}: {}", bad.path.display(), bad.line, bad.reason)?;
        }
        if loaded.read.bad_lines > loaded.read.bad_samples.len() as u64 {
            writeln!(stderr, "  …")?;
        }
    }
    // A file that yields no record is a wrong path or a broken file, not
    // an empty summary.
    let empty = &loaded.read.files_without_records;
    if !empty.is_empty() {
        return Err(CommandError::NoRecords { paths: empty.clone() }.into());
    }
    match args.format {
        ReportFormat::Text => {
            writeln!(
                stdout,
                "{} record(s) from {} file(s)\n",
                loaded.read.records,
                args.files.len()
            )?;
            if let Some(lab) = &loaded.lab {
                writeln!(
                    stdout,
                    "lab run: scenario {} at speed {}; the times below are measured, the scenario's are {}× longer\n",
                    lab.scenario, lab.speed, lab.speed
                )?;
            }
            write_targets(stdout, &loaded)?;
            if let (Some(b), Some(by)) = (&loaded.breakdown, args.by) {
                writeln!(stdout)?;
                summary::write_breakdown(stdout, by_name(by), &b.rows())?;
            }
        }
        ReportFormat::Json => {
            let doc = JsonReport {
                v: 1,
                files: &args.files,
                records: loaded.read.records,
                unreadable_lines: loaded.read.bad_lines,
                lab: loaded.lab.as_ref(),
                targets: loaded.stats.summaries(),
                families: loaded
                    .stats
                    .targets
                    .iter()
                    .filter_map(|t| loaded.families.dual(&t.name))
                    .flatten()
                    .map(|(family, t)| JsonFamily {
                        family,
                        summary: t.summary(),
                    })
                    .collect(),
                breakdown: loaded
                    .breakdown
                    .as_ref()
                    .zip(args.by)
                    .map(|(b, by)| JsonBreakdown {
                        by: by_name(by),
                        targets: b
                            .rows()
                            .into_iter()
                            .map(|(target, groups)| JsonGroups { target, groups })
                            .collect(),
                    }),
            };
            serde_json::to_writer_pretty(&mut *stdout, &doc).map_err(std::io::Error::from)?;
            writeln!(stdout)?;
        }
    }
    stdout.flush()?;
    Ok(Exit::Ok)
}

/// Every target's summary; a target probed over both IPv4 and IPv6 is
/// followed by one block per family, since a path broken on one family
/// only is what averaging the two would hide. With one family the output
/// is what it always was.
fn write_targets(w: &mut impl Write, loaded: &Loaded) -> std::io::Result<()> {
    for (i, t) in loaded.stats.targets.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        summary::write_target(w, t)?;
        let Some(split) = loaded.families.dual(&t.name) else {
            continue;
        };
        for (family, f) in split {
            writeln!(w)?;
            summary::write_titled(
                w,
                &format!("{} over {}  {}", t.name, family_label(family), t.url),
                f,
            )?;
        }
        let unknown = t.probes - split.iter().map(|(_, f)| f.probes).sum::<u64>();
        if unknown > 0 {
            writeln!(
                w,
                "  ({unknown} more probe(s) of {} name no family: they failed before a connection was made)",
                t.name
            )?;
        }
    }
    Ok(())
}

fn family_label(f: IpFamily) -> &'static str {
    match f {
        IpFamily::Ipv4 => "IPv4",
        IpFamily::Ipv6 => "IPv6",
    }
}

fn by_name(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Family => "family",
        GroupBy::Remote => "remote",
        GroupBy::Conn => "conn",
        GroupBy::Minute => "minute",
        GroupBy::Vantage => "vantage",
    }
}

fn group_key(by: GroupBy, r: &ProbeRecord) -> String {
    match by {
        GroupBy::Family => family_of(r).map_or("(unknown)", IpFamily::as_str).to_string(),
        // Records written before the field, or by a tool that set none.
        GroupBy::Vantage => r.vantage.as_deref().unwrap_or("(unknown)").to_string(),
        GroupBy::Remote => r
            .remote
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(no connection)".into()),
        // Connection ids are unique within one run: the run id comes first.
        GroupBy::Conn => match &r.conn {
            Some(c) => format!("{}#{}", r.run.as_deref().unwrap_or("?"), c.id),
            None => "(no connection)".into(),
        },
        // "2026-11-21T10:00:00.123456Z" → "2026-11-21T10:00Z"
        GroupBy::Minute => {
            let at = r.at.to_string();
            at.get(..16).map(|m| format!("{m}Z")).unwrap_or(at)
        }
    }
}

//! Report formats, each a pure serialiser of a [`Report`] into `impl Write`.

pub(crate) mod config_table;
pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

use std::io::{self, Write};

use super::report::{Plots, Report};

/// `--format` of `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnoseFormat {
    /// For a terminal: verdict first, colour unless NO_COLOR or not a terminal.
    Text,
    /// Markdown, for a ticket or a chat.
    Md,
    /// One JSON document (schema version 1, docs/report.schema.json).
    Json,
    /// One self-contained HTML file with plots.
    Html,
}

/// Write `report` in `format`; `color` only matters for text.
pub fn write(
    report: &Report,
    plots: &Plots,
    format: DiagnoseFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        DiagnoseFormat::Text => text::write(report, color, out),
        DiagnoseFormat::Md => markdown::write(report, out),
        DiagnoseFormat::Json => json::write(report, out),
        DiagnoseFormat::Html => html::write(report, plots, out),
    }
}

/// `api over IPv6`: a dual-stack target's row for one family.
pub(crate) fn over(name: &str, family: crate::probe::IpFamily) -> String {
    format!("{name} over {}", crate::diagnose::finding::family_name(family))
}

/// `p50 · p90 · p99` of a quantile set, human units.
pub(crate) fn spread(q: &super::report::Quantiles) -> String {
    use crate::format::human_ms;
    format!(
        "{} · {} · {} · max {}",
        human_ms(q.p50),
        human_ms(q.p90),
        human_ms(q.p99),
        human_ms(q.max)
    )
}

/// A sweep row's latency for people: the median of three probes or more,
/// else each probe's own time, since a median of two is a time neither took.
/// A duration of the report (scenario time) and, for a lab run, what was
/// measured: `30 s (600 ms measured)`.
pub(crate) fn with_measured(scenario_ms: f64, scale: f64) -> String {
    let shown = crate::format::human_ms(scenario_ms);
    if scale == 1.0 || !scale.is_finite() || scale <= 0.0 {
        shown
    } else {
        format!(
            "{shown} ({} measured)",
            crate::format::human_ms(scenario_ms / scale)
        )
    }
}

pub(crate) fn sweep_latency(row: &super::report::SweepRow) -> String {
    use crate::format::human_ms;
    match &row.values_ms {
        Some(values) => {
            let each: Vec<String> = values.iter().map(|&ms| human_ms(ms)).collect();
            format!("took {}", each.join(", "))
        }
        None => format!("p50 {}", human_ms(row.p50_ms)),
    }
}

/// The X-Ray section as lines, for every format: what was found, and where
/// the time went (p50 · p99), over all traces and over the slow ones.
pub(crate) fn xray_lines(ev: &super::xray::XrayEvidence) -> Vec<String> {
    use crate::format::human_ms;
    let mut lines = Vec::new();
    if let Some(e) = &ev.error {
        lines.push(format!("the lookup failed: {e}"));
    }
    lines.extend(ev.notes.iter().cloned());
    let cwl = ev.destination.as_deref() == Some("CloudWatchLogs");
    if cwl {
        lines.push(
            "spans go to CloudWatch Logs (Transaction Search): traces read back with StartTraceRetrieval"
                .into(),
        );
    }
    lines.push(format!(
        "{} of {} probes' traces found{}",
        ev.traces_found,
        ev.probes_looked_up,
        if ev.missing > 0 && ev.error.is_some() {
            format!("; {} not found before the lookup failed", ev.missing)
        } else if ev.missing > 0 {
            format!(
                "; {} never came back (not sampled, an HTTP API, not in {} yet, or looked up in another region)",
                ev.missing,
                if cwl { "CloudWatch Logs" } else { "X-Ray" }
            )
        } else {
            String::new()
        }
    ));
    for (why, n) in &ev.unreadable {
        lines.push(format!("{n} traces unreadable: {why}"));
    }
    let part = |name: &str, s: &Option<super::xray::Spread>| {
        s.map(|s| format!("{name} {} · {}", human_ms(s.p50), human_ms(s.p99)))
    };
    for (label, p) in [
        ("all", &ev.breakdown_ms),
        ("slow or failed", &ev.slow_breakdown_ms),
    ] {
        let parts: Vec<String> = [
            part("before the gateway", &p.before_gateway),
            part("gateway", &p.gateway),
            part("integration", &p.integration),
            part("app", &p.app).or_else(|| p.gateway.map(|_| "app not traced".to_string())),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            lines.push(format!("{label} (p50 · p99): {}", parts.join("; ")));
        }
    }
    if let Some(w) = &ev.window_search {
        let p = &w.breakdown_ms;
        let parts: Vec<String> = [
            part("gateway", &p.gateway),
            part("integration", &p.integration),
            part("app", &p.app),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut line = format!(
            "the stage's other traces in the run's window (GetTraceSummaries): {} read",
            w.traces_found
        );
        if !parts.is_empty() {
            line.push_str(&format!(" (p50 · p99): {}", parts.join("; ")));
        }
        if let Some(e) = &w.error {
            line.push_str(&format!("; the search failed: {e}"));
        }
        lines.push(line);
    }
    lines
}

/// The CloudWatch section as lines, for every format: the window, then one
/// line per series with data: over the run, and in the slow probes' minutes.
pub(crate) fn cloudwatch_lines(ev: &super::cloudwatch::CloudWatchEvidence) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(e) = &ev.error {
        lines.push(format!("the lookup failed: {e}"));
    }
    lines.extend(ev.notes.iter().cloned());
    if let Some([start, end]) = &ev.window {
        lines.push(format!(
            "minutes {start} to {end}; {} with a slow or failed probe",
            ev.slow_minutes.len()
        ));
    }
    for m in ev.metrics.iter().filter(|m| !m.values.is_empty()) {
        let over_run = cloudwatch_aggregate(&m.stat, &m.values);
        let slow: Vec<f64> = m
            .timestamps
            .iter()
            .zip(&m.values)
            .filter(|(t, _)| ev.slow_minutes.contains(t))
            .map(|(_, v)| *v)
            .collect();
        let in_slow = if slow.is_empty() || slow.len() == m.values.len() {
            String::new()
        } else {
            format!(
                "; {} in the slow minutes",
                cloudwatch_value(&m.name, cloudwatch_aggregate(&m.stat, &slow))
            )
        };
        let zone = m
            .dimensions
            .get("AvailabilityZone")
            .map(|z| format!(" in {z}"))
            .unwrap_or_default();
        // An ALB's health reads like an NLB's: say whose it is.
        let whose = if m.namespace == crate::aws::cloudwatch::ALB_NAMESPACE {
            "ALB "
        } else {
            ""
        };
        lines.push(format!(
            "{whose}{}{zone} ({}, per minute): {} over the run{in_slow}",
            m.name,
            m.stat.to_lowercase(),
            cloudwatch_value(&m.name, over_run)
        ));
    }
    lines
}

/// A statistic over several minutes: sums add up, extremes stay extreme,
/// averages are averaged.
fn cloudwatch_aggregate(stat: &str, values: &[f64]) -> f64 {
    match stat {
        "Sum" => values.iter().sum(),
        "Maximum" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "Minimum" => values.iter().copied().fold(f64::INFINITY, f64::min),
        _ => values.iter().sum::<f64>() / values.len() as f64,
    }
}

/// Latencies in human units, counts as numbers.
fn cloudwatch_value(name: &str, v: f64) -> String {
    if name.contains("Latency") {
        crate::format::human_ms(v)
    } else if name == "TargetResponseTime" {
        // The ALB publishes it in seconds.
        crate::format::human_ms(v * 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod xray_lines_tests {
    use super::super::xray::XrayEvidence;
    use super::xray_lines;

    /// Spans in CloudWatch Logs: the section says where the traces were
    /// read, gives the notes, and names CloudWatch Logs for missing ones.
    #[test]
    fn transaction_search_is_named() {
        let ev = XrayEvidence {
            probes_looked_up: 3,
            traces_found: 1,
            missing: 2,
            destination: Some("CloudWatchLogs".into()),
            notes: vec!["a note".into()],
            ..XrayEvidence::default()
        };
        let lines = xray_lines(&ev);
        assert_eq!(lines[0], "a note");
        assert!(
            lines[1].starts_with("spans go to CloudWatch Logs (Transaction Search)"),
            "{lines:?}"
        );
        assert!(lines[2].contains("not in CloudWatch Logs yet"), "{lines:?}");
    }
}

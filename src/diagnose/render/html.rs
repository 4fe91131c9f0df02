//! `--format html`: one self-contained file for a ticket or a post-mortem.
//! Long because the page is one document (CSS, tables, three SVG plots) and
//! a third of the file is its tests; escaping, code spans and axis ticks
//! have modules of their own.
//!
//! Same content and order as the text and Markdown formats (verdict first,
//! then findings, then the numbers), plus three plots in between that show
//! the cause: latency over time, latency against the quiet gap before a
//! request, and per-phase distributions. Everything is inline (CSS and SVG,
//! no script, no font, no link) so the file opens anywhere, offline, and
//! can be attached as is. Every string from the report is escaped: target
//! names, titles and URLs come from users and can contain anything.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use crate::diagnose::finding::{Finding, Severity};
use crate::diagnose::report::{phase_bin_edges, Plots, Quantiles, Report};
use crate::diagnose::Cause;
use crate::format::{clip, human_ms};
use crate::probe::Phase;

mod cloudwatch;
mod inline;
mod ticks;

use inline::inline;
use ticks::Unit;

pub fn write(report: &Report, plots: &Plots, out: &mut dyn Write) -> io::Result<()> {
    // Build the page in memory and write it once: the plots are thousands of
    // small pieces and `out` may be an unbuffered file or pipe.
    let mut s = String::with_capacity(64 * 1024);
    page(&mut s, report, plots).map_err(|_| io::Error::other("formatting the HTML report failed"))?;
    out.write_all(s.as_bytes())
}

fn page(s: &mut String, r: &Report, plots: &Plots) -> fmt::Result {
    head(s, r)?;
    verdict(s, r)?;
    if !r.findings.is_empty() {
        s.push_str("<h2>Findings</h2>\n");
        for f in &r.findings {
            finding(s, f)?;
        }
    }
    s.push_str("<h2>Plots</h2>\n");
    plot_over_time(s, r, plots)?;
    // The metrics per minute right under the requests over time, so that a
    // rise lines up with the requests that suffered.
    if let Some(ev) = &r.aws.cloudwatch {
        cloudwatch::plot(s, ev)?;
    }
    plot_vs_gap(s, r, plots)?;
    plot_phases(s, plots)?;
    targets_table(s, r)?;
    phases_table(s, r)?;
    sweep_table(s, r)?;
    if let Some(ev) = &r.aws.xray {
        s.push_str("<h2>AWS X-Ray</h2>\n");
        list(s, "ul", &super::xray_lines(ev))?;
    }
    if let Some(ev) = &r.aws.cloudwatch {
        s.push_str("<h2>AWS CloudWatch</h2>\n");
        list(s, "ul", &super::cloudwatch_lines(ev))?;
    }
    notes(s, r)?;
    write!(
        s,
        "<footer>{}</footer>\n</body>\n</html>\n",
        esc(&super::text::source_line(r))
    )
}

// ---------------------------------------------------------------------------
// Page, verdict, findings

/// Colours follow `prefers-color-scheme`; the plots draw with `currentColor`
/// and CSS variables so they follow too.
const CSS: &str = r#"
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;
--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--info:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;
--panel:#151b23;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--info:#4493f8}}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);
max-width:1000px;margin:2em auto;padding:0 1em}
h1{font-size:2em;margin:.1em 0}h2{margin-top:1.8em;border-bottom:1px solid var(--line)}h3{margin:.3em 0}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.verdict{border-left:8px solid;padding:.6em 1em;background:var(--panel);border-radius:4px}
.verdict.ok{border-color:var(--ok)}.verdict.ok h1{color:var(--ok)}
.verdict.bad{border-color:var(--bad)}.verdict.bad h1{color:var(--bad)}
.verdict.warn{border-color:var(--warn)}.verdict.warn h1{color:var(--warn)}
.verdict .tested{margin:.4em 0 0}.verdict ul{margin:.2em 0}
.verdict .summary{font-size:1.15em;margin:.2em 0}
.kicker,.muted,footer,figcaption{color:var(--muted)}.kicker{margin:0;font-size:.9em}
.finding{border:1px solid var(--line);border-radius:6px;padding:.6em 1em;margin:1em 0}
.badge{display:inline-block;padding:0 .55em;border-radius:1em;color:#fff;font-weight:600;font-size:.85em}
.badge.critical{background:var(--bad)}.badge.warning{background:var(--warn)}.badge.info{background:var(--info)}
figure{margin:1.5em 0}svg{max-width:100%;height:auto;display:block}
svg text{fill:currentColor;font-size:11px}svg .title{font-size:14px;font-weight:600}
svg .frame{fill:none;stroke:var(--muted)}svg .grid{stroke:var(--line);stroke-width:.6}
svg .tick{stroke:var(--muted)}svg .ytick{text-anchor:end}svg .xtick{text-anchor:middle}
svg .axis-title{fill:var(--muted);font-size:12px}svg .small{font-size:9px}
svg .dots{fill:none;stroke-width:4.5;stroke-linecap:round;opacity:.75}
svg .bad{stroke:var(--fg);stroke-width:1.3;stroke-linejoin:round}
svg .slow{stroke:#d7191c;stroke-dasharray:6 4;stroke-width:1.2}
svg .ref{stroke:var(--muted);stroke-dasharray:2 3;stroke-width:1.2}
table{border-collapse:collapse;margin:.8em 0}th,td{padding:.25em .7em;border-bottom:1px solid var(--line);
text-align:left;vertical-align:top}th{background:var(--panel)}.num{text-align:right;white-space:nowrap}
.url{color:var(--muted);font-size:.8em;word-break:break-all}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.4em}
footer{margin-top:2em;border-top:1px solid var(--line);padding-top:.5em;font-size:.9em}
"#;

fn head(s: &mut String, r: &Report) -> fmt::Result {
    write!(
        s,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"coldlink\">\n\
         <title>coldlink diagnosis: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(r.verdict.as_str())
    )
}

fn verdict(s: &mut String, r: &Report) -> fmt::Result {
    let class = match r.verdict {
        Cause::Healthy => "ok",
        Cause::Inconclusive => "warn",
        _ => "bad",
    };
    write!(
        s,
        "<header class=\"verdict {class}\">\n<p class=\"kicker\">coldlink diagnosis</p>\n\
         <h1>Verdict: {}</h1>\n<p class=\"summary\">{}</p>\n<p class=\"tested\">Tested: {}</p>\n",
        esc(r.verdict.as_str()),
        inline(&r.summary),
        esc(&r.tested)
    )?;
    if !r.untested.is_empty() {
        s.push_str("<p class=\"tested\">Not tested:</p>\n<ul>\n");
        for u in &r.untested {
            writeln!(
                s,
                "<li><code>{}</code>: {}. Run <code>{}</code> ({}).</li>",
                esc(u.cause.as_str()),
                esc(&u.why),
                esc(&u.run),
                crate::format::about(u.takes_s)
            )?;
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</header>\n");
    Ok(())
}

fn finding(s: &mut String, f: &Finding) -> fmt::Result {
    let sev = match f.severity {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    write!(
        s,
        "<section class=\"finding\">\n<p><span class=\"badge {sev}\">{sev}</span> <code>{}</code> \
         <span class=\"muted\">confidence {:.2}</span></p>\n<h3>{}</h3>\n",
        esc(f.cause.as_str()),
        f.confidence,
        inline(&f.title)
    )?;
    list(s, "ul", &f.evidence)?;
    if !f.fix.is_empty() {
        s.push_str("<p><strong>What to change:</strong></p>\n");
        list(s, "ol", &f.fix)?;
    }
    if !f.targets.is_empty() {
        let names: Vec<String> = f.targets.iter().map(|t| esc(t)).collect();
        writeln!(s, "<p class=\"muted\">Targets: {}</p>", names.join(", "))?;
    }
    s.push_str("</section>\n");
    Ok(())
}

/// `<ul>` or `<ol>` of escaped lines, code spans set as code; nothing when
/// there are none.
fn list(s: &mut String, tag: &str, items: &[String]) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(s, "<{tag}>")?;
    for item in items {
        writeln!(s, "<li>{}</li>", inline(item))?;
    }
    writeln!(s, "</{tag}>")
}

// ---------------------------------------------------------------------------
// Tables

fn targets_table(s: &mut String, r: &Report) -> fmt::Result {
    s.push_str("<h2>Targets</h2>\n");
    if r.targets.is_empty() {
        s.push_str("<p>No targets.</p>\n");
        return Ok(());
    }
    s.push_str(
        "<table>\n<thead><tr><th>target</th><th>kind</th><th class=\"num\">probes</th>\
         <th class=\"num\">failed</th><th class=\"num\">p50</th><th class=\"num\">p90</th>\
         <th class=\"num\">p99</th><th class=\"num\">max</th></tr></thead>\n<tbody>\n",
    );
    for (i, t) in r.targets.iter().enumerate() {
        let q = &t.total_ms;
        // The swatch ties each row to its colour in the plots.
        writeln!(
            s,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}<br><code class=\"url\">{}</code></td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            colour(i),
            esc(&t.name),
            esc(&t.url),
            esc(&t.kind),
            t.probes,
            t.errors,
            esc(&human_ms(q.p50)),
            esc(&human_ms(q.p90)),
            esc(&human_ms(q.p99)),
            esc(&human_ms(q.max))
        )?;
    }
    s.push_str("</tbody>\n</table>\n");
    Ok(())
}

/// Median of each phase per target; p90/p99/max in the cell's tooltip.
fn phases_table(s: &mut String, r: &Report) -> fmt::Result {
    // Phases in the order a request goes through them (the map's order).
    let mut names: Vec<Phase> = r
        .targets
        .iter()
        .flat_map(|t| t.phases_ms.keys().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    s.push_str("<h3>Phase medians (p50)</h3>\n<table>\n<thead><tr><th>target</th>");
    for n in &names {
        write!(s, "<th class=\"num\">{}</th>", esc(n.as_str()))?;
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for t in &r.targets {
        write!(s, "<tr><td>{}</td>", esc(&t.name))?;
        for n in &names {
            match t.phases_ms.get(n) {
                Some(q) => write!(
                    s,
                    "<td class=\"num\" title=\"{}\">{}</td>",
                    esc(&tooltip(q)),
                    esc(&human_ms(q.p50))
                )?,
                None => s.push_str("<td class=\"num\">–</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    Ok(())
}

fn tooltip(q: &Quantiles) -> String {
    format!(
        "p90 {} · p99 {} · max {}",
        human_ms(q.p90),
        human_ms(q.p99),
        human_ms(q.max)
    )
}

fn sweep_table(s: &mut String, r: &Report) -> fmt::Result {
    if r.idle_sweep.is_empty() {
        return Ok(());
    }
    s.push_str(
        "<h2>After a quiet gap (first requests)</h2>\n<table>\n<thead><tr><th class=\"num\">gap</th>\
         <th class=\"num\">probes</th><th class=\"num\">slow or failed</th><th class=\"num\">latency</th>\
         </tr></thead>\n<tbody>\n",
    );
    for row in &r.idle_sweep {
        writeln!(
            s,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(&human_ms(row.gap_ms)),
            row.probes,
            row.slow,
            esc(&super::sweep_latency(row))
        )?;
    }
    s.push_str("</tbody>\n</table>\n");
    Ok(())
}

fn notes(s: &mut String, r: &Report) -> fmt::Result {
    if r.notes.is_empty() {
        return Ok(());
    }
    s.push_str("<h2>Notes</h2>\n");
    list(s, "ul", &r.notes)
}

// ---------------------------------------------------------------------------
// Plots

/// Colours of targets in report order. None is red: red is the slow threshold.
const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#8c564b", "#7f7f7f", "#bcbd22",
];

fn colour(target: usize) -> &'static str {
    PALETTE[target % PALETTE.len()]
}

// Scatter plot geometry (SVG user units): the plot area, then a legend column
// on the right so long target names never cover points.
const W: f64 = 960.0;
const H: f64 = 380.0;
const LEFT: f64 = 76.0;
const TOP: f64 = 40.0;
const RIGHT: f64 = 740.0;
const BOTTOM: f64 = 326.0;

/// The NLB's default idle timeout: the usual suspect for slow first requests.
const NLB_IDLE_MS: f64 = 350_000.0;

/// Latency of every request over time, one colour per target.
fn plot_over_time(s: &mut String, r: &Report, plots: &Plots) -> fmt::Result {
    let ok = |p: &&(f64, f64, bool)| p.0.is_finite() && p.1.is_finite();
    let points = || plots.over_time.iter().flat_map(|(_, pts)| pts.iter().filter(ok));
    if points().next().is_none() {
        return para(s, "No probes to plot over time.");
    }
    let t_max = points().map(|p| p.0 * 1000.0).fold(0.0, f64::max);
    let slow = slow_ms(r);
    let frame = Frame {
        // At least a second wide, so a single instant still gets readable ticks.
        x: Axis::linear(0.0, (t_max * 1.02).max(1000.0), LEFT, RIGHT),
        y: Axis::log_fit(points().map(|p| p.1).chain(slow), BOTTOM, TOP),
    };
    svg_open(s, W, H, "Total latency of each request over time")?;
    frame.axes(s, "time since start", "total latency (log scale)")?;
    let mut legend = bad_legend();
    if let Some(ms) = slow {
        frame.hline(s, ms, "slow")?;
        legend.push((Swatch::Rule("slow"), format!("slow threshold {}", human_ms(ms))));
    }
    let at = |p: &(f64, f64, bool)| frame.at(p.0 * 1000.0, p.1);
    for (i, (name, pts)) in plots.over_time.iter().enumerate() {
        dots(s, colour(i), name, pts.iter().filter(ok).filter(|p| !p.2).map(at))?;
        legend.push((Swatch::Dot(colour(i)), name.clone()));
    }
    // Bad points after all dots, so no target's dots hide another's.
    for (i, (name, pts)) in plots.over_time.iter().enumerate() {
        marks(s, colour(i), name, pts.iter().filter(ok).filter(|p| p.2).map(at))?;
    }
    draw_legend(s, &legend)?;
    svg_close(
        s,
        &format!("Each dot is one request, coloured by target; {BAD_CAPTION}"),
    )
}

/// The first request after each quiet gap: slow ones beyond some gap length
/// are the picture of an idle timer dropping connections.
fn plot_vs_gap(s: &mut String, r: &Report, plots: &Plots) -> fmt::Result {
    let ok = |p: &&(f64, f64, bool, u16)| p.0.is_finite() && p.1.is_finite();
    let points = || plots.vs_gap.iter().filter(ok);
    if points().next().is_none() {
        return para(
            s,
            "No request followed a quiet gap, so there is no latency-vs-gap plot.",
        );
    }
    let slow = slow_ms(r);
    // Gaps of 0 (or below the axis) are clamped onto its left edge by `Axis::px`.
    let frame = Frame {
        x: Axis::log_fit(points().map(|p| p.0), LEFT, RIGHT),
        y: Axis::log_fit(points().map(|p| p.1).chain(slow), BOTTOM, TOP),
    };
    svg_open(s, W, H, "Latency of the first request after a quiet gap")?;
    frame.axes(
        s,
        "quiet gap before the request (log scale)",
        "total latency (log scale)",
    )?;
    let mut legend = bad_legend();
    if let Some(ms) = slow {
        frame.hline(s, ms, "slow")?;
        legend.push((Swatch::Rule("slow"), format!("slow threshold {}", human_ms(ms))));
    }
    if frame.x.contains(NLB_IDLE_MS) {
        frame.vline(s, NLB_IDLE_MS, "ref")?;
        legend.push((Swatch::Rule("ref"), "NLB default idle (350 s)".to_string()));
    }
    let mut targets: Vec<u16> = points().map(|p| p.3).collect();
    targets.sort_unstable();
    targets.dedup();
    let name = |t: u16| {
        plots
            .over_time
            .get(t as usize)
            .map_or_else(|| format!("target #{t}"), |(n, _)| n.clone())
    };
    let at = |p: &(f64, f64, bool, u16)| frame.at(p.0, p.1);
    for &t in &targets {
        let xy = points().filter(|p| p.3 == t && !p.2).map(at);
        dots(s, colour(t as usize), &name(t), xy)?;
        legend.push((Swatch::Dot(colour(t as usize)), name(t)));
    }
    // Bad points after all dots, so no target's dots hide another's.
    for &t in &targets {
        let xy = points().filter(|p| p.3 == t && p.2).map(at);
        marks(s, colour(t as usize), &name(t), xy)?;
    }
    draw_legend(s, &legend)?;
    svg_close(
        s,
        &format!(
            "Each dot is the first request after the client sent nothing for the gap on the x axis (gaps of 0 \
             sit on the left edge), coloured by target; {BAD_CAPTION} If requests turn slow beyond some gap, \
             an idle timer of about that length on the path drops connections."
        ),
    )
}

/// Small multiples: one row per phase, one histogram per target, all on the
/// same log-spaced x axis so a second hump (retries, timeouts) lines up.
fn plot_phases(s: &mut String, plots: &Plots) -> fmt::Result {
    let edges = phase_bin_edges();
    let data: Vec<&(String, Phase, Vec<u64>)> = plots
        .phases
        .iter()
        .filter(|d| d.2.iter().any(|&n| n > 0))
        .collect();
    let (Some(first), Some(last)) = (
        data.iter().filter_map(|d| d.2.iter().position(|&n| n > 0)).min(),
        data.iter().filter_map(|d| d.2.iter().rposition(|&n| n > 0)).max(),
    ) else {
        return para(s, "No phase timings to plot.");
    };
    if edges.is_empty() {
        return para(s, "No phase timings to plot.");
    }
    let rows: Vec<Phase> = Phase::ALL
        .into_iter()
        .filter(|p| data.iter().any(|d| d.1 == *p))
        .collect();
    let mut cols: Vec<&str> = Vec::new();
    for d in &data {
        if !cols.contains(&d.0.as_str()) {
            cols.push(&d.0);
        }
    }
    // The used bins plus one on each side, shared by every chart.
    let (lo, hi) = (
        bin_bounds(&edges, first).0 / 2.0,
        bin_bounds(&edges, last).1 * 2.0,
    );

    const LABEL_W: f64 = 70.0;
    const HEADER: f64 = 62.0;
    const BARS_H: f64 = 54.0;
    const ROW_H: f64 = 86.0;
    let cell_w = ((W - LABEL_W - 16.0) / cols.len() as f64).clamp(150.0, 440.0);
    let width = LABEL_W + cell_w * cols.len() as f64 + 16.0;
    let height = HEADER + ROW_H * rows.len() as f64 + 4.0;
    svg_open(
        s,
        width,
        height,
        "Time spent in each phase (histograms, log-spaced bins)",
    )?;
    for (c, name) in cols.iter().enumerate() {
        let x = LABEL_W + cell_w * c as f64 + cell_w / 2.0;
        let chars = (cell_w / 7.0) as usize;
        write!(
            s,
            "<text class=\"xtick\" x=\"{}\" y=\"{}\" style=\"fill:{}\"><title>{}</title>{}</text>",
            N(x),
            N(HEADER - 10.0),
            target_colour(plots, name, c),
            esc(name),
            esc(&clip(name, chars))
        )?;
    }
    for (r, phase) in rows.iter().enumerate() {
        let base = HEADER + ROW_H * r as f64 + BARS_H;
        write!(
            s,
            "<text x=\"8\" y=\"{}\" font-weight=\"600\">{}</text>",
            N(base - BARS_H / 2.0),
            esc(phase.as_str())
        )?;
        for (c, name) in cols.iter().enumerate() {
            let x0 = LABEL_W + cell_w * c as f64;
            let axis = Axis::log(lo, hi, x0 + 8.0, x0 + cell_w - 12.0);
            let counts = data
                .iter()
                .find(|d| d.0 == *name && d.1 == *phase)
                .map(|d| d.2.as_slice());
            let cell = Cell {
                axis,
                base,
                height: BARS_H,
                colour: target_colour(plots, name, c),
            };
            cell.draw(s, *phase, counts, &edges)?;
        }
    }
    svg_close(
        s,
        "How long each phase took, per target: bars count requests in bins that each double the previous \
         one; bar heights are on a square-root scale (so a few slow requests still show), relative to the \
         tallest bar of each chart (n = requests). A second hump far to the right of \
         the first is the mark of waiting on a timer, e.g. a retransmitted SYN in connect or a retried \
         DNS query.",
    )
}

/// The colour a target has in the other plots (its index in `over_time`).
fn target_colour(plots: &Plots, name: &str, fallback: usize) -> &'static str {
    colour(
        plots
            .over_time
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or(fallback),
    )
}

/// `[lo, hi)` of bin `k` of `edges`. The open-ended last bin (and any bin
/// past the edges) is drawn one step wide, at the edges' own ratio.
fn bin_bounds(edges: &[f64], k: usize) -> (f64, f64) {
    let last = edges.len() - 1;
    let step = if last > 0 {
        edges[last] / edges[last - 1]
    } else {
        2.0
    };
    let lo = if k <= last {
        edges[k]
    } else {
        edges[last] * step.powi((k - last) as i32)
    };
    (lo, edges.get(k + 1).copied().unwrap_or(lo * step))
}

/// One histogram of the phase grid.
struct Cell {
    axis: Axis,
    /// y of the bars' baseline.
    base: f64,
    height: f64,
    colour: &'static str,
}

impl Cell {
    fn draw(&self, s: &mut String, phase: Phase, counts: Option<&[u64]>, edges: &[f64]) -> fmt::Result {
        let (x0, x1) = (self.axis.from, self.axis.to);
        write!(
            s,
            "<line class=\"frame\" x1=\"{}\" x2=\"{}\" y1=\"{b}\" y2=\"{b}\"/>",
            N(x0),
            N(x1),
            b = N(self.base)
        )?;
        // Grid lines through the bars line humps up across rows; about one
        // label per 70 units, so labels never overlap.
        for (v, label) in self.axis.labelled_ticks(((x1 - x0) / 70.0) as usize) {
            let x = N(self.axis.px(v));
            write!(
                s,
                "<line class=\"grid\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>\
                 <text class=\"xtick small\" x=\"{x}\" y=\"{}\">{}</text>",
                N(self.base - self.height),
                N(self.base + 3.0),
                N(self.base + 13.0),
                esc(&label)
            )?;
        }
        let Some(counts) = counts else {
            return write!(
                s,
                "<text class=\"xtick small\" x=\"{}\" y=\"{}\">not measured</text>",
                N((x0 + x1) / 2.0),
                N(self.base - self.height / 2.0)
            );
        };
        let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let last = counts.len().saturating_sub(1);
        for (k, &n) in counts.iter().enumerate().filter(|(_, &n)| n > 0) {
            let (lo, hi) = bin_bounds(edges, k);
            let (bx0, bx1) = (self.axis.px(lo), self.axis.px(hi));
            // Square-root heights: a handful of slow requests next to hundreds
            // of fast ones still shows as a bar, and that tail is the point.
            let h = ((n as f64 / max).sqrt() * self.height).max(2.0);
            // The first bin also holds anything faster, the last anything slower.
            let range = match k {
                0 => format!("below {}", human_ms(hi)),
                k if k == last => format!("{} or more", human_ms(lo)),
                _ => format!("{}–{}", human_ms(lo), human_ms(hi)),
            };
            write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} {}: {n}</title></rect>",
                N(bx0),
                N(self.base - h),
                N((bx1 - bx0 - 1.0).max(1.0)),
                N(h),
                self.colour,
                esc(phase.as_str()),
                esc(&range)
            )?;
        }
        write!(
            s,
            "<text class=\"ytick small\" x=\"{}\" y=\"{}\">n = {}</text>",
            N(x1),
            N(self.base - self.height - 2.0),
            counts.iter().sum::<u64>()
        )
    }
}

/// The `--slow` threshold, when one was set and can be drawn.
fn slow_ms(r: &Report) -> Option<f64> {
    r.source.slow_ms.filter(|ms| ms.is_finite() && *ms > 0.0)
}

fn para(s: &mut String, text: &str) -> fmt::Result {
    writeln!(s, "<p class=\"muted\">{}</p>", esc(text))
}

fn svg_open(s: &mut String, w: f64, h: f64, title: &str) -> fmt::Result {
    // No xmlns: inline SVG in HTML5 doesn't need one, and the file stays free
    // of any URL but the report's own.
    write!(
        s,
        "<figure>\n<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\">\n\
         <text class=\"title\" x=\"{}\" y=\"22\">{t}</text>\n",
        N(LEFT),
        w = N(w),
        h = N(h),
        t = esc(title)
    )
}

fn svg_close(s: &mut String, caption: &str) -> fmt::Result {
    write!(
        s,
        "</svg>\n<figcaption>{}</figcaption>\n</figure>\n",
        esc(caption)
    )
}

/// One target's points as a single path of zero-length segments with round
/// caps (a dot each): far smaller than one `<circle>` per point.
fn dots(s: &mut String, colour: &str, name: &str, xy: impl Iterator<Item = (f64, f64)>) -> fmt::Result {
    write!(s, "<path class=\"dots\" stroke=\"{colour}\" d=\"")?;
    for (x, y) in xy {
        write!(s, "M{} {}h0", N(x), N(y))?;
    }
    writeln!(s, "\"><title>{}</title></path>", esc(name))
}

/// Half the width of the diamond that marks a slow or failed request.
const MARK: f64 = 5.5;

/// One target's slow or failed requests as outlined diamonds filled with its
/// colour: they stand out from the dots and still say whose they are (a red
/// ring around each hid that).
fn marks(s: &mut String, colour: &str, name: &str, xy: impl Iterator<Item = (f64, f64)>) -> fmt::Result {
    let mut d = String::new();
    for (x, y) in xy {
        diamond(&mut d, x, y)?;
    }
    if d.is_empty() {
        return Ok(());
    }
    writeln!(
        s,
        "<path class=\"bad\" fill=\"{colour}\" d=\"{d}\"><title>{}: slow or failed</title></path>",
        esc(name)
    )
}

/// A diamond centred on (x, y), as path data.
fn diamond(d: &mut String, x: f64, y: f64) -> fmt::Result {
    write!(
        d,
        "M{} {}l{m} {m} {n} {m} {n} {n}z",
        N(x),
        N(y - MARK),
        m = N(MARK),
        n = N(-MARK)
    )
}

/// What marks a slow or failed request, for the legend.
fn bad_legend() -> Vec<(Swatch, String)> {
    vec![
        (Swatch::Bad, "slow or failed".to_string()),
        (Swatch::Note, "in its target's colour".to_string()),
    ]
}

/// What marks a slow or failed request, for the captions.
const BAD_CAPTION: &str =
    "an outlined diamond in its target's colour marks a request that was slow or failed.";

/// What a legend entry looks like.
enum Swatch {
    Dot(&'static str),
    /// The diamond of slow or failed requests, unfilled: the fill is the
    /// target's colour.
    Bad,
    /// No swatch: the line says more about the entry above.
    Note,
    /// A line drawn with this CSS class.
    Rule(&'static str),
}

/// The legend column right of the plot area. Fixed entries come first so
/// that, with very many targets, only targets fall off the end.
fn draw_legend(s: &mut String, entries: &[(Swatch, String)]) -> fmt::Result {
    const ROW: f64 = 18.0;
    let x = RIGHT + 22.0;
    let fits = ((BOTTOM - TOP) / ROW) as usize;
    for (i, (swatch, label)) in entries.iter().enumerate() {
        let y = TOP + 8.0 + ROW * i as f64;
        if i + 1 == fits && entries.len() > fits {
            return writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" dy=\".32em\">+{} more</text>",
                N(x),
                N(y),
                entries.len() - i
            );
        }
        match swatch {
            Swatch::Dot(c) => write!(
                s,
                "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{c}\"/>",
                N(x),
                N(y)
            )?,
            Swatch::Bad => {
                let mut d = String::new();
                diamond(&mut d, x, y)?;
                write!(s, "<path class=\"bad\" fill=\"none\" d=\"{d}\"/>")?
            }
            Swatch::Note => {}
            Swatch::Rule(class) => write!(
                s,
                "<line class=\"{class}\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>",
                N(x - 8.0),
                N(x + 8.0),
                y = N(y)
            )?,
        }
        writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" dy=\".32em\"><title>{}</title>{}</text>",
            N(x + 14.0),
            N(y),
            esc(label),
            esc(&clip(label, 26))
        )?;
    }
    Ok(())
}

/// A plot area: `x` maps onto its left..right, `y` onto its bottom..top.
struct Frame {
    x: Axis,
    y: Axis,
}

impl Frame {
    fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.x.px(x), self.y.px(y))
    }

    /// Grid lines, tick labels in one unit per axis, the frame and axis titles.
    fn axes(&self, s: &mut String, x_title: &str, y_title: &str) -> fmt::Result {
        let (l, r, b, t) = (N(self.x.from), N(self.x.to), N(self.y.from), N(self.y.to));
        for (v, label) in self.y.labelled_ticks(7) {
            let y = N(self.y.px(v));
            writeln!(
                s,
                "<line class=\"grid\" x1=\"{l}\" x2=\"{r}\" y1=\"{y}\" y2=\"{y}\"/>\
                 <text class=\"ytick\" x=\"{}\" y=\"{y}\" dy=\".32em\">{}</text>",
                N(self.x.from - 6.0),
                esc(&label)
            )?;
        }
        for (v, label) in self.x.labelled_ticks(9) {
            let x = N(self.x.px(v));
            writeln!(
                s,
                "<line class=\"grid\" x1=\"{x}\" x2=\"{x}\" y1=\"{t}\" y2=\"{b}\"/>\
                 <text class=\"xtick\" x=\"{x}\" y=\"{}\">{}</text>",
                N(self.y.from + 16.0),
                esc(&label)
            )?;
        }
        write!(
            s,
            "<rect class=\"frame\" x=\"{l}\" y=\"{t}\" width=\"{}\" height=\"{}\"/>\n\
             <text class=\"axis-title xtick\" x=\"{}\" y=\"{}\">{}</text>\n\
             <text class=\"axis-title xtick\" transform=\"translate(16 {}) rotate(-90)\">{}</text>\n",
            N(self.x.to - self.x.from),
            N(self.y.from - self.y.to),
            N((self.x.from + self.x.to) / 2.0),
            N(self.y.from + 38.0),
            esc(x_title),
            N((self.y.from + self.y.to) / 2.0),
            esc(y_title)
        )
    }

    /// A horizontal reference line at `v` on the y axis, when it is in range.
    fn hline(&self, s: &mut String, v: f64, class: &str) -> fmt::Result {
        if !self.y.contains(v) {
            return Ok(());
        }
        writeln!(
            s,
            "<line class=\"{class}\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>",
            N(self.x.from),
            N(self.x.to),
            y = N(self.y.px(v))
        )
    }

    /// A vertical reference line at `v` on the x axis, when it is in range.
    fn vline(&self, s: &mut String, v: f64, class: &str) -> fmt::Result {
        if !self.x.contains(v) {
            return Ok(());
        }
        writeln!(
            s,
            "<line class=\"{class}\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
            N(self.y.to),
            N(self.y.from),
            x = N(self.x.px(v))
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
}

/// Maps values (all in ms here) onto the pixel range `from..to`, and picks
/// round ticks.
#[derive(Debug, Clone, Copy)]
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

/// Log axes never go below or above these (ms): keeps tick lists short
/// whatever a corrupt record says.
const LOG_MIN: f64 = 1e-3;
const LOG_MAX: f64 = 1e10;

impl Axis {
    fn linear(lo: f64, hi: f64, from: f64, to: f64) -> Axis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Axis {
            scale: Scale::Linear,
            lo,
            hi,
            from,
            to,
        }
    }

    fn log(lo: f64, hi: f64, from: f64, to: f64) -> Axis {
        let lo = lo.clamp(LOG_MIN, LOG_MAX / 10.0);
        let hi = hi.clamp(lo * 2.0, LOG_MAX);
        Axis {
            scale: Scale::Log,
            lo,
            hi,
            from,
            to,
        }
    }

    /// A log axis around the positive, finite `values`, widened to round
    /// numbers and to at least a decade so it always has ticks.
    fn log_fit(values: impl IntoIterator<Item = f64>, from: f64, to: f64) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for v in values.into_iter().filter(|v| v.is_finite() && *v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if hi == 0.0 {
            (lo, hi) = (1.0, 1000.0);
        }
        let mut lo = nice_floor((lo / 1.2).max(LOG_MIN));
        let mut hi = nice_ceil((hi * 1.2).min(LOG_MAX));
        while hi / lo < 10.0 {
            lo = nice_floor(lo / 1.5);
            hi = nice_ceil(hi * 1.5);
        }
        Axis::log(lo, hi, from, to)
    }

    fn contains(&self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }

    /// Pixel position of `v`; values outside the range (a gap of 0 on a log
    /// axis) sit on the nearest edge rather than off the plot.
    fn px(&self, v: f64) -> f64 {
        let t = match self.scale {
            Scale::Linear => (v - self.lo) / (self.hi - self.lo),
            Scale::Log => (v.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10()),
        };
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
        self.from + t * (self.to - self.from)
    }

    /// At most `max` tick values inside the range.
    fn ticks(&self, max: usize) -> Vec<f64> {
        match self.scale {
            Scale::Linear => linear_ticks(self.lo, self.hi, max),
            Scale::Log => log_ticks(self.lo, self.hi, max),
        }
    }

    /// [`Axis::ticks`] with their labels, all in one unit: the one that
    /// fits the largest tick of a linear axis, or the middle of a log one.
    fn labelled_ticks(&self, max: usize) -> Vec<(f64, String)> {
        let ticks = self.ticks(max);
        let typical = match self.scale {
            Scale::Linear => ticks.iter().fold(0.0, |m: f64, v| m.max(v.abs())),
            Scale::Log => (self.lo * self.hi).sqrt(),
        };
        let unit = Unit::fit(typical);
        ticks.into_iter().map(|v| (v, unit.label(v))).collect()
    }
}

/// Steps of a linear (time) axis, in ms. Past two minutes steps are whole
/// minutes, as the axis is then labelled in minutes (or hours).
fn linear_steps() -> impl Iterator<Item = f64> {
    let small = (-3..5).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)));
    let minutes = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 240.0, 480.0, 1440.0];
    small.chain(minutes.into_iter().map(|m| m * 60_000.0))
}

fn linear_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let step = linear_steps()
        .filter(|&step| hi < 120_000.0 || step >= 60_000.0)
        .find(|&step| (hi - lo) / step <= max.saturating_sub(1) as f64)
        .unwrap_or((hi - lo).max(1.0));
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).take(max.max(1)).map(|k| k as f64 * step).collect()
}

/// Round values for log ticks, in ms: 1-2-5 up to 20 s, then minutes.
fn fine_log_steps() -> impl Iterator<Item = f64> {
    let small = (-3..5)
        .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
        .filter(|&v| v <= 20_000.0);
    let minutes = [
        1.0, 2.0, 5.0, 10.0, 20.0, 60.0, 120.0, 300.0, 600.0, 1440.0, 14_400.0, 144_000.0,
    ];
    small.chain(minutes.into_iter().map(|m| m * 60_000.0))
}

/// Fewer, sparser log ticks for wide ranges: decades up to 100 s, then
/// 10 min and hours.
const COARSE_LOG_STEPS: [f64; 12] = [
    1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 6e5, 3.6e6, 3.6e7,
];

fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    // A relative tolerance so a range ending exactly on a tick keeps it.
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let fine: Vec<f64> = fine_log_steps().filter(inside).collect();
    if fine.len() <= max {
        return fine;
    }
    let coarse: Vec<f64> = COARSE_LOG_STEPS.into_iter().filter(inside).collect();
    let stride = coarse.len().div_ceil(max.max(1)).max(1);
    coarse.into_iter().step_by(stride).collect()
}

/// The largest 1, 2 or 5 × 10ⁿ at or below `v` (> 0).
fn nice_floor(v: f64) -> f64 {
    let base = 10f64.powf(v.log10().floor());
    let m = v / base * (1.0 + 1e-9);
    base * if m >= 5.0 {
        5.0
    } else if m >= 2.0 {
        2.0
    } else {
        1.0
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (> 0).
fn nice_ceil(v: f64) -> f64 {
    let base = 10f64.powf(v.log10().floor());
    let m = v / base * (1.0 - 1e-9);
    base * if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    }
}

// ---------------------------------------------------------------------------
// Text

/// A coordinate with at most one decimal (`12`, `12.5`): keeps the SVG small.
struct N(f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = (self.0 * 10.0).round() / 10.0;
        if !v.is_finite() {
            f.write_str("0")
        } else if v == v.trunc() {
            write!(f, "{}", v as i64)
        } else {
            write!(f, "{v:.1}")
        }
    }
}

/// Escape text for HTML content and double- or single-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // NUL is a parse error in HTML; show it as a replacement character.
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::diagnose::report::{AwsEvidence, SourceInfo, SweepRow, TargetReport, REPORT_VERSION};

    fn q(p50: f64) -> Quantiles {
        Quantiles {
            p50,
            p90: p50 * 2.0,
            p99: p50 * 3.0,
            max: p50 * 4.0,
        }
    }

    fn target(name: &str, url: &str) -> TargetReport {
        let mut phases_ms = BTreeMap::new();
        phases_ms.insert(Phase::Ttfb, q(40.0));
        phases_ms.insert(Phase::Connect, q(1.5));
        TargetReport {
            name: name.into(),
            url: url.into(),
            kind: "execute-api".into(),
            probes: 4,
            errors: 1,
            total_ms: q(45.0),
            phases_ms,
        }
    }

    const URL_A: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/ping?a=1&b=2";
    const URL_B: &str = "http://api.example.com/health";

    fn sample() -> (Report, Plots) {
        let finding = Finding::new(
            Cause::IdleTimeout,
            Severity::Critical,
            0.9,
            "slow <script>alert(1)</script> & co",
        )
        .evidence("4 of 5 first requests after 6 min were slow")
        .fixes(&["set keep-alive < 350 s", "send a request every 5 min"])
        .targets(["api \"a\"".to_string()]);
        let report = Report {
            v: REPORT_VERSION,
            verdict: Cause::IdleTimeout,
            summary: "idle-timeout: connections idle > 350 s are dropped".into(),
            tested: "10 probes <to> 2 targets".into(),
            untested: vec![crate::diagnose::coverage::Untested {
                cause: Cause::Edge,
                why: "one <entry> point".into(),
                run: "coldlink diagnose --lab 'a<b>'".into(),
                takes_s: 17.0,
            }],
            findings: vec![
                finding,
                Finding::new(Cause::SlowTls, Severity::Info, 0.3, "tls 'ok'"),
            ],
            targets: vec![target("api \"a\"", URL_A), target("b<i>", URL_B)],
            idle_sweep: vec![SweepRow {
                gap_ms: 400_000.0,
                probes: 5,
                slow: 4,
                p50_ms: 3100.0,
                values_ms: None,
            }],
            aws: AwsEvidence::default(),
            source: SourceInfo {
                mode: "idle-sweep".into(),
                time_scale: 1.0,
                probes: 8,
                duration_s: 1800.0,
                slow_ms: Some(1000.0),
                ..SourceInfo::default()
            },
            notes: vec!["note with <b>".into()],
        };
        let plots = Plots {
            over_time: vec![
                (
                    "api \"a\"".into(),
                    vec![(0.0, 40.0, false), (1.0, f64::NAN, false), (400.0, 3100.0, true)],
                ),
                (
                    "b<i>".into(),
                    vec![
                        (0.5, 30.0, false),
                        (f64::INFINITY, 20.0, false),
                        (1700.0, 35.0, false),
                    ],
                ),
            ],
            vs_gap: vec![
                (0.0, 40.0, false, 0),
                (400_000.0, 3100.0, true, 0),
                (60_000.0, 35.0, false, 1),
            ],
            phases: vec![
                ("api \"a\"".into(), Phase::Connect, counts(&[(3, 2), (13, 1)])),
                ("api \"a\"".into(), Phase::Ttfb, counts(&[(8, 3)])),
                ("b<i>".into(), Phase::Ttfb, counts(&[(0, 1), (20, 1)])),
            ],
        };
        (report, plots)
    }

    fn counts(bins: &[(usize, u64)]) -> Vec<u64> {
        let mut c = vec![0; phase_bin_edges().len()];
        for &(k, n) in bins {
            c[k] = n;
        }
        c
    }

    fn render(r: &Report, p: &Plots) -> String {
        let mut out = Vec::new();
        write(r, p, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn starts_with_doctype_and_verdict_first() {
        let (r, p) = sample();
        let html = render(&r, &p);
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>coldlink diagnosis: idle-timeout</title>"));
        assert!(html.trim_end().ends_with("</html>"));
        let verdict = html.find("Verdict: idle-timeout").unwrap();
        let finding = html.find("badge critical").unwrap();
        let plot = html.find("<svg").unwrap();
        let table = html.find("<table").unwrap();
        assert!(verdict < finding && finding < plot && plot < table);
        assert!(html.contains("class=\"verdict bad\""));
        assert!(html.contains("badge info"));
    }

    #[test]
    fn draws_three_plots_when_all_data_is_present() {
        let (r, p) = sample();
        let html = render(&r, &p);
        assert_eq!(html.matches("<svg").count(), 3);
        assert_eq!(html.matches("</svg>").count(), 3);
        // Bad points are marked: one over time, one against the gap.
        assert_eq!(
            html.matches("<title>api &quot;a&quot;: slow or failed</title>")
                .count(),
            2
        );
        // Tick labels are in human units.
        assert!(html.contains(">1 s</text>"), "{html}");
        assert!(html.contains("NLB default idle (350 s)"));
    }

    #[test]
    fn escapes_every_report_string() {
        let (r, p) = sample();
        let html = render(&r, &p);
        assert!(html.contains("slow &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(!html.contains("<script"));
        assert!(html.contains("api &quot;a&quot;"));
        assert!(html.contains("b&lt;i&gt;"));
        assert!(!html.contains("b<i>"));
        assert!(html.contains("tls &#39;ok&#39;"));
        assert!(html.contains("note with &lt;b&gt;"));
        assert!(html.contains("?a=1&amp;b=2"));
    }

    #[test]
    fn is_self_contained() {
        let (r, p) = sample();
        let html = render(&r, &p);
        let own: Vec<String> = r.targets.iter().map(|t| esc(&t.url)).collect();
        for scheme in ["http://", "https://"] {
            for (at, _) in html.match_indices(scheme) {
                assert!(
                    own.iter().any(|u| html[at..].starts_with(u.as_str())),
                    "external reference at {at}"
                );
            }
        }
        for asset in ["<script", "<link", "<img", " src=", "@import", "url("] {
            assert!(!html.contains(asset), "{asset}");
        }
    }

    #[test]
    fn skips_non_finite_points() {
        let (r, p) = sample();
        let html = render(&r, &p);
        assert!(!html.contains("NaN"));
        // Every coordinate is a plain finite number.
        for attr in [
            " x=\"",
            " y=\"",
            " cx=\"",
            " cy=\"",
            " x1=\"",
            " x2=\"",
            " y1=\"",
            " y2=\"",
            " width=\"",
        ] {
            for (at, _) in html.match_indices(attr) {
                let rest = &html[at + attr.len()..];
                let value = &rest[..rest.find('"').unwrap()];
                assert!(value.parse::<f64>().is_ok_and(f64::is_finite), "{attr}{value}");
            }
        }
        // The NaN and the infinite point are left out; the other two of each
        // target remain (the first target's second one is slow: a mark).
        let paths: Vec<&str> = html
            .match_indices("class=\"dots\"")
            .map(|(at, _)| &html[at..])
            .collect();
        assert_eq!(paths[0][..paths[0].find("\">").unwrap()].matches('M').count(), 1);
        assert_eq!(paths[1][..paths[1].find("\">").unwrap()].matches('M').count(), 2);
    }

    #[test]
    fn handles_empty_report_and_plots() {
        let (mut r, _) = sample();
        r.verdict = Cause::Healthy;
        r.findings.clear();
        r.targets.clear();
        r.idle_sweep.clear();
        r.notes.clear();
        let html = render(&r, &Plots::default());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("class=\"verdict ok\""));
        assert_eq!(html.matches("<svg").count(), 0);
        assert!(html.contains("No probes to plot over time."));
        assert!(html.contains("no latency-vs-gap plot"));
        assert!(html.contains("No targets."));
        assert!(!html.contains("Findings"));
    }

    #[test]
    fn omits_gap_plot_when_there_are_no_gaps() {
        let (r, mut p) = sample();
        p.vs_gap.clear();
        let html = render(&r, &p);
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("no latency-vs-gap plot"));
    }

    #[test]
    fn stays_small_with_full_series() {
        let (r, mut p) = sample();
        let series = |k: f64| {
            (0..4000)
                .map(|i| (i as f64 * 0.37, 20.0 + (i as f64 * k) % 900.0, i % 10 == 0))
                .collect()
        };
        p.over_time = vec![("a".into(), series(7.3)), ("b".into(), series(3.1))];
        p.vs_gap = (0..4000)
            .map(|i| {
                (
                    i as f64 * 97.0,
                    30.0 + (i % 50) as f64,
                    i % 10 == 0,
                    (i % 2) as u16,
                )
            })
            .collect();
        let html = render(&r, &p);
        assert!(html.len() < 400_000, "{} bytes", html.len());
    }

    #[test]
    fn log_axis_spaces_decades_evenly_and_clamps_zero() {
        let a = Axis::log(1.0, 1000.0, 0.0, 300.0);
        assert_eq!(a.px(1.0), 0.0);
        assert!((a.px(10.0) - 100.0).abs() < 1e-9);
        assert!((a.px(100.0) - 200.0).abs() < 1e-9);
        assert_eq!(a.px(1000.0), 300.0);
        assert_eq!(a.px(0.0), 0.0);
        assert_eq!(a.px(1e9), 300.0);
        let fit = Axis::log_fit([0.0, 30.0, 45.0, f64::NAN], 0.0, 1.0);
        assert!(fit.hi / fit.lo >= 10.0 && fit.lo <= 30.0 && fit.hi >= 45.0);
    }

    #[test]
    fn ticks_read_in_one_unit_per_axis() {
        let labels = |a: Axis, n| a.labelled_ticks(n).into_iter().map(|t| t.1).collect::<Vec<_>>();
        // A 1-2-5 series would need ten ticks here: decades instead.
        assert_eq!(
            labels(Axis::log(1.0, 1000.0, 0.0, 1.0), 7),
            ["1 ms", "10 ms", "100 ms", "1000 ms"]
        );
        assert_eq!(
            labels(Axis::log(20.0, 200.0, 0.0, 1.0), 7),
            ["20 ms", "50 ms", "100 ms", "200 ms"]
        );
        // Issue #14: this axis read "120 s" … "480 s", then "10 min".
        assert_eq!(
            labels(Axis::linear(0.0, 600_000.0, 0.0, 1.0), 9),
            ["0", "2 min", "4 min", "6 min", "8 min", "10 min"]
        );
        assert_eq!(
            labels(Axis::linear(0.0, 30_000.0, 0.0, 1.0), 9),
            ["0", "5 s", "10 s", "15 s", "20 s", "25 s", "30 s"]
        );
    }

    /// The tick labels of each plot axis (x ticks, y ticks) in `svg`.
    fn axis_labels<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
        let open = format!("<text class=\"{class}\"");
        svg.match_indices(&open)
            .map(|(at, _)| {
                let rest = &svg[at..];
                let start = rest.find('>').unwrap() + 1;
                &rest[start..start + rest[start..].find('<').unwrap()]
            })
            .collect()
    }

    #[test]
    fn every_axis_is_labelled_in_one_unit() {
        let (r, p) = sample();
        let html = render(&r, &p);
        for svg in html.split("<svg").skip(1).take(2) {
            for class in ["xtick", "ytick"] {
                let labels = axis_labels(svg, class);
                let units: Vec<&str> = labels
                    .iter()
                    .filter(|l| **l != "0")
                    .map(|l| l.rsplit(' ').next().unwrap())
                    .collect();
                assert!(units.len() > 1, "{class}: {labels:?}");
                assert!(units.iter().all(|u| *u == units[0]), "{class}: {labels:?}");
            }
        }
    }

    #[test]
    fn slow_requests_keep_their_targets_colour() {
        let (r, p) = sample();
        let html = render(&r, &p);
        let marks: Vec<&str> = html
            .match_indices("<path class=\"bad\" fill=\"#")
            .map(|(at, _)| &html[at..at + html[at..].find("</path>").unwrap()])
            .collect();
        // The first target's slow request, over time and against the gap.
        assert_eq!(marks.len(), 2, "{marks:?}");
        for m in marks {
            assert!(m.contains(&format!("fill=\"{}\"", colour(0))), "{m}");
            assert!(m.contains("api &quot;a&quot;: slow or failed"), "{m}");
        }
        assert!(!html.contains("<circle class=\"bad\""), "no red rings");
        assert!(html.contains(">in its target&#39;s colour</text>"));
    }

    #[test]
    fn code_spans_in_report_text_are_code() {
        let (mut r, p) = sample();
        r.notes =
            vec!["idle timers were not tested; run `coldlink diagnose --idle-sweep` to test them".into()];
        r.findings[0].title = "set `keepalive_timeout` <higher>".into();
        let html = render(&r, &p);
        assert!(html.contains("run <code>coldlink diagnose --idle-sweep</code> to test"));
        assert!(html.contains("set <code>keepalive_timeout</code> &lt;higher&gt;"));
        // No backtick left in the page's text.
        assert!(!html.contains('`'), "{html}");
    }

    #[test]
    fn numbers_have_at_most_one_decimal() {
        assert_eq!(N(12.0).to_string(), "12");
        assert_eq!(N(12.345).to_string(), "12.3");
        assert_eq!(N(-0.04).to_string(), "0");
        assert_eq!(N(f64::NAN).to_string(), "0");
    }
}

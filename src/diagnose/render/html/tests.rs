//! Whole-page tests of the HTML report, and of its plot maths.

use std::collections::BTreeMap;

use super::axis::Axis;
use super::plot::colour;
use super::svg::N;
use super::*;
use crate::diagnose::finding::{Finding, Severity};
use crate::diagnose::report::{phase_bin_edges, Quantiles};
use crate::diagnose::report::{AwsEvidence, SourceInfo, SweepRow, TargetReport, REPORT_VERSION};
use crate::diagnose::Cause;
use crate::probe::Phase;

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
        families: Vec::new(),
        path: None,
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
    r.notes = vec!["idle timers were not tested; run `coldlink diagnose --idle-sweep` to test them".into()];
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

//! The page around the plots and tables: head and style, the verdict, one
//! section per finding, lists and notes.

use std::fmt::{self, Write as _};

use super::escape::esc;
use super::inline::inline;
use crate::diagnose::finding::{Finding, Severity};
use crate::diagnose::report::Report;
use crate::diagnose::Cause;

/// Colours follow `prefers-color-scheme`; the plots draw with `currentColor`
/// and CSS variables so they follow too.
const CSS: &str = include_str!("style.css");

pub(super) fn head(s: &mut String, r: &Report) -> fmt::Result {
    write!(
        s,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"coldlink\">\n\
         <title>coldlink diagnosis: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(r.verdict.as_str())
    )
}

pub(super) fn verdict(s: &mut String, r: &Report) -> fmt::Result {
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

pub(super) fn finding(s: &mut String, f: &Finding) -> fmt::Result {
    let sev = match f.severity {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    write!(
        s,
        "<section class=\"finding\">\n<p><span class=\"badge {sev}\">{sev}</span> <code>{}</code> \
         <span class=\"muted\">confidence {:.2}{}</span></p>\n<h3>{}</h3>\n",
        esc(f.cause.as_str()),
        f.confidence,
        if f.from.is_some() {
            " · from the configuration"
        } else {
            ""
        },
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
    if let Some(family) = f.family_note() {
        writeln!(s, "<p class=\"muted\">Family: {}</p>", esc(&family))?;
    }
    if let Some(vantage) = f.vantage_note() {
        writeln!(s, "<p class=\"muted\">Vantage: {}</p>", esc(&vantage))?;
    }
    s.push_str("</section>\n");
    Ok(())
}

/// `<ul>` or `<ol>` of escaped lines, code spans set as code; nothing when
/// there are none.
pub(super) fn list(s: &mut String, tag: &str, items: &[String]) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(s, "<{tag}>")?;
    for item in items {
        writeln!(s, "<li>{}</li>", inline(item))?;
    }
    writeln!(s, "</{tag}>")
}

pub(super) fn notes(s: &mut String, r: &Report) -> fmt::Result {
    if r.notes.is_empty() {
        return Ok(());
    }
    s.push_str("<h2>Notes</h2>\n");
    list(s, "ul", &r.notes)
}

pub(super) fn para(s: &mut String, text: &str) -> fmt::Result {
    writeln!(s, "<p class=\"muted\">{}</p>", esc(text))
}

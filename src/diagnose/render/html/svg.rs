//! SVG pieces every plot draws with: the figure around it, compact
//! coordinates, dots, the diamonds of slow or failed requests, the legend.

use std::fmt::{self, Write as _};

use super::escape::esc;
use crate::format::clip;

// Scatter plot geometry (SVG user units): the plot area, then a legend column
// on the right so long target names never cover points.
pub(super) const W: f64 = 960.0;
pub(super) const H: f64 = 380.0;
pub(super) const LEFT: f64 = 76.0;
pub(super) const TOP: f64 = 40.0;
pub(super) const RIGHT: f64 = 740.0;
pub(super) const BOTTOM: f64 = 326.0;

/// A coordinate with at most one decimal (`12`, `12.5`): keeps the SVG small.
pub(super) struct N(pub(super) f64);

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

pub(super) fn svg_open(s: &mut String, w: f64, h: f64, title: &str) -> fmt::Result {
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

pub(super) fn svg_close(s: &mut String, caption: &str) -> fmt::Result {
    write!(
        s,
        "</svg>\n<figcaption>{}</figcaption>\n</figure>\n",
        esc(caption)
    )
}

/// One target's points as a single path of zero-length segments with round
/// caps (a dot each): far smaller than one `<circle>` per point.
pub(super) fn dots(
    s: &mut String,
    colour: &str,
    name: &str,
    xy: impl Iterator<Item = (f64, f64)>,
) -> fmt::Result {
    write!(s, "<path class=\"dots\" stroke=\"{colour}\" d=\"")?;
    for (x, y) in xy {
        write!(s, "M{} {}h0", N(x), N(y))?;
    }
    writeln!(s, "\"><title>{}</title></path>", esc(name))
}

/// Half the width of the diamond that marks a slow or failed request.
pub(super) const MARK: f64 = 5.5;

/// One target's slow or failed requests as outlined diamonds filled with its
/// colour: they stand out from the dots and still say whose they are (a red
/// ring around each hid that).
pub(super) fn marks(
    s: &mut String,
    colour: &str,
    name: &str,
    xy: impl Iterator<Item = (f64, f64)>,
) -> fmt::Result {
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
pub(super) fn diamond(d: &mut String, x: f64, y: f64) -> fmt::Result {
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
pub(super) fn bad_legend() -> Vec<(Swatch, String)> {
    vec![
        (Swatch::Bad, "slow or failed".to_string()),
        (Swatch::Note, "in its target's colour".to_string()),
    ]
}

/// What marks a slow or failed request, for the captions.
pub(super) const BAD_CAPTION: &str =
    "an outlined diamond in its target's colour marks a request that was slow or failed.";

/// What a legend entry looks like.
pub(super) enum Swatch {
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
pub(super) fn draw_legend(s: &mut String, entries: &[(Swatch, String)]) -> fmt::Result {
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

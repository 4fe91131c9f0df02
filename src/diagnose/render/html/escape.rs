//! Report strings as HTML text: target names, titles and URLs come from
//! users and can contain anything.

/// Escape text for HTML content and double- or single-quoted attributes.
pub(super) fn esc(s: &str) -> String {
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

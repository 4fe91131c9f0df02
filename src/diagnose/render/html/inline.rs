//! Report text as HTML: escaped, with Markdown's inline code spans
//! (`` `coldlink diagnose --idle-sweep` ``) set as `<code>`, the way the
//! Markdown report shows them, instead of as literal backticks.

use super::esc;

/// `text` escaped, each backtick-delimited span in `<code>`. A backtick
/// without a partner is text, not the start of a span.
pub(super) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        out.push_str(&esc(&rest[..open]));
        out.push_str("<code>");
        out.push_str(&esc(&rest[open + 1..open + 1 + len]));
        out.push_str("</code>");
        rest = &rest[open + 1 + len + 1..];
    }
    out.push_str(&esc(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::inline;

    #[test]
    fn code_spans_become_code_elements() {
        assert_eq!(
            inline("run `coldlink diagnose --idle-sweep` to test them"),
            "run <code>coldlink diagnose --idle-sweep</code> to test them"
        );
        assert_eq!(inline("`a` and `b`"), "<code>a</code> and <code>b</code>");
    }

    #[test]
    fn everything_is_escaped_inside_and_out() {
        assert_eq!(
            inline("<b> `x<y && z>`"),
            "&lt;b&gt; <code>x&lt;y &amp;&amp; z&gt;</code>"
        );
    }

    #[test]
    fn a_lone_backtick_stays_text() {
        assert_eq!(inline("it's 5` long"), "it&#39;s 5` long");
        assert_eq!(inline("`a` then `b"), "<code>a</code> then `b");
        assert_eq!(inline("``"), "<code></code>");
    }
}

//! What a response must not show back of its request's secrets.
//!
//! API Gateway renames reserved headers in a response: a backend that echoes
//! the request's `Authorization` comes back as
//! `x-amzn-remapped-authorization`, which a record captures. A response
//! header is redacted here, where the record is built, so that every output
//! (NDJSON, probe lines, reports, the dashboard) inherits it: when its name,
//! with `x-amzn-remapped-` removed, is a secret header's, and when its value
//! holds a secret value the request sent.

use std::fmt;

use super::secrets::{ALWAYS_SECRET, REDACTED};
use super::spec::RequestSpec;

/// The prefix API Gateway gives the headers it renames.
pub const REMAPPED_PREFIX: &str = "x-amzn-remapped-";

/// Response headers that carry a credential whatever the request was: a
/// session cookie set, or a request's cookie echoed as one.
const RESPONSE_SECRETS: [&str; 1] = ["set-cookie"];

/// `--sigv4`: a signature is new on every probe, so it cannot be looked
/// for by value as the request's other secrets are. A response header
/// named as a signing header, or whose value holds a SigV4 authorization,
/// is hidden whatever the request.
const SIGNING_SECRETS: [&str; 1] = ["x-amz-date"];
const SIGV4_MARK: &str = "AWS4-HMAC-SHA256";

/// The shortest part of a secret looked for inside a longer header value.
/// Shorter parts (`Bearer`, `Basic`, a one-digit id) are words any header
/// may hold; a secret this short is still caught when echoed whole.
pub const MIN_ECHO_LEN: usize = 8;

/// The secrets of one target's request, as a response could show them.
#[derive(Clone)]
pub struct Redaction {
    /// Lower-case names of secret headers.
    names: Vec<String>,
    /// Those of `names` that are not built in ([`is_builtin_secret`]):
    /// the ones looked up one by one.
    own_names: Vec<String>,
    /// Every secret value sent, matched whole.
    values: Vec<String>,
    /// The values and their credential parts ([`echo_parts`]) of at least
    /// [`MIN_ECHO_LEN`] bytes, matched anywhere in a value.
    parts: Vec<String>,
}

impl Redaction {
    /// The request's secrets: the built-in secret header names, the names
    /// the user marked secret, the names and values of every header sent as
    /// sensitive (a secret name's, or a profile's `${ENV}` value), and
    /// `query_values`, the URL's hidden query values.
    pub fn new(request: &RequestSpec, query_values: Vec<String>) -> Redaction {
        let mut names: Vec<String> = ALWAYS_SECRET
            .iter()
            .chain(&RESPONSE_SECRETS)
            .chain(&SIGNING_SECRETS)
            .map(|n| n.to_string())
            .chain(request.secret_headers.iter().map(|n| n.as_str().to_string()))
            .collect();
        let mut values = query_values;
        for (name, value) in &request.headers {
            if value.is_sensitive() {
                names.push(name.as_str().to_string());
                values.push(String::from_utf8_lossy(value.as_bytes()).into_owned());
            }
        }
        values.retain(|v| !v.trim().is_empty());
        names.sort();
        names.dedup();
        values.sort();
        values.dedup();
        let mut parts: Vec<String> = values
            .iter()
            .flat_map(|v| echo_parts(v))
            .filter(|p| p.len() >= MIN_ECHO_LEN)
            .map(str::to_string)
            .collect();
        parts.sort();
        parts.dedup();
        let own_names = names.iter().filter(|n| !is_builtin_secret(n)).cloned().collect();
        Redaction {
            names,
            own_names,
            values,
            parts,
        }
    }

    /// True when a response header of this (lower-case) name and value
    /// would show a secret of the request.
    pub fn hides(&self, name: &str, value: &str) -> bool {
        let meant = name.strip_prefix(REMAPPED_PREFIX).unwrap_or(name);
        is_builtin_secret(meant)
            || self.own_names.iter().any(|n| n == meant)
            || self.values.iter().any(|v| v.trim() == value.trim())
            || self.parts.iter().any(|p| value.contains(p.as_str()))
            || holds_sigv4_mark(value)
    }

    /// The value a record keeps: [`REDACTED`] in place of one that
    /// [`hides`](Self::hides) a secret, whole, since what surrounds an
    /// echoed secret may be more of it.
    pub fn shown(&self, name: &str, value: String) -> String {
        if self.hides(name, &value) {
            REDACTED.to_string()
        } else {
            value
        }
    }
}

/// One of the secret names of every request: [`ALWAYS_SECRET`],
/// [`RESPONSE_SECRETS`] and [`SIGNING_SECRETS`]. Asked of every captured
/// header of every probe: a match on the text compares a name only with
/// those of its length, in a few integer compares, where a list of strings
/// cost a call to `memcmp` for each of the same length (issue 20). A unit
/// test keeps it and the lists the same.
fn is_builtin_secret(name: &str) -> bool {
    matches!(
        name,
        "authorization"
            | "proxy-authorization"
            | "x-api-key"
            | "cookie"
            | "x-amz-security-token"
            | "set-cookie"
            | "x-amz-date"
    )
}

/// `value` holds [`SIGV4_MARK`]. Asked of every captured header of every
/// probe: a plain scan costs nothing for the usual short values, where a
/// substring searcher's set-up cost more than the search.
fn holds_sigv4_mark(value: &str) -> bool {
    value
        .as_bytes()
        .windows(SIGV4_MARK.len())
        .any(|w| w == SIGV4_MARK.as_bytes())
}

/// Never the values: this is what `Debug` of a target prints.
impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("names", &self.names)
            .field("values", &format_args!("<{} hidden>", self.values.len()))
            .finish()
    }
}

/// A secret value and the parts of it a backend may echo alone: the
/// credentials after an auth scheme (`Bearer abc…`), each cookie's and each
/// SigV4 field's value (`session=abc…`, `Signature=abc…`).
fn echo_parts(value: &str) -> impl Iterator<Item = &str> {
    let words = value
        .split(|c: char| c.is_ascii_whitespace() || c == ',' || c == ';')
        .filter(|w| !w.is_empty());
    std::iter::once(value.trim())
        .chain(words.clone())
        .chain(words.filter_map(|w| w.split_once('=').map(|(_, v)| v.trim_matches('"'))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderName, HeaderValue};

    fn request(headers: &[(&str, &str, bool)], marked: &[&str]) -> RequestSpec {
        let mut map = HeaderMap::new();
        for (name, value, sensitive) in headers {
            let mut v = HeaderValue::from_str(value).unwrap();
            v.set_sensitive(*sensitive);
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), v);
        }
        RequestSpec {
            headers: map,
            secret_headers: marked
                .iter()
                .map(|n| HeaderName::from_bytes(n.as_bytes()).unwrap())
                .collect(),
            ..RequestSpec::default()
        }
    }

    /// Issue 20: the match is the lists, no more and no less.
    #[test]
    fn the_builtin_secret_names_are_the_lists() {
        let lists: Vec<&str> = ALWAYS_SECRET
            .iter()
            .chain(&RESPONSE_SECRETS)
            .chain(&SIGNING_SECRETS)
            .copied()
            .collect();
        for name in &lists {
            assert!(is_builtin_secret(name), "{name}");
        }
        assert!(!is_builtin_secret("server") && !is_builtin_secret("cookies") && !is_builtin_secret(""));
        // Each listed name once: as many as the match has arms.
        let mut unique = lists.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), lists.len());
        assert_eq!(
            lists.len(),
            7,
            "a name added to a list goes into is_builtin_secret too"
        );
        let r = Redaction::new(
            &request(&[("x-session", "s3cret-value", true)], &["x-mine"]),
            Vec::new(),
        );
        assert_eq!(r.own_names, ["x-mine", "x-session"]);
        assert!(r.hides("x-amzn-remapped-x-mine", "v") && r.hides("x-session", "v"));
    }

    #[test]
    fn remapped_secret_names_are_hidden_whatever_their_value() {
        let r = Redaction::new(&request(&[], &["x-session"]), Vec::new());
        for name in [
            "x-amzn-remapped-authorization",
            "x-amzn-remapped-proxy-authorization",
            "x-amzn-remapped-x-api-key",
            "x-amzn-remapped-cookie",
            "x-amzn-remapped-set-cookie",
            "x-amzn-remapped-x-amz-security-token",
            "x-amzn-remapped-x-session",
        ] {
            assert!(r.hides(name, "anything"), "{name}");
        }
        assert!(!r.hides("x-amzn-remapped-date", "Tue, 01 Sep 2026 10:00:00 GMT"));
        assert!(!r.hides("x-amzn-remapped-x-other", "anything"));
    }

    /// Issue 16: a signed probe's headers, echoed back renamed or inside
    /// another header, never reach a record.
    #[test]
    fn sigv4_headers_echoed_back_are_hidden() {
        let r = Redaction::new(&request(&[], &[]), Vec::new());
        assert!(r.hides(
            "x-amzn-remapped-authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA/…"
        ));
        assert!(r.hides("x-amzn-remapped-x-amz-security-token", "IQoJb3JpZ2lu"));
        assert!(r.hides("x-amzn-remapped-x-amz-date", "20261206T200000Z"));
        assert!(r.hides(
            "x-amzn-remapped-x-echo",
            "AWS4-HMAC-SHA256 Credential=AKIA/20261206/eu-west-1/execute-api/aws4_request, SignedHeaders=host, Signature=abc"
        ));
    }

    #[test]
    fn a_sensitive_header_sent_is_hidden_by_name_and_by_value() {
        // A profile's `${ENV}` value: sensitive, under a name not secret as such.
        let r = Redaction::new(
            &request(
                &[
                    ("x-tenant", "tenant-7f3a9c", true),
                    ("x-plain", "visible-value", false),
                ],
                &[],
            ),
            Vec::new(),
        );
        assert!(r.hides("x-amzn-remapped-x-tenant", "x"));
        assert!(r.hides("via", "tenant-7f3a9c"));
        assert!(r.hides("server", "echo tenant-7f3a9c, 1.1"));
        assert!(!r.hides("x-amzn-remapped-x-plain", "visible-value"));
        assert!(!r.hides("via", "1.1 abc.cloudfront.net"));
    }

    #[test]
    fn credentials_are_found_inside_longer_values_and_short_ones_only_whole() {
        let r = Redaction::new(
            &request(
                &[
                    ("authorization", "Bearer eyJhbGciOi.payload", true),
                    ("cookie", "lang=en; session=s3ss10n-c00k1e", true),
                    ("x-api-key", "k1", true),
                ],
                &[],
            ),
            Vec::new(),
        );
        assert!(r.hides("server", "Bearer eyJhbGciOi.payload"));
        assert!(r.hides("server", "got eyJhbGciOi.payload from you"));
        assert!(r.hides("x-amzn-remapped-x-echo", "session=s3ss10n-c00k1e; Path=/"));
        assert!(r.hides("x-amzn-remapped-x-echo", "s3ss10n-c00k1e"));
        // Short: whole only, so `Bearer`, `en` or `k1` elsewhere stay.
        assert!(r.hides("x-amzn-remapped-x-echo", "k1"));
        assert!(!r.hides("server", "k1-proxy"));
        assert!(!r.hides("server", "Bearer realm"));
        assert!(!r.hides("x-amzn-remapped-content-language", "en"));
    }

    #[test]
    fn secret_query_values_are_hidden_as_sent_and_as_decoded() {
        let url = url::Url::parse("http://h/p?token=a%2Fb%2Fc%2Fd%2Fe&page=2").unwrap();
        let r = Redaction::new(
            &RequestSpec::default(),
            crate::probe::target::secret_query_values(&url, &[]),
        );
        assert!(r.hides("x-amzn-remapped-x-echo", "a/b/c/d/e"));
        assert!(r.hides("x-amzn-remapped-x-echo", "?token=a%2Fb%2Fc%2Fd%2Fe"));
        assert!(!r.hides("x-amzn-remapped-x-echo", "2"));
        assert_eq!(r.shown("x-amzn-remapped-x-echo", "a/b/c/d/e".into()), REDACTED);
        assert_eq!(r.shown("via", "1.1 edge".into()), "1.1 edge");
    }

    #[test]
    fn debug_never_shows_a_value() {
        let r = Redaction::new(
            &request(&[("x-api-key", "do-not-print-me", true)], &[]),
            Vec::new(),
        );
        let shown = format!("{r:?}");
        assert!(!shown.contains("do-not-print-me"), "{shown}");
        assert!(shown.contains("x-api-key"), "{shown}");
    }
}
